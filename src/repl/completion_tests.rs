use super::*;

const TOP: &str = "
[eject]
versions: 7.2 10.0
args: force:-f,device:B
help: eject
qmp: eject

[set_link]
versions: 7.2 10.0
args: name:s,up:b
help: link
complete: name=net-clients
qmp: set_link

[sendkey]
versions: 7.2 10.0
args: keys:s,hold-time:i?
help: keys
complete: keys=qcodes
qmp: special sendkey

[screendump]
versions: 7.2 10.0
args: filename:F,format:-fs,device:s?,head:i?
help: shot
complete: format=png|ppm
qmp: screendump

[set_password]
versions: 7.2 10.0
args: protocol:s,password:s,display:-ds,connected:s?
help: pw
complete: protocol=vnc|spice
complete: connected=keep|disconnect|fail
qmp: set_password

[device_add]
versions: 7.2 10.0
args: device:O
help: add
complete: device=device-options
qmp: device_add

[qom-get]
versions: 7.2 10.0
args: path:s,property:s
help: get
complete: path=qom-paths
complete: property=qom-properties
qmp: qom-get

[expire_password]
versions: 7.2 10.0
args: protocol:s,time:s,display:-ds
help: exp
complete: protocol=vnc|spice
complete: time=now|never
qmp: expire_password

[change]
versions: 7.2 10.0
args: device:B,force:-f,target:F,arg:s?,read-only-mode:s?
help: change
complete: device=block-devices-or-vnc
complete: target=password-after-vnc
qmp: special change

[migrate_set_parameter]
versions: 7.2 10.0
args: parameter:s,value:s
help: msp
complete: parameter=migration-parameters
complete: value=migration-parameter-values
qmp: special migrate_set_parameter

[log]
versions: 7.2 10.0
args: items:s
help: log
complete: items=log-items
qmp: local

[cpu]
versions: 7.2 10.0
args: index:i
help: cpu
complete: index=cpu-indexes
qmp: local

[watchdog_action]
versions: 7.2 10.0
args: action:s
help: wd
complete: action=reset|shutdown|poweroff|pause|debug|none|inject-nmi
qmp: watchdog-set-action

[help|?]
versions: 7.2 10.0
args: name:S?
help: help
qmp: local

[info]
versions: 7.2 10.0
args: item:s?
help: info
qmp: local
subtable: info
";
const INFO: &str = "
[block]
versions: 7.2 10.0
args: nodes:-n,verbose:-v,device:B?
help: b
qmp: query-block

[blockstats]
versions: 7.2 10.0
help: bs
qmp: query-blockstats

[trace-events]
versions: 7.2 10.0
args: name:s?,vcpu:i?
help: t
complete: name=trace-events
qmp: trace-event-get-state
";

struct Fake;
impl LiveSource for Fake {
    fn values(&self, what: &Live) -> Vec<String> {
        let list: &[&str] = match what {
            Live::BlockDevices => &["ide1-cd0", "disk0"],
            Live::NetClients => &["net0"],
            Live::DeviceTypes => &["virtio-net-pci", "virtio-blk-pci", "e1000"],
            Live::DeviceProperties(t) if t == "e1000" => &["mac", "netdev", "romfile"],
            Live::TraceEvents => &["qmp_enter", "qmp_exit", "vnc_auth"],
            Live::QomPath(typed) if typed.starts_with("/machine/") => {
                &["/machine/peripheral", "/machine/unattached"]
            }
            Live::QomPath(_) => &["/machine", "/objects"],
            Live::QomProperties(path) if path == "/machine" => &["type", "kernel"],
            Live::MigrationParameterValues(p) if p == "multifd-compression" => {
                &["none", "zlib", "zstd"]
            }
            Live::LogItems => &["none", "out_asm", "in_asm", "op"],
            Live::CpuIndexes => &["0", "1"],
            _ => &[],
        };
        list.iter().map(|s| s.to_string()).collect()
    }
}

fn grammar() -> Grammar {
    Grammar::from_sources(&[("commands.hmp", TOP), ("info.hmp", INFO)]).unwrap()
}

