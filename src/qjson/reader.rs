//! Splits a client's byte stream into JSON messages exactly as QEMU's QMP
//! monitor does: a lexer with QEMU's extensions (single-quoted strings,
//! `\'`), a streamer that cuts a message where its brackets balance, and
//! QEMU's error recovery (after a bad character, skip to the next
//! structural or control character).

use super::parser;
use serde_json::Value;

/// Limits QEMU applies to one message (total token text, tokens, nesting).
const MAX_TOKEN_SIZE: usize = 64 << 20;
const MAX_TOKEN_COUNT: usize = 2 << 20;
const MAX_NESTING: i64 = 1 << 10;

/// One message read from a client: a JSON value or QEMU's error text for
/// the bytes that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Value(Value),
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    Integer,
    Float,
    Keyword,
    String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub text: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Recovery,
    DqString,
    DqEscape,
    SqString,
    SqEscape,
    Zero,
    Digits,
    Sign,
    Mantissa,
    MantissaDigits,
    ExpE,
    ExpSign,
    ExpDigits,
    Keyword,
}

/// Where one byte takes the lexer.
enum Step {
    /// Move to a state; `consume` says whether the byte is part of the token.
    Go(State, bool),
    /// A token ends; `consume` as above (false: the byte starts what follows).
    Emit(TokenKind, bool),
    /// A byte that cannot continue the token (it is part of the bad token).
    Error,
}

fn step(state: State, byte: u8) -> Step {
    use State::*;
    use Step::{Emit, Error, Go};
    let in_string = (0x20..=0xFD).contains(&byte);
    match state {
        Recovery => match byte {
            b'\t' => Go(Recovery, true),
            0..=0x1F | 0xFE | 0xFF | b'[' | b']' | b'{' | b'}' | b':' | b',' => Go(Start, false),
            _ => Go(Recovery, true),
        },
        DqString | SqString => {
            let (quote, escape) = if state == DqString {
                (b'"', DqEscape)
            } else {
                (b'\'', SqEscape)
            };
            match byte {
                b'\\' => Go(escape, true),
                b if b == quote => Emit(TokenKind::String, true),
                _ if in_string => Go(state, true),
                _ => Error,
            }
        }
        DqEscape if in_string => Go(DqString, true),
        SqEscape if in_string => Go(SqString, true),
        DqEscape | SqEscape => Error,
        Zero => match byte {
            b'0'..=b'9' => Error,
            b'.' => Go(Mantissa, true),
            _ => Emit(TokenKind::Integer, false),
        },
        Digits => match byte {
            b'0'..=b'9' => Go(Digits, true),
            b'e' | b'E' => Go(ExpE, true),
            b'.' => Go(Mantissa, true),
            _ => Emit(TokenKind::Integer, false),
        },
        Sign => match byte {
            b'0' => Go(Zero, true),
            b'1'..=b'9' => Go(Digits, true),
            _ => Error,
        },
        Mantissa => match byte {
            b'0'..=b'9' => Go(MantissaDigits, true),
            _ => Error,
        },
        MantissaDigits => match byte {
            b'0'..=b'9' => Go(MantissaDigits, true),
            b'e' | b'E' => Go(ExpE, true),
            _ => Emit(TokenKind::Float, false),
        },
        ExpE => match byte {
            b'-' | b'+' => Go(ExpSign, true),
            b'0'..=b'9' => Go(ExpDigits, true),
            _ => Error,
        },
        ExpSign => match byte {
            b'0'..=b'9' => Go(ExpDigits, true),
            _ => Error,
        },
        ExpDigits => match byte {
            b'0'..=b'9' => Go(ExpDigits, true),
            _ => Emit(TokenKind::Float, false),
        },
        Keyword => match byte {
            b'a'..=b'z' => Go(Keyword, true),
            _ => Emit(TokenKind::Keyword, false),
        },
        Start => match byte {
            b'"' => Go(DqString, true),
            b'\'' => Go(SqString, true),
            b'0' => Go(Zero, true),
            b'1'..=b'9' => Go(Digits, true),
            b'-' => Go(Sign, true),
            b'{' => Emit(TokenKind::LCurly, true),
            b'}' => Emit(TokenKind::RCurly, true),
            b'[' => Emit(TokenKind::LSquare, true),
            b']' => Emit(TokenKind::RSquare, true),
            b',' => Emit(TokenKind::Comma, true),
            b':' => Emit(TokenKind::Colon, true),
            b'a'..=b'z' => Go(Keyword, true),
            b' ' | b'\t' | b'\r' | b'\n' => Go(Start, true),
            _ => Error,
        },
    }
}

/// Incremental reader of one client's stream; feed it bytes as they come.
#[derive(Debug)]
pub struct Reader {
    state: State,
    /// Text of the token being lexed.
    token: Vec<u8>,
    /// Tokens of the message being collected.
    tokens: Vec<Token>,
    braces: i64,
    brackets: i64,
    token_size: usize,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    pub fn new() -> Reader {
        Reader {
            state: State::Start,
            token: Vec::new(),
            tokens: Vec::new(),
            braces: 0,
            brackets: 0,
            token_size: 0,
        }
    }

