//! Readable tables (`--format table`), for the renderers that have one.
//!
//! Each family of `info` commands has its own file; they all write to an
//! [`out::Out`] page, which lays grids out with comfy-table at the width it
//! is given (never probing the terminal, so output is deterministic).

mod block;
mod display;
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

/// Writes one (successful) reply onto the page.
type Section = fn(&mut Out, &Value);

/// The section for the `index`th reply of `renderer`, `None` when the
/// renderer has no table form.
fn section(renderer: &str, index: usize) -> Option<Section> {
    let section: Section = match (renderer, index) {
        ("spice", _) => display::spice,
        ("vnc", _) => display::vnc,
        ("block", 0) => block::devices,
        ("block", _) => block::nodes,
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
        ("status", _) => system::status,
        ("version", _) => system::version,
        ("kvm", _) => system::kvm,
        ("name", _) => system::name,
        ("uuid", _) => system::uuid,
        ("balloon", _) => system::balloon,
        _ => return None,
    };
    Some(section)
}

/// Renders the replies of a command (return values; failed calls as
/// `{"error": …}`) as tables, or `None` when the renderer has no table form
/// (the caller falls back to classic text).
pub fn render(renderer: &str, replies: &[Value], style: TableStyle) -> Option<String> {
    section(renderer, 0)?;
    let mut out = Out::new(style);
    if replies.is_empty() {
        out.note("No reply.");
    }
    for (index, reply) in replies.iter().enumerate() {
        match fmt::as_error(reply) {
            Some((class, desc)) => out.error(&class, &desc),
            None => section(renderer, index)?(&mut out, reply),
        }
    }
    Some(out.finish())
}