fn c(line: &str) -> Vec<String> {
    complete(&grammar(), Profile::V10_0, &Fake, line).candidates
}

#[test]
fn commands_subcommands_and_flags() {
    assert_eq!(c("e"), ["eject", "expire_password"]);
    assert_eq!(c("ej"), ["eject"]);
    assert_eq!(c("info bl"), ["block", "blockstats"]);
    assert_eq!(c("eject -"), ["-f"]);
    assert_eq!(c("info block -v -"), ["-n"]);
    assert_eq!(c("?"), ["?"]);
}

#[test]
fn live_values_by_argument_type_and_command() {
    assert_eq!(c("eject "), ["disk0", "ide1-cd0"]);
    assert_eq!(c("eject -f i"), ["ide1-cd0"]);
    assert_eq!(c("info block -v d"), ["disk0"]);
    assert_eq!(c("set_link "), ["net0"]);
    assert_eq!(c("set_link net0 o"), ["off", "on"]);
    assert_eq!(c("info trace-events qmp_"), ["qmp_enter", "qmp_exit"]);
    assert_eq!(c("watchdog_action p"), ["pause", "poweroff"]);
}

#[test]
fn nothing_after_the_last_argument_or_for_unknown_commands() {
    assert!(c("eject ide1-cd0 ").is_empty());
    assert!(c("frobnicate ").is_empty());
    assert!(c("info nosuch ").is_empty());
}

#[test]
fn a_flag_value_is_not_taken_for_the_next_argument() {
    assert!(c("set_password vnc pw -d ").is_empty());
    assert_eq!(c("screendump -f p"), ["png", "ppm"]);
    assert!(c("screendump -f png ").is_empty());
}

#[test]
fn fixed_enumerations() {
    assert_eq!(c("set_password "), ["spice", "vnc"]);
    assert_eq!(c("set_password vnc pw -d vnc0 k"), ["keep"]);
    assert_eq!(c("change v"), ["vnc"]);
    assert_eq!(c("change "), ["disk0", "ide1-cd0", "vnc"]);
    assert_eq!(c("change vnc p"), ["password"]);
}

#[test]
fn live_enumerations_and_lists() {
    assert_eq!(
        c("migrate_set_parameter multifd-compression z"),
        ["zlib", "zstd"]
    );
    assert_eq!(c("log in_asm,o"), ["in_asm,op", "in_asm,out_asm"]);
    assert_eq!(c("cpu "), ["0", "1"]);
}

#[test]
fn sendkey_completes_the_last_key() {
    assert_eq!(c("sendkey ctrl-alt-del"), ["ctrl-alt-delete"]);
}

#[test]
fn help_completes_command_and_subcommand_names() {
    assert_eq!(c("help ej"), ["eject"]);
    assert_eq!(c("help info blocks"), ["blockstats"]);
    assert!(c("help eject ").is_empty());
    let done = complete(&grammar(), Profile::V10_0, &Fake, "help  info b");
    assert_eq!(done.start, "help  info ".len());
}

#[test]
fn option_strings_complete_the_type_then_its_keys() {
    assert_eq!(
        c("device_add virtio-"),
        ["virtio-blk-pci", "virtio-net-pci"]
    );
    assert_eq!(c("device_add e1000,net"), ["e1000,netdev="]);
    assert_eq!(
        c("device_add driver=e1000,id=n0,m"),
        ["driver=e1000,id=n0,mac="]
    );
    assert!(c("device_add e1000,mac=52").is_empty());
}

#[test]
fn qom_paths_and_properties() {
    assert_eq!(c("qom-get /o"), ["/objects"]);
    assert_eq!(c("qom-get /machine/p"), ["/machine/peripheral"]);
    assert_eq!(c("qom-get /machine k"), ["kernel"]);
}

#[test]
fn filenames_are_left_to_the_path_completer() {
    let done = complete(&grammar(), Profile::V10_0, &Fake, "screendump -f png /tm");
    assert!(done.filename);
    assert_eq!(done.start, "screendump -f png ".len());
}
