//! The page a table renderer writes: headings, sentences and grids, laid out
//! with comfy-table at a fixed width.

use super::fmt::NBSP;
use super::layout::{column_widths, natural_widths, readable_width, wrap};
use super::{TableContext, TableStyle};
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
};

/// Narrower than this, no table can show anything useful.
const MIN_WIDTH: u16 = 20;

/// How a value should catch the eye (colour on a terminal, nothing otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
    Dim,
}

/// One cell's text and tone.
#[derive(Debug, Clone)]
pub(super) struct Text {
    pub(super) text: String,
    tone: Tone,
}

impl Text {
    pub(super) fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Text {
            text: text.into(),
            tone,
        }
    }

    /// Other words in the same tone.
    pub(super) fn retext(self, text: impl Into<String>) -> Self {
        Text {
            text: text.into(),
            ..self
        }
    }
}

// A cell's text comes from QEMU: escape sequences in it are shown, never
// obeyed (the table's own colours are added when it is laid out).
impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::toned(crate::render::escape_controls(&text), Tone::Plain)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::toned(crate::render::escape_controls(text), Tone::Plain)
    }
}

/// Rows under a header (or without one, for key/value tables).
#[derive(Debug, Clone, Default)]
pub(super) struct Grid {
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<Vec<Text>>,
    right: Vec<usize>,
    /// Columns left out when the terminal is too narrow for every column on
    /// one line, in the order they go (least useful first).
    pub(super) optional: Vec<usize>,
    pub(super) keyed: bool,
}

impl Grid {
    pub(super) fn new(header: &[&str]) -> Self {
        Grid {
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Grid::default()
        }
    }

    /// A two-column table of names and values, without a header.
    pub(super) fn keyed() -> Self {
        Grid {
            keyed: true,
            ..Grid::default()
        }
    }

    /// Right-aligns the given columns (numbers).
    pub(super) fn right(mut self, columns: &[usize]) -> Self {
        self.right = columns.to_vec();
        self
    }

    /// Columns that may be left out at narrow widths, least useful first.
    pub(super) fn optional(mut self, columns: &[usize]) -> Self {
        self.optional = columns.to_vec();
        self
    }

