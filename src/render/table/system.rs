//! Small facts about the VM (compact key/value tables) and `info chardev`.

use super::fmt::{field, flag, int, list, object, size, status as status_word, text, yes_no};
use super::out::{Grid, Out, Text, Tone};
use serde_json::Value;

/// `query-status`.
pub(super) fn status(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let mut facts = Grid::keyed();
    facts.pair("Status", status_word(&text(info, "status")));
    facts.pair("Running", yes_no(info, "running"));
    if info.get("singlestep").is_some() {
        facts.pair("Single-step", yes_no(info, "singlestep"));
    }
    out.grid(&facts);
}

/// `query-version`.
pub(super) fn version(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let qemu = info.get("qemu").unwrap_or(&Value::Null);
    let mut facts = Grid::keyed();
    facts.pair(
        "QEMU",
        format!(
            "{}.{}.{}",
            text(qemu, "major"),
            text(qemu, "minor"),
            text(qemu, "micro")
        ),
    );
    if let Some(package) = field(info, "package").filter(|p| !p.is_empty()) {
        facts.pair("Package", package);
    }
    out.grid(&facts);
}

/// `query-kvm`.
pub(super) fn kvm(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let mut facts = Grid::keyed();
    facts.pair("KVM present", yes_no(info, "present"));
    let enabled = match flag(info, "enabled") {
        Some(true) => Text::toned("yes", Tone::Good),
        _ => yes_no(info, "enabled"),
    };
    facts.pair("KVM enabled", enabled);
    out.grid(&facts);
}

/// `query-name`.
pub(super) fn name(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let mut facts = Grid::keyed();
    match field(info, "name") {
        Some(name) => facts.pair("Name", name),
        None => facts.pair("Name", Text::toned("(not set)", Tone::Dim)),
    }
    out.grid(&facts);
}

/// `query-uuid`.
pub(super) fn uuid(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let mut facts = Grid::keyed();
    facts.pair("UUID", text(info, "UUID"));
    out.grid(&facts);
}

/// `query-balloon`.
pub(super) fn balloon(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let mut facts = Grid::keyed();
    let actual = int(info, "actual")
        .map(size)
        .unwrap_or_else(|| text(info, "actual"));
    facts.pair("Guest memory (balloon)", actual);
    out.grid(&facts);
}

/// `query-chardev`: one row per character device.
pub(super) fn chardev(out: &mut Out, reply: &Value) {
    let Some(devices) = list(out, reply) else {
        return;
    };
    out.heading("Character devices");
    if devices.is_empty() {
        out.note("No character devices.");
        return;
    }
    let mut grid = Grid::new(&["Label", "Backend", "Frontend"]);
    for device in devices {
        let frontend = match flag(device, "frontend-open") {
            Some(true) => Text::toned("open", Tone::Good),
            Some(false) => Text::from("closed"),
            None => text(device, "frontend-open").into(),
        };
        grid.row(vec![
            text(device, "label").into(),
            text(device, "filename").into(),
            frontend,
        ]);
    }
    out.grid(&grid);
}
