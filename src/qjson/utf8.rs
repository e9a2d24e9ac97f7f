//! QEMU's "modified UTF-8": UTF-8 in which U+0000 may also be spelled
//! `C0 80`, and noncharacters, surrogates and overlong forms are invalid.

/// Decodes the sequence at the start of `bytes` the way QEMU does.
///
/// Returns the code point (or `None` when the sequence is invalid) and how
/// many bytes QEMU steps over: one for a stray continuation or impossible
/// byte, the lead byte plus the continuation bytes actually present for a
/// cut-short sequence, the whole sequence otherwise. An empty input or a NUL
/// byte is invalid and steps over nothing.
pub fn decode(bytes: &[u8]) -> (Option<u32>, usize) {
    let Some(&lead) = bytes.first() else {
        return (None, 0);
    };
    if lead == 0 {
        return (None, 0);
    }
    if lead < 0x80 {
        return (Some(u32::from(lead)), 1);
    }
    if lead >= 0xFE || lead & 0x40 == 0 {
        return (None, 1);
    }
    let len = lead.leading_ones() as usize;
    let mut cp = u32::from(lead) & (0x7F >> len);
    for i in 1..len {
        match bytes.get(i) {
            Some(&b) if b & 0xC0 == 0x80 => cp = (cp << 6) | u32::from(b & 0x3F),
            _ => return (None, i),
        }
    }
    const MIN: [u32; 5] = [0x80, 0x800, 0x1_0000, 0x20_0000, 0x400_0000];
    let overlong = MIN.get(len - 2).is_some_and(|&min| cp < min) && !(cp == 0 && len == 2);
    let valid = cp <= 0x10_FFFF && !is_noncharacter(cp) && !is_surrogate(cp) && !overlong;
    (valid.then_some(cp), len)
}

fn is_noncharacter(cp: u32) -> bool {
    (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE
}

fn is_surrogate(cp: u32) -> bool {
    (0xD800..=0xDFFF).contains(&cp)
}

/// True for code points QEMU can store in a string (what `\uXXXX` may name).
pub fn is_valid_codepoint(cp: u32) -> bool {
    cp <= 0x10_FFFF && !is_noncharacter(cp) && !is_surrogate(cp)
}

/// The text QEMU's JSON writer makes of raw bytes: it stops at a NUL byte and
/// turns every invalid sequence into U+FFFD.
pub fn lossy(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (cp, used) = decode(rest);
        if used == 0 {
            break;
        }
        out.push(cp.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
        rest = rest.get(used..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences() {
        assert_eq!(decode(b"a"), (Some(0x61), 1));
        assert_eq!(decode("é".as_bytes()), (Some(0xE9), 2));
        assert_eq!(decode(b"\xC0\x80"), (Some(0), 2));
        assert_eq!(decode(b"\xC1\x81"), (None, 2), "overlong");
        assert_eq!(decode(b"\xEF\xBF\xBF"), (None, 3), "noncharacter");
        assert_eq!(decode(b"\xED\xA0\x80"), (None, 3), "surrogate");
        assert_eq!(decode(b"\xE9x"), (None, 1), "cut short");
        assert_eq!(decode(b"\xFF"), (None, 1));
        assert_eq!(decode(b"\x80"), (None, 1));
        assert_eq!(decode(b"\x00"), (None, 0));
        assert_eq!(decode(b""), (None, 0));
    }

    #[test]
    fn lossy_stops_at_nul_and_replaces() {
        assert_eq!(lossy(b"a\xFFb\x00c"), "a\u{FFFD}b");
        assert_eq!(lossy(b"\xC0\x80"), "\0");
    }
}
