//! The classic block, PCI, migration and misc renderers against text captured
//! from live QEMU (fixtures written by tests/data/classic/capture_block.py).
//!
//! Each fixture holds the parsed HMP arguments, the QMP replies of the
//! command's translation and what QEMU's own HMP printed for the same state;
//! the renderer's output, with CR LF line ends, must equal that text.

use qhmp::parse::{ArgValue, Args};
use qhmp::render::classic::render;
use qhmp::render::{QmpErrorReply, RenderContext, Reply};
use qhmp::version::QemuVersion;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The renderers these fixtures exercise (a fixture is `<name>[-<state>].json`).
const NAMES: &[&str] = &[
    "block",
    "blockstats",
    "block-jobs",
    "pci",
    "migrate",
    "migrate_capabilities",
    "migrate_parameters",
    "chardev",
    "qom-list",
    "qom-get",
    "qom-tree",
    "ringbuf_read",
    "trace-events",
    "rocker",
    "rocker-ports",
    "rocker-of-dpa-flows",
    "rocker-of-dpa-groups",
    "virtio",
    "virtio-status",
    "virtio-queue-status",
    "virtio-vhost-queue-status",
    "virtio-queue-element",
];

/// The renderer a fixture file belongs to: the longest name that is the
/// whole stem or a prefix followed by `-`.
fn renderer_of(stem: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .copied()
        .filter(|name| {
            stem == *name
                || stem
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|name| name.len())
}

fn version_of(dir: &Path) -> QemuVersion {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut parts = name.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => QemuVersion::new(major, minor, 0),
        _ => panic!("fixture directory {name:?} is not <major>.<minor>"),
    }
}

fn args_from(json: &Value, file: &Path) -> Args {
    let mut args = Args::new();
    let Some(map) = json.as_object() else {
        return args;
    };
    for (key, value) in map {
        let arg = match value {
            Value::Bool(b) => ArgValue::Bool(*b),
            Value::String(s) => ArgValue::Str(s.clone()),
            Value::Number(n) if n.is_i64() => ArgValue::Int(n.as_i64().unwrap_or(0)),
            Value::Number(n) => ArgValue::Float(n.as_f64().unwrap_or(0.0)),
            other => panic!("{}: unsupported argument {key}={other}", file.display()),
        };
        args.insert(key.clone(), arg);
    }
    args
}

fn replies_from(json: &Value, file: &Path) -> Vec<Reply> {
    let list = json
        .as_array()
        .unwrap_or_else(|| panic!("{}: replies is not a list", file.display()));
    list.iter()
        .map(|reply| {
            if let Some(value) = reply.get("return") {
                Ok(value.clone())
            } else if let Some(err) = reply.get("error") {
                Err(QmpErrorReply {
                    class: err["class"].as_str().unwrap_or("").to_string(),
                    desc: err["desc"].as_str().unwrap_or("").to_string(),
                })
            } else {
                panic!("{}: a reply is neither return nor error", file.display())
            }
        })
        .collect()
}

