//! The classic renderers of the system, display and machine families must
//! print exactly what QEMU's own HMP printed for the same QMP replies.
//!
//! Fixtures are pairs captured from live QEMU 7.2 and 10.0 by
//! `tests/data/classic/capture_system.py`: the QMP replies of a command and
//! the `human-monitor-command` text for the same state.

use qhmp::parse::{ArgValue, Args};
use qhmp::render::classic::render;
use qhmp::render::{QmpErrorReply, RenderContext, Reply};
use qhmp::version::QemuVersion;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Renderer names of the three families, longest first so that a fixture
/// file name maps to the longest name it starts with.
const NAMES: &[&str] = &[
    "human-readable-text",
    "memory_size_summary",
    "hotpluggable-cpus",
    "vm-generation-id",
    "vcpu_dirty_limit",
    "memory-devices",
    "dirty_rate",
    "iothreads",
    "cryptodev",
    "balloon",
    "version",
    "status",
    "replay",
    "memdev",
    "spice",
    "stats",
    "name",
    "uuid",
    "dump",
    "cpus",
    "mice",
    "kvm",
    "sev",
    "sgx",
    "vnc",
    "tpm",
];

/// Names with no fixture for a release line (the command does not exist).
const ABSENT: &[(&str, &str)] = &[("7.2", "cryptodev")];

struct Fixture {
    path: PathBuf,
    renderer: &'static str,
    version: QemuVersion,
    json: Value,
}

fn renderer_of(file_stem: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|name| {
        file_stem == *name
            || file_stem
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('-'))
    })
}

fn load_fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/classic");
    let mut fixtures = Vec::new();
    for (dir, version) in [
        ("7.2", QemuVersion::new(7, 2, 0)),
        ("10.0", QemuVersion::new(10, 0, 0)),
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("reading fixtures of {dir}: {e}"))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            // Fixtures of the other renderer families live alongside.
            let Some(renderer) = renderer_of(stem) else {
                continue;
            };
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            fixtures.push(Fixture {
                path,
                renderer,
                version: version.clone(),
                json,
            });
        }
    }
    fixtures
}

fn to_reply(v: &Value) -> Reply {
    if let Some(ret) = v.get("return") {
        return Ok(ret.clone());
    }
    let error = v.get("error").expect("a reply holds 'return' or 'error'");
    Err(QmpErrorReply {
        class: error["class"].as_str().unwrap_or_default().to_string(),
        desc: error["desc"].as_str().unwrap_or_default().to_string(),
    })
}

fn to_args(v: &Value) -> Args {
    let mut args = Args::new();
    for (key, value) in v.as_object().expect("'args' is an object") {
        let value = match value {
            Value::String(s) => ArgValue::Str(s.clone()),
            Value::Bool(b) => ArgValue::Bool(*b),
            Value::Number(n) if n.is_i64() => ArgValue::Int(n.as_i64().unwrap_or_default()),
            Value::Number(n) => ArgValue::Float(n.as_f64().unwrap_or_default()),
            other => panic!("unsupported argument value {other}"),
        };
        args.insert(key.clone(), value);
    }
    args
}

#[test]
fn renderers_reproduce_live_hmp_text() {
    let fixtures = load_fixtures();
    let mut failures = Vec::new();
    for f in &fixtures {
        let replies: Vec<Reply> = f.json["replies"]
            .as_array()
            .expect("'replies' is a list")
            .iter()
            .map(to_reply)
            .collect();
        let args = to_args(&f.json["args"]);
        let mut ctx = RenderContext::new(f.version.clone());
        if let Some(cpu) = f.json.get("current_cpu").and_then(Value::as_i64) {
            ctx.current_cpu = cpu;
        }
        let want = f.json["hmp"].as_str().expect("'hmp' is a string");
        match render(f.renderer, &ctx, &replies, &args) {
            Ok(text) => {
                let got = text.replace('\n', "\r\n");
                if got != want {
                    failures.push(format!(
                        "{}:\n--- QEMU\n{want:?}\n--- rendered\n{got:?}",
                        f.path.display()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", f.path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_renderer_has_live_fixtures_on_both_versions() {
    let fixtures = load_fixtures();
    let mut missing = Vec::new();
    for version in ["7.2", "10.0"] {
        for name in NAMES {
            if ABSENT.contains(&(version, name)) {
                continue;
            }
            let found = fixtures
                .iter()
                .any(|f| f.renderer == *name && f.version.to_string().starts_with(version));
            if !found {
                missing.push(format!("{version}/{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "no fixtures for: {missing:?}");
}

#[test]
fn fixture_names_map_to_renderers() {
    assert_eq!(
        renderer_of("vm-generation-id-set"),
        Some("vm-generation-id")
    );
    assert_eq!(renderer_of("name-set"), Some("name"));
    assert_eq!(renderer_of("version"), Some("version"));
    assert_eq!(renderer_of("memdev-backends"), Some("memdev"));
    assert_eq!(renderer_of("memory-devices-all"), Some("memory-devices"));
    assert_eq!(renderer_of("namespace"), None);
    assert_eq!(renderer_of("block-jobs"), None);
}
