//! Turns one message's tokens into a value with QEMU's parser rules and
//! error texts (the first error found is the one reported).

use super::reader::{Token, TokenKind};
use super::utf8;
use serde_json::{Map, Number, Value};

/// Parses a complete message; the error is QEMU's `desc` text.
pub fn parse(tokens: &[Token]) -> Result<Value, String> {
    let mut parser = Parser {
        tokens,
        pos: 0,
        error: None,
    };
    match parser.value() {
        Some(value) if parser.error.is_none() => Ok(value),
        _ => Err(format!(
            "JSON parse error, {}",
            parser.error.unwrap_or_else(|| "expecting value".into())
        )),
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    error: Option<String>,
}

impl<'t> Parser<'t> {
    fn fail<T>(&mut self, message: impl Into<String>) -> Option<T> {
        if self.error.is_none() {
            self.error = Some(message.into());
        }
        None
    }

    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    fn pop(&mut self) -> Option<&'t Token> {
        let token = self.tokens.get(self.pos)?;
        self.pos += 1;
        Some(token)
    }

    fn value(&mut self) -> Option<Value> {
        let Some(token) = self.peek() else {
            return self.fail("premature EOI");
        };
        match token.kind {
            TokenKind::LCurly => self.object(),
            TokenKind::LSquare => self.array(),
            TokenKind::Integer | TokenKind::Float | TokenKind::String => self.literal(),
            TokenKind::Keyword => self.keyword(),
            _ => self.fail("expecting value"),
        }
    }

    fn object(&mut self) -> Option<Value> {
        self.pop();
        let mut entries: Vec<(String, Value)> = Vec::new();
        let Some(peek) = self.peek() else {
            return self.fail("premature EOI");
        };
        if peek.kind == TokenKind::RCurly {
            self.pop();
        } else {
            self.pair(&mut entries)?;
            loop {
                let Some(token) = self.pop() else {
                    return self.fail("premature EOI");
                };
                match token.kind {
                    TokenKind::RCurly => break,
                    TokenKind::Comma => self.pair(&mut entries)?,
                    _ => return self.fail("expected separator in dict"),
                }
            }
        }
        Some(Value::Object(in_qdict_order(entries)))
    }

    fn pair(&mut self, entries: &mut Vec<(String, Value)>) -> Option<()> {
        if self.peek().is_none() {
            return self.fail("premature EOI");
        }
        let key = match self.value() {
            Some(Value::String(key)) => key,
            _ => return self.fail("key is not a string in object"),
        };
        match self.pop() {
            None => return self.fail("premature EOI"),
            Some(t) if t.kind != TokenKind::Colon => return self.fail("missing : in object pair"),
            Some(_) => {}
        }
        let Some(value) = self.value() else {
            return self.fail("Missing value in dict");
        };
        if entries.iter().any(|(k, _)| *k == key) {
            return self.fail("duplicate key");
        }
        entries.push((key, value));
        Some(())
    }

    fn array(&mut self) -> Option<Value> {
        self.pop();
        let mut items = Vec::new();
        let Some(peek) = self.peek() else {
            return self.fail("premature EOI");
        };
        if peek.kind == TokenKind::RSquare {
            self.pop();
            return Some(Value::Array(items));
        }
        let Some(first) = self.value() else {
            return self.fail("expecting value");
        };
        items.push(first);
        loop {
            let Some(token) = self.pop() else {
                return self.fail("premature EOI");
            };
            match token.kind {
                TokenKind::RSquare => break,
                TokenKind::Comma => {
                    let Some(item) = self.value() else {
                        return self.fail("expecting value");
                    };
                    items.push(item);
                }
                _ => return self.fail("expected separator in list"),
            }
        }
        Some(Value::Array(items))
    }

    fn keyword(&mut self) -> Option<Value> {
        let token = self.pop()?;
        match token.text.as_slice() {
            b"true" => Some(Value::Bool(true)),
            b"false" => Some(Value::Bool(false)),
            b"null" => Some(Value::Null),
            other => self.fail(format!(
                "invalid keyword '{}'",
                String::from_utf8_lossy(other)
            )),
        }
    }

    fn literal(&mut self) -> Option<Value> {
        let token = self.pop()?;
        let text = String::from_utf8_lossy(&token.text);
        match token.kind {
            TokenKind::String => self.string(&token.text).map(Value::String),
            TokenKind::Integer => Some(integer(&text)),
            _ => Some(double(&text)),
        }
    }

    /// Decodes a quoted string token (either quote), escapes included.
    fn string(&mut self, text: &[u8]) -> Option<String> {
        let at = |i: usize| text.get(i).copied().unwrap_or(0);
        let quote = at(0);
        let mut out = String::new();
        let mut i = 1;
        while i < text.len() && at(i) != quote {
            if at(i) != b'\\' {
                let (cp, used) = utf8::decode(text.get(i..).unwrap_or_default());
                match cp.and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => return self.fail("invalid UTF-8 sequence in string"),
                }
                i += used.max(1);
                continue;
            }
            let begin = i;
            let escaped = at(i + 1);
            i += 2;
            let simple = match escaped {
                b'"' => Some('"'),
                b'\'' => Some('\''),
                b'\\' => Some('\\'),
                b'/' => Some('/'),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                b'u' => None,
                _ => return self.fail("invalid escape sequence in string"),
            };
            if let Some(c) = simple {
                out.push(c);
                continue;
            }
            let mut cp = hex4(text, i);
            i += 4;
            if let Some(lead @ 0xD800..=0xDBFF) = cp {
                if at(i) == b'\\' && at(i + 1) == b'u' {
                    cp = match hex4(text, i + 2) {
                        Some(trail @ 0xDC00..=0xDFFF) => {
                            i += 6;
                            Some((0x1_0000 + ((lead & 0x3FF) << 10)) | (trail & 0x3FF))
                        }
                        _ => None,
                    };
                }
            }
            match cp
                .filter(|&cp| utf8::is_valid_codepoint(cp))
                .and_then(char::from_u32)
            {
                Some(c) => out.push(c),
                None => {
                    let spelled = text.get(begin..i.min(text.len())).unwrap_or_default();
                    return self.fail(format!(
                        "{} is not a valid Unicode character",
                        String::from_utf8_lossy(spelled)
                    ));
                }
            }
        }
        Some(out)
    }
}

