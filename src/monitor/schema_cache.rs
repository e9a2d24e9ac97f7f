//! `query-qmp-schema` replies cached under the user's cache directory, one
//! file per QEMU version and package (the schema of a build never changes).

use crate::version::QemuVersion;
use serde_json::Value;
use std::path::PathBuf;

fn path(version: &QemuVersion) -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "qhmp")?;
    let package: String = version
        .package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(
        dirs.cache_dir()
            .join(format!("qmp-schema-{version}{package}.json")),
    )
}

/// The cached schema, if present and readable.
pub fn load(version: &QemuVersion) -> Option<Value> {
    let text = std::fs::read_to_string(path(version)?).ok()?;
    serde_json::from_str(&text).ok().filter(Value::is_array)
}

/// Caches a schema; failures only cost a later re-fetch, so they are ignored.
pub fn store(version: &QemuVersion, schema: &Value) {
    if !schema.is_array() {
        return;
    }
    let Some(path) = path(version) else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, schema.to_string()).is_ok() {
        let _ = std::fs::rename(tmp, path);
    }
}
