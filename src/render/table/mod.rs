//! Readable tables (`--format table`), for the renderers that have one.

use serde_json::Value;

/// How a table should look.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    /// Terminal width in columns.
    pub width: u16,
    /// Box drawing and colour (a terminal without NO_COLOR); plain ASCII otherwise.
    pub fancy: bool,
}

/// Renders the replies of a command (return values; failed calls as
/// `{"error": …}`) as tables, or `None` when the renderer has no table form
/// (the caller falls back to classic text).
pub fn render(_renderer: &str, _replies: &[Value], _style: TableStyle) -> Option<String> {
    None
}
