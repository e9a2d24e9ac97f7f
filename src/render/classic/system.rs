//! Classic renderers of VM-wide state: version, identity, run state,
//! accelerator, dumps, record/replay, dirty-page tracking, confidential
//! computing, and the `x-query-*` commands that return ready-made text.

mod stats;

use super::fields::{bad_reply, first, list_of_objects, on_return, Fields};
use super::fmt::{c_str, format_f};
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use crate::version::QemuVersion;
use serde_json::Value;
use std::fmt::Write;

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Option<Result<String, RenderError>> {
    let v = &ctx.version;
    let out = match name {
        "version" => on_return(name, replies, |r| version(name, r)),
        "name" => on_return(name, replies, |r| vm_name(name, r)),
        "uuid" => on_return(name, replies, |r| line(name, r, "UUID")),
        "status" => on_return(name, replies, |r| status(name, r)),
        "kvm" => on_return(name, replies, |r| kvm(name, r)),
        "human-readable-text" => on_return(name, replies, |r| verbatim(name, r)),
        "dump" => on_return(name, replies, |r| dump(name, r)),
        "replay" => on_return(name, replies, |r| replay(name, r)),
        "vm-generation-id" => on_return(name, replies, |r| line(name, r, "guid")),
        "memory_size_summary" => on_return(name, replies, |r| memory_size_summary(name, r)),
        "dirty_rate" => on_return(name, replies, |r| dirty_rate(name, v, r)),
        "vcpu_dirty_limit" => on_return(name, replies, |r| vcpu_dirty_limit(name, r)),
        "sev" => sev(name, v, replies),
        "sgx" => sgx(name, v, replies),
        "stats" => stats::render(name, v, replies, args),
        _ => return None,
    };
    Some(out)
}

fn version(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let q = f.object("qemu")?;
    Ok(format!(
        "{}.{}.{}{}\n",
        q.int("major")?,
        q.int("minor")?,
        q.int("micro")?,
        f.str("package")?
    ))
}

/// `info name` prints nothing at all for an unnamed VM.
fn vm_name(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    Ok(f.opt_str("name")?
        .map(|n| format!("{n}\n"))
        .unwrap_or_default())
}

/// One string member on a line of its own.
fn line(name: &str, reply: &Value, key: &str) -> Result<String, RenderError> {
    Ok(format!("{}\n", Fields::new(name, reply)?.str(key)?))
}

/// The `human-readable-text` of an `x-query-*` command, as is.
fn verbatim(name: &str, reply: &Value) -> Result<String, RenderError> {
    Ok(Fields::new(name, reply)?
        .str("human-readable-text")?
        .to_string())
}

fn status(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let running = f.bool("running")?;
    let state = f.str("status")?;
    let mut out = String::from("VM status: ");
    out.push_str(if running { "running" } else { "paused" });
    // QEMU before 8.1 reported single-step mode here.
    if f.opt_bool("singlestep")?.unwrap_or(false) {
        out.push_str(" (single step mode)");
    }
    if !running && state != "paused" {
        let _ = write!(out, " ({state})");
    }
    out.push('\n');
    Ok(out)
}

fn kvm(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let state = match (f.bool("present")?, f.bool("enabled")?) {
        (false, _) => "not compiled",
        (true, true) => "enabled",
        (true, false) => "disabled",
    };
    Ok(format!("kvm support: {state}\n"))
}

fn dump(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let state = f.str("status")?;
    let mut out = format!("Status: {state}\n");
    if state == "active" {
        let completed = f.int("completed")? as f64;
        let total = f.int("total")? as f64;
        // QEMU keeps the percentage in a C float before printing it.
        let percent = (100.0 * completed / total) as f32 as f64;
        let _ = writeln!(out, "Finished: {} %", format_f(percent, 2));
    }
    Ok(out)
}

fn replay(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let doing = match f.str("mode")? {
        "none" => return Ok("Record/replay is not active\n".to_string()),
        "record" => "Recording",
        _ => "Replaying",
    };
    Ok(format!(
        "{doing} execution '{}': instruction count = {}\n",
        c_str(f.opt_str("filename")?),
        f.int("icount")?
    ))
}

fn memory_size_summary(name: &str, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let mut out = format!("base memory: {}\n", f.uint("base-memory")?);
    if let Some(plugged) = f.opt_uint("plugged-memory")? {
        let _ = writeln!(out, "plugged memory: {plugged}");
    }
    Ok(out)
}

