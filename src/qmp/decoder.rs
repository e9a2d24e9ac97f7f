//! Splits the byte stream QEMU sends into JSON messages.
//!
//! QEMU writes one JSON object per line, ended by `\r\n`. A monitor set up with
//! `pretty=on` spreads each object over many lines instead, so rather than
//! splitting on newlines the decoder follows the nesting of `{`/`[` outside
//! strings and cuts a message where its outermost object closes. Every byte
//! is scanned once, whatever the chunking, and a message that grows past
//! `max_line` bytes is rejected before more of it is buffered.
//!
//! The decoder is usable on its own (e.g. by a fuzz target): feed it the
//! bytes received so far and call [`LineDecoder::decode`] until it returns
//! `Ok(None)`; at end of stream call [`LineDecoder::finish`].

use bytes::{Buf, BytesMut};
use serde_json::Value;

/// Default cap on one message: 16 MiB.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

/// How many bytes of offending input an error message quotes.
const EXCERPT_LEN: usize = 80;

/// What was wrong with the bytes QEMU sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A complete message that is not valid JSON.
    #[error("invalid JSON ({reason}) in message starting {excerpt}")]
    InvalidJson { excerpt: String, reason: String },
    /// Bytes between messages that cannot start one (QMP messages are objects).
    #[error("unexpected data where a JSON object should start: {excerpt}")]
    NotAnObject { excerpt: String },
    /// A message grew past the cap. The decoder then skips the rest of it
    /// without buffering and stays in step with the stream.
    #[error("message longer than {max_line} bytes (the max_line cap); it starts {excerpt}")]
    TooLong { max_line: usize, excerpt: String },
    /// The end of a message reported as [`DecodeError::TooLong`] has been
    /// skipped; `id` is the numeric `id` it ended with, if any (QEMU puts a
    /// reply's id last), so that only that request need fail.
    #[error("message longer than {max_line} bytes (the max_line cap); it starts {excerpt}")]
    Skipped {
        max_line: usize,
        excerpt: String,
        id: Option<u64>,
    },
    /// The stream ended in the middle of a message.
    #[error("stream ended in the middle of a message starting {excerpt}")]
    Truncated { excerpt: String },
}

/// Incremental splitter of a QMP byte stream into JSON values.
///
/// The scan state survives between calls, so bytes may arrive in chunks of
/// any size. After an error the stream is out of step; the decoder drops the
/// offending bytes and may be called again, but a client should give up.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_line: usize,
    /// Bytes of the current message (at the front of the buffer) already scanned.
    scanned: usize,
    /// Open `{`/`[` not yet closed, outside strings.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Skipping an oversized message: how it started, its last bytes seen.
    skipping: Option<(String, Vec<u8>)>,
}

/// Bytes of an oversized message's end kept to find its id.
const TAIL_LEN: usize = 64;

impl Default for LineDecoder {
    fn default() -> Self {
        LineDecoder::new(DEFAULT_MAX_LINE)
    }
}

impl LineDecoder {
    /// A decoder rejecting messages longer than `max_line` bytes (at least 1).
    pub fn new(max_line: usize) -> Self {
        LineDecoder {
            max_line: max_line.max(1),
            scanned: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            skipping: None,
        }
    }

