//! Text from QEMU or from a client, made safe for a terminal or a log line:
//! control characters are shown as `\u{1b}`, never obeyed.

/// Control characters (C0 but line feed and tab, DEL, C1) escaped as
/// `\u{…}`: escape sequences in QEMU's words are shown, not obeyed.
pub fn escape_controls(text: &str) -> String {
    escape_control_chars(text, |c| c != '\n' && c != '\t')
}

/// `text` with every control character for which `which` holds escaped.
pub fn escape_control_chars(text: &str, which: impl Fn(char) -> bool) -> String {
    if !text.chars().any(|c| c.is_control() && which(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if c.is_control() && which(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(escape_controls("a\u{1b}[2J\nb\\"), "a\\u{1b}[2J\nb\\");
        assert_eq!(escape_controls("tab\there\r"), "tab\there\\u{d}");
        assert_eq!(escape_controls("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_controls("plain text\n"), "plain text\n");
    }
}
