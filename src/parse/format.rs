//! The `/fmt` argument of `x`, `xp`, `print`, `i` and `o`:
//! `/[count][format letters][size letters]`.

use super::cursor::{is_space, printed_byte, Cursor};
use super::error::Failure;

/// The format and size a `/fmt` without them falls back to. QEMU keeps one
/// pair for the whole process and updates it as it parses (even when a later
/// argument of the same line then fails), so keep one per QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatDefaults {
    /// One of `o d u x i c`.
    pub format: char,
    /// Unit size in bytes: 1, 2, 4 or 8.
    pub size: i64,
}

impl Default for FormatDefaults {
    fn default() -> Self {
        FormatDefaults {
            format: 'x',
            size: 4,
        }
    }
}

/// A parsed `/fmt`; `size` is -1 for format `i` without a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    pub count: i64,
    pub format: char,
    pub size: i64,
}

/// Reads an optional `/fmt` (blanks already skipped) and updates `defaults`.
pub(crate) fn parse_format(
    cur: &mut Cursor,
    defaults: &mut FormatDefaults,
) -> Result<Format, Failure> {
    if cur.peek() != b'/' {
        let size = if defaults.format == 'i' {
            -1
        } else {
            defaults.size
        };
        return Ok(Format {
            count: 1,
            format: defaults.format,
            size,
        });
    }
    cur.bump();
    let mut count: i32 = 1;
    if cur.peek().is_ascii_digit() {
        // C int arithmetic: absurd counts wrap around.
        count = 0;
        while cur.peek().is_ascii_digit() {
            count = count
                .wrapping_mul(10)
                .wrapping_add(i32::from(cur.peek() - b'0'));
            cur.bump();
        }
    }
    let mut format = None;
    let mut size = None;
    loop {
        match cur.peek() {
            f @ (b'o' | b'd' | b'u' | b'x' | b'i' | b'c') => format = Some(char::from(f)),
            b'b' => size = Some(1),
            b'h' => size = Some(2),
            b'w' => size = Some(4),
            b'g' | b'L' => size = Some(8),
            _ => break,
        }
        cur.bump();
    }
    if !cur.at_end() && !is_space(cur.peek()) {
        return Err(Failure::new(
            format!("invalid char in format: '{}'", printed_byte(cur.peek())),
            cur.pos,
        ));
    }
    let format = format.unwrap_or(defaults.format);
    let size = if format == 'i' {
        size.unwrap_or(-1)
    } else {
        let s = size.unwrap_or(defaults.size);
        defaults.size = s;
        s
    };
    defaults.format = format;
    Ok(Format {
        count: i64::from(count),
        format,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str, d: &mut FormatDefaults) -> Result<(i64, char, i64, usize), String> {
        let mut c = Cursor::new(s.as_bytes(), 0);
        parse_format(&mut c, d)
            .map(|f| (f.count, f.format, f.size, c.pos))
            .map_err(|e| e.message)
    }

    #[test]
    fn absent_uses_and_keeps_the_defaults() {
        let mut d = FormatDefaults::default();
        assert_eq!(fmt("0", &mut d), Ok((1, 'x', 4, 0)));
        assert_eq!(d, FormatDefaults::default());
    }

    #[test]
    fn count_format_and_size_letters() {
        let mut d = FormatDefaults::default();
        assert_eq!(fmt("/10i 0", &mut d), Ok((10, 'i', -1, 4)));
        // `i` without size leaves the remembered size alone.
        assert_eq!(
            d,
            FormatDefaults {
                format: 'i',
                size: 4
            }
        );
        assert_eq!(fmt("$pc", &mut d), Ok((1, 'i', -1, 0)));
        assert_eq!(fmt("/2hd", &mut d), Ok((2, 'd', 2, 4)));
        assert_eq!(
            d,
            FormatDefaults {
                format: 'd',
                size: 2
            }
        );
        assert_eq!(fmt("/", &mut d), Ok((1, 'd', 2, 1)));
        assert_eq!(fmt("/bw\t", &mut d), Ok((1, 'd', 4, 3)));
        assert_eq!(fmt("/ci", &mut d), Ok((1, 'i', -1, 3)));
        assert_eq!(fmt("/gx", &mut d), Ok((1, 'x', 8, 3)));
        assert_eq!(fmt("/L", &mut d), Ok((1, 'x', 8, 2)));
        assert_eq!(fmt("/0", &mut d), Ok((0, 'x', 8, 2)));
    }

    #[test]
    fn huge_counts_wrap_like_c_int() {
        let mut d = FormatDefaults::default();
        assert_eq!(fmt("/99999999999", &mut d).map(|f| f.0), Ok(1_215_752_191));
    }

    #[test]
    fn junk_after_the_letters() {
        let mut d = FormatDefaults::default();
        assert_eq!(fmt("/q", &mut d), Err("invalid char in format: 'q'".into()));
        assert_eq!(
            fmt("/-1", &mut d),
            Err("invalid char in format: '-'".into())
        );
        assert_eq!(
            fmt("/x-", &mut d),
            Err("invalid char in format: '-'".into())
        );
        assert_eq!(
            fmt("/2é", &mut d),
            Err("invalid char in format: '\u{fffd}'".into())
        );
        // A failed format does not touch the defaults.
        assert_eq!(d, FormatDefaults::default());
    }
}
