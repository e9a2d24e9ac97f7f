//! Lenient reply access for the block, PCI, migration and misc renderers:
//! members read with the defaults QEMU's C structs have (0, false, `(null)`),
//! so a reply missing an optional member prints as HMP would.

use crate::render::{RenderError, Reply};
use serde_json::Value;

// The printf-shaped formatting is shared with the other renderer families.
pub(crate) use super::fmt::int_list_ranges as int_ranges;
pub(crate) use super::fmt::{format_g, size_to_str};

/// What glibc's `%s` prints for a NULL pointer: QEMU prints absent optional
/// strings this way in a few places.
pub(crate) const C_NULL: &str = "(null)";

/// The reply of call `index`: `Ok(value)`, or `Err(text)` with HMP's generic
/// `Error: <desc>` rendering of a failed call.
pub(crate) fn reply_at<'a>(
    renderer: &str,
    replies: &'a [Reply],
    index: usize,
) -> Result<Result<&'a Value, String>, RenderError> {
    match replies.get(index) {
        Some(Ok(value)) => Ok(Ok(value)),
        Some(Err(err)) => Ok(Err(super::hmp_error(&err.desc))),
        None => Err(bad_reply(
            renderer,
            format!(
                "expected at least {} QMP replies, got {}",
                index + 1,
                replies.len()
            ),
        )),
    }
}

/// A reply that does not have the shape the renderer needs.
pub(crate) fn bad_reply(renderer: &str, detail: impl Into<String>) -> RenderError {
    RenderError::BadReply {
        renderer: renderer.to_string(),
        detail: detail.into(),
    }
}

/// The elements of a reply that must be a list.
pub(crate) fn as_list<'a>(renderer: &str, value: &'a Value) -> Result<&'a [Value], RenderError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| bad_reply(renderer, format!("expected a list, got {}", kind(value))))
}

/// A reply that must be an object.
pub(crate) fn as_object<'a>(renderer: &str, value: &'a Value) -> Result<&'a Value, RenderError> {
    if value.is_object() {
        Ok(value)
    } else {
        Err(bad_reply(
            renderer,
            format!("expected an object, got {}", kind(value)),
        ))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A member of an object (`None` when absent or when `value` is no object).
pub(crate) fn member<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|map| map.get(key))
}

/// True when the member is present (QAPI's `has_<member>`).
pub(crate) fn has(value: &Value, key: &str) -> bool {
    member(value, key).is_some()
}

/// A number as C's `int64_t` (unsigned values wrap like a C cast).
pub(crate) fn number_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_u64().map(|u| u as i64))
        .or_else(|| value.as_f64().map(|f| f as i64))
}

/// A number as C's `uint64_t` (negative values wrap like a C cast).
pub(crate) fn number_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_i64().map(|i| i as u64))
        .or_else(|| value.as_f64().map(|f| f as u64))
}

/// A signed integer member; 0 when absent, as in a zeroed C struct.
pub(crate) fn int(value: &Value, key: &str) -> i64 {
    member(value, key).and_then(number_i64).unwrap_or(0)
}

/// An unsigned integer member; 0 when absent.
pub(crate) fn uint(value: &Value, key: &str) -> u64 {
    member(value, key).and_then(number_u64).unwrap_or(0)
}

/// A floating-point member; 0.0 when absent.
pub(crate) fn float(value: &Value, key: &str) -> f64 {
    member(value, key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A boolean member; false when absent.
pub(crate) fn flag(value: &Value, key: &str) -> bool {
    member(value, key).and_then(Value::as_bool).unwrap_or(false)
}

/// A string member, if present.
pub(crate) fn opt_text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    member(value, key).and_then(Value::as_str)
}

/// A string member as C's `%s` prints it: `(null)` when absent.
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    opt_text(value, key).unwrap_or(C_NULL)
}

/// A list member; empty when absent (a NULL C list).
pub(crate) fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    member(value, key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// HMP's spelling of a boolean setting.
pub(crate) fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// HMP's spelling of a boolean fact.
pub(crate) fn true_false(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// A JSON number as QEMU's `qnum_to_string` prints it: integers in decimal,
/// doubles with `%.17g`.
pub(crate) fn qnum_to_string(number: &serde_json::Number) -> String {
    if let Some(i) = number.as_i64() {
        i.to_string()
    } else if let Some(u) = number.as_u64() {
        u.to_string()
    } else {
        format_g(number.as_f64().unwrap_or(0.0), 17)
    }
}

/// `(year, month, day, hour, minute, second)` of a Unix time in UTC.
/// QEMU prints snapshot dates in its host's local time; this crate assumes
/// that host keeps UTC.
pub(crate) fn utc_civil(unix_seconds: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_glibc() {
        // Expectations are what glibc's printf prints for the same format.
        assert_eq!(format_g(0.0, 3), "0");
        assert_eq!(format_g(512.0, 3), "512");
        assert_eq!(format_g(1.5, 3), "1.5");
        assert_eq!(format_g(0.9765625, 3), "0.977");
        assert_eq!(format_g(999.5, 3), "1e+03");
        assert_eq!(format_g(123456.0, 3), "1.23e+05");
        assert_eq!(format_g(0.0001234, 3), "0.000123");
        assert_eq!(format_g(0.00001234, 3), "1.23e-05");
        assert_eq!(format_g(0.1, 17), "0.10000000000000001");
        assert_eq!(format_g(2.5, 17), "2.5");
        assert_eq!(format_g(-3.0, 17), "-3");
        assert_eq!(format_g(1e20, 17), "1e+20");
        assert_eq!(format_g(f64::INFINITY, 3), "inf");
    }

    #[test]
    fn size_to_str_picks_binary_units() {
        assert_eq!(size_to_str(0), "0 B");
        assert_eq!(size_to_str(512), "512 B");
        assert_eq!(size_to_str(1000), "0.977 KiB");
        assert_eq!(size_to_str(1536), "1.5 KiB");
        assert_eq!(size_to_str(4096), "4 KiB");
        assert_eq!(size_to_str(200_704), "196 KiB");
        assert_eq!(size_to_str(67_108_864), "64 MiB");
        assert_eq!(size_to_str(u64::MAX), "16 EiB");
    }

    #[test]
    fn int_ranges_merge_runs() {
        assert_eq!(int_ranges(&[]), "");
        assert_eq!(int_ranges(&[5]), "5");
        assert_eq!(int_ranges(&[3, 1, 2, 7, 9, 8, 11]), "1-3,7-9,11");
    }

    #[test]
    fn utc_civil_converts_unix_time() {
        assert_eq!(utc_civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc_civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc_civil(1_795_311_737), (2026, 11, 22, 1, 42, 17));
        assert_eq!(utc_civil(-1), (1969, 12, 31, 23, 59, 59));
    }
}
