//! The simulated guest's CPUs and memory, for the HMP commands that look
//! inside the VM (`info registers`, `x`, `xp`, `print`, `info mem`, ...).
//!
//! The data is deterministic and shaped like QEMU 10.0 on `-machine pc`
//! before the firmware has run: every vCPU sits at the reset vector (the
//! application processors halted, waiting for a start-up IPI), RAM reads as
//! zeros, and the top of the BIOS holds the far jump every PC starts with.
//! Paging is off, so virtual and physical addresses are the same.

use super::info::CPUS;
use super::machine::RAM_SIZE;

/// The 16 bytes at the reset vector (`0xffff0`, aliased at `0xfffffff0`):
/// `ljmpw $0xf000:$0xe05b`, then the BIOS build date and model byte.
const RESET_VECTOR: [u8; 16] = [
    0xea, 0x5b, 0xe0, 0x00, 0xf0, b'0', b'6', b'/', b'2', b'3', b'/', b'9', b'9', 0x00, 0xfc, 0x00,
];

/// Where the 4 GiB alias of the BIOS starts.
const HIGH_BIOS: u64 = 0xfffc_0000;
const FOUR_GIB: u64 = 1 << 32;

/// Reads one byte of guest-physical memory; `None` where nothing is mapped
/// (or only devices are, which the monitor does not read).
pub fn phys_byte(addr: u64) -> Option<u8> {
    let in_vector = |base: u64| (base..base + 16).contains(&addr);
    if in_vector(0xf_fff0) {
        return Some(RESET_VECTOR[(addr - 0xf_fff0) as usize]);
    }
    if in_vector(0xffff_fff0) {
        return Some(RESET_VECTOR[(addr - 0xffff_fff0) as usize]);
    }
    let ram = addr < RAM_SIZE as u64;
    let high_bios = (HIGH_BIOS..FOUR_GIB).contains(&addr);
    (ram || high_bios).then_some(0)
}

/// True when the vCPU executes (CPU 0); the others wait for a start-up IPI.
fn halted(cpu: i64) -> bool {
    cpu != 0
}

/// The value of a register the monitor's expressions can read (`$pc`,
/// `$eax`, ...), as QEMU names them for x86.
pub fn register(name: &str) -> Option<u64> {
    Some(match name {
        "pc" => 0xffff_fff0,
        "eip" | "rip" => 0xfff0,
        "edx" | "rdx" => 0x6_0fb1,
        "eflags" => 0x2,
        "cs" => 0xf000,
        "eax" | "ebx" | "ecx" | "esi" | "edi" | "ebp" | "esp" | "rax" | "rbx" | "rcx" | "rsi"
        | "rdi" | "rbp" | "rsp" | "ds" | "es" | "ss" | "fs" | "gs" => 0,
        "r8" | "r9" | "r10" | "r11" | "r12" | "r13" | "r14" | "r15" => 0,
        _ => return None,
    })
}

/// `info registers` for one vCPU, in QEMU's layout (leading blank line,
/// trailing space after DR3 included).
pub fn registers(cpu: i64) -> String {
    let mut out = format!("\nCPU#{cpu}\n");
    out.push_str("EAX=00000000 EBX=00000000 ECX=00000000 EDX=00060fb1\n");
    out.push_str("ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000\n");
    out.push_str(&format!(
        "EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT={}\n",
        u8::from(halted(cpu))
    ));
    for seg in ["ES ", "CS ", "SS ", "DS ", "FS ", "GS "] {
        let (sel, base, flags) = if seg == "CS " {
            ("f000", "ffff0000", "00009b00")
        } else {
            ("0000", "00000000", "00009300")
        };
        out.push_str(&format!("{seg}={sel} {base} 0000ffff {flags}\n"));
    }
    out.push_str("LDT=0000 00000000 0000ffff 00008200\n");
    out.push_str("TR =0000 00000000 0000ffff 00008b00\n");
    out.push_str("GDT=     00000000 0000ffff\nIDT=     00000000 0000ffff\n");
    out.push_str("CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000\n");
    let zero64 = "0000000000000000";
    out.push_str(&format!(
        "DR0={zero64} DR1={zero64} DR2={zero64} DR3={zero64} \n"
    ));
    out.push_str("DR6=00000000ffff0ff0 DR7=0000000000000400\n");
    out.push_str(&format!("EFER={zero64}\n"));
    out.push_str("FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\n");
    for pair in 0..4 {
        let (a, b) = (pair * 2, pair * 2 + 1);
        out.push_str(&format!("FPR{a}={zero64} 0000 FPR{b}={zero64} 0000\n"));
    }
    for pair in 0..4 {
        let (a, b) = (pair * 2, pair * 2 + 1);
        out.push_str(&format!(
            "XMM{a:02}={zero64} {zero64} XMM{b:02}={zero64} {zero64}\n"
        ));
    }
    out
}

/// `info registers [-a] [N]`: the current vCPU, one given, or all.
pub fn registers_for(all: bool, given: Option<i64>, current: i64) -> String {
    if all {
        return (0..CPUS).map(registers).collect();
    }
    let cpu = given.unwrap_or(current);
    if !(0..CPUS).contains(&cpu) {
        return format!("CPU#{cpu} not available\n");
    }
    registers(cpu)
}

/// `info lapic [APIC-ID]`: a vCPU's local APIC as the firmware has not
/// touched it yet (APIC ids are the vCPU numbers).
pub fn lapic(apic_id: Option<i64>, current: i64) -> String {
    let cpu = apic_id.unwrap_or(current);
    if !(0..CPUS).contains(&cpu) {
        return "No CPU available\n".into();
    }
    let lvt = |name: &str, mode: &str| {
        format!("{name}\t 0x00010000 active-hi edge  masked {mode:<20} Fixed  (vec 0)\n")
    };
    let mut out = format!("dumping local APIC state for CPU {cpu} \n\n");
    for name in ["LVT0", "LVT1", "LVTPC", "LVTERR", "LVTTHMR"] {
        out.push_str(&lvt(name, ""));
    }
    out.push_str(&lvt("LVTT", "        one-shot"));
    out.push_str("Timer\t DCR=0x0 (divide by 2) initial_count = 0 current_count = 0\n");
    out.push_str("SPIV\t 0x000000ff APIC disabled, focus=off, spurious vec 255\n");
    out.push_str("ICR\t 0x00000000 physical edge de-assert no-shorthand\n");
    out.push_str("ICR2\t 0x00000000 cpu 0 (APIC ID)\n");
    out.push_str("ESR\t 0x00000000\nISR\t (none)\nIRR\t (none)\n\n");
    out.push_str("APR 0x00 TPR 0x00 DFR 0x0f LDR 0x00 PPR 0x00\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_map_has_ram_bios_and_holes() {
        assert_eq!(phys_byte(0), Some(0));
        assert_eq!(phys_byte(0xf_fff0), Some(0xea));
        assert_eq!(phys_byte(0xffff_fffe), Some(0xfc));
        assert_eq!(phys_byte(RAM_SIZE as u64), None);
        assert_eq!(phys_byte(FOUR_GIB), None);
    }

    #[test]
    fn registers_follow_qemu_layout() {
        let text = registers(1);
        assert!(text.starts_with("\nCPU#1\nEAX=00000000"), "{text}");
        assert!(text.contains("HLT=1\n"));
        assert_eq!(text.lines().count(), 28);
        assert_eq!(registers_for(true, None, 0).matches("CPU#").count(), 2);
    }
}
