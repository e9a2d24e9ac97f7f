//! Classic renderers of the machine's CPUs, memory and devices: CPUs,
//! balloon, I/O threads, memory backends and devices, hot-pluggable CPU
//! slots, TPM and crypto devices.

use super::fields::{as_int, bad_reply, first, list_of_objects, on_return, Fields};
use super::fmt::{c_str, int_list_ranges};
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use serde_json::Value;
use std::fmt::Write;

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    _args: &Args,
) -> Option<Result<String, RenderError>> {
    let out = match name {
        "cpus" => on_return(name, replies, |r| cpus(name, ctx, r)),
        "balloon" => on_return(name, replies, |r| balloon(name, r)),
        "iothreads" => on_return(name, replies, |r| iothreads(name, r)),
        "memdev" => memdev(name, replies),
        "memory-devices" => on_return(name, replies, |r| memory_devices(name, r)),
        "hotpluggable-cpus" => on_return(name, replies, |r| hotpluggable_cpus(name, r)),
        "tpm" => tpm(name, replies),
        "cryptodev" => on_return(name, replies, |r| cryptodev(name, r)),
        _ => return None,
    };
    Some(out)
}

/// One line per CPU, `*` marking the monitor's current CPU. QEMU 10.1 and
/// later add the CPU model, its QOM type without the `-TARGET-cpu` suffix.
fn cpus(name: &str, ctx: &RenderContext, reply: &Value) -> Result<String, RenderError> {
    let mut out = String::new();
    for cpu in list_of_objects(name, reply)? {
        let index = cpu.int("cpu-index")?;
        let mark = if index == ctx.current_cpu { '*' } else { ' ' };
        let _ = write!(
            out,
            "{mark} CPU #{index}: thread_id={}",
            cpu.int("thread-id")?
        );
        if ctx.version.at_least(10, 1) {
            if let Some(qom_type) = cpu.opt_str("qom-type")? {
                let suffix = format!("-{}-cpu", cpu.opt_str("target")?.unwrap_or_default());
                let model = qom_type.strip_suffix(&suffix).unwrap_or(qom_type);
                let _ = write!(out, " model={model}");
            }
        }
        out.push('\n');
    }
    Ok(out)
}

fn balloon(name: &str, reply: &Value) -> Result<String, RenderError> {
    let actual = Fields::new(name, reply)?.int("actual")?;
    Ok(format!("balloon: actual={}\n", actual >> 20))
}

fn iothreads(name: &str, reply: &Value) -> Result<String, RenderError> {
    let mut out = String::new();
    for t in list_of_objects(name, reply)? {
        let _ = writeln!(out, "{}:", t.str("id")?);
        let _ = writeln!(out, "  thread_id={}", t.int("thread-id")?);
        for key in ["poll-max-ns", "poll-grow", "poll-shrink"] {
            let _ = writeln!(out, "  {key}={}", t.int(key)?);
        }
        // Reported (and printed) by QEMU newer than 10.0 only.
        if let Some(weight) = t.opt_int("poll-weight")? {
            let _ = writeln!(out, "  poll-weight={weight}");
        }
        // Members that only some releases have (aio-max-batch: 6.1 on) are
        // printed when the reply carries them: a release whose QAPI type has
        // the member always sends it, and its HMP always prints it.
        if let Some(batch) = t.opt_int("aio-max-batch")? {
            let _ = writeln!(out, "  aio-max-batch={batch}");
        }
    }
    Ok(out)
}

