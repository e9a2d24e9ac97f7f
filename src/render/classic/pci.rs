//! Classic renderers of this family (filled in by its own change).

use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};

pub fn render(
    _name: &str,
    _ctx: &RenderContext,
    _replies: &[Reply],
    _args: &Args,
) -> Option<Result<String, RenderError>> {
    None
}
