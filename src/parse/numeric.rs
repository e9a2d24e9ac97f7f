//! The C library number scanners QEMU's parser leans on (`strtoull`,
//! `strtod`), reimplemented over bytes with glibc's rules for where a number
//! ends, so that "what is left over" matches QEMU exactly.

use super::cursor::is_space;

/// What `strtoull` made of the start of a byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnsignedScan {
    /// The value (negated modulo 2^64 after a `-`, `u64::MAX` on overflow).
    pub value: u64,
    /// Bytes consumed; 0 when nothing was converted.
    pub end: usize,
    /// The magnitude did not fit in 64 bits (`ERANGE`).
    pub overflow: bool,
}

/// What `strtod` made of the start of a byte string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FloatScan {
    pub value: f64,
    /// Bytes consumed (never 0: no conversion is `None`).
    pub end: usize,
    /// Overflow or underflow (`ERANGE`).
    pub range_error: bool,
}

fn byte(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn digit_value(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

fn skip_space_and_sign(s: &[u8]) -> (usize, bool) {
    let mut i = 0;
    while is_space(byte(s, i)) {
        i += 1;
    }
    let negative = byte(s, i) == b'-';
    if matches!(byte(s, i), b'+' | b'-') {
        i += 1;
    }
    (i, negative)
}

fn has_hex_prefix(s: &[u8], i: usize) -> bool {
    byte(s, i) == b'0'
        && matches!(byte(s, i + 1), b'x' | b'X')
        && byte(s, i + 2).is_ascii_hexdigit()
}

/// `strtoull(s, &end, base)` for base 0, 8, 10 or 16.
pub(crate) fn strtoull(s: &[u8], base: u32) -> UnsignedScan {
    let (mut i, negative) = skip_space_and_sign(s);
    let mut base = base;
    if (base == 0 || base == 16) && has_hex_prefix(s, i) {
        base = 16;
        i += 2;
    } else if base == 0 {
        base = if byte(s, i) == b'0' { 8 } else { 10 };
    }
    let digits_start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = digit_value(byte(s, i)).filter(|d| *d < base) {
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits_start {
        return UnsignedScan {
            value: 0,
            end: 0,
            overflow: false,
        };
    }
    let value = if overflow {
        u64::MAX
    } else if negative {
        value.wrapping_neg()
    } else {
        value
    };
    UnsignedScan {
        value,
        end: i,
        overflow,
    }
}

fn starts_with_ignore_case(s: &[u8], i: usize, word: &str) -> bool {
    s.get(i..i + word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// `strtod(s, &end)`: decimal and hexadecimal floats, `inf`, `infinity`,
/// `nan` and `nan(...)`, with leading blanks and sign.
pub(crate) fn strtod(s: &[u8]) -> Option<FloatScan> {
    let (i, negative) = skip_space_and_sign(s);
    let sign = if negative { -1.0 } else { 1.0 };
    if starts_with_ignore_case(s, i, "infinity") {
        return Some(special(sign * f64::INFINITY, i + 8));
    }
    if starts_with_ignore_case(s, i, "inf") {
        return Some(special(sign * f64::INFINITY, i + 3));
    }
    if starts_with_ignore_case(s, i, "nan") {
        let mut end = i + 3;
        if byte(s, end) == b'(' {
            let mut j = end + 1;
            while byte(s, j).is_ascii_alphanumeric() || byte(s, j) == b'_' {
                j += 1;
            }
            if byte(s, j) == b')' {
                end = j + 1;
            }
        }
        return Some(special(f64::NAN, end));
    }
    if byte(s, i) == b'0'
        && matches!(byte(s, i + 1), b'x' | b'X')
        && (byte(s, i + 2).is_ascii_hexdigit()
            || (byte(s, i + 2) == b'.' && byte(s, i + 3).is_ascii_hexdigit()))
    {
        return Some(hex_float(s, i + 2, sign));
    }
    decimal_float(s, i, negative)
}

fn special(value: f64, end: usize) -> FloatScan {
    FloatScan {
        value,
        end,
        range_error: false,
    }
}

fn decimal_float(s: &[u8], start: usize, negative: bool) -> Option<FloatScan> {
    let mut i = start;
    let mut text = String::from(if negative { "-" } else { "" });
    let mut digits = 0usize;
    let mut nonzero = false;
    while byte(s, i).is_ascii_digit() {
        nonzero |= byte(s, i) != b'0';
        text.push(char::from(byte(s, i)));
        digits += 1;
        i += 1;
    }
    if byte(s, i) == b'.' {
        text.push('.');
        i += 1;
        while byte(s, i).is_ascii_digit() {
            nonzero |= byte(s, i) != b'0';
            text.push(char::from(byte(s, i)));
            digits += 1;
            i += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(byte(s, i), b'e' | b'E') {
        let mut j = i + 1;
        if matches!(byte(s, j), b'+' | b'-') {
            j += 1;
        }
        if byte(s, j).is_ascii_digit() {
            while byte(s, j).is_ascii_digit() {
                j += 1;
            }
            text.push('e');
            text.push_str(&String::from_utf8_lossy(s.get(i + 1..j).unwrap_or(&[])));
            i = j;
        }
    }
    let value: f64 = text.parse().unwrap_or(0.0);
    let range_error = value.is_infinite() || (nonzero && value.abs() < f64::MIN_POSITIVE);
    Some(FloatScan {
        value,
        end: i,
        range_error,
    })
}

/// Hex floats are only reachable through `T` arguments; the value keeps the
/// first 15 significant hex digits, which is plenty for a time.
fn hex_float(s: &[u8], start: usize, sign: f64) -> FloatScan {
    let mut i = start;
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut significant = 0;
    let mut seen_point = false;
    loop {
        let b = byte(s, i);
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = digit_value(b) {
            if significant < 15 {
                if mantissa != 0 || d != 0 {
                    significant += 1;
                }
                mantissa = mantissa * 16 + u64::from(d);
                if seen_point {
                    exponent -= 4;
                }
            } else if !seen_point {
                exponent += 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if matches!(byte(s, i), b'p' | b'P') {
        let mut j = i + 1;
        let negative = byte(s, j) == b'-';
        if matches!(byte(s, j), b'+' | b'-') {
            j += 1;
        }
        if byte(s, j).is_ascii_digit() {
            let mut e: i64 = 0;
            while byte(s, j).is_ascii_digit() {
                e = e
                    .saturating_mul(10)
                    .saturating_add(i64::from(byte(s, j) - b'0'));
                j += 1;
            }
            exponent = exponent.saturating_add(if negative { -e } else { e });
            i = j;
        }
    }
    let exponent = i32::try_from(exponent.clamp(-2000, 2000)).unwrap_or(0);
    // 0 × 2^2000 would be 0 × ∞ = NaN; strtod says 0.
    let value = if mantissa == 0 {
        sign * 0.0
    } else {
        sign * (mantissa as f64) * 2f64.powi(exponent)
    };
    let range_error = value.is_infinite() || (mantissa != 0 && value.abs() < f64::MIN_POSITIVE);
    FloatScan {
        value,
        end: i,
        range_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ull(s: &str, base: u32) -> (u64, usize, bool) {
        let r = strtoull(s.as_bytes(), base);
        (r.value, r.end, r.overflow)
    }

    #[test]
    fn strtoull_bases_and_prefixes() {
        assert_eq!(ull("0x1fz", 0), (31, 4, false));
        assert_eq!(ull("0X1F", 0), (31, 4, false));
        assert_eq!(ull("017", 0), (15, 3, false));
        assert_eq!(ull("08", 0), (0, 1, false));
        assert_eq!(ull("0x", 0), (0, 1, false));
        assert_eq!(ull("0xg", 16), (0, 1, false));
        assert_eq!(ull("12ab", 10), (12, 2, false));
        assert_eq!(ull("ff", 16), (255, 2, false));
        assert_eq!(ull("abc", 10), (0, 0, false));
        assert_eq!(ull("", 0), (0, 0, false));
        assert_eq!(ull("-", 10), (0, 0, false));
    }

    #[test]
    fn strtoull_signs_and_overflow() {
        assert_eq!(ull("-1", 10), (u64::MAX, 2, false));
        assert_eq!(ull("+5", 10), (5, 2, false));
        assert_eq!(ull(" 7", 10), (7, 2, false));
        assert_eq!(ull("18446744073709551615", 10), (u64::MAX, 20, false));
        assert_eq!(ull("18446744073709551616x", 10), (u64::MAX, 20, true));
    }

    fn dbl(s: &str) -> Option<(f64, usize, bool)> {
        strtod(s.as_bytes()).map(|r| (r.value, r.end, r.range_error))
    }

    #[test]
    fn strtod_decimal() {
        assert_eq!(dbl("1.5ms"), Some((1.5, 3, false)));
        assert_eq!(dbl(".5"), Some((0.5, 2, false)));
        assert_eq!(dbl("5."), Some((5.0, 2, false)));
        assert_eq!(dbl("1e3x"), Some((1000.0, 3, false)));
        assert_eq!(dbl("1e"), Some((1.0, 1, false)));
        assert_eq!(dbl("1e+"), Some((1.0, 1, false)));
        assert_eq!(dbl("-2E-1"), Some((-0.2, 5, false)));
        assert_eq!(dbl("."), None);
        assert_eq!(dbl("x"), None);
        assert_eq!(dbl("-"), None);
    }

    #[test]
    fn strtod_specials_and_ranges() {
        assert_eq!(dbl("inf"), Some((f64::INFINITY, 3, false)));
        assert_eq!(dbl("-Infinity!"), Some((f64::NEG_INFINITY, 9, false)));
        let nan = strtod(b"nan(abc)x").unwrap();
        assert!(nan.value.is_nan());
        assert_eq!(nan.end, 8);
        assert_eq!(strtod(b"nan(").unwrap().end, 3);
        assert_eq!(dbl("1e999"), Some((f64::INFINITY, 5, true)));
        assert_eq!(dbl("1e-999").map(|d| d.2), Some(true));
        assert_eq!(dbl("0e-999").map(|d| d.2), Some(false));
    }

    #[test]
    fn strtod_hex() {
        assert_eq!(dbl("0x1p3"), Some((8.0, 5, false)));
        assert_eq!(dbl("0x.8"), Some((0.5, 4, false)));
        assert_eq!(dbl("0x1.8p-1"), Some((0.75, 8, false)));
        assert_eq!(dbl("0xg"), Some((0.0, 1, false)));
        assert_eq!(dbl("0x10p"), Some((16.0, 4, false)));
        assert_eq!(dbl("0x0p99999"), Some((0.0, 9, false)));
        assert_eq!(
            dbl("0x1p99999").map(|d| (d.0, d.2)),
            Some((f64::INFINITY, true))
        );
    }
}