    /// The grid without column `gone` (indexes above it shift down).
    fn without(&self, gone: usize) -> Grid {
        let keep = |i: &usize| *i != gone;
        let shift = |i: usize| if i > gone { i - 1 } else { i };
        let drop_cell = |cells: &Vec<Text>| {
            cells
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(i))
                .map(|(_, c)| c.clone())
                .collect()
        };
        Grid {
            header: self
                .header
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(i))
                .map(|(_, h)| h.clone())
                .collect(),
            rows: self.rows.iter().map(drop_cell).collect(),
            right: self.right.iter().copied().filter(keep).map(shift).collect(),
            optional: self
                .optional
                .iter()
                .copied()
                .filter(keep)
                .map(shift)
                .collect(),
            keyed: self.keyed,
        }
    }

    pub(super) fn row(&mut self, cells: Vec<Text>) {
        self.rows.push(cells);
    }

    pub(super) fn pair(&mut self, key: &str, value: impl Into<Text>) {
        self.rows.push(vec![Text::from(key), value.into()]);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The page being written.
pub(super) struct Out {
    style: TableStyle,
    text: String,
    /// Set when the grids are wanted as data (see `rows.rs`), with the
    /// heading each came under.
    pub(super) captured: Option<Vec<(Option<String>, Grid)>>,
    heading: Option<String>,
    context: TableContext,
}

impl Out {
    pub(super) fn new(style: TableStyle, context: TableContext) -> Self {
        let width = style.width.max(MIN_WIDTH);
        Out {
            style: TableStyle { width, ..style },
            text: String::new(),
            captured: None,
            heading: None,
            context,
        }
    }

    /// The command's arguments and monitor state.
    pub(super) fn context(&self) -> &TableContext {
        &self.context
    }

    /// A title for what follows, set off from what came before by a blank line.
    pub(super) fn heading(&mut self, title: &str) {
        self.heading = Some(title.to_string());
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.push_line(title, "1");
    }

    /// A plain sentence ("No clients connected.").
    pub(super) fn note(&mut self, sentence: &str) {
        self.push_line(sentence, "2");
    }

    /// A failed QMP call, said plainly.
    pub(super) fn error(&mut self, class: &str, desc: &str) {
        self.push_line(&format!("Error: {desc} ({class})"), "1;31");
    }

    pub(super) fn grid(&mut self, grid: &Grid) {
        if let Some(captured) = &mut self.captured {
            captured.push((self.heading.clone(), grid.clone()));
            return;
        }
        let text = self.lay_out(grid);
        self.text.push_str(&text);
        if !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    /// The page, ending with a newline.
    pub(super) fn finish(mut self) -> String {
        if !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text
    }

    /// Wraps a line of prose; on a terminal, each piece gets the SGR `look`.
    fn push_line(&mut self, line: &str, look: &str) {
        for part in wrap(line, usize::from(self.style.width)).lines() {
            if self.style.fancy {
                self.text.push_str(&format!("\x1b[{look}m{part}\x1b[0m\n"));
            } else {
                self.text.push_str(part);
                self.text.push('\n');
            }
        }
    }

    /// The first grid that fits side by side, else the last one as records.
    pub(super) fn first_fitting(&mut self, grids: &[Grid]) {
        if let Some(grid) = grids
            .iter()
            .find(|g| self.fits_on_lines(g))
            .or(grids.last())
        {
            self.grid(grid);
        }
    }

    /// A tabular grid shows one line per row or not at all: when its rows
    /// do not fit the width, the optional columns go first (a dim line says
    /// which), then each row becomes a key/value record. Key/value tables
    /// wrap long values; a blank key continues the value above.
    fn lay_out(&self, grid: &Grid) -> String {
        let tabular = !grid.keyed && !grid.header.is_empty();
        if !tabular {
            return self.build(grid);
        }
        let mut shown = grid.clone();
        let mut hidden = Vec::new();
        loop {
            if self.fits_on_lines(&shown) {
                let mut text = self.build(&shown);
                if !hidden.is_empty() {
                    let note = format!(
                        "Hidden at this width: {} (--format classic shows all)",
                        hidden.join(", ")
                    );
                    for part in wrap(&note, usize::from(self.style.width)).lines() {
                        text.push_str(&self.paint(part, "2"));
                    }
                }
                return text;
            }
            let Some(&gone) = shown.optional.first() else {
                return self.records(grid);
            };
            hidden.push(shown.header[gone].clone());
            shown = shown.without(gone);
        }
    }

    /// Whether every row of the grid fits on one line at natural widths.
    fn fits_on_lines(&self, grid: &Grid) -> bool {
        let single = |t: &str| !t.contains('\n');
        if !grid.header.iter().all(|h| single(h))
            || !grid.rows.iter().flatten().all(|c| single(&c.text))
        {
            return false;
        }
        readable_width(&natural_widths(grid)) <= usize::from(self.style.width)
    }

    /// A line in the SGR `look` on a terminal, plain otherwise.
    fn paint(&self, line: &str, look: &str) -> String {
        if self.style.fancy {
            format!("\x1b[{look}m{line}\x1b[0m\n")
        } else {
            format!("{line}\n")
        }
    }

    fn records(&self, grid: &Grid) -> String {
        let records: Vec<String> = grid
            .rows
            .iter()
            .map(|row| {
                let mut record = Grid::keyed();
                for (name, cell) in grid.header.iter().zip(row) {
                    record.pair(name, cell.clone());
                }
                self.lay_out(&record)
            })
            .collect();
        records.join("\n")
    }

    fn build(&self, grid: &Grid) -> String {
        // When the columns cannot all have their natural width, the cells
        // are wrapped here (at spaces, else after `/`, `-`, `,`) and
        // comfy-table is told the widths, so it never has to break text.
        let widths = column_widths(grid, usize::from(self.style.width));
        let fit = |column: usize, text: &str| {
            match widths.as_ref().and_then(|w| w.get(column)) {
                Some(&width) => wrap(text, width),
                None => text.to_string(),
            }
            .replace(NBSP, " ")
        };
        let mut table = Table::new();
        table.force_no_tty();
        if self.style.fancy {
            table.enforce_styling();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS);
        } else {
            table.load_preset(comfy_table::presets::ASCII_FULL_CONDENSED);
        }
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(self.style.width);
        if !grid.header.is_empty() && !grid.keyed {
            let header = grid.header.iter().enumerate();
            table.set_header(
                header.map(|(column, h)| Cell::new(fit(column, h)).add_attribute(Attribute::Bold)),
            );
        }
        for row in &grid.rows {
            let cells = row.iter().enumerate().map(|(column, text)| {
                let mut cell = Cell::new(fit(column, &text.text));
                if grid.right.contains(&column) {
                    cell = cell.set_alignment(CellAlignment::Right);
                }
                if grid.keyed && column == 0 {
                    return cell.add_attribute(Attribute::Bold);
                }
                match text.tone {
                    Tone::Plain => cell,
                    Tone::Good => cell.fg(Color::Green),
                    Tone::Warn => cell.fg(Color::Yellow),
                    Tone::Bad => cell.fg(Color::Red),
                    Tone::Dim => cell.fg(Color::DarkGrey),
                }
            });
            table.add_row(cells);
        }
        if let Some(widths) = &widths {
            // Widths include the padding; set once the rows have made the columns.
            let fixed = widths.iter().map(|&w| {
                ColumnConstraint::Absolute(Width::Fixed(u16::try_from(w + 2).unwrap_or(u16::MAX)))
            });
            table.set_constraints(fixed);
        }
        let mut text = table.to_string();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_from_qemu_cannot_drive_the_terminal() {
        let cell = Text::from("web\u{1b}]0;pwned\u{7}1");
        assert_eq!(cell.text, "web\\u{1b}]0;pwned\\u{7}1");
        let cell = Text::from(String::from("ide1-cd0"));
        assert_eq!(cell.text, "ide1-cd0");
    }
}
