//! One-line facts (`info status`, `version`, `kvm`, `name`, `uuid`) as
//! key/value grids. QEMU's own line reads best for one VM, so table mode
//! keeps it there; a fleet merges these grids into one table with a row per
//! VM, which reads better than a line per VM.

use super::fmt::{field, flag, object, status as status_word, text, yes_no};
use super::out::{Grid, Out, Text, Tone};
use super::Section;
use serde_json::Value;

/// The grid form of a one-line fact, for merged fleet tables.
pub(super) fn section(renderer: &str) -> Option<Section> {
    Some(match renderer {
        "status" => status,
        "version" => version,
        "kvm" => kvm,
        "name" => name,
        "uuid" => uuid,
        _ => return None,
    })
}

/// `query-status`.
fn status(out: &mut Out, reply: &Value) {
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
fn version(out: &mut Out, reply: &Value) {
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
fn kvm(out: &mut Out, reply: &Value) {
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
fn name(out: &mut Out, reply: &Value) {
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
fn uuid(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    let mut facts = Grid::keyed();
    facts.pair("UUID", text(info, "UUID"));
    out.grid(&facts);
}