    /// The size cap this decoder enforces.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Takes the next complete message off the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete message yet (its bytes
    /// stay in `buf`, already scanned). Whitespace between messages, including
    /// `\r\n` line ends, is skipped.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>, DecodeError> {
        if self.skipping.is_some() {
            return self.skip(buf);
        }
        if self.scanned == 0 {
            let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            buf.advance(blank);
            match buf.first() {
                None => return Ok(None),
                Some(b'{') => {}
                Some(_) => return Err(self.reject_garbage(buf)),
            }
        }
        match self.scan(buf) {
            Some(end) if end <= self.max_line => {
                let message = buf.split_to(end);
                self.reset();
                serde_json::from_slice(&message)
                    .map(Some)
                    .map_err(|e| DecodeError::InvalidJson {
                        excerpt: excerpt(&message),
                        reason: e.to_string(),
                    })
            }
            // Complete but over the cap: skipped whole, its id reported.
            Some(end) => {
                let tail = buf
                    .get(end.saturating_sub(TAIL_LEN)..end)
                    .unwrap_or_default();
                let err = DecodeError::Skipped {
                    max_line: self.max_line,
                    excerpt: excerpt(buf),
                    id: trailing_id(tail),
                };
                buf.advance(end);
                self.reset();
                Err(err)
            }
            None if self.scanned > self.max_line => Err(self.reject_too_long(buf)),
            None => Ok(None),
        }
    }

    /// Reports a message over the cap and starts skipping it: what was
    /// buffered of it is dropped, the rest is scanned and dropped as it
    /// arrives, so memory stays bounded and the stream stays in step.
    fn reject_too_long(&mut self, buf: &mut BytesMut) -> DecodeError {
        let start = excerpt(buf);
        self.skipping = Some((start.clone(), Vec::new()));
        DecodeError::TooLong {
            max_line: self.max_line,
            excerpt: start,
        }
    }

    /// Scans on through an oversized message, keeping only its last bytes.
    fn skip(&mut self, buf: &mut BytesMut) -> Result<Option<Value>, DecodeError> {
        let end = self.scan_from(buf, buf.len());
        let upto = end.unwrap_or(self.scanned);
        let (start, mut tail) = self.skipping.take().unwrap_or_default();
        tail.extend_from_slice(
            buf.get(upto.saturating_sub(TAIL_LEN)..upto)
                .unwrap_or_default(),
        );
        let cut = tail.len().saturating_sub(TAIL_LEN);
        tail.drain(..cut);
        buf.advance(upto);
        self.scanned = 0;
        if end.is_none() {
            self.skipping = Some((start, tail));
            return Ok(None);
        }
        self.reset();
        Err(DecodeError::Skipped {
            max_line: self.max_line,
            excerpt: start,
            id: trailing_id(&tail),
        })
    }

    /// Checks what is left once the stream has ended: anything but
    /// whitespace is a message cut short.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Result<(), DecodeError> {
        let rest = buf.iter().skip_while(|b| b.is_ascii_whitespace()).count();
        let result = if rest == 0 {
            Ok(())
        } else {
            let start = buf.len() - rest;
            Err(DecodeError::Truncated {
                excerpt: excerpt(&buf[start..]),
            })
        };
        buf.clear();
        self.reset();
        result
    }

    /// Scans on from `self.scanned`; returns the message length once the
    /// outermost object closes. Stops scanning past the cap.
    fn scan(&mut self, buf: &[u8]) -> Option<usize> {
        self.scan_from(buf, self.max_line.saturating_add(1))
    }

    fn scan_from(&mut self, buf: &[u8], cap: usize) -> Option<usize> {
        let limit = buf.len().min(cap);
        while self.scanned < limit {
            let byte = buf.get(self.scanned).copied()?;
            self.scanned += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(self.scanned);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Drops a stray run of bytes (up to its line end) and describes it.
    fn reject_garbage(&mut self, buf: &mut BytesMut) -> DecodeError {
        let line_end = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        let err = DecodeError::NotAnObject {
            excerpt: excerpt(&buf[..line_end]),
        };
        buf.advance(line_end);
        self.reset();
        err
    }

    fn reset(&mut self) {
        self.skipping = None;
        self.scanned = 0;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
    }
}

/// The id a message ends with: `…, "id": 42}`.
fn trailing_id(tail: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(tail).ok()?;
    let body = text.trim_end().strip_suffix('}')?;
    let at = body.rfind("\"id\"")?;
    let value = body.get(at + 4..)?.trim_start().strip_prefix(':')?.trim();
    value.parse().ok()
}

/// A short, printable, quoted rendering of the start of `bytes`.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_LEN * 4)]);
    let trimmed = text.trim_end();
    let mut short: String = trimmed.chars().take(EXCERPT_LEN).collect();
    if short.len() < trimmed.len() || bytes.len() > EXCERPT_LEN * 4 {
        short.push('…');
    }
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_all(decoder: &mut LineDecoder, buf: &mut BytesMut) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(v) = decoder.decode(buf).expect("decodes") {
            out.push(v);
        }
        out
    }

    #[test]
    fn splits_crlf_lines() {
        let mut d = LineDecoder::default();
        let mut buf = BytesMut::from(&b"{\"a\": 1}\r\n{\"b\": \"}{\"}\r\n{\"c\""[..]);
        assert_eq!(
            decode_all(&mut d, &mut buf),
            vec![json!({"a": 1}), json!({"b": "}{"})]
        );
        assert_eq!(&buf[..], b"{\"c\"");
        buf.extend_from_slice(b": [1, {}]}\n");
        assert_eq!(decode_all(&mut d, &mut buf), vec![json!({"c": [1, {}]})]);
        assert!(d.finish(&mut buf).is_ok());
    }

    #[test]
    fn byte_by_byte_matches_whole() {
        let input = b"{\"s\": \"a\\\"}\\\\\", \"n\": {\"x\": [[]]}}\n{\"e\": \"\\\\\"}\r\n";
        let mut d = LineDecoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            out.extend(decode_all(&mut d, &mut buf));
        }
        assert_eq!(
            out,
            vec![json!({"s": "a\"}\\", "n": {"x": [[]]}}), json!({"e": "\\"})]
        );
    }

    #[test]
    fn pretty_printed_objects() {
        let mut d = LineDecoder::default();
        let mut buf = BytesMut::from(&b"{\n    \"return\": {\n    }\n}\n{\n  \"a\": 2\n}\n"[..]);
        assert_eq!(
            decode_all(&mut d, &mut buf),
            vec![json!({"return": {}}), json!({"a": 2})]
        );
    }

    #[test]
    fn garbage_line_is_reported_and_skipped() {
        let mut d = LineDecoder::default();
        let mut buf = BytesMut::from(&b"hello world\n{\"a\": 1}\n"[..]);
        match d.decode(&mut buf) {
            Err(DecodeError::NotAnObject { excerpt }) => assert_eq!(excerpt, "\"hello world\""),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(decode_all(&mut d, &mut buf), vec![json!({"a": 1})]);
    }

    #[test]
    fn invalid_json_names_excerpt() {
        let mut d = LineDecoder::default();
        let mut buf = BytesMut::from(&b"{\"return\": oops}\n"[..]);
        match d.decode(&mut buf) {
            Err(DecodeError::InvalidJson { excerpt, reason }) => {
                assert_eq!(excerpt, "\"{\\\"return\\\": oops}\"");
                assert!(reason.contains("line 1"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn cap_is_enforced_without_waiting_for_the_end() {
        let mut d = LineDecoder::new(100);
        let mut buf = BytesMut::from(&b"{\"return\": \""[..]);
        buf.extend_from_slice(&[b'x'; 80]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&[b'x'; 80]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(DecodeError::TooLong { max_line: 100, .. })
        ));
        // The rest is skipped as it comes, without being kept.
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
        buf.extend_from_slice(&[b'x'; 500]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
        buf.extend_from_slice(b"\", \"id\": 7}\r\n{\"return\": {}, \"id\": 8}\r\n");
        assert!(matches!(
            d.decode(&mut buf),
            Err(DecodeError::Skipped { id: Some(7), .. })
        ));
        // In step again.
        assert_eq!(d.decode(&mut buf), Ok(Some(json!({"return": {}, "id": 8}))));
    }

    #[test]
    fn message_exactly_at_cap_passes() {
        let msg = b"{\"a\":\"xxxx\"}";
        let mut d = LineDecoder::new(msg.len());
        let mut buf = BytesMut::from(&msg[..]);
        assert_eq!(d.decode(&mut buf), Ok(Some(json!({"a": "xxxx"}))));
        let mut d = LineDecoder::new(msg.len() - 1);
        let mut buf = BytesMut::from(&msg[..]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(DecodeError::Skipped { id: None, .. })
        ));
        assert!(buf.is_empty());
    }

    #[test]
    fn finish_reports_truncation() {
        let mut d = LineDecoder::default();
        let mut buf = BytesMut::from(&b"{\"return\": {\"a\""[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert!(matches!(
            d.finish(&mut buf),
            Err(DecodeError::Truncated { .. })
        ));
        let mut buf = BytesMut::from(&b" \r\n"[..]);
        assert_eq!(d.finish(&mut buf), Ok(()));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut d = LineDecoder::default();
        let mut bytes = vec![b'{'; 1];
        bytes.extend_from_slice(b"\"a\":");
        bytes.extend(std::iter::repeat_n(b'[', 100_000));
        bytes.extend(std::iter::repeat_n(b']', 100_000));
        bytes.push(b'}');
        let mut buf = BytesMut::from(&bytes[..]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(DecodeError::InvalidJson { .. })
        ));
    }

    /// Feeds `input` in pieces cut at `cuts`, collecting values until an error.
    fn feed_in_pieces(input: &[u8], cuts: &[usize]) -> (Vec<Value>, bool) {
        let mut d = LineDecoder::new(4096);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut start = 0;
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        ends.push(input.len());
        ends.sort_unstable();
        for end in ends {
            buf.extend_from_slice(&input[start..end.max(start)]);
            start = end.max(start);
            loop {
                match d.decode(&mut buf) {
                    Ok(Some(v)) => out.push(v),
                    Ok(None) => break,
                    Err(_) => return (out, true),
                }
            }
        }
        (out, d.finish(&mut buf).is_err())
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_any_chunking_never_panics(
            input in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            cuts in proptest::collection::vec(0usize..700, 0..8),
        ) {
            feed_in_pieces(&input, &cuts);
        }

        #[test]
        fn chunking_does_not_change_valid_streams(
            texts in proptest::collection::vec("[ -~]{0,12}", 1..6),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
            crlf in proptest::bool::ANY,
        ) {
            let values: Vec<Value> = texts
                .iter()
                .map(|t| serde_json::json!({"s": t, "n": [t.len(), {"k": t}]}))
                .collect();
            let sep = if crlf { "\r\n" } else { "\n" };
            let input: String = values.iter().map(|v| format!("{v}{sep}")).collect();
            let (out, failed) = feed_in_pieces(input.as_bytes(), &cuts);
            proptest::prop_assert!(!failed);
            proptest::prop_assert_eq!(out, values);
        }
    }

    #[test]
    fn excerpt_is_short_and_marks_cut() {
        let long = vec![b'y'; 1000];
        let e = excerpt(&long);
        assert!(e.ends_with("…\""), "{e}");
        assert!(e.chars().count() < 90);
        assert_eq!(excerpt(b"ab\r\n"), "\"ab\"");
    }
}
