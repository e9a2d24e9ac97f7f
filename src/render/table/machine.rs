//! The machine's CPUs, memory, I/O threads, pointing devices and TPMs.

use super::fmt::{
    field, flag, hex, list, scalar, set_flags, size_of, text, text_or_dash, topology, NBSP, NONE,
};
use super::out::{Grid, Out, Text, Tone};
use serde_json::Value;

/// `query-cpus-fast`: one row per vCPU.
pub(super) fn cpus(out: &mut Out, reply: &Value) {
    let Some(cpus) = list(out, reply) else { return };
    out.heading("CPUs");
    if cpus.is_empty() {
        out.note("No CPUs.");
        return;
    }
    // `*` marks the monitor's current CPU, as in QEMU's text.
    let current = out.context().current_cpu.unwrap_or(0);
    let mut grid = Grid::new(&["CPU", "Thread id", "Topology", "Target", "QOM path"])
        .right(&[0, 1])
        .optional(&[4, 3]);
    for cpu in cpus {
        let index = text(cpu, "cpu-index");
        let marked = if super::fmt::int(cpu, "cpu-index") == Some(current) {
            Text::toned(format!("*{NBSP}{index}"), Tone::Good)
        } else {
            index.into()
        };
        let target = field(cpu, "target")
            .or_else(|| field(cpu, "arch"))
            .unwrap_or_else(|| NONE.into());
        grid.row(vec![
            marked,
            text(cpu, "thread-id").into(),
            topology(cpu.get("props")).into(),
            target.into(),
            text(cpu, "qom-path").into(),
        ]);
    }
    out.grid(&grid);
}

/// `query-hotpluggable-cpus`: the CPU slots, plugged or free.
pub(super) fn hotpluggable_cpus(out: &mut Out, reply: &Value) {
    let Some(slots) = list(out, reply) else {
        return;
    };
    out.heading("Hotpluggable CPU slots");
    if slots.is_empty() {
        out.note("This machine has no hotpluggable CPU slots.");
        return;
    }
    let mut grid = Grid::new(&["Type", "Topology", "vCPUs", "Plugged in as"])
        .right(&[2])
        .optional(&[0]);
    for slot in slots {
        let plugged = match field(slot, "qom-path") {
            Some(path) => Text::from(path),
            None => Text::toned("(free)", Tone::Dim),
        };
        grid.row(vec![
            text(slot, "type").into(),
            topology(slot.get("props")).into(),
            text(slot, "vcpus-count").into(),
            plugged,
        ]);
    }
    out.grid(&grid);
}

/// `query-iothreads`: one row per I/O thread.
pub(super) fn iothreads(out: &mut Out, reply: &Value) {
    let Some(threads) = list(out, reply) else {
        return;
    };
    out.heading("I/O threads");
    if threads.is_empty() {
        out.note("No I/O threads.");
        return;
    }
    let mut grid = Grid::new(&[
        "ID",
        "Thread id",
        "Poll max ns",
        "Poll grow",
        "Poll shrink",
        "AIO max batch",
    ])
    .right(&[1, 2, 3, 4, 5])
    .optional(&[5, 4, 3]);
    for thread in threads {
        grid.row(
            [
                "id",
                "thread-id",
                "poll-max-ns",
                "poll-grow",
                "poll-shrink",
                "aio-max-batch",
            ]
            .iter()
            .map(|key| text(thread, key).into())
            .collect(),
        );
    }
    out.grid(&grid);
}

/// `query-memdev`: one row per memory backend.
pub(super) fn memdev(out: &mut Out, reply: &Value) {
    let Some(backends) = list(out, reply) else {
        return;
    };
    out.heading("Memory backends");
    if backends.is_empty() {
        out.note("No memory backends.");
        return;
    }
    let mut grid = Grid::new(&["ID", "Size", "Policy", "Host nodes", "Options"])
        .right(&[1])
        .optional(&[3, 2]);
    for backend in backends {
        let nodes: Vec<String> = backend
            .get("host-nodes")
            .and_then(Value::as_array)
            .map(|nodes| nodes.iter().filter_map(scalar).collect())
            .unwrap_or_default();
        let options = set_flags(
            backend,
            &[
                ("merge", "merge"),
                ("dump", "dump"),
                ("prealloc", "prealloc"),
                ("share", "share"),
                ("reserve", "reserve"),
            ],
        );
        grid.row(vec![
            text(backend, "id").into(),
            size_of(backend, "size").into(),
            text(backend, "policy").into(),
            if nodes.is_empty() {
                "any".to_string()
            } else {
                nodes.join(",")
            }
            .into(),
            options.into(),
        ]);
    }
    out.grid(&grid);
}

