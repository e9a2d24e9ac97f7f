//! Tables as data: the grids a renderer would lay out, as plain text rows,
//! for callers that combine the replies of many VMs into one table.

use super::out::{Grid, Out, Text};
use super::{facts, fmt, section, TableContext, TableStyle};
use serde_json::Value;

/// One grid's text, without its look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// The heading the grid came under, if any.
    pub title: Option<String>,
    /// Column names; empty for a key/value table.
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// A two-column table of names and values.
    pub keyed: bool,
    /// Columns that may be left out on a narrow terminal, least useful first.
    pub optional: Vec<usize>,
}

/// The grids `renderer` makes of successful `replies`; `None` when it has no
/// table form or a reply is an error.
pub fn rows(renderer: &str, replies: &[Value], context: &TableContext) -> Option<Vec<Rows>> {
    let section_of = |index| facts::section(renderer).or_else(|| section(renderer, index));
    section_of(0)?;
    let style = TableStyle {
        width: 100,
        fancy: false,
    };
    let mut out = Out::new(style, context.clone());
    out.captured = Some(Vec::new());
    for (index, reply) in replies.iter().enumerate() {
        if fmt::as_error(reply).is_some() {
            return None;
        }
        if renderer != "block" {
            section_of(index)?(&mut out, reply);
        }
    }
    if renderer == "block" {
        // Drives and nodes together, filtered by the command's arguments.
        super::block::info_block(&mut out, replies);
    }
    let captured = out.captured.take().unwrap_or_default();
    Some(
        captured
            .into_iter()
            .map(|(title, grid)| Rows {
                title,
                header: grid.header.clone(),
                rows: grid
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|t| t.text.clone()).collect())
                    .collect(),
                keyed: grid.keyed,
                optional: grid.optional.clone(),
            })
            .collect(),
    )
}

/// Lays grids out as [`super::render`] would, each under its title.
pub fn render_rows(grids: &[Rows], style: TableStyle) -> String {
    let mut out = Out::new(style, TableContext::default());
    for grid in grids {
        if let Some(title) = &grid.title {
            out.heading(title);
        }
        let mut laid = if grid.keyed {
            Grid::keyed()
        } else {
            let header: Vec<&str> = grid.header.iter().map(String::as_str).collect();
            Grid::new(&header).optional(&grid.optional)
        };
        for row in &grid.rows {
            laid.row(row.iter().map(|c| Text::from(c.as_str())).collect());
        }
        out.grid(&laid);
    }
    out.finish()
}
