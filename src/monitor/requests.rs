//! The requests a line becomes, without running it: what the monitor
//! reports after a line and what `--dry-run` prints come from here, so a
//! dry run shows exactly what the monitor would send (`cpu-index` after
//! `cpu N` included).

use crate::parse::ParsedCommand;
use crate::translate::{hmp_request, Plan};
use serde_json::Value;

/// `Some(index)` when the line is `cpu N`: later lines act on that vCPU
/// (the monitor checks that it exists before switching).
pub fn cpu_selection(parsed: &ParsedCommand<'_>) -> Option<Option<i64>> {
    (parsed.entry.primary_name() == "cpu").then(|| parsed.args.int("index"))
}

/// The requests a plan sends on the wire while `current_cpu` is selected:
/// a line QEMU's own HMP runs carries the monitor's current CPU, and so
/// does a request that names a CPU (`memsave`).
pub fn wire_requests(plan: &Plan, current_cpu: Option<i64>) -> Vec<Value> {
    match plan {
        Plan::Hmp { command_line } => vec![hmp_request(command_line, current_cpu).to_json()],
        other => {
            let mut requests = other.wire_requests();
            if let Some(cpu) = current_cpu {
                for request in &mut requests {
                    let args = request.get_mut("arguments").and_then(Value::as_object_mut);
                    if let Some(slot) = args.and_then(|a| a.get_mut("cpu-index")) {
                        *slot = Value::from(cpu);
                    }
                }
            }
            requests
        }
    }
}