/// `query-memory-devices`: DIMMs, virtio-mem, virtio-pmem, SGX EPC ….
pub(super) fn memory_devices(out: &mut Out, reply: &Value) {
    let Some(devices) = list(out, reply) else {
        return;
    };
    out.heading("Memory devices");
    if devices.is_empty() {
        out.note("No memory devices.");
        return;
    }
    let mut grid = Grid::new(&[
        "ID", "Type", "Backend", "Address", "Size", "Slot", "Node", "Hotplug",
    ])
    .right(&[4])
    .optional(&[7, 6, 5]);
    for device in devices {
        let data = device.get("data").unwrap_or(&Value::Null);
        // DIMMs say `addr`, the others `memaddr`.
        let address = if data.get("addr").is_some() {
            hex(data, "addr")
        } else {
            hex(data, "memaddr")
        };
        let mut size = size_of(data, "size");
        if let Some(requested) = data.get("requested-size").and_then(Value::as_i64) {
            size.push_str(&format!(" (requested {})", super::fmt::size(requested)));
        }
        let hotplug = set_flags(
            data,
            &[
                ("hotpluggable", "hotpluggable"),
                ("hotplugged", "hotplugged"),
            ],
        );
        grid.row(vec![
            text_or_dash(data, "id").into(),
            text(device, "type").into(),
            text(data, "memdev").into(),
            address.into(),
            size.into(),
            text(data, "slot").into(),
            text(data, "node").into(),
            hotplug.into(),
        ]);
    }
    out.grid(&grid);
}

/// `query-mice`: the pointing devices, the one in use marked.
pub(super) fn mice(out: &mut Out, reply: &Value) {
    let Some(mice) = list(out, reply) else { return };
    out.heading("Mice");
    if mice.is_empty() {
        out.note("No mouse devices.");
        return;
    }
    let mut grid = Grid::new(&["Index", "Name", "Pointer", "In use"]).right(&[0]);
    for mouse in mice {
        let pointer = if flag(mouse, "absolute") == Some(true) {
            "absolute"
        } else {
            "relative"
        };
        let in_use = if flag(mouse, "current") == Some(true) {
            Text::toned("yes", Tone::Good)
        } else {
            Text::from("no")
        };
        grid.row(vec![
            text(mouse, "index").into(),
            text(mouse, "name").into(),
            pointer.into(),
            in_use,
        ]);
    }
    out.grid(&grid);
}

/// `query-tpm`: one row per TPM device.
pub(super) fn tpm(out: &mut Out, reply: &Value) {
    let Some(devices) = list(out, reply) else {
        return;
    };
    out.heading("TPM devices");
    if devices.is_empty() {
        out.note("No TPM devices.");
        return;
    }
    let mut grid = Grid::new(&["ID", "Model", "Backend", "Details"]);
    for device in devices {
        let options = device.get("options").unwrap_or(&Value::Null);
        let data = options.get("data").unwrap_or(&Value::Null);
        let details: Vec<String> = match data.as_object() {
            Some(map) => map
                .iter()
                .filter_map(|(k, v)| scalar(v).map(|v| format!("{k}: {v}")))
                .collect(),
            None => Vec::new(),
        };
        grid.row(vec![
            text(device, "id").into(),
            text(device, "model").into(),
            text(options, "type").into(),
            if details.is_empty() {
                NONE.to_string()
            } else {
                details.join(", ")
            }
            .into(),
        ]);
    }
    out.grid(&grid);
}
