//! The persistent history file, and keeping secrets out of it.

use std::ops::Range;
use std::path::PathBuf;

/// `$XDG_STATE_HOME/qhmp/history` (or the platform's equivalent).
pub fn history_path() -> Option<PathBuf> {
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(state).join("qhmp").join("history"));
    }
    let dirs = directories::ProjectDirs::from("", "", "qhmp")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .join("history"),
    )
}

/// What a masked secret looks like in the history.
pub const MASK: &str = "********";

/// Option keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &["password", "passwd"];
/// Option keys that are secrets in `secret` objects.
const SECRET_OBJECT_KEYS: &[&str] = &["data", "iv"];

/// The line as it may be stored: passwords and secret data replaced by a
/// mask. Commands that carry secrets keep their shape so recalling them shows
/// what was done, never the secret.
pub fn mask_secrets(line: &str) -> String {
    let tokens = tokens(line);
    let word = |i: usize| tokens.get(i).map(|r| &line[r.clone()]).unwrap_or_default();
    let secret = match word(0) {
        // set_password PROTOCOL PASSWORD [-d DISPLAY] [ACTION]
        "set_password" | "block_passwd" => tokens.get(2),
        // change vnc password PASSWORD
        "change" => {
            let positional: Vec<&Range<usize>> = tokens[1..]
                .iter()
                .filter(|r| &line[(*r).clone()] != "-f")
                .collect();
            let is = |i: usize, words: &[&str]| {
                positional
                    .get(i)
                    .is_some_and(|r| words.contains(&&line[(*r).clone()]))
            };
            (is(0, &["vnc"]) && is(1, &["password", "passwd"]))
                .then(|| positional.get(2).copied())
                .flatten()
        }
        // qom-set PATH PROPERTY VALUE, when the property is a secret
        "qom-set" => {
            let offset = usize::from(word(1) == "-j");
            let property = word(2 + offset).to_ascii_lowercase();
            (property.contains("pass") || property.contains("secret"))
                .then(|| tokens.get(3 + offset))
                .flatten()
        }
        _ => None,
    };
    if let Some(range) = secret {
        // A secret that runs to the end (unterminated quote) hides the rest.
        return format!("{}{MASK}{}", &line[..range.start], &line[range.end..]);
    }
    let secret_object = word(0) == "object_add" && line.contains("secret");
    let mut keys: Vec<&str> = SECRET_KEYS.to_vec();
    if secret_object {
        keys.extend_from_slice(SECRET_OBJECT_KEYS);
    }
    let masked = mask_option_values(line, &keys);
    mask_json_values(&masked, &keys)
}

/// True when `line` carries a secret that was masked in the history: run
/// as recalled, it would set the mask itself as the password.
pub fn has_masked_secret(line: &str) -> bool {
    line.contains(MASK) && mask_secrets(line) == line
}

/// Byte ranges of the line's tokens as HMP reads them: blank-separated, or
/// double-quoted with backslash escapes (an unterminated quote runs to the end).
fn tokens(line: &str) -> Vec<Range<usize>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        out.push(start..i);
    }
    out
}

/// Masks `key=value` items of option strings. A value runs to the next
/// single comma or blank (`,,` is an escaped comma inside the value).
fn mask_option_values(line: &str, keys: &[&str]) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < bytes.len() {
        let item_start = i == 0 || matches!(bytes[i - 1], b',' | b' ' | b'\t');
        let key = keys.iter().find(|k| {
            item_start
                && line[i..]
                    .strip_prefix(*k)
                    .is_some_and(|rest| rest.starts_with('='))
        });
        let Some(key) = key else {
            let ch = line[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8().max(1);
            continue;
        };
        out.push_str(key);
        out.push('=');
        out.push_str(MASK);
        i += key.len() + 1;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            if bytes[i] == b',' {
                if bytes.get(i + 1) == Some(&b',') {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
    }
    out
}

/// Masks `"key": "value"` members of JSON written on the line
/// (`object_add {"qom-type": "secret", "data": "…"}`).
fn mask_json_values(line: &str, keys: &[&str]) -> String {
    let mut out = line.to_string();
    for key in keys {
        let pattern = format!(r#""{}"\s*:\s*"(?:[^"\\]|\\.)*"?"#, regex::escape(key));
        if let Ok(re) = regex::Regex::new(&pattern) {
            out = re
                .replace_all(&out, format!("\"{key}\": \"{MASK}\"").as_str())
                .into_owned();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_history() {
        let cases = [
            (
                "set_password vnc hunter2 -d vnc0",
                "set_password vnc ******** -d vnc0",
            ),
            (
                "set_password  spice \"hunter 2\" keep",
                "set_password  spice ******** keep",
            ),
            ("set_password vnc \"hunter2", "set_password vnc ********"),
            (
                "change vnc password hunter2",
                "change vnc password ********",
            ),
            (
                "change vnc passwd \"hun ter2\"",
                "change vnc passwd ********",
            ),
            ("block_passwd disk0 hunter2", "block_passwd disk0 ********"),
            (
                "object_add secret,id=s0,data=hunter2,format=raw",
                "object_add secret,id=s0,data=********,format=raw",
            ),
            (
                "object_add secret,id=s0,data=hun,,ter2",
                "object_add secret,id=s0,data=********",
            ),
            (
                "object_add secret,id=s0,iv=abc,data=hunter2",
                "object_add secret,id=s0,iv=********,data=********",
            ),
            (
                r#"object_add {"qom-type": "secret", "id": "s0", "data": "hun\"ter2"}"#,
                r#"object_add {"qom-type": "secret", "id": "s0", "data": "********"}"#,
            ),
            (
                "qom-set /objects/x password hunter2",
                "qom-set /objects/x password ********",
            ),
            (
                "netdev_add user,id=n0,password=hunter2",
                "netdev_add user,id=n0,password=********",
            ),
        ];
        for (line, masked) in cases {
            assert_eq!(mask_secrets(line), masked, "{line}");
            assert!(!mask_secrets(line).contains("hunter"), "{line}");
        }
    }

    #[test]
    fn ordinary_lines_are_kept() {
        for line in [
            "info block",
            "change ide1-cd0 /srv/f.iso",
            "change vnc 127.0.0.1:5",
            "object_add iothread,id=io1",
            "device_add virtio-blk-pci,drive=data,id=d0",
            "object_add memory-backend-ram,id=data,size=1G",
            "qom-set /machine/peripheral/n0 x-data 1",
            "",
            "set_password",
        ] {
            assert_eq!(mask_secrets(line), line);
        }
    }

    #[test]
    fn recalled_masked_secrets_are_recognised() {
        assert!(has_masked_secret("set_password vnc ******** -d vnc0"));
        assert!(has_masked_secret("object_add secret,id=s0,data=********"));
        assert!(!has_masked_secret("set_password vnc hunter2"));
        assert!(!has_masked_secret("info status"));
    }
}
