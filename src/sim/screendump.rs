//! A tiny picture of the VGA text console for `screendump`: 720x400 like
//! QEMU's text mode, one grey block per character of the guest's serial
//! console output, written as PPM (P6) or PNG (stored deflate).

use super::state::State;

pub struct Image {
    pub width: usize,
    pub height: usize,
    /// RGB, row by row.
    pub rgb: Vec<u8>,
}

const CELL_W: usize = 9;
const CELL_H: usize = 16;

/// Draw the current console text; a stopped VM gets a dim screen.
pub fn render(st: &State) -> Image {
    let (width, height) = (720, 400);
    let mut rgb = vec![0u8; width * height * 3];
    let fg: [u8; 3] = if st.machine.run_state.is_running() {
        [0xaa, 0xaa, 0xaa]
    } else {
        [0x55, 0x55, 0x55]
    };
    let text = st.chardevs.console_text();
    let lines: Vec<&str> = text.split('\n').collect();
    let rows = height / CELL_H;
    let first = lines.len().saturating_sub(rows);
    for (row, line) in lines.iter().skip(first).enumerate() {
        for (col, ch) in line.chars().take(width / CELL_W).enumerate() {
            if ch.is_whitespace() {
                continue;
            }
            for y in row * CELL_H + 2..row * CELL_H + 14 {
                for x in col * CELL_W + 1..col * CELL_W + 8 {
                    let i = (y * width + x) * 3;
                    if let Some(px) = rgb.get_mut(i..i + 3) {
                        px.copy_from_slice(&fg);
                    }
                }
            }
        }
    }
    Image { width, height, rgb }
}

impl Image {
    pub fn to_ppm(&self) -> Vec<u8> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.rgb);
        out
    }

    pub fn to_png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity((self.width * 3 + 1) * self.height);
        for row in self.rgb.chunks(self.width * 3) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(self.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &zlib_stored(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `strerror`-style text of an I/O error, without Rust's "(os error N)".
pub fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_zlib_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        let z = zlib_stored(b"abc");
        assert_eq!(&z[z.len() - 4..], &0x024d_0127u32.to_be_bytes());
    }
}