    /// Reads `bytes`, appending every message they complete to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Message>) {
        for &byte in bytes {
            self.feed_byte(byte, out);
        }
    }

    fn feed_byte(&mut self, byte: u8, out: &mut Vec<Message>) {
        loop {
            let (next, consumed) = match step(self.state, byte) {
                Step::Go(state, consume) => (Some(state), consume),
                Step::Emit(kind, consume) => {
                    if consume {
                        self.token.push(byte);
                    }
                    let text = std::mem::take(&mut self.token);
                    self.token_done(kind, text, out);
                    self.state = State::Start;
                    if consume {
                        break;
                    }
                    continue;
                }
                Step::Error => {
                    self.token.push(byte);
                    let text = std::mem::take(&mut self.token);
                    self.error(
                        format!("JSON parse error, stray '{}'", super::utf8::lossy(&text)),
                        out,
                    );
                    self.state = State::Recovery;
                    break;
                }
            };
            let state = next.unwrap_or(State::Start);
            if consumed {
                self.token.push(byte);
            }
            // Whitespace and skipped bytes are not part of any token.
            if matches!(state, State::Start | State::Recovery) {
                self.token.clear();
            }
            self.state = state;
            if consumed {
                break;
            }
        }
        if self.token.len() > MAX_TOKEN_SIZE {
            self.token.clear();
            self.state = State::Start;
            self.error("JSON token size limit exceeded".into(), out);
        }
    }

    /// The streamer: collects tokens until the brackets balance, then parses.
    fn token_done(&mut self, kind: TokenKind, text: Vec<u8>, out: &mut Vec<Message>) {
        match kind {
            TokenKind::LCurly => self.braces += 1,
            TokenKind::RCurly => self.braces -= 1,
            TokenKind::LSquare => self.brackets += 1,
            TokenKind::RSquare => self.brackets -= 1,
            _ => {}
        }
        if self.token_size + text.len() + 1 > MAX_TOKEN_SIZE {
            return self.error("JSON token size limit exceeded".into(), out);
        }
        if self.tokens.len() + 1 > MAX_TOKEN_COUNT {
            return self.error("JSON token count limit exceeded".into(), out);
        }
        if self.brackets + self.braces > MAX_NESTING {
            return self.error("JSON nesting depth limit exceeded".into(), out);
        }
        self.token_size += text.len();
        self.tokens.push(Token { kind, text });
        // QEMU tests the bracket count twice and the brace count not at all
        // here; a stray '}' inside an open '[' therefore keeps collecting.
        if (self.braces > 0 || self.brackets > 0) && self.brackets >= 0 {
            return;
        }
        let tokens = std::mem::take(&mut self.tokens);
        self.reset();
        out.push(match parser::parse(&tokens) {
            Ok(value) => Message::Value(value),
            Err(desc) => Message::Error(desc),
        });
    }

    fn error(&mut self, desc: String, out: &mut Vec<Message>) {
        self.reset();
        out.push(Message::Error(desc));
    }

    fn reset(&mut self) {
        self.tokens.clear();
        self.braces = 0;
        self.brackets = 0;
        self.token_size = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(bytes: &[u8]) -> Vec<Message> {
        let mut reader = Reader::new();
        let mut out = Vec::new();
        reader.feed(bytes, &mut out);
        out
    }

    fn err(desc: &str) -> Message {
        Message::Error(format!("JSON parse error, {desc}"))
    }

    #[test]
    fn messages_need_no_line_ends() {
        assert_eq!(
            read(b"{\"a\": 1}{'b':\n[2]}"),
            vec![
                Message::Value(json!({"a": 1})),
                Message::Value(json!({"b": [2]}))
            ]
        );
        // A top-level scalar is complete once the next byte shows its end.
        assert_eq!(read(b"12"), vec![]);
        assert_eq!(read(b"12 "), vec![Message::Value(json!(12))]);
    }

    // Expected texts are what QEMU 7.2 and 10.0 answered for the same bytes.
    #[test]
    fn stray_bytes_and_recovery() {
        assert_eq!(
            read(b"{\"a\":\xff}\n"),
            vec![err("stray '\u{FFFD}'"), err("expecting value")]
        );
        assert_eq!(read(b"\x00\n"), vec![err("stray ''")]);
        assert_eq!(
            read(b"{\"id\":True}\n"),
            vec![err("stray 'T'"), err("expecting value")]
        );
        assert_eq!(
            read(b"{\"id\":01}\n"),
            vec![err("stray '01'"), err("expecting value")]
        );
        assert_eq!(read(b"{\"id\":-}\n"), vec![err("stray '-}'")]);
        assert_eq!(read(b"{\"id\":1.}\n"), vec![err("stray '1.}'")]);
        assert_eq!(read(b"{\"id\":\"\\x\n"), vec![err("stray '\"\\x\n'")]);
        assert_eq!(read(b"garbage\n"), vec![err("invalid keyword 'garbage'")]);
    }

    #[test]
    fn brackets_and_limits() {
        assert_eq!(read(b"}\n"), vec![err("expecting value")]);
        assert_eq!(read(b"[[[[\n]]]]\n"), vec![Message::Value(json!([[[[]]]]))]);
        let deep = vec![b'['; 1025];
        assert_eq!(
            read(&deep),
            vec![Message::Error("JSON nesting depth limit exceeded".into())]
        );
        let fine = [vec![b'['; 1024], vec![b']'; 1024]].concat();
        assert_eq!(read(&fine).len(), 1);
        assert!(matches!(read(&fine)[0], Message::Value(_)));
    }

    #[test]
    fn chunking_does_not_matter() {
        let input = b"{\"execute\": 'x', \"id\": [1.5e3, -0, \"\\u00e9\"]}\r\n}{\"a\":\xfe}";
        let whole = read(input);
        let mut reader = Reader::new();
        let mut pieces = Vec::new();
        for b in input {
            reader.feed(std::slice::from_ref(b), &mut pieces);
        }
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 4);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = read(&input);
        }
    }
}
