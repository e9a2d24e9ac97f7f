//! `x`, `xp` and `print` on the simulated guest, printed the way QEMU's
//! monitor prints them: 8 units a line for bytes, 16 bytes a line
//! otherwise, each line read at once ("Cannot access memory" when any of
//! it is unmapped), and a tiny 16-bit disassembler for the few
//! instructions the simulated memory holds.

use super::guest::phys_byte;

/// One `/fmt`: how many units, which format letter, unit size in bytes
/// (-1 for `i` without a size).
#[derive(Debug, Clone, Copy)]
pub struct Fmt {
    pub count: i64,
    pub format: char,
    pub size: i64,
}

/// `x` and `xp`: paging is off, so both read the same memory.
pub fn dump(fmt: Fmt, addr: u64) -> String {
    if fmt.format == 'i' {
        return disassemble(fmt.count, addr);
    }
    // As QEMU: the length and line size come from the unit size asked
    // for, even when `c` then reads single bytes.
    let asked = fmt.size.max(1) as u64;
    let line_size = if asked == 1 { 8 } else { 16 };
    let size = if fmt.format == 'c' { 1 } else { asked };
    let digits = match fmt.format {
        'o' => (size * 8).div_ceil(3) as usize,
        'x' => (size * 2) as usize,
        'u' | 'd' => (size * 8 * 10).div_ceil(33) as usize,
        _ => 0,
    };
    let mut out = String::new();
    let mut left = (fmt.count.max(0) as u64) * asked;
    let mut at = addr;
    while left > 0 {
        out.push_str(&format!("{at:016x}:"));
        let len = left.min(line_size);
        let Some(bytes) = read(at, len) else {
            out.push_str(" Cannot access memory\n");
            return out;
        };
        for unit in bytes.chunks(size as usize) {
            let v = unit
                .iter()
                .rev()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            out.push(' ');
            out.push_str(&unit_text(fmt.format, v, size, digits));
        }
        out.push('\n');
        at = at.wrapping_add(len);
        left -= len;
    }
    out
}

fn unit_text(format: char, v: u64, size: u64, digits: usize) -> String {
    match format {
        'o' => {
            let text = if v == 0 {
                "0".to_string()
            } else {
                format!("0{v:o}")
            };
            format!("{text:>digits$}")
        }
        'x' => format!("0x{v:0digits$x}"),
        'u' => format!("{v:>digits$}"),
        'd' => {
            let shift = 64 - size * 8;
            let signed = ((v << shift) as i64) >> shift;
            format!("{signed:>digits$}")
        }
        _ => printc(v as u8),
    }
}

/// QEMU's quoting of one character (`'A'`, `'\n'`, `'\x00'`).
fn printc(c: u8) -> String {
    let inner = match c {
        b'\'' => "\\'".to_string(),
        b'\\' => "\\\\".to_string(),
        b'\n' => "\\n".to_string(),
        b'\r' => "\\r".to_string(),
        32..=126 => char::from(c).to_string(),
        _ => format!("\\x{c:02x}"),
    };
    format!("'{inner}'")
}

fn read(addr: u64, len: u64) -> Option<Vec<u8>> {
    (0..len)
        .map(|i| addr.checked_add(i).and_then(phys_byte))
        .collect()
}

/// `print /fmt expr`: one value, no size masking.
pub fn print(format: char, v: i64) -> String {
    let u = v as u64;
    let text = match format {
        'o' if u == 0 => "0".to_string(),
        'o' => format!("0{u:o}"),
        'u' => u.to_string(),
        'd' => v.to_string(),
        'c' => printc(u as u8),
        _ if u == 0 => "0".to_string(),
        _ => format!("{u:#x}"),
    };
    format!("{text}\n")
}