/// Backends, then always a blank line; a QMP error comes after it.
fn memdev(name: &str, replies: &[Reply]) -> Result<String, RenderError> {
    let (backends, error) = match first(name, replies)? {
        Ok(reply) => (list_of_objects(name, reply)?, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let mut out = String::new();
    let yes_no = |b: bool| if b { "true" } else { "false" };
    for m in backends {
        let _ = writeln!(out, "memory backend: {}", m.str("id")?);
        let _ = writeln!(out, "  size:  {}", m.int("size")?);
        let _ = writeln!(out, "  merge: {}", yes_no(m.bool("merge")?));
        let _ = writeln!(out, "  dump: {}", yes_no(m.bool("dump")?));
        let _ = writeln!(out, "  prealloc: {}", yes_no(m.bool("prealloc")?));
        // `share` is reported from QEMU 6.1 on (see aio-max-batch above).
        if let Some(share) = m.opt_bool("share")? {
            let _ = writeln!(out, "  share: {}", yes_no(share));
        }
        if let Some(reserve) = m.opt_bool("reserve")? {
            let _ = writeln!(out, "  reserve: {}", yes_no(reserve));
        }
        let _ = writeln!(out, "  policy: {}", m.str("policy")?);
        let nodes = m
            .list("host-nodes")?
            .iter()
            .map(|n| as_int(n).ok_or_else(|| bad_reply(name, "a host node is not an integer")))
            .collect::<Result<Vec<_>, _>>()?;
        let _ = writeln!(out, "  host nodes: {}", int_list_ranges(&nodes));
    }
    out.push('\n');
    if let Some(e) = error {
        out.push_str(&super::hmp_error(&e.desc));
    }
    Ok(out)
}

/// How one member of a memory device is printed.
#[derive(Clone, Copy)]
enum Show {
    /// `0x%x`
    Hex,
    /// `%d`
    Signed,
    /// `%u`
    Unsigned,
    /// `true`/`false`
    Bool,
    /// `%s`
    Str,
}

/// The lines printed for each kind of memory device: (member, format,
/// printed only when present). The label is the member name.
fn memory_device_lines(kind: &str) -> &'static [(&'static str, Show, bool)] {
    use Show::*;
    match kind {
        "dimm" | "nvdimm" => &[
            ("addr", Hex, false),
            ("slot", Signed, false),
            ("node", Signed, false),
            ("size", Unsigned, false),
            ("memdev", Str, false),
            ("hotplugged", Bool, false),
            ("hotpluggable", Bool, false),
        ],
        "virtio-pmem" => &[
            ("memaddr", Hex, false),
            ("size", Unsigned, false),
            ("memdev", Str, false),
        ],
        "virtio-mem" => &[
            ("memaddr", Hex, false),
            ("node", Signed, false),
            ("requested-size", Unsigned, false),
            ("size", Unsigned, false),
            ("max-size", Unsigned, false),
            ("block-size", Unsigned, false),
            ("memdev", Str, false),
        ],
        "sgx-epc" => &[
            ("memaddr", Hex, false),
            ("size", Unsigned, false),
            ("node", Signed, false),
            ("memdev", Str, false),
        ],
        "hv-balloon" => &[
            ("memaddr", Hex, true),
            ("max-size", Unsigned, false),
            ("memdev", Str, true),
        ],
        "sp-mem" => &[
            ("addr", Hex, false),
            ("node", Signed, false),
            ("size", Unsigned, false),
            ("memdev", Str, false),
        ],
        // A kind this renderer does not know: its header only.
        _ => &[],
    }
}

fn memory_devices(name: &str, reply: &Value) -> Result<String, RenderError> {
    let mut out = String::new();
    for device in list_of_objects(name, reply)? {
        let kind = device.str("type")?;
        let d = device.object("data")?;
        let id = d.opt_str("id")?.unwrap_or("");
        let _ = writeln!(out, "Memory device [{kind}]: \"{id}\"");
        for &(key, show, optional) in memory_device_lines(kind) {
            if optional && !d.has(key) {
                continue;
            }
            let value = match show {
                Show::Hex => format!("0x{:x}", d.uint(key)?),
                Show::Signed => d.int(key)?.to_string(),
                Show::Unsigned => d.uint(key)?.to_string(),
                Show::Bool => d.bool(key)?.to_string(),
                Show::Str => d.str(key)?.to_string(),
            };
            let _ = writeln!(out, "  {key}: {value}");
        }
    }
    Ok(out)
}

fn hotpluggable_cpus(name: &str, reply: &Value) -> Result<String, RenderError> {
    let mut out = String::from("Hotpluggable CPUs:\n");
    for slot in list_of_objects(name, reply)? {
        let _ = writeln!(out, "  type: \"{}\"", slot.str("type")?);
        let _ = writeln!(out, "  vcpus_count: \"{}\"", slot.uint("vcpus-count")?);
        if let Some(path) = slot.opt_str("qom-path")? {
            let _ = writeln!(out, "  qom_path: \"{path}\"");
        }
        out.push_str("  CPUInstance Properties:\n");
        let props = slot.object("props")?;
        for key in [
            "node-id",
            "drawer-id",
            "book-id",
            "socket-id",
            "die-id",
            "cluster-id",
            "module-id",
            "core-id",
            "thread-id",
        ] {
            if let Some(id) = props.opt_uint(key)? {
                let _ = writeln!(out, "    {key}: \"{id}\"");
            }
        }
    }
    Ok(out)
}

