//! Classic output: text byte-identical to QEMU's own HMP for the same state
//! (lines end in `\n`; the `\r\n` wire form is made by the caller).
//!
//! Each submodule renders one family of commands and answers `None` for
//! renderer names it does not own.

mod block;
mod commands;
mod display;
mod fields;
pub mod fmt;
mod lenient;
mod machine;
mod migration;
mod misc;
mod pci;
mod system;

pub use migration::{migrate_globals_from_hmp, parameter_order};

use super::{RenderContext, RenderError, Reply};
use crate::parse::Args;

/// Renders the replies of a command whose grammar entry says `render: NAME`.
///
/// `replies` are the outcomes of the entry's QMP calls, in order. A QMP error
/// that the renderer does not handle itself becomes `Error: <desc>` as in HMP.
pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Result<String, RenderError> {
    type Family = fn(&str, &RenderContext, &[Reply], &Args) -> Option<Result<String, RenderError>>;
    const FAMILIES: &[Family] = &[
        system::render,
        display::render,
        machine::render,
        block::render,
        pci::render,
        migration::render,
        misc::render,
        commands::render,
    ];
    FAMILIES
        .iter()
        .find_map(|family| family(name, ctx, replies, args))
        .unwrap_or_else(|| Err(RenderError::UnknownRenderer(name.to_string())))
}

/// HMP's generic rendering of a failed QMP call.
pub fn hmp_error(desc: &str) -> String {
    format!("Error: {desc}\n")
}
