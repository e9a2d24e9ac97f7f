//! The persistent history file, and keeping secrets out of it.

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

const MASK: &str = "********";

/// The line as it may be stored: passwords and secret data replaced by a
/// mask. Commands that carry secrets keep their shape so recalling them shows
/// what was done, never the secret.
pub fn mask_secrets(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let masked_from = match words.as_slice() {
        // set_password PROTOCOL PASSWORD ...
        ["set_password", _, _, ..] => Some(2),
        // change vnc password PASSWORD
        ["change", "vnc", "password" | "passwd", _, ..] => Some(3),
        // block_passwd DEVICE PASSWORD
        ["block_passwd", _, _, ..] => Some(2),
        _ => None,
    };
    if let Some(index) = masked_from {
        let mut out: Vec<&str> = words[..index].to_vec();
        out.push(MASK);
        out.extend_from_slice(&words[index + 1..]);
        return out.join(" ");
    }
    if words.first() == Some(&"object_add") && line.contains("secret") {
        return mask_option_values(line, &["data", "iv", "keyid"]);
    }
    line.to_string()
}

/// Masks `key=value` options of an option string.
fn mask_option_values(line: &str, keys: &[&str]) -> String {
    let mut out = String::with_capacity(line.len());
    for (i, part) in line.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        match part.split_once('=') {
            Some((k, _)) if keys.contains(&k.trim()) => {
                out.push_str(k);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(part),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_history() {
        assert_eq!(
            mask_secrets("set_password vnc hunter2 -d vnc0"),
            "set_password vnc ******** -d vnc0"
        );
        assert_eq!(
            mask_secrets("change vnc password hunter2"),
            "change vnc password ********"
        );
        assert_eq!(
            mask_secrets("block_passwd disk0 hunter2"),
            "block_passwd disk0 ********"
        );
        assert_eq!(
            mask_secrets("object_add secret,id=s0,data=hunter2,format=raw"),
            "object_add secret,id=s0,data=********,format=raw"
        );
        for line in [
            "set_password vnc hunter2",
            "change vnc password hunter2",
            "object_add secret,id=s,data=hunter2",
        ] {
            assert!(!mask_secrets(line).contains("hunter2"));
        }
    }

    #[test]
    fn ordinary_lines_are_kept() {
        assert_eq!(mask_secrets("info block"), "info block");
        assert_eq!(
            mask_secrets("change ide1-cd0 /srv/f.iso"),
            "change ide1-cd0 /srv/f.iso"
        );
        assert_eq!(
            mask_secrets("object_add iothread,id=io1"),
            "object_add iothread,id=io1"
        );
    }
}
