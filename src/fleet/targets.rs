//! Which VMs `--connect` names: each value is one target or a glob over
//! socket files (`unix:/run/qemu/*.qmp`, `pve:*`) or over the running
//! domains of a libvirt URI (`libvirt:*`, `libvirt:web*@URI`).

use crate::qmp::Target;
use std::path::{Path, PathBuf};

/// The targets, in the order given (a glob's matches sorted by name).
/// Each `--connect` value that matches nothing or does not parse is an
/// error; the rest still count.
pub fn expand(values: &[String]) -> (Vec<Target>, Vec<String>) {
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for value in values {
        match expand_one(value) {
            Ok(found) if found.is_empty() => {
                errors.push(format!("--connect {value}: matches nothing"))
            }
            Ok(found) => {
                for t in found {
                    if !targets.contains(&t) {
                        targets.push(t);
                    }
                }
            }
            Err(e) => errors.push(format!("--connect {value}: {e}")),
        }
    }
    (targets, errors)
}

/// True when a `--connect` value is a glob (so it may name many VMs).
pub fn is_glob(value: &str) -> bool {
    value.contains(['*', '?', '['])
}

fn expand_one(value: &str) -> Result<Vec<Target>, String> {
    if !is_glob(value) {
        return value
            .parse::<Target>()
            .map(|t| vec![t])
            .map_err(|e| e.to_string());
    }
    if let Some(rest) = value.strip_prefix("libvirt:") {
        let (pattern, uri) = match rest.split_once('@') {
            Some((p, u)) => (p, Some(u)),
            None => (rest, None),
        };
        let domains = running_domains(uri)?;
        return Ok(domains
            .into_iter()
            .filter(|d| glob_match(pattern, d))
            .map(|domain| Target::Libvirt {
                domain,
                uri: uri.map(str::to_string),
            })
            .collect());
    }
    if let Some(vmid) = value.strip_prefix("pve:") {
        // pve:1* → the Proxmox directory's 1*.qmp
        let probe: Target = "pve:0".parse().map_err(|e| format!("{e}"))?;
        let Target::Unix(path) = probe else {
            return Ok(Vec::new());
        };
        let dir = path.parent().unwrap_or(Path::new("/"));
        return socket_files(dir, &format!("{vmid}.qmp"));
    }
    let path = value.strip_prefix("unix:").unwrap_or(value);
    if value.starts_with("tcp:") || (!value.starts_with("unix:") && path.contains(':')) {
        return Err("globs work on socket paths and libvirt domains only".into());
    }
    let path = Path::new(path);
    let (dir, name) = (
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
        path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
    );
    if is_glob(&dir.to_string_lossy()) {
        return Err("only the file name may hold wildcards".into());
    }
    socket_files(dir, name)
}

/// Sockets in `dir` whose names match `pattern`, sorted.
fn socket_files(dir: &Path, pattern: &str) -> Result<Vec<Target>, String> {
    use std::os::unix::fs::FileTypeExt;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_socket()))
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| glob_match(pattern, n))
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    Ok(found.into_iter().map(Target::Unix).collect())
}

/// The running domains of a libvirt URI, through `virsh list --name`.
fn running_domains(uri: Option<&str>) -> Result<Vec<String>, String> {
    let mut command = std::process::Command::new("virsh");
    if let Some(uri) = uri {
        command.arg("-c").arg(uri);
    }
    let output = command
        .args(["-q", "list", "--name"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "listing libvirt domains needs virsh: install the package libvirt-clients"
                    .to_string()
            }
            _ => format!("cannot run virsh: {e}"),
        })?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(format!("virsh list: {}", said.trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Shell-style matching: `*`, `?` and `[abc]` / `[a-z]` / `[!a]`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_from(&p, &t)
}

fn matches_from(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|skip| matches_from(&p[1..], &t[skip..])),
        Some('?') => !t.is_empty() && matches_from(&p[1..], &t[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                return t.first() == Some(&'[') && matches_from(&p[1..], &t[1..]);
            };
            let Some(&c) = t.first() else {
                return false;
            };
            let class = &p[1..close];
            let (negate, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && matches_from(&p[close + 1..], &t[1..])
        }
        Some(&c) => t.first() == Some(&c) && matches_from(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("*.qmp", "vm1.qmp"));
        assert!(!glob_match("*.qmp", "vm1.sock"));
        assert!(glob_match("vm?.qmp", "vm7.qmp"));
        assert!(glob_match("web[0-2]", "web1"));
        assert!(!glob_match("web[!0-2]", "web1"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", "ab"));
    }

    #[test]
    fn expands_socket_globs_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        for name in ["b.qmp", "a.qmp", "c.txt"] {
            listeners.push(std::os::unix::net::UnixListener::bind(dir.path().join(name)).unwrap());
        }
        std::fs::write(dir.path().join("d.qmp"), "not a socket").unwrap();
        let pattern = format!("unix:{}/*.qmp", dir.path().display());
        let (targets, errors) = expand(&[pattern, "tcp:127.0.0.1:1".into(), "nope:x".into()]);
        assert_eq!(
            targets,
            vec![
                Target::Unix(dir.path().join("a.qmp")),
                Target::Unix(dir.path().join("b.qmp")),
                Target::Tcp {
                    host: "127.0.0.1".into(),
                    port: 1
                }
            ]
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (none, errors) = expand(&[format!("{}/*.none", dir.path().display())]);
        assert!(none.is_empty());
        assert!(errors[0].contains("matches nothing"), "{errors:?}");
    }
}