/// Four hex digits at `at`, as QEMU reads them (a missing digit fails).
fn hex4(text: &[u8], at: usize) -> Option<u32> {
    let digits = text.get(at..at + 4)?;
    let digits = std::str::from_utf8(digits).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// QEMU keeps an integer as int64, else uint64, else a double.
fn integer(text: &str) -> Value {
    if let Ok(v) = text.parse::<i64>() {
        return Value::from(v);
    }
    if !text.starts_with('-') {
        if let Ok(v) = text.parse::<u64>() {
            return Value::from(v);
        }
    }
    double(text)
}

/// A double; a value beyond the range (QEMU's `inf`, which is not JSON)
/// becomes the largest finite double of that sign.
fn double(text: &str) -> Value {
    let v: f64 = text.parse().unwrap_or(0.0);
    let v = if v.is_finite() {
        v
    } else {
        f64::MAX.copysign(v)
    };
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Orders entries as QEMU's dictionary iterates them (see the writer), so
/// a value echoed back (an `id`) comes out exactly as QEMU would write it:
/// within one hash bucket the entry added last comes first.
fn in_qdict_order(entries: Vec<(String, Value)>) -> Map<String, Value> {
    let mut entries: Vec<(usize, (String, Value))> = entries.into_iter().enumerate().collect();
    entries.sort_by_key(|(index, (key, _))| {
        (super::writer::qdict_bucket(key), std::cmp::Reverse(*index))
    });
    entries.into_iter().map(|(_, entry)| entry).collect()
}

#[cfg(test)]
mod tests {
    use super::super::reader::{Message, Reader};
    use serde_json::json;

    fn one(bytes: &[u8]) -> Message {
        let mut reader = Reader::new();
        let mut out = Vec::new();
        reader.feed(bytes, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        out.remove(0)
    }

    fn err(bytes: &[u8]) -> String {
        match one(bytes) {
            Message::Error(e) => e.trim_start_matches("JSON parse error, ").to_string(),
            other => panic!("expected an error for {bytes:?}, got {other:?}"),
        }
    }

    // Expected texts are what QEMU 7.2 and 10.0 answered for the same bytes.
    #[test]
    fn syntax_errors() {
        assert_eq!(err(b"{\"b\":1,\"a\":2,\"a\":3}"), "duplicate key");
        assert_eq!(err(b"{1:2}"), "key is not a string in object");
        assert_eq!(err(b"{\"a\":1 \"b\":2}"), "expected separator in dict");
        assert_eq!(err(b"[1 2]"), "expected separator in list");
        assert_eq!(err(b"[1,]"), "expecting value");
        assert_eq!(err(b"{,}"), "expecting value");
        assert_eq!(err(b"{\"a\":}"), "expecting value");
        assert_eq!(err(b"{\"a\",1}"), "missing : in object pair");
    }

    #[test]
    fn string_errors() {
        assert_eq!(
            err(b"{\"id\":\"\\u0000x\\uffff\"}"),
            "\\uffff is not a valid Unicode character"
        );
        assert_eq!(
            err(b"{\"id\":\"\\ud800\"}"),
            "\\ud800 is not a valid Unicode character"
        );
        assert_eq!(
            err(b"{\"id\":\"\\u12\"}"),
            "\\u12\" is not a valid Unicode character"
        );
        assert_eq!(
            err(b"{\"id\":\"\xc0\x80\xe9\"}"),
            "invalid UTF-8 sequence in string"
        );
        assert_eq!(
            err(b"{\"id\":\"\xef\xbf\xbf\"}"),
            "invalid UTF-8 sequence in string"
        );
        assert_eq!(
            err(b"{\"id\":\"\\q\"}"),
            "invalid escape sequence in string"
        );
    }

    #[test]
    fn values() {
        assert_eq!(
            one(b"{'a':\"\\u00e9\\ud83d\\ude00\\/\\'\", \"n\": [1.5e3, -0, 18446744073709551615, -18446744073709551615, 1e999]}"),
            Message::Value(json!({
                "a": "é😀/'",
                "n": [1500.0, 0, 18446744073709551615u64, -1.8446744073709552e19, f64::MAX]
            }))
        );
    }
}
