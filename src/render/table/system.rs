//! `info balloon` and `info chardev` (`info status`, `name`, `uuid`,
//! `version` and `kvm` keep QEMU's one line in table mode).

use super::fmt::{flag, int, list, object, size, text};
use super::out::{Grid, Out, Text, Tone};
use serde_json::Value;

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
    let mut grid = Grid::new(&["Label", "Backend", "Frontend"]).optional(&[2]);
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