fn dirty_rate(name: &str, v: &QemuVersion, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    let mode = f.opt_str("mode")?.unwrap_or("page-sampling");
    let mut out = format!("Status: {}\n", f.str("status")?);
    let _ = writeln!(out, "Start Time: {} (ms)", f.int("start-time")?);
    // Since 8.0 the sample size is shown only for the mode that samples.
    if !v.at_least(8, 0) || mode == "page-sampling" {
        let _ = writeln!(out, "Sample Pages: {} (per GB)", f.uint("sample-pages")?);
    }
    let _ = writeln!(out, "Period: {} (sec)", f.int("calc-time")?);
    let _ = writeln!(out, "Mode: {mode}");
    out.push_str("Dirty rate: ");
    match f.opt_int("dirty-rate")? {
        None => out.push_str("(not ready)\n"),
        Some(rate) => {
            let _ = writeln!(out, "{rate} (MB/s)");
            for vcpu in f.objects("vcpu-dirty-rate")? {
                let _ = writeln!(
                    out,
                    "vcpu[{}], Dirty rate: {} (MB/s)",
                    vcpu.int("id")?,
                    vcpu.int("dirty-rate")?
                );
            }
        }
    }
    Ok(out)
}

fn vcpu_dirty_limit(name: &str, reply: &Value) -> Result<String, RenderError> {
    let limits = list_of_objects(name, reply)?;
    // QMP answers an empty list where HMP sees the limit is not running.
    if limits.is_empty() {
        return Ok("Dirty page limit not enabled!\n".to_string());
    }
    let mut out = String::new();
    for l in limits {
        let _ = writeln!(
            out,
            "vcpu[{}], limit rate {} (MB/s), current rate {} (MB/s)",
            l.int("cpu-index")?,
            l.int("limit-rate")?,
            l.int("current-rate")?
        );
    }
    Ok(out)
}

/// What a QEMU built without SEV says, over QMP and in HMP alike.
const SEV_NOT_BUILT: &str = "SEV is not available in this QEMU";

fn sev(name: &str, v: &QemuVersion, replies: &[Reply]) -> Result<String, RenderError> {
    let reply = match first(name, replies)? {
        Ok(reply) => reply,
        Err(e) if e.desc == SEV_NOT_BUILT => return Ok(format!("{SEV_NOT_BUILT}\n")),
        // HMP reads the SEV state directly; no state means not enabled.
        Err(_) => return Ok("SEV is not enabled\n".to_string()),
    };
    let f = Fields::new(name, reply)?;
    if !f.bool("enabled")? {
        return Ok("SEV is not enabled\n".to_string());
    }
    let common = format!(
        "state: {}\nbuild: {}\napi version: {}.{}\n",
        f.str("state")?,
        f.int("build-id")?,
        f.int("api-major")?,
        f.int("api-minor")?
    );
    // Policy bits: SEV NODBG 0x1 / NOKS 0x2; SEV-SNP SMT 0x10000 / DBG 0x80000.
    let on_off = |on: bool| if on { "on" } else { "off" };
    let mut out = String::new();
    if v.at_least(9, 1) {
        let sev_type = f.str("sev-type")?;
        let _ = write!(out, "SEV type: {sev_type}\n{common}");
        if sev_type == "sev-snp" {
            let policy = f.uint("snp-policy")?;
            let _ = writeln!(out, "debug: {}", on_off(policy & 0x80000 != 0));
            let _ = writeln!(out, "SMT allowed: {}", on_off(policy & 0x10000 != 0));
        } else {
            let policy = f.uint("policy")?;
            let _ = writeln!(out, "handle: {}", f.int("handle")? as i32);
            let _ = writeln!(out, "debug: {}", on_off(policy & 0x1 == 0));
            let _ = writeln!(out, "key-sharing: {}", on_off(policy & 0x2 == 0));
        }
    } else {
        let policy = f.uint("policy")?;
        let _ = write!(out, "handle: {}\n{common}", f.int("handle")? as i32);
        let _ = writeln!(out, "debug: {}", on_off(policy & 0x1 == 0));
        let _ = writeln!(out, "key-sharing: {}", on_off(policy & 0x2 == 0));
    }
    Ok(out)
}