/// Real-mode disassembly of the instructions simulated memory holds: the
/// reset vector (its far jump, then the BIOS date decoded as code, as
/// QEMU's disassembler does) and the `addb %al, (%bx, %si)` that zeroed
/// memory decodes to.
fn disassemble(count: i64, addr: u64) -> String {
    let mut out = String::new();
    let mut at = addr;
    for _ in 0..count.max(0) {
        // The disassembler reads ahead a whole buffer.
        let Some(window) = read(at, 16) else {
            out.push_str(&format!("0x{at:08x}: unable to read memory\n"));
            return out;
        };
        let (len, text) = decode(&window);
        let bytes: Vec<String> = window[..len].iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("0x{at:08x}:  {:<24} {text}\n", bytes.join(" ")));
        at = at.wrapping_add(len as u64);
    }
    out
}

fn decode(b: &[u8]) -> (usize, String) {
    let word = |i: usize| u16::from(b[i]) | (u16::from(b[i + 1]) << 8);
    let op =
        |len: usize, mnemonic: &str, operands: &str| (len, format!("{mnemonic:<8} {operands}"));
    match (b[0], b[1]) {
        (0xea, _) => op(5, "ljmpw", &format!("$0x{:x}:$0x{:x}", word(3), word(1))),
        (0x00, 0x00) => op(2, "addb", "%al, (%bx, %si)"),
        (0x00, 0xfc) => op(2, "addb", "%bh, %ah"),
        (0x30, 0x36) => op(4, "xorb", &format!("%dh, 0x{:x}", word(2))),
        (0x33, 0x2f) => op(2, "xorw", "(%bx), %bp"),
        (0x39, 0x39) => op(2, "cmpw", "%di, (%bx, %di)"),
        (0x39, 0x00) => op(2, "cmpw", "%ax, (%bx, %si)"),
        (0xfc, _) => op(1, "cld", ""),
        (other, _) => op(1, ".byte", &format!("0x{other:02x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(count: i64, format: char, size: i64) -> Fmt {
        Fmt {
            count,
            format,
            size,
        }
    }

    #[test]
    fn dumps_match_qemu_10_texts() {
        assert_eq!(
            dump(fmt(5, 'x', 4), 0x10),
            "0000000000000010: 0x00000000 0x00000000 0x00000000 0x00000000\n\
             0000000000000020: 0x00000000\n"
        );
        assert_eq!(
            dump(fmt(8, 'x', 1), 0xf_fff0),
            "00000000000ffff0: 0xea 0x5b 0xe0 0x00 0xf0 0x30 0x36 0x2f\n"
        );
        assert_eq!(dump(fmt(2, 'o', 2), 0), "0000000000000000:      0      0\n");
        assert_eq!(dump(fmt(2, 'u', 2), 0), "0000000000000000:     0     0\n");
        assert_eq!(
            dump(fmt(3, 'd', 1), 0x100),
            "0000000000000100:   0   0   0\n"
        );
        assert_eq!(
            dump(fmt(2, 'x', 8), 0xffff_fff8),
            "00000000fffffff8: Cannot access memory\n"
        );
        assert_eq!(
            dump(fmt(2, 'x', 2), 0xffff_fffc),
            "00000000fffffffc: 0x0039 0x00fc\n"
        );
    }

    #[test]
    fn disassembly_matches_qemu_10_at_the_reset_vector() {
        assert_eq!(
            dump(fmt(10, 'i', -1), 0xffff_fff0),
            "0xfffffff0:  ea 5b e0 00 f0           ljmpw    $0xf000:$0xe05b\n\
             0xfffffff5: unable to read memory\n"
        );
        assert_eq!(
            dump(fmt(2, 'i', -1), 0xf_fff0).lines().nth(1),
            Some("0x000ffff5:  30 36 2f 32              xorb     %dh, 0x322f")
        );
        assert_eq!(
            dump(fmt(1, 'i', -1), 0),
            "0x00000000:  00 00                    addb     %al, (%bx, %si)\n"
        );
    }

    #[test]
    fn print_formats() {
        assert_eq!(print('x', 0), "0\n");
        assert_eq!(print('x', 0xffff_fff4), "0xfffffff4\n");
        assert_eq!(print('x', -1), "0xffffffffffffffff\n");
        assert_eq!(print('o', 8), "010\n");
        assert_eq!(print('u', -1), "18446744073709551615\n");
        assert_eq!(print('d', -1), "-1\n");
        assert_eq!(print('c', 65), "'A'\n");
    }
}
