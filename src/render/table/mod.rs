//! Readable tables (`--format table`), for the renderers that have one.
//!
//! Each family of `info` commands has its own file; they all write to an
//! [`out::Out`] page, which lays grids out with comfy-table at the width it
//! is given (never probing the terminal, so output is deterministic).

mod block;
mod display;
mod facts;
mod fmt;
mod layout;
mod machine;
mod migration;
mod out;
mod pci;
mod rows;
mod system;

pub use rows::{render_rows, rows, Rows};

use out::Out;
use serde_json::Value;

/// How a table should look.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    /// Terminal width in columns.
    pub width: u16,
    /// Box drawing and colour (a terminal without NO_COLOR); plain ASCII otherwise.
    pub fancy: bool,
}

/// What a table needs besides the replies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableContext {
    /// The parsed arguments of the command (`info block -n data0`).
    pub args: crate::parse::Args,
    /// The monitor's current CPU (`cpu N`), marked in `info cpus`.
    pub current_cpu: Option<i64>,
    /// The connected QEMU, whose order some tables follow.
    pub version: Option<crate::version::QemuVersion>,
}

/// Writes one (successful) reply onto the page.
type Section = fn(&mut Out, &Value);

/// The section for the `index`th reply of `renderer`, `None` when the
/// renderer has no table form.
fn section(renderer: &str, index: usize) -> Option<Section> {
    let section: Section = match (renderer, index) {
        ("spice", _) => display::spice,
        ("vnc", _) => display::vnc,
        // Drives and nodes together, filtered by the arguments (`info_block`).
        ("block", _) => |_, _| {},
        ("blockstats", _) => block::stats,
        ("block-jobs", _) => block::jobs,
        ("chardev", _) => system::chardev,
        ("cpus", _) => machine::cpus,
        ("pci", _) => pci::pci,
        ("mice", _) => machine::mice,
        ("migrate", _) => migration::any,
        ("migrate_capabilities", _) => migration::capabilities,
        ("migrate_parameters", _) => migration::parameters,
        ("iothreads", _) => machine::iothreads,
        ("memdev", _) => machine::memdev,
        ("memory-devices", _) => machine::memory_devices,
        ("hotpluggable-cpus", _) => machine::hotpluggable_cpus,
        ("tpm", _) => machine::tpm,
        ("dump", _) => migration::dump,
        ("balloon", _) => system::balloon,
        // One line in QEMU already (`VM status: running`): a table would
        // only be longer, so these keep QEMU's text in table mode.
        _ => return None,
    };
    Some(section)
}

/// Renders the replies of a command (return values; failed calls as
/// `{"error": …}`) as tables, or `None` when the renderer has no table form
/// (the caller falls back to classic text).
pub fn render(renderer: &str, replies: &[Value], style: TableStyle) -> Option<String> {
    render_with(renderer, replies, &TableContext::default(), style)
}

/// [`render`] for a command with arguments and monitor state.
pub fn render_with(
    renderer: &str,
    replies: &[Value],
    context: &TableContext,
    style: TableStyle,
) -> Option<String> {
    section(renderer, 0)?;
    let mut out = Out::new(style, context.clone());
    if replies.is_empty() {
        out.note("No reply.");
    }
    if renderer == "block" {
        block::info_block(&mut out, replies);
        return Some(out.finish());
    }
    for (index, reply) in replies.iter().enumerate() {
        match fmt::as_error(reply) {
            Some((class, desc)) => out.error(&class, &desc),
            None => section(renderer, index)?(&mut out, reply),
        }
    }
    Some(out.finish())
}
