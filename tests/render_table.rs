//! Readable tables, from QMP replies captured on live QEMU 7.2 and 10.0
//! (tests/data/table/capture.py): snapshots at a narrow and a wide width,
//! and the properties every table must have.

use qhmp::render::table::{render, TableStyle};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[path = "render_table/content.rs"]
mod content;

const VERSIONS: [&str; 2] = ["7.2", "10.0"];

/// Fixture files are named RENDERER or RENDERER-VARIANT.
const VARIANTS: [&str; 4] = ["-noclients", "-absent", "-running", "-completed"];

/// Renderers whose QEMU text is one line: no table is easier to read.
const ONE_LINERS: [&str; 5] = ["status", "version", "kvm", "name", "uuid"];

struct Fixture {
    version: &'static str,
    name: String,
    renderer: String,
    replies: Vec<Value>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/table")
}

fn fixtures() -> Vec<Fixture> {
    let mut all = Vec::new();
    for version in VERSIONS {
        let dir = data_dir().join(version);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|file| file.strip_suffix(".json").map(str::to_string))
            .collect();
        names.sort();
        for name in names {
            let fixture = load(version, &name);
            // One-line answers keep QEMU's text in table mode (checked below).
            if !ONE_LINERS.contains(&fixture.renderer.as_str()) {
                all.push(fixture);
            }
        }
    }
    assert!(
        all.len() >= 50,
        "expected the captured fixtures, found {}",
        all.len()
    );
    all
}

fn load(version: &'static str, name: &str) -> Fixture {
    let path = data_dir().join(version).join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let replies = file["replies"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{}: no replies", path.display()));
    let renderer = VARIANTS
        .iter()
        .find_map(|variant| name.strip_suffix(variant))
        .unwrap_or(name)
        .to_string();
    Fixture {
        version,
        name: name.to_string(),
        renderer,
        replies,
    }
}

fn plain(width: u16) -> TableStyle {
    TableStyle {
        width,
        fancy: false,
    }
}

/// The fixture's table, as for the QEMU it was captured from (whose
/// order `info migrate_parameters` follows).
fn table(fixture: &Fixture, style: TableStyle) -> String {
    let (major, minor) = fixture.version.split_once('.').unwrap_or(("10", "0"));
    let context = qhmp::render::table::TableContext {
        version: Some(qhmp::version::QemuVersion::new(
            major.parse().unwrap_or(10),
            minor.parse().unwrap_or(0),
            0,
        )),
        ..Default::default()
    };
    qhmp::render::table::render_with(&fixture.renderer, &fixture.replies, &context, style)
        .unwrap_or_else(|| panic!("{} has no table form", fixture.renderer))
}

fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (false, c) => out.push(c),
            (true, c) if c.is_ascii_alphabetic() => in_escape = false,
            (true, _) => {}
        }
    }
    out
}

#[test]
fn snapshots_narrow_and_wide() {
    for fixture in fixtures() {
        for width in [60, 120] {
            let major = fixture.version.split('.').next().unwrap_or_default();
            let name = format!("q{major}_{}_w{width}", fixture.name);
            insta::assert_snapshot!(name, table(&fixture, plain(width)));
        }
    }
}

#[test]
fn every_line_fits_the_width() {
    for fixture in fixtures() {
        for width in [40, 60, 80, 120, 200] {
            for fancy in [false, true] {
                let text = strip_escapes(&table(&fixture, TableStyle { width, fancy }));
                for line in text.lines() {
                    assert!(
                        line.chars().count() <= usize::from(width),
                        "{}/{} at width {width} (fancy {fancy}): line of {} columns:\n{line}\n\n{text}",
                        fixture.version,
                        fixture.name,
                        line.chars().count()
                    );
                }
            }
        }
    }
}

#[test]
fn plain_style_is_ascii_without_escapes() {
    for fixture in fixtures() {
        let text = table(&fixture, plain(80));
        assert!(
            text.is_ascii(),
            "{}/{}:\n{text}",
            fixture.version,
            fixture.name
        );
        assert!(
            !text.contains('\x1b'),
            "{}/{}",
            fixture.version,
            fixture.name
        );
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{}/{}",
            fixture.version,
            fixture.name
        );
    }
}

#[test]
fn fancy_style_draws_boxes_and_colours() {
    let fixture = load("10.0", "balloon");
    let text = table(
        &fixture,
        TableStyle {
            width: 80,
            fancy: true,
        },
    );
    assert!(text.contains('\x1b'), "{text}");
    assert!(text.contains('│') && text.contains('╭'), "{text}");
    assert!(text.ends_with('\n'));
}

#[test]
fn renderers_without_a_table_form_fall_back() {
    assert_eq!(render("qtree", &[json!({})], plain(80)), None);
    for renderer in ONE_LINERS {
        let fixture = load("10.0", renderer);
        assert_eq!(render(renderer, &fixture.replies, plain(80)), None);
    }
    assert_eq!(render("", &[], plain(80)), None);
}

#[test]
fn odd_replies_are_reported_not_panicked_on() {
    let renderers = [
        "spice",
        "vnc",
        "block",
        "blockstats",
        "block-jobs",
        "chardev",
        "cpus",
        "pci",
        "mice",
        "migrate",
        "migrate_capabilities",
        "migrate_parameters",
        "iothreads",
        "memdev",
        "memory-devices",
        "hotpluggable-cpus",
        "tpm",
        "dump",
        "balloon",
    ];
    let odd = [
        json!(5),
        json!("x"),
        json!(null),
        json!([1, {"a": []}]),
        json!({"channels": 3, "server": {}}),
    ];
    for renderer in renderers {
        for reply in &odd {
            let text = render(renderer, std::slice::from_ref(reply), plain(60))
                .unwrap_or_else(|| panic!("{renderer} has no table form"));
            assert!(text.ends_with('\n'), "{renderer} {reply}: {text:?}");
        }
        let text = render(renderer, &[], plain(60)).unwrap_or_default();
        assert_eq!(text, "No reply.\n", "{renderer}");
    }
    let text = render("cpus", &[json!({"not": "a list"})], plain(80)).unwrap_or_default();
    assert!(
        text.starts_with("Unexpected reply (expected a list)"),
        "{text}"
    );
}

#[test]
fn too_narrow_for_columns_becomes_one_record_per_row() {
    let fixture = load("10.0", "pci");
    let text = table(&fixture, plain(40));
    // Each record is its own key/value table naming every column.
    let records = text.matches("| Address ").count();
    let devices = fixture.replies[0][0]["devices"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(records, devices, "{text}");
}
