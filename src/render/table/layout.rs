//! Column widths and line breaking, so tables fit the width they are given
//! without breaking short words.

use super::out::Grid;

/// Pieces of text up to this long are kept whole when columns are
/// squeezed; longer ones (hashes, long names) may be broken anywhere.
const UNBROKEN_PIECE: usize = 16;

/// After these a long word may be broken (`/machine/` `unattached/`,
/// `qemu64-` `x86_64-` `cpu`), when inside the word.
const SOFT_BREAKS: [char; 5] = ['/', '-', ',', '=', ';'];

/// Whether a line may be broken right after `chars[i]` (a soft break
/// inside a word).
fn soft_break_after(chars: &[char], i: usize) -> bool {
    let inside = i > 0 && i + 1 < chars.len();
    inside
        && SOFT_BREAKS.contains(&chars[i])
        && chars
            .get(i - 1)
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ']' | ')'))
        && chars.get(i + 1).is_some_and(|c| !c.is_whitespace())
}

/// The pieces of a text that wrapping keeps together.
fn pieces(text: &str) -> Vec<usize> {
    let mut lengths = Vec::new();
    // Only plain spaces break: NBSP glues a number to its unit.
    for word in text.split([' ', '\n']).filter(|w| !w.is_empty()) {
        let chars: Vec<char> = word.chars().collect();
        let mut start = 0;
        for i in 0..chars.len() {
            if soft_break_after(&chars, i) {
                lengths.push(i + 1 - start);
                start = i + 1;
            }
        }
        lengths.push(chars.len() - start);
    }
    lengths
}

/// Per column, the width below which a header word or a short piece of the
/// content would be broken.
pub(super) fn column_minimums(grid: &Grid) -> Vec<usize> {
    let longest = |text: &str| pieces(text).into_iter().max().unwrap_or(0);
    let columns = grid
        .rows
        .iter()
        .map(Vec::len)
        .chain([grid.header.len()])
        .max()
        .unwrap_or(0);
    (0..columns)
        .map(|column| {
            let header = grid.header.get(column).map(|h| longest(h)).unwrap_or(0);
            let content = grid
                .rows
                .iter()
                .filter_map(|row| row.get(column))
                .map(|cell| longest(&cell.text).min(UNBROKEN_PIECE))
                .max()
                .unwrap_or(0);
            header.max(content).max(1)
        })
        .collect()
}

/// The table width content widths need: one space of padding each side of
/// every column, and the borders.
pub(super) fn readable_width(widths: &[usize]) -> usize {
    1 + widths.iter().map(|w| w + 3).sum::<usize>()
}

/// Per column, the width of its longest line (header included).
pub(super) fn natural_widths(grid: &Grid) -> Vec<usize> {
    let widest_line = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let columns = column_minimums(grid).len();
    (0..columns)
        .map(|column| {
            let header = grid.header.get(column).map(|h| widest_line(h)).unwrap_or(0);
            let cells = grid
                .rows
                .iter()
                .filter_map(|row| row.get(column))
                .map(|cell| widest_line(&cell.text));
            cells.chain([header]).max().unwrap_or(0).max(1)
        })
        .collect()
}

/// Content widths for the columns when they cannot all have their natural
/// width: the widest columns are capped (never below their minimum) at the
/// largest cap that fits, so narrow columns keep their text on one line and
/// only the long texts wrap. `None` when everything fits as it is, or when
/// not even the minimums do.
pub(super) fn column_widths(grid: &Grid, width: usize) -> Option<Vec<usize>> {
    let minimums = column_minimums(grid);
    let natural = natural_widths(grid);
    let available = width.checked_sub(readable_width(&vec![0; minimums.len()]))?;
    if natural.iter().sum::<usize>() <= available {
        return None;
    }
    let capped = |cap: usize| -> Vec<usize> {
        natural
            .iter()
            .zip(&minimums)
            .map(|(&n, &m)| n.min(cap.max(m)))
            .collect()
    };
    let widest = natural.iter().copied().max().unwrap_or(0);
    let cap = (0..=widest)
        .rev()
        .find(|&cap| capped(cap).iter().sum::<usize>() <= available)?;
    let mut widths = capped(cap);
    // What the cap leaves over goes to the capped columns, left to right.
    let mut spare = available.saturating_sub(widths.iter().sum());
    for (w, n) in widths.iter_mut().zip(&natural) {
        let extra = spare.min(n.saturating_sub(*w));
        *w += extra;
        spare -= extra;
    }
    Some(widths)
}

/// Wraps every line of `text` to `width` columns: at the last space that
/// fits, else after the last soft break, else anywhere.
pub(super) fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut start = 0;
        while chars.len() - start > width {
            let window = start..=start + width;
            let space = window.clone().rev().find(|&i| i > start && chars[i] == ' ');
            let (end, next) = match space {
                Some(i) => (i, i + 1),
                None => match (start..start + width)
                    .rev()
                    .find(|&i| soft_break_after(&chars, i))
                {
                    Some(i) => (i + 1, i + 1),
                    None => (start + width, start + width),
                },
            };
            out.push(
                chars[start..end]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_string(),
            );
            start = next;
            while chars.get(start) == Some(&' ') {
                start += 1;
            }
        }
        out.push(chars[start..].iter().collect());
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_then_soft_breaks_then_anywhere() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(
            wrap("/machine/unattached/device[2]", 21),
            "/machine/unattached/\ndevice[2]"
        );
        assert_eq!(wrap("qemu64-x86_64-cpu", 10), "qemu64-\nx86_64-cpu");
        assert_eq!(wrap("abcdefghij", 4), "abcd\nefgh\nij");
        assert_eq!(wrap("one\ntwo three", 5), "one\ntwo\nthree");
        assert_eq!(wrap("", 5), "");
        assert_eq!(
            wrap("16\u{a0}MiB of 64\u{a0}MiB", 8),
            "16\u{a0}MiB\nof\n64\u{a0}MiB"
        );
    }

    #[test]
    fn leading_minus_is_not_a_break() {
        assert_eq!(pieces("-509997528"), [10]);
        assert_eq!(pieces("socket 0, core 1"), [6, 2, 4, 1]);
        assert_eq!(pieces("socket\u{a0}0, core\u{a0}1"), [9, 6]);
        assert_eq!(pieces("/machine/unattached/device[2]"), [9, 11, 9]);
    }
}
