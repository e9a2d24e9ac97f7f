//! Sizes for `o` arguments: QEMU's `qemu_strtosz_MiB`, whose edge cases
//! changed in QEMU 8.0/8.1, so both behaviours are kept.
//!
//! `10` is 10 MiB, `4k` 4096, `1.5G` one and a half GiB, `0x10` 16 MiB. A
//! fraction needs a unit above bytes and is rounded to the nearest byte.

use super::cursor::is_space;
use super::numeric::{strtod, strtoull};
use crate::grammar::Profile;

const MIB: u64 = 1 << 20;

/// A size read from the start of a byte string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Size {
    pub bytes: u64,
    /// Bytes consumed.
    pub end: usize,
    /// What QEMU 7.2 writes to its stderr on the way (hex with a suffix).
    pub warning: Option<String>,
}

fn byte(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn suffix_multiplier(b: u8) -> Option<u64> {
    let shift = match b.to_ascii_uppercase() {
        b'B' => 0,
        b'K' => 10,
        b'M' => 20,
        b'G' => 30,
        b'T' => 40,
        b'P' => 50,
        b'E' => 60,
        _ => return None,
    };
    Some(1u64 << shift)
}

/// Parses a size with MiB as the default unit; `None` is QEMU's
/// `invalid size` (any parse failure or a value above `i64::MAX`).
pub(crate) fn parse_size(s: &[u8], profile: Profile) -> Option<Size> {
    let size = match profile {
        Profile::V5_2 | Profile::V7_2 => strtosz_7_2(s)?,
        Profile::V8_2 | Profile::V10_0 | Profile::V11_1 => strtosz_8_1(s)?,
    };
    (size.bytes <= i64::MAX as u64).then_some(size)
}

/// `value + fraction` (64.64 fixed point) times the unit, rounded half up;
/// `None` on overflow.
fn scale(value: u64, fraction: u64, multiplier: u64) -> Option<u64> {
    let whole = u128::from(value) * u128::from(multiplier);
    let part = u128::from(fraction) * u128::from(multiplier);
    let total = whole + (part >> 64) + ((part >> 63) & 1);
    u64::try_from(total).ok()
}

/// The suffix and scaling steps shared by both versions.
fn finish(s: &[u8], value: u64, fraction: u64, end: usize) -> Option<(u64, usize, bool)> {
    let (multiplier, end, suffixed) = match suffix_multiplier(byte(s, end)) {
        Some(m) => (m, end + 1, true),
        None => (MIB, end, false),
    };
    if multiplier == 1 {
        // A fraction needs a unit larger than bytes.
        return (fraction == 0).then_some((value, end, suffixed));
    }
    Some((scale(value, fraction, multiplier)?, end, suffixed))
}

/// A fraction in [0, 1) as 64-bit fixed point, the way C converts
/// `fraction * 0x1p64` on x86-64 (1.0 itself wraps to 0).
fn fixed_point(fraction: f64) -> u64 {
    if fraction >= 1.0 {
        0
    } else {
        (fraction * 18_446_744_073_709_551_616.0) as u64
    }
}

/// QEMU 6.0 … 7.2.
fn strtosz_7_2(s: &[u8]) -> Option<Size> {
    let int = strtoull(s, 10);
    if int.end == 0 || int.overflow || s.get(..int.end)?.contains(&b'-') {
        return None;
    }
    let (mut value, mut end) = (int.value, int.end);
    let mut fraction = 0u64;
    let mut hex = false;
    if value == 0 && matches!(byte(s, end), b'x' | b'X') {
        let h = strtoull(s, 16);
        if h.end == 0 || h.overflow || byte(s, h.end) == b'.' {
            return None;
        }
        (value, end, hex) = (h.value, h.end, true);
    } else if byte(s, end) == b'.' {
        let rest = s.get(end..).unwrap_or(&[]);
        match strtod(rest) {
            // No digits after the point: skip the point.
            None => end += 1,
            // Over- or underflow: QEMU skips one byte past the number.
            Some(f) if f.range_error => end = (end + f.end + 1).min(s.len()),
            Some(f) if !f.value.is_finite() => end += 1,
            Some(f) => {
                if rest.get(..f.end)?.iter().any(|b| matches!(b, b'e' | b'E')) {
                    return None;
                }
                fraction = fixed_point(f.value);
                end += f.end;
            }
        }
    }
    let (bytes, end, suffixed) = finish(s, value, fraction, end)?;
    let warning = (hex && suffixed).then(|| {
        format!(
            "warning: Using a multiplier suffix on hex numbers is deprecated: {}",
            String::from_utf8_lossy(s)
        )
    });
    Some(Size {
        bytes,
        end,
        warning,
    })
}

/// QEMU 8.1 and later (10.0).
fn strtosz_8_1(s: &[u8]) -> Option<Size> {
    let int = strtoull(s, 10);
    if int.overflow {
        return None;
    }
    let mut i = 0;
    while is_space(byte(s, i)) {
        i += 1;
    }
    let negative = int.end != 0 && byte(s, i) == b'-';
    if negative {
        return None;
    }
    let mut parsed = int.end != 0;
    let (mut value, mut end) = (if parsed { int.value } else { 0 }, int.end);
    let mut fraction = 0u64;
    if parsed && value == 0 && matches!(byte(s, end), b'x' | b'X') {
        let h = strtoull(s, 16);
        if h.end == 0 || h.overflow {
            return None;
        }
        if byte(s, h.end) == b'.' || suffix_multiplier(byte(s, h.end)).is_some() {
            return None;
        }
        (value, end) = (h.value, h.end);
    } else if byte(s, end) == b'.' || (end == 0 && s.contains(&b'.')) {
        let mut float = 0.0f64;
        let mut underflow = false;
        if parsed && byte(s, end) == b'.' && !byte(s, end + 1).is_ascii_digit() {
            end += 1;
        } else {
            // strtod on a copy cut at the first 'e'/'E', so that an 'e' is
            // read as the exabyte suffix rather than an exponent.
            let rest = s.get(end..).unwrap_or(&[]);
            let cut = rest
                .iter()
                .position(|b| matches!(b, b'e' | b'E'))
                .unwrap_or(rest.len());
            match strtod(rest.get(..cut).unwrap_or(rest)) {
                Some(f) if f.value.is_finite() => {
                    parsed = true;
                    underflow = f.range_error;
                    float = f.value;
                    end += f.end;
                }
                _ => parsed = false,
            }
            if float.is_sign_negative() {
                return None;
            }
        }
        if float == 1.0 {
            value = value.checked_add(1)?;
        } else if underflow {
            fraction = 1;
        } else {
            fraction = fixed_point(float);
            if fraction == 0 && float > 0.0 {
                fraction = 1;
            }
        }
    }
    if !parsed {
        return None;
    }
    let (bytes, end, _) = finish(s, value, fraction, end)?;
    Some(Size {
        bytes,
        end,
        warning: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str, p: Profile) -> Option<(u64, usize)> {
        parse_size(s.as_bytes(), p).map(|z| (z.bytes, z.end))
    }

    fn both(s: &str) -> Option<(u64, usize)> {
        let old = size(s, Profile::V7_2);
        assert_eq!(old, size(s, Profile::V10_0), "7.2 and 10.0 differ on {s:?}");
        old
    }

    const M: u64 = 1 << 20;

    #[test]
    fn units_and_default_mib() {
        assert_eq!(both("10"), Some((10 * M, 2)));
        assert_eq!(both("10G"), Some((10 << 30, 3)));
        assert_eq!(both("512B"), Some((512, 4)));
        assert_eq!(both("4k"), Some((4096, 2)));
        assert_eq!(both("1t"), Some((1 << 40, 2)));
        assert_eq!(both("2P"), Some((2 << 50, 2)));
        assert_eq!(both("7E"), Some((7 << 60, 2)));
        assert_eq!(both("+5"), Some((5 * M, 2)));
        assert_eq!(both("08"), Some((8 * M, 2)));
        assert_eq!(both("0x10"), Some((16 * M, 4)));
    }

    #[test]
    fn fractions() {
        assert_eq!(both("1.5"), Some((M + M / 2, 3)));
        assert_eq!(both("1.5k"), Some((1536, 4)));
        assert_eq!(both("1."), Some((M, 2)));
        assert_eq!(both("1.k"), Some((1024, 3)));
        // Rounded to the nearest byte.
        assert_eq!(both("0.0001k"), Some((0, 7)));
        assert_eq!(both("0.0005k"), Some((1, 7)));
        assert_eq!(both("1.5B"), None);
        assert_eq!(both("1.5e"), Some(((3u64 << 60) / 2, 4)));
    }

    #[test]
    fn leftovers_are_not_consumed() {
        assert_eq!(both("10Gx"), Some((10 << 30, 3)));
        assert_eq!(both("1e3"), Some((1 << 60, 2)));
        assert_eq!(both("0x"), Some((0, 1)));
        assert_eq!(both("0b101"), Some((0, 2)));
        assert_eq!(both("1.-5"), Some((M, 2)));
    }

    #[test]
    fn rejected_by_both() {
        for s in [
            "",
            "abc",
            "-0",
            "-5",
            "8E",
            "99999999999999999999",
            "0x1.5",
            "inf.",
            "x.5",
        ] {
            assert_eq!(both(s), None, "{s:?}");
        }
    }

    #[test]
    fn where_7_2_and_10_0_differ() {
        let old = |s| size(s, Profile::V7_2);
        let new = |s| size(s, Profile::V10_0);
        assert_eq!(old(".5"), None);
        assert_eq!(new(".5"), Some((M / 2, 2)));
        assert_eq!(old("+.5"), None);
        assert_eq!(new("+.5"), Some((M / 2, 3)));
        assert_eq!(new("-.5"), None);
        assert_eq!(old("0x10M"), Some((16 * M, 5)));
        assert_eq!(new("0x10M"), None);
        assert_eq!(old("1.5e3"), None);
        assert_eq!(new("1.5e3"), Some(((3u64 << 60) / 2, 4)));
        assert_eq!(old("1.0000000000000000000001B"), Some((1, 25)));
        assert_eq!(new("1.0000000000000000000001B"), None);
        assert_eq!(new(".99999999999999999999"), Some((M, 21)));
    }

    #[test]
    fn hex_suffix_warning_in_7_2() {
        let z = parse_size(b"0x10M rest", Profile::V7_2).unwrap();
        assert_eq!(
            z.warning.as_deref(),
            Some("warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M rest")
        );
        assert_eq!(parse_size(b"0x10", Profile::V7_2).unwrap().warning, None);
    }
}
