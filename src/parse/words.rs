//! Token and option-string helpers for stages after the line parser
//! (`help WORDS…`, `object_add`, `chardev-add`).

use super::cursor::Cursor;
use super::tokenizer::read_token;

/// Splits text into tokens the way QEMU splits `help`'s argument: the
/// tokenizer's rules, at most 16 words; an unreadable token ends the list.
pub fn split_words(text: &str) -> Vec<String> {
    let mut cur = Cursor::new(text.as_bytes(), 0);
    let mut words = Vec::new();
    while words.len() < 16 {
        cur.skip_space();
        if cur.at_end() {
            break;
        }
        match read_token(&mut cur) {
            Ok(word) => words.push(word),
            Err(_) => return Vec::new(),
        }
    }
    words
}

/// Parses a `key=value,…` option string whose first item may omit its key
/// (`implied`), as QEMU's option parser does. The error is QEMU's text.
pub fn parse_option_string(
    text: &str,
    implied: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    super::opts::parse_options(text, implied.unwrap_or("")).map(|o| o.entries)
}

/// Like [`parse_option_string`], but every item in order, repeated keys
/// kept (`hostfwd=…,hostfwd=…`), `id` first.
pub fn parse_option_items(
    text: &str,
    implied: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    super::opts::parse_options(text, implied.unwrap_or("")).map(|o| o.all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_the_tokenizer() {
        assert_eq!(
            split_words("  info   \"ver sion\" x"),
            ["info", "ver sion", "x"]
        );
        assert!(split_words("\"open").is_empty());
        assert_eq!(split_words(&"a ".repeat(40)).len(), 16);
    }

    #[test]
    fn option_strings_with_an_implied_key() {
        let opts =
            parse_option_string("memory-backend-ram,id=m1,size=1G", Some("qom-type")).unwrap();
        assert_eq!(opts[0], ("id".to_string(), "m1".to_string()));
        assert!(opts.contains(&("qom-type".to_string(), "memory-backend-ram".to_string())));
        assert!(opts.contains(&("size".to_string(), "1G".to_string())));
    }
}
