//! Times for `T` arguments: a C floating-point number with an optional
//! `ms`, `us` or `ns` suffix, in seconds.

use super::cursor::{is_space, Cursor};
use super::error::Failure;
use super::numeric::strtod;

/// Reads a time at the cursor (blanks already skipped), in seconds.
pub(crate) fn parse_time(cur: &mut Cursor) -> Result<f64, Failure> {
    let Some(scan) = strtod(cur.rest()) else {
        return Err(Failure::new("Number expected", cur.pos));
    };
    if !scan.value.is_finite() {
        return Err(Failure::new("Bad number", cur.pos));
    }
    cur.pos += scan.end;
    let mut seconds = scan.value;
    if cur.peek() != 0 && cur.at(cur.pos + 1) == b's' {
        let divisor = match cur.peek() {
            b'm' => Some(1e3),
            b'u' => Some(1e6),
            b'n' => Some(1e9),
            _ => None,
        };
        if let Some(d) = divisor {
            seconds /= d;
            cur.pos += 2;
        }
    }
    if !cur.at_end() && !is_space(cur.peek()) {
        return Err(Failure::new("Unknown unit suffix", cur.pos));
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(s: &str) -> Result<(f64, usize), String> {
        let mut c = Cursor::new(s.as_bytes(), 0);
        parse_time(&mut c)
            .map(|t| (t, c.pos))
            .map_err(|f| f.message)
    }

    #[test]
    fn suffixes_scale_to_seconds() {
        assert_eq!(time("2"), Ok((2.0, 1)));
        assert_eq!(time("1.5 x"), Ok((1.5, 3)));
        assert_eq!(time("500ms"), Ok((0.5, 5)));
        assert_eq!(time("250us"), Ok((0.00025, 5)));
        assert_eq!(time("7ns"), Ok((7e-9, 3)));
        assert_eq!(time("1e3ms"), Ok((1.0, 5)));
        assert_eq!(time("0x10"), Ok((16.0, 4)));
        assert_eq!(time("-1"), Ok((-1.0, 2)));
    }

    #[test]
    fn errors() {
        assert_eq!(time("x"), Err("Number expected".into()));
        assert_eq!(time(""), Err("Number expected".into()));
        assert_eq!(time("inf"), Err("Bad number".into()));
        assert_eq!(time("nan"), Err("Bad number".into()));
        assert_eq!(time("1e999"), Err("Bad number".into()));
        assert_eq!(time("5s"), Err("Unknown unit suffix".into()));
        assert_eq!(time("5xs"), Err("Unknown unit suffix".into()));
        assert_eq!(time("5msx"), Err("Unknown unit suffix".into()));
        assert_eq!(time("5m"), Err("Unknown unit suffix".into()));
    }
}
