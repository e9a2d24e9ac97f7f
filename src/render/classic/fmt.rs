//! Formatting helpers shared by the classic renderers: the few places where
//! HMP's bytes depend on C library or QEMU utility semantics that Rust's
//! `format!` does not reproduce by itself.

/// What glibc's `printf("%s", NULL)` prints; HMP prints some optional QMP
/// members unconditionally.
pub const C_NULL: &str = "(null)";

/// An optional string as C's `%s` prints it (`(null)` when absent).
pub fn c_str(s: Option<&str>) -> &str {
    s.unwrap_or(C_NULL)
}

/// C's `%.<precision>g`: the shorter of `%e` and `%f` at `precision`
/// significant digits, trailing zeros (and a bare point) removed.
pub fn format_g(value: f64, precision: usize) -> String {
    if !value.is_finite() {
        return nonfinite(value);
    }
    let p = precision.max(1);
    // The decimal exponent after rounding to `p` digits decides the style.
    let sci = format!("{:.*e}", p - 1, value);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (sci.clone(), 0),
    };
    let p = p as i32;
    if exp < -4 || exp >= p {
        let mantissa = strip_fraction_zeros(&mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (p - 1 - exp).max(0) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}"))
    }
}

/// C's `%.<precision>f` (Rust's fixed formatting rounds the same way, to
/// nearest with ties to even on the exact binary value; only infinities
/// and NaN are spelled differently).
pub fn format_f(value: f64, precision: usize) -> String {
    if value.is_finite() {
        format!("{value:.precision$}")
    } else {
        nonfinite(value)
    }
}

fn nonfinite(value: f64) -> String {
    if value.is_nan() {
        if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_string()
    } else if value < 0.0 {
        "-inf".to_string()
    } else {
        "inf".to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> String {
    if !s.contains('.') {
        return s.to_string();
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// SI prefix for a power-of-ten exponent that is a multiple of 3 in
/// [-18, 18] (QEMU's `si_prefix`); `None` outside that set.
pub fn si_prefix(exp10: i64) -> Option<&'static str> {
    const PREFIXES: [&str; 13] = [
        "a", "f", "p", "n", "u", "m", "", "K", "M", "G", "T", "P", "E",
    ];
    if !(-18..=18).contains(&exp10) || exp10 % 3 != 0 {
        return None;
    }
    PREFIXES.get(((exp10 + 18) / 3) as usize).copied()
}

/// IEC binary prefix for a power-of-two exponent that is a multiple of 10
/// in [0, 60] (QEMU's `iec_binary_prefix`); `None` outside that set.
pub fn iec_binary_prefix(exp2: i64) -> Option<&'static str> {
    const PREFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if !(0..=60).contains(&exp2) || exp2 % 10 != 0 {
        return None;
    }
    PREFIXES.get((exp2 / 10) as usize).copied()
}

/// QEMU's `size_to_str`: a byte count with the binary unit that keeps the
/// mantissa under 1000, printed `%0.3g` (e.g. `1.5 KiB`, `0.977 KiB`).
pub fn size_to_str(bytes: u64) -> String {
    // frexp(bytes / (1000/1024)) → binary exponent e with mantissa in
    // [0.5, 1); the unit is the largest multiple of 10 below e.
    let exponent = frexp_exponent(bytes as f64 / (1000.0 / 1024.0));
    let unit_exp = ((exponent - 1) / 10 * 10).clamp(0, 60);
    let divisor = (1u64 << unit_exp) as f64;
    let prefix = iec_binary_prefix(unit_exp).unwrap_or("");
    format!("{} {prefix}B", format_g(bytes as f64 / divisor, 3))
}

/// The exponent `frexp` returns: `x = m * 2^e` with `|m|` in [0.5, 1);
/// 0 for zero and non-finite values.
fn frexp_exponent(x: f64) -> i64 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i64;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        return frexp_exponent(x * 2f64.powi(64)) - 64;
    }
    biased - 1022
}

/// How QEMU's string output visitor prints a list of integers (e.g.
/// `host-nodes` in `info memdev`): sorted, duplicates merged, runs of
/// consecutive values as `a-b`, joined by `,`; an empty list is empty.
pub fn int_list_ranges(values: &[i64]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for v in sorted {
        match runs.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(v) => *end = v,
            _ => runs.push((v, v)),
        }
    }
    runs.iter()
        .map(|&(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_glibc() {
        // Expected strings are what glibc's printf("%.3g") prints.
        let cases = [
            (0.0, "0"),
            (512.0, "512"),
            (1.5, "1.5"),
            (0.9765625, "0.977"),
            (999.5, "1e+03"),
            (1234.0, "1.23e+03"),
            (0.0001234, "0.000123"),
            (0.00001234, "1.23e-05"),
            (-2.5, "-2.5"),
            (100.0, "100"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g(v, 3), want, "value {v}");
        }
        assert_eq!(format_g(123456789.0, 17), "123456789");
        assert_eq!(format_g(f64::NAN, 3), "nan");
        assert_eq!(format_g(f64::NEG_INFINITY, 3), "-inf");
    }

    #[test]
    fn format_f_matches_glibc() {
        assert_eq!(format_f(0.125, 2), "0.12");
        assert_eq!(format_f(0.375, 2), "0.38");
        assert_eq!(format_f(2.5, 0), "2");
        assert_eq!(format_f(f64::INFINITY, 2), "inf");
        assert_eq!(format_f(-f64::NAN, 2), "-nan");
    }

    #[test]
    fn size_to_str_units() {
        assert_eq!(size_to_str(0), "0 B");
        assert_eq!(size_to_str(512), "512 B");
        assert_eq!(size_to_str(1000), "0.977 KiB");
        assert_eq!(size_to_str(1536), "1.5 KiB");
        assert_eq!(size_to_str(4096), "4 KiB");
        assert_eq!(size_to_str(512 << 20), "512 MiB");
        assert_eq!(size_to_str(1 << 30), "1 GiB");
        assert_eq!(size_to_str(u64::MAX), "16 EiB");
    }

    #[test]
    fn frexp_exponents() {
        assert_eq!(frexp_exponent(1.0), 1);
        assert_eq!(frexp_exponent(0.5), 0);
        assert_eq!(frexp_exponent(1023.999), 10);
        assert_eq!(frexp_exponent(1024.0), 11);
        assert_eq!(frexp_exponent(f64::MIN_POSITIVE / 4.0), -1023);
    }

    #[test]
    fn prefixes() {
        assert_eq!(si_prefix(-9), Some("n"));
        assert_eq!(si_prefix(3), Some("K"));
        assert_eq!(si_prefix(4), None);
        assert_eq!(si_prefix(21), None);
        assert_eq!(iec_binary_prefix(20), Some("Mi"));
        assert_eq!(iec_binary_prefix(70), None);
    }

    #[test]
    fn integer_ranges() {
        assert_eq!(int_list_ranges(&[]), "");
        assert_eq!(int_list_ranges(&[0]), "0");
        assert_eq!(int_list_ranges(&[3, 0, 1, 2, 5]), "0-3,5");
        assert_eq!(int_list_ranges(&[1, 1, 7, 8]), "1,7-8");
    }

    #[test]
    fn null_strings() {
        assert_eq!(c_str(None), "(null)");
        assert_eq!(c_str(Some("x")), "x");
    }
}
