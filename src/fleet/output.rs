//! One line's outcomes on every VM: JSON objects with a `"target"`, one
//! table merged from all VMs with a leading VM column, or each VM's text
//! under `== TARGET ==`.

use super::{FleetOptions, Member, Outcome};
use crate::output::{print_response, table_style, Format};
use crate::render::table::{render_rows, rows, Rows};
use serde_json::{json, Value};
use std::io::Write;

/// Prints the outcomes in the chosen format.
pub fn print(members: &[Member], outcomes: &[Outcome], options: &FleetOptions) {
    if !options.labelled {
        return print_single(outcomes, options.format);
    }
    let text = match options.format {
        Format::Json => json_lines(members, outcomes),
        Format::Classic => classic(members, outcomes),
        Format::Table => table(members, outcomes),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// One target, unlabelled: as a single connection prints.
fn print_single(outcomes: &[Outcome], format: Format) {
    for outcome in outcomes {
        match outcome {
            Outcome::Done(response) => print_response(response, format),
            Outcome::Parse(e) | Outcome::Unreachable(e) | Outcome::Failed(e) => {
                eprintln!("qhmp: {e}")
            }
        }
    }
}

/// One JSON object per target: `{"target", "return"}` or `{"target", "error"}`.
pub fn json_lines(members: &[Member], outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for (member, outcome) in members.iter().zip(outcomes) {
        let target = member.target.to_string();
        let doc = match outcome {
            Outcome::Done(r) => match r.replies.iter().find(|v| v.get("error").is_some()) {
                Some(e) => json!({"target": target, "error": e["error"]}),
                None => {
                    let value = match r.replies.as_slice() {
                        [] => Value::String(r.text.clone()),
                        [one] => one.clone(),
                        many => Value::Array(many.to_vec()),
                    };
                    if r.failed {
                        json!({"target": target, "error": {"class": "GenericError", "desc": r.text.trim_end()}})
                    } else {
                        json!({"target": target, "return": value})
                    }
                }
            },
            Outcome::Parse(e) => error_doc(&target, "ParseError", e),
            Outcome::Unreachable(e) => error_doc(&target, "Unreachable", e),
            Outcome::Failed(e) => error_doc(&target, "Failed", e),
        };
        text.push_str(&doc.to_string());
        text.push('\n');
    }
    text
}

fn error_doc(target: &str, class: &str, desc: &str) -> Value {
    json!({"target": target, "error": {"class": class, "desc": desc}})
}

/// Each target's QEMU text under `== TARGET ==`, in the order given.
pub fn classic(members: &[Member], outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for (member, outcome) in members.iter().zip(outcomes) {
        text.push_str(&format!("== {} ==\n", member.target));
        match outcome {
            Outcome::Done(r) => text.push_str(&r.text),
            Outcome::Parse(e) | Outcome::Unreachable(e) | Outcome::Failed(e) => {
                text.push_str(&format!("qhmp: {e}\n"))
            }
        }
    }
    text
}

/// One table with a VM column when every VM's reply has a table form;
/// else each VM's table or text under its name. Failures are listed below.
pub fn table(members: &[Member], outcomes: &[Outcome]) -> String {
    let style = table_style();
    let mut per_vm = Vec::new();
    let mut failures = Vec::new();
    let mut plain = Vec::new();
    for (member, outcome) in members.iter().zip(outcomes) {
        let name = member.short_name();
        match outcome {
            Outcome::Done(r) if !r.failed => {
                match r
                    .renderer
                    .as_deref()
                    .and_then(|n| rows(n, &r.replies, &r.table_context))
                {
                    Some(grids) => per_vm.push((name, grids)),
                    None if r.text.is_empty() => {}
                    None => plain.push((name, r)),
                }
            }
            Outcome::Done(r) => failures.push((name, r.text.trim_end().to_string())),
            Outcome::Parse(e) | Outcome::Unreachable(e) | Outcome::Failed(e) => {
                failures.push((name, e.clone()))
            }
        }
    }
    let mut text = String::new();
    if plain.is_empty() {
        if !per_vm.is_empty() {
            text.push_str(&render_rows(&merge(per_vm), style));
        }
    } else {
        // Replies without a table form: each VM's text in turn.
        for (name, grids) in &per_vm {
            text.push_str(&format!("== {name} ==\n"));
            text.push_str(&render_rows(grids, style));
        }
        for (name, r) in plain {
            text.push_str(&format!("== {name} ==\n{}", r.text));
        }
    }
    if !failures.is_empty() {
        text.push_str(&format!(
            "Failed on {} of {} VMs:\n",
            failures.len(),
            outcomes.len()
        ));
        for (name, why) in failures {
            text.push_str(&format!("  {name}: {}\n", why.replace('\n', " ")));
        }
    }
    text
}

/// Grids of the same kind (heading, columns) from all VMs become one, with
/// a leading VM column; a key/value grid becomes one row per VM.
pub fn merge(per_vm: Vec<(String, Vec<Rows>)>) -> Vec<Rows> {
    let mut merged: Vec<Rows> = Vec::new();
    // Whether each merged grid was made of key/value grids.
    let mut from_keyed: Vec<bool> = Vec::new();
    for (vm, grids) in per_vm {
        for grid in grids {
            let (header, rows) = if grid.keyed {
                keyed_as_row(&vm, &grid)
            } else {
                let rows = grid
                    .rows
                    .iter()
                    .map(|r| {
                        std::iter::once(vm.clone())
                            .chain(r.iter().cloned())
                            .collect()
                    })
                    .collect();
                (grid.header.clone(), rows)
            };
            let slot = merged.iter_mut().zip(&from_keyed).find_map(|(m, &k)| {
                (m.title == grid.title && k == grid.keyed && (k || m.header[1..] == header[..]))
                    .then_some(m)
            });
            match slot {
                Some(m) if grid.keyed => add_keyed(m, &header, rows),
                Some(m) => m.rows.extend(rows),
                None => {
                    let mut full = vec!["VM".to_string()];
                    full.extend(header);
                    from_keyed.push(grid.keyed);
                    // The VM column comes first and always stays.
                    let optional = grid.optional.iter().map(|i| i + 1).collect();
                    merged.push(Rows {
                        title: grid.title.clone(),
                        header: full,
                        rows,
                        keyed: false,
                        optional,
                    });
                }
            }
        }
    }
    merged
}

/// A key/value grid as (keys, one row of values); a blank key continues
/// the value above.
fn keyed_as_row(vm: &str, grid: &Rows) -> (Vec<String>, Vec<Vec<String>>) {
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for row in &grid.rows {
        let key = row.first().cloned().unwrap_or_default();
        let value = row.get(1).cloned().unwrap_or_default();
        match (key.trim().is_empty(), values.last_mut()) {
            (true, Some(last)) => {
                last.push_str(", ");
                last.push_str(&value);
            }
            _ => {
                keys.push(key);
                values.push(value);
            }
        }
    }
    let mut row = vec![vm.to_string()];
    row.extend(values);
    (keys, vec![row])
}

/// Adds a VM's key/value row to a merged grid, adding columns for keys the
/// grid lacks so far.
fn add_keyed(merged: &mut Rows, keys: &[String], rows: Vec<Vec<String>>) {
    for key in keys {
        if !merged.header[1..].contains(key) {
            merged.header.push(key.clone());
            for row in &mut merged.rows {
                row.push("-".into());
            }
        }
    }
    for row in rows {
        let mut placed = vec!["-".to_string(); merged.header.len()];
        placed[0] = row[0].clone();
        for (key, value) in keys.iter().zip(&row[1..]) {
            if let Some(at) = merged.header.iter().skip(1).position(|h| h == key) {
                placed[at + 1] = value.clone();
            }
        }
        merged.rows.push(placed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(rows: &[(&str, &str)]) -> Rows {
        Rows {
            title: None,
            header: Vec::new(),
            rows: rows
                .iter()
                .map(|(k, v)| vec![k.to_string(), v.to_string()])
                .collect(),
            keyed: true,
            optional: Vec::new(),
        }
    }

    #[test]
    fn key_value_grids_become_one_row_per_vm() {
        let merged = merge(vec![
            (
                "a".into(),
                vec![keyed(&[("Status", "running"), ("Running", "yes")])],
            ),
            (
                "b".into(),
                vec![keyed(&[
                    ("Status", "paused"),
                    ("Running", "no"),
                    ("Single-step", "no"),
                ])],
            ),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].header, ["VM", "Status", "Running", "Single-step"]);
        assert_eq!(merged[0].rows[0], ["a", "running", "yes", "-"]);
        assert_eq!(merged[0].rows[1], ["b", "paused", "no", "no"]);
    }

    #[test]
    fn tables_with_the_same_columns_share_one() {
        let grid = |rows: &[&str]| Rows {
            title: Some("Block devices".into()),
            header: vec!["Device".into()],
            rows: rows.iter().map(|r| vec![r.to_string()]).collect(),
            keyed: false,
            optional: Vec::new(),
        };
        let merged = merge(vec![
            ("a".into(), vec![grid(&["ide0-hd0", "ide1-cd0"])]),
            ("b".into(), vec![grid(&["virtio0"])]),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].header, ["VM", "Device"]);
        assert_eq!(merged[0].rows.len(), 3);
        assert_eq!(merged[0].rows[2], ["b", "virtio0"]);
    }
}