fn sgx(name: &str, v: &QemuVersion, replies: &[Reply]) -> Result<String, RenderError> {
    let reply = match first(name, replies)? {
        Ok(reply) => reply,
        // Reported with error_report(): the message alone.
        Err(e) => return Ok(format!("{}\n", e.desc)),
    };
    let f = Fields::new(name, reply)?;
    let support = |key: &str| -> Result<&str, RenderError> {
        Ok(if f.bool(key)? { "enabled" } else { "disabled" })
    };
    let mut out = format!("SGX support: {}\n", support("sgx")?);
    let _ = writeln!(out, "SGX1 support: {}", support("sgx1")?);
    let _ = writeln!(out, "SGX2 support: {}", support("sgx2")?);
    let _ = writeln!(out, "FLC support: {}", support("flc")?);
    let old_layout = !v.at_least(8, 0);
    if old_layout {
        // Until 8.0 the (since removed) total came first.
        let size = f
            .opt_uint("section-size")?
            .ok_or_else(|| bad_reply(name, "member 'section-size' is missing"))?;
        let _ = writeln!(out, "size: {size}");
    }
    let mut total: u64 = 0;
    for section in f.objects("sections")? {
        let size = section.uint("size")?;
        total = total.wrapping_add(size);
        let _ = writeln!(out, "NUMA node #{}: size={size}", section.int("node")?);
    }
    if !old_layout {
        let _ = writeln!(out, "total size={total}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Layouts no live QEMU here can produce (SEV/SGX hosts, QMP errors of
    //! commands that cannot fail); expectations follow QEMU's formats.
    use super::*;
    use crate::render::QmpErrorReply;
    use serde_json::json;

    fn run(name: &str, version: (u32, u32), replies: Vec<Reply>) -> String {
        let ctx = RenderContext::new(QemuVersion::new(version.0, version.1, 0));
        render(name, &ctx, &replies, &Args::new()).unwrap().unwrap()
    }

    fn qmp_error(desc: &str) -> Reply {
        Err(QmpErrorReply {
            class: "GenericError".into(),
            desc: desc.into(),
        })
    }

    #[test]
    fn sev_enabled_layouts() {
        let sev = json!({"enabled": true, "api-major": 1, "api-minor": 49, "build-id": 6,
                         "state": "running", "sev-type": "sev", "handle": 1,
                         "policy": 1});
        assert_eq!(
            run("sev", (7, 2), vec![Ok(sev.clone())]),
            "handle: 1\nstate: running\nbuild: 6\napi version: 1.49\ndebug: off\nkey-sharing: on\n"
        );
        assert_eq!(
            run("sev", (10, 0), vec![Ok(sev)]),
            "SEV type: sev\nstate: running\nbuild: 6\napi version: 1.49\nhandle: 1\n\
             debug: off\nkey-sharing: on\n"
        );
        let snp = json!({"enabled": true, "api-major": 1, "api-minor": 55, "build-id": 2,
                         "state": "launch-update", "sev-type": "sev-snp",
                         "snp-policy": 0x90000});
        assert_eq!(
            run("sev", (10, 0), vec![Ok(snp)]),
            "SEV type: sev-snp\nstate: launch-update\nbuild: 2\napi version: 1.55\n\
             debug: on\nSMT allowed: on\n"
        );
        assert_eq!(
            run("sev", (10, 0), vec![qmp_error(SEV_NOT_BUILT)]),
            "SEV is not available in this QEMU\n"
        );
    }

    #[test]
    fn sgx_enabled_layouts() {
        let info = json!({"sgx": true, "sgx1": true, "sgx2": false, "flc": true,
                          "section-size": 96468992,
                          "sections": [{"node": 0, "size": 67108864},
                                       {"node": 1, "size": 29360128}]});
        let head = "SGX support: enabled\nSGX1 support: enabled\nSGX2 support: disabled\n\
                    FLC support: enabled\n";
        let sections = "NUMA node #0: size=67108864\nNUMA node #1: size=29360128\n";
        assert_eq!(
            run("sgx", (7, 2), vec![Ok(info.clone())]),
            format!("{head}size: 96468992\n{sections}")
        );
        assert_eq!(
            run("sgx", (10, 0), vec![Ok(info)]),
            format!("{head}{sections}total size=96468992\n")
        );
    }

    #[test]
    fn unexpected_errors_and_shapes() {
        assert_eq!(
            run("uuid", (10, 0), vec![qmp_error("boom")]),
            "Error: boom\n"
        );
        let ctx = RenderContext::new(QemuVersion::new(10, 0, 0));
        let err = render(
            "status",
            &ctx,
            &[Ok(json!({"running": "yes"}))],
            &Args::new(),
        )
        .unwrap()
        .unwrap_err();
        assert!(
            err.to_string().contains("'running' is not a boolean"),
            "{err}"
        );
        let err = render("kvm", &ctx, &[], &Args::new()).unwrap().unwrap_err();
        assert!(
            err.to_string().contains("expected at least 1 QMP replies"),
            "{err}"
        );
        assert!(render("not-mine", &ctx, &[], &Args::new()).is_none());
    }

    #[test]
    fn replay_without_filename_prints_c_null() {
        let reply = json!({"mode": "play", "icount": 7});
        assert_eq!(
            run("replay", (10, 0), vec![Ok(reply)]),
            "Replaying execution '(null)': instruction count = 7\n"
        );
    }

    #[test]
    fn dump_progress_goes_through_a_float() {
        // 100 * 1462 / 1491 is 98.05499664… as a double but 98.05500030…
        // as the C float QEMU stores it in.
        let reply = json!({"status": "active", "completed": 1462, "total": 1491});
        assert_eq!(
            run("dump", (7, 2), vec![Ok(reply)]),
            "Status: active\nFinished: 98.06 %\n"
        );
    }
}