fn tpm(name: &str, replies: &[Reply]) -> Result<String, RenderError> {
    let devices = match first(name, replies)? {
        Ok(reply) => list_of_objects(name, reply)?,
        // Any failure, including a QEMU built without TPM support.
        Err(_) => return Ok("TPM device not supported\n".to_string()),
    };
    if devices.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from("TPM device:\n");
    for (i, t) in devices.iter().enumerate() {
        let _ = writeln!(out, " tpm{i}: model={}", t.str("model")?);
        let options = t.object("options")?;
        let kind = options.str("type")?;
        let _ = write!(out, "  \\ {}: type={kind}", t.str("id")?);
        let data = options.object("data")?;
        match kind {
            "passthrough" => {
                if let Some(path) = data.opt_str("path")? {
                    let _ = write!(out, ",path={path}");
                }
                if let Some(path) = data.opt_str("cancel-path")? {
                    let _ = write!(out, ",cancel-path={path}");
                }
            }
            "emulator" => {
                let _ = write!(out, ",chardev={}", c_str(data.opt_str("chardev")?));
            }
            _ => {}
        }
        out.push('\n');
    }
    Ok(out)
}

fn cryptodev(name: &str, reply: &Value) -> Result<String, RenderError> {
    let mut out = String::new();
    for dev in list_of_objects(name, reply)? {
        let services = dev
            .list("service")?
            .iter()
            .map(|s| {
                s.as_str()
                    .ok_or_else(|| bad_reply(name, "a service is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // No services: C's `%s` of a NULL string.
        let services = if services.is_empty() {
            c_str(None).to_string()
        } else {
            services.join("|")
        };
        let _ = writeln!(out, "{}: service=[{services}]", dev.str("id")?);
        for client in dev.objects("client")? {
            let _ = writeln!(
                out,
                "    queue {}: type={}",
                client.uint("queue")? as u32,
                client.str("type")?
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Devices no live QEMU here can create (TPM backends, SGX EPC,
    //! hv-balloon) and error paths; expectations follow QEMU's formats.
    use super::*;
    use crate::render::QmpErrorReply;
    use crate::version::QemuVersion;
    use serde_json::json;

    fn run(name: &str, replies: Vec<Reply>) -> String {
        let ctx = RenderContext::new(QemuVersion::new(10, 0, 0));
        render(name, &ctx, &replies, &Args::new()).unwrap().unwrap()
    }

    fn qmp_error(desc: &str) -> Reply {
        Err(QmpErrorReply {
            class: "CommandNotFound".into(),
            desc: desc.into(),
        })
    }

    #[test]
    fn tpm_backends() {
        let reply = json!([
            {"id": "tpm0", "model": "tpm-tis", "options": {"type": "passthrough",
             "data": {"path": "/dev/tpm0", "cancel-path": "/sys/x/cancel"}}},
            {"id": "tpm1", "model": "tpm-crb", "options": {"type": "emulator",
             "data": {"chardev": "chrtpm"}}},
            {"id": "tpm2", "model": "tpm-tis", "options": {"type": "passthrough",
             "data": {}}}
        ]);
        assert_eq!(
            run("tpm", vec![Ok(reply)]),
            "TPM device:\n tpm0: model=tpm-tis\n  \\ tpm0: type=passthrough,path=/dev/tpm0,\
             cancel-path=/sys/x/cancel\n tpm1: model=tpm-crb\n  \\ tpm1: type=emulator,\
             chardev=chrtpm\n tpm2: model=tpm-tis\n  \\ tpm2: type=passthrough\n"
        );
        assert_eq!(
            run(
                "tpm",
                vec![qmp_error("The command query-tpm has not been found")]
            ),
            "TPM device not supported\n"
        );
    }

    #[test]
    fn other_memory_devices() {
        let reply = json!([
            {"type": "sgx-epc", "data": {"memaddr": 4096, "size": 8, "node": 1,
             "memdev": "/objects/epc"}},
            {"type": "hv-balloon", "data": {"max-size": 1024}},
            {"type": "future-kind", "data": {"id": "f"}}
        ]);
        assert_eq!(
            run("memory-devices", vec![Ok(reply)]),
            "Memory device [sgx-epc]: \"\"\n  memaddr: 0x1000\n  size: 8\n  node: 1\n  \
             memdev: /objects/epc\nMemory device [hv-balloon]: \"\"\n  max-size: 1024\n\
             Memory device [future-kind]: \"f\"\n"
        );
    }

    #[test]
    fn memdev_error_follows_the_blank_line() {
        assert_eq!(run("memdev", vec![qmp_error("nope")]), "\nError: nope\n");
    }

    #[test]
    fn cryptodev_without_services() {
        let reply = json!([{"id": "c", "service": [], "client": []}]);
        assert_eq!(run("cryptodev", vec![Ok(reply)]), "c: service=[(null)]\n");
    }
}
