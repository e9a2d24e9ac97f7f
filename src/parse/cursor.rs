//! A byte cursor over one command line.
//!
//! QEMU's parser walks a C string byte by byte; so does this one, so that
//! positions, truncations and `%c` messages match byte for byte. Reading past
//! the end yields 0, like the C string's terminating NUL.

/// C `isspace` in the C locale: the bytes QEMU's monitor skips as blanks.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The character QEMU's `%c` puts on the wire for one byte, as it reaches a
/// QMP client: bytes outside ASCII are not valid UTF-8 on their own and
/// arrive as U+FFFD.
pub(crate) fn printed_byte(b: u8) -> char {
    if b.is_ascii() {
        char::from(b)
    } else {
        char::REPLACEMENT_CHARACTER
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8], pos: usize) -> Self {
        Cursor { bytes, pos }
    }

    /// The byte at the cursor, 0 at the end.
    pub fn peek(&self) -> u8 {
        self.at(self.pos)
    }

    /// The byte at an absolute offset, 0 past the end.
    pub fn at(&self, offset: usize) -> u8 {
        self.bytes.get(offset).copied().unwrap_or(0)
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub fn bump(&mut self) {
        if !self.at_end() {
            self.pos += 1;
        }
    }

    pub fn skip_space(&mut self) {
        while is_space(self.peek()) {
            self.pos += 1;
        }
    }

    /// The bytes from the cursor to the end of the line.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    /// The bytes between two offsets (clamped to the line).
    pub fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        let to = to.min(self.bytes.len());
        self.bytes.get(from.min(to)..to).unwrap_or(&[])
    }

    /// Text between two offsets; a cut through a character becomes U+FFFD,
    /// as it would on QEMU's wire.
    pub fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(self.slice(from, to)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_as_nul() {
        let mut c = Cursor::new(b"a", 0);
        assert_eq!(c.peek(), b'a');
        c.bump();
        assert!(c.at_end());
        assert_eq!(c.peek(), 0);
        c.bump();
        assert_eq!(c.pos, 1);
    }

    #[test]
    fn skips_c_locale_whitespace_including_vertical_tab() {
        let mut c = Cursor::new(b" \t\x0b\x0c\r\nx", 0);
        c.skip_space();
        assert_eq!(c.peek(), b'x');
        // U+0085 (C2 85) is not a C-locale space.
        assert!(!is_space(0xc2));
    }

    #[test]
    fn text_cut_inside_a_character_becomes_replacement() {
        let line = "é".as_bytes();
        let c = Cursor::new(line, 0);
        assert_eq!(c.text(0, 1), "\u{fffd}");
        assert_eq!(printed_byte(0xc3), '\u{fffd}');
        assert_eq!(printed_byte(b'q'), 'q');
    }
}
