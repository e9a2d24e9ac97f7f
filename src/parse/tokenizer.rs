//! One whitespace-delimited or double-quoted token, as QEMU's `get_str`
//! reads it for `s`, `F`, `B`, `O` and `-Xs` arguments.

use super::cursor::{is_space, Cursor};

/// QEMU reads tokens into a 1024-byte buffer: longer ones are cut to 1023
/// bytes (a cut through a character shows as U+FFFD, as on QEMU's wire).
pub(crate) const TOKEN_MAX: usize = 1023;

/// Why no token could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenFailure {
    /// What QEMU prints to its stdout for it, if anything.
    pub detail: Option<String>,
    /// Byte offset of the offending spot.
    pub at: usize,
}

/// Skips blanks and reads one token. Quoted tokens know `\n`, `\r`, `\\`,
/// `\'` and `\"`; unquoted ones are taken literally up to the next blank.
pub(crate) fn read_token(cur: &mut Cursor) -> Result<String, TokenFailure> {
    cur.skip_space();
    if cur.at_end() {
        return Err(TokenFailure {
            detail: None,
            at: cur.pos,
        });
    }
    let mut out: Vec<u8> = Vec::new();
    let push = |b: u8, out: &mut Vec<u8>| {
        if out.len() < TOKEN_MAX {
            out.push(b);
        }
    };
    if cur.peek() == b'"' {
        let open = cur.pos;
        cur.bump();
        while !cur.at_end() && cur.peek() != b'"' {
            let b = cur.peek();
            if b != b'\\' {
                push(b, &mut out);
                cur.bump();
                continue;
            }
            let backslash = cur.pos;
            cur.bump();
            let escaped = match cur.peek() {
                b'n' => b'\n',
                b'r' => b'\r',
                c @ (b'\\' | b'\'' | b'"') => c,
                _ => {
                    return Err(TokenFailure {
                        detail: Some(format!(
                            "unsupported escape code: '\\{}'",
                            escaped_char(cur)
                        )),
                        at: backslash,
                    })
                }
            };
            push(escaped, &mut out);
            cur.bump();
        }
        if cur.peek() != b'"' {
            return Err(TokenFailure {
                detail: Some("unterminated string".into()),
                at: open,
            });
        }
        cur.bump();
    } else {
        while !cur.at_end() && !is_space(cur.peek()) {
            push(cur.peek(), &mut out);
            cur.bump();
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The character after a backslash, whole (QEMU prints only its first byte;
/// our users see the character they typed). Nothing at the end of the line.
fn escaped_char(cur: &Cursor) -> String {
    let rest = cur.rest();
    let len = match rest.first() {
        None => 0,
        Some(b) if *b < 0x80 => 1,
        Some(b) if *b >= 0xf0 => 4,
        Some(b) if *b >= 0xe0 => 3,
        Some(_) => 2,
    };
    String::from_utf8_lossy(rest.get(..len).unwrap_or(rest)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(line: &str) -> (Result<String, TokenFailure>, usize) {
        let mut c = Cursor::new(line.as_bytes(), 0);
        let r = read_token(&mut c);
        (r, c.pos)
    }

    #[test]
    fn unquoted_tokens_are_literal_up_to_a_blank() {
        assert_eq!(token("  ab\"c\\n d"), (Ok("ab\"c\\n".into()), 8));
        assert_eq!(token("x\ty"), (Ok("x".into()), 1));
    }

    #[test]
    fn quoted_tokens_know_five_escapes() {
        let (t, end) = token(r#""a\nb\rc\\d\'e\"f"g"#);
        assert_eq!(t.unwrap(), "a\nb\rc\\d'e\"f");
        // The next token may follow the closing quote directly.
        assert_eq!(end, 18);
        assert_eq!(token("\"a b\"").0.unwrap(), "a b");
        assert_eq!(token("\"\"").0.unwrap(), "");
    }

    #[test]
    fn failures_and_their_details() {
        assert_eq!(token("   ").0.unwrap_err().detail, None);
        let e = token(" \"ab\\q\"").0.unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("unsupported escape code: '\\q'"));
        assert_eq!(e.at, 4);
        let e = token("\"abc").0.unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("unterminated string"));
        assert_eq!(e.at, 0);
        let e = token("\"a\\").0.unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("unsupported escape code: '\\'"));
        let e = token("\"a\\é\"").0.unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("unsupported escape code: '\\é'"));
        assert_eq!(
            token("\"a\\\"").0.unwrap_err().detail.as_deref(),
            Some("unterminated string")
        );
    }

    #[test]
    fn long_tokens_are_cut_at_1023_bytes() {
        let long = "a".repeat(1100);
        assert_eq!(token(&long).0.unwrap().len(), 1023);
        assert_eq!(token(&long).1, 1100);
        let quoted = format!("\"{long}\"");
        assert_eq!(token(&quoted).0.unwrap().len(), 1023);
        // 511 two-byte characters and half of the 512th.
        let wide = "é".repeat(600);
        let t = token(&wide).0.unwrap();
        assert_eq!(t.chars().filter(|c| *c == 'é').count(), 511);
        assert!(t.ends_with('\u{fffd}'));
    }
}