fn first_difference(got: &str, want: &str) -> String {
    let got_lines: Vec<&str> = got.split("\r\n").collect();
    let want_lines: Vec<&str> = want.split("\r\n").collect();
    for (i, (g, w)) in got_lines.iter().zip(&want_lines).enumerate() {
        if g != w {
            return format!("line {}:\n   got: {g:?}\n  want: {w:?}", i + 1);
        }
    }
    format!(
        "line counts differ: got {}, want {}",
        got_lines.len(),
        want_lines.len()
    )
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/classic");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn renderers_reproduce_live_hmp_text() {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut seen_names = std::collections::BTreeSet::new();
    for dir in fixture_dirs() {
        let version = version_of(&dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let Some(name) = renderer_of(stem) else {
                continue;
            };
            let raw = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let fixture: Value =
                serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let args = args_from(&fixture["args"], &file);
            let replies = replies_from(&fixture["replies"], &file);
            let want = fixture["hmp"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: hmp is not a string", file.display()));
            let ctx = RenderContext::new(version.clone());
            checked += 1;
            seen_names.insert(name);
            match render(name, &ctx, &replies, &args) {
                Ok(text) => {
                    let got = text.replace('\n', "\r\n");
                    if got != want {
                        failures.push(format!(
                            "{}: {}",
                            file.display(),
                            first_difference(&got, want)
                        ));
                    }
                }
                Err(e) => failures.push(format!("{}: render error: {e}", file.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} fixtures differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Both QEMU versions contribute dozens of cases; an empty directory is a failure.
    assert!(checked >= 100, "only {checked} fixtures found");
    let missing: Vec<&&str> = NAMES.iter().filter(|n| !seen_names.contains(*n)).collect();
    assert!(missing.is_empty(), "no fixture for {missing:?}");
}

#[test]
fn fixture_names_map_to_the_longest_renderer() {
    assert_eq!(renderer_of("block"), Some("block"));
    assert_eq!(renderer_of("block-verbose"), Some("block"));
    assert_eq!(renderer_of("block-jobs-active"), Some("block-jobs"));
    assert_eq!(renderer_of("rocker-ports-missing"), Some("rocker-ports"));
    assert_eq!(renderer_of("virtio-status-net"), Some("virtio-status"));
    assert_eq!(renderer_of("blockstatsx"), None);
    assert_eq!(renderer_of("version"), None);
}

/// Every node of a JSON value, as a path of object keys and list indexes.
fn node_paths(value: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(path.clone());
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                path.push(PathStep::Key(key.clone()));
                node_paths(item, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathStep::Index(i));
                node_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn node_at<'a>(value: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |node, step| match step {
        PathStep::Key(k) => node.get_mut(k.as_str()),
        PathStep::Index(i) => node.get_mut(*i),
    })
}

/// Renderers never panic on replies of an unexpected shape: every fixture
/// is re-rendered with sampled members replaced by values of other types.
#[test]
fn renderers_survive_malformed_replies() {
    let strange = [
        Value::Null,
        serde_json::json!("text"),
        serde_json::json!(-1),
        serde_json::json!(1e300),
        serde_json::json!({"x": []}),
    ];
    let mut renders = 0;
    for dir in fixture_dirs() {
        let version = version_of(&dir);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let file = entry.path();
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let Some(name) = renderer_of(stem) else {
                continue;
            };
            let raw = std::fs::read_to_string(&file).unwrap_or_default();
            let Ok(fixture) = serde_json::from_str::<Value>(&raw) else {
                continue;
            };
            let args = args_from(&fixture["args"], &file);
            let replies = fixture["replies"].clone();
            let mut paths = Vec::new();
            node_paths(&replies, &mut Vec::new(), &mut paths);
            let step = paths.len() / 40 + 1;
            let ctx = RenderContext::new(version.clone());
            for (n, path) in paths.iter().step_by(step).enumerate() {
                let mut mutated = replies.clone();
                if let Some(node) = node_at(&mut mutated, path) {
                    *node = strange[n % strange.len()].clone();
                }
                // A reply list itself may have become something else.
                let replies: Vec<Reply> = match mutated.as_array() {
                    Some(items) => items
                        .iter()
                        .map(|r| match r.get("error") {
                            Some(e) => Err(QmpErrorReply {
                                class: String::new(),
                                desc: e.to_string(),
                            }),
                            None => Ok(r.get("return").cloned().unwrap_or_else(|| r.clone())),
                        })
                        .collect(),
                    None => vec![Ok(mutated)],
                };
                let _ = render(name, &ctx, &replies, &args);
                renders += 1;
            }
            // No replies at all.
            let _ = render(name, &ctx, &[], &args);
        }
    }
    assert!(renders > 1000, "only {renders} malformed renders tried");
}
