//! The QEMU releases the simulator can play. Everything that differs between
//! them is data captured from the real binaries (`tests/data/versions/`,
//! written by its `capture.py`): the greeting, the QMP commands
//! `query-commands` lists, and the reply members that release lacks compared
//! with 10.0, whose replies the handlers build. No handler branches on a
//! version.

use crate::grammar::Profile;
use serde_json::Value;

/// One release's captured data.
#[derive(Debug)]
pub struct SimVersion {
    pub profile: Profile,
    /// The real greeting's `QMP` member.
    greeting: &'static str,
    /// `query-commands` names, one a line.
    commands: &'static str,
    /// `COMMAND * NAME` (drop NAME anywhere in the reply) or `COMMAND a.b`
    /// (drop at that path) lines.
    removed: &'static str,
    /// `COMMAND a.b = JSON` (a member this release requires, with a value)
    /// or `COMMAND a.b != "VALUE"` (an enum value it lacks: the object
    /// carrying it is dropped) lines.
    changed: &'static str,
    /// `COMMAND ARG`: arguments 10.0 takes and this release refuses.
    removed_args: &'static str,
}

macro_rules! data {
    ($dir:literal, $file:literal) => {
        include_str!(concat!("../../tests/data/versions/", $dir, "/", $file))
    };
}

macro_rules! captured {
    ($profile:expr, $dir:literal) => {
        SimVersion {
            profile: $profile,
            greeting: data!($dir, "greeting.json"),
            commands: data!($dir, "commands.txt"),
            removed: data!($dir, "removed-members.txt"),
            changed: data!($dir, "changed-members.txt"),
            removed_args: data!($dir, "removed-args.txt"),
        }
    };
}

static VERSIONS: [SimVersion; 5] = [
    captured!(Profile::V5_2, "5.2"),
    captured!(Profile::V7_2, "7.2"),
    captured!(Profile::V8_2, "8.2"),
    // The handlers build 10.0's replies: nothing to change.
    SimVersion {
        profile: Profile::V10_0,
        greeting: data!("10.0", "greeting.json"),
        commands: data!("10.0", "commands.txt"),
        removed: "",
        changed: "",
        removed_args: "",
    },
    captured!(Profile::V11_1, "11.1"),
];

/// What the simulator appends to the version (`info version` prints it);
/// QEMU packages start theirs with a space too.
pub const PACKAGE: &str = " (qhmp simulated)";

impl SimVersion {
    /// The captured data of a release line.
    pub fn of(profile: Profile) -> &'static SimVersion {
        VERSIONS
            .iter()
            .find(|v| v.profile == profile)
            .unwrap_or(&VERSIONS[3])
    }

    /// `(major, minor, micro)` of the captured binary.
    pub fn triple(&self) -> (u32, u32, u32) {
        let greeting: Value = serde_json::from_str(self.greeting).unwrap_or(Value::Null);
        let part = |k: &str| {
            greeting
                .pointer(&format!("/version/qemu/{k}"))
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32
        };
        (part("major"), part("minor"), part("micro"))
    }

    /// The greeting's `capabilities`.
    pub fn capabilities(&self) -> Value {
        let greeting: Value = serde_json::from_str(self.greeting).unwrap_or(Value::Null);
        greeting
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new()))
    }

    /// True when the real release offers this QMP command.
    pub fn offers(&self, command: &str) -> bool {
        self.commands.lines().any(|l| l == command)
    }

    /// The first argument in `args` this release's `command` does not take.
    pub fn refused_argument<'a>(
        &self,
        command: &str,
        mut args: impl Iterator<Item = &'a str>,
    ) -> Option<&'a str> {
        args.find(|arg| {
            self.removed_args
                .lines()
                .any(|l| l.split_once(' ') == Some((command, *arg)))
        })
    }

    /// Reshapes a reply of `command` (built as 10.0's) into this release's.
    pub fn shape_reply(&self, command: &str, reply: &mut Value) {
        for line in self.removed.lines() {
            let mut words = line.split(' ');
            if words.next() != Some(command) {
                continue;
            }
            match (words.next(), words.next()) {
                (Some("*"), Some(name)) => drop_everywhere(reply, name),
                (Some(path), None) => {
                    let segments: Vec<&str> = path.split('.').collect();
                    drop_at(reply, &segments);
                }
                _ => {}
            }
        }
        for line in self.changed.lines() {
            let Some(rest) = line.strip_prefix(command).and_then(|r| r.strip_prefix(' ')) else {
                continue;
            };
            fn parse<'a>((path, json): (&'a str, &'a str)) -> Option<(Vec<&'a str>, Value)> {
                let value = serde_json::from_str::<Value>(json).ok()?;
                Some((path.split('.').collect(), value))
            }
            if let Some((path, bad)) = rest.split_once(" != ").and_then(parse) {
                drop_carrier(reply, &path, &bad);
            } else if let Some((path, value)) = rest.split_once(" = ").and_then(parse) {
                set_missing(reply, &path, &value);
            }
        }
    }
}

/// Inserts `value` at `path` where the parent exists and the member does not.
fn set_missing(value: &mut Value, path: &[&str], new: &Value) {
    match (value, path) {
        (Value::Array(items), _) => items.iter_mut().for_each(|v| set_missing(v, path, new)),
        (Value::Object(map), [last]) => {
            map.entry(last.to_string()).or_insert_with(|| new.clone());
        }
        (Value::Object(map), [first, rest @ ..]) => {
            if let Some(inner) = map.get_mut(*first) {
                set_missing(inner, rest, new);
            }
        }
        _ => {}
    }
}

/// Drops every object whose member at the end of `path` is `bad` (from its
/// list, or as a member of its parent). True: `value` itself must go.
fn drop_carrier(value: &mut Value, path: &[&str], bad: &Value) -> bool {
    match (value, path) {
        (Value::Array(items), _) => {
            items.retain_mut(|v| !drop_carrier(v, path, bad));
            false
        }
        (Value::Object(map), [last]) => map.get(*last) == Some(bad),
        (Value::Object(map), [first, rest @ ..]) => {
            let gone = map
                .get_mut(*first)
                .is_some_and(|inner| drop_carrier(inner, rest, bad));
            if gone {
                map.remove(*first);
            }
            false
        }
        _ => false,
    }
}

fn drop_everywhere(value: &mut Value, name: &str) {
    match value {
        Value::Object(map) => {
            map.remove(name);
            map.values_mut().for_each(|v| drop_everywhere(v, name));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_everywhere(v, name)),
        _ => {}
    }
}

/// Lists are transparent in paths, as in the schema's member paths.
fn drop_at(value: &mut Value, path: &[&str]) {
    match (value, path) {
        (Value::Array(items), _) => items.iter_mut().for_each(|v| drop_at(v, path)),
        (Value::Object(map), [last]) => {
            map.remove(*last);
        }
        (Value::Object(map), [first, rest @ ..]) => {
            if let Some(inner) = map.get_mut(*first) {
                drop_at(inner, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_release_has_its_captured_identity_and_commands() {
        for profile in Profile::ALL {
            let v = SimVersion::of(profile);
            let (major, minor, _) = v.triple();
            assert_eq!((major, minor), profile.major_minor());
            assert!(v.offers("query-version") && v.offers("qmp_capabilities"));
        }
        assert!(!SimVersion::of(Profile::V5_2).offers("x-query-usb"));
        assert!(SimVersion::of(Profile::V7_2).offers("x-query-usb"));
        let v5 = SimVersion::of(Profile::V5_2);
        let args = ["filename", "format"];
        assert_eq!(
            v5.refused_argument("screendump", args.into_iter()),
            Some("format")
        );
        let v10 = SimVersion::of(Profile::V10_0);
        assert_eq!(v10.refused_argument("screendump", args.into_iter()), None);
    }

    #[test]
    fn members_a_release_lacks_are_dropped() {
        let mut iothreads = json!([{"id": "io0", "aio-max-batch": 0, "poll-max-ns": 1}]);
        SimVersion::of(Profile::V5_2).shape_reply("query-iothreads", &mut iothreads);
        assert_eq!(iothreads, json!([{"id": "io0", "poll-max-ns": 1}]));
        let mut block = json!([{"inserted": {"active": true, "ro": false}}]);
        SimVersion::of(Profile::V5_2).shape_reply("query-block", &mut block);
        // …and 5.2's required `encryption_key_missing` is added.
        assert_eq!(
            block,
            json!([{"inserted": {"ro": false, "encryption_key_missing": false}}])
        );
        let mut caps = json!([{"capability": "xbzrle", "state": false},
                              {"capability": "zero-blocks", "state": false}]);
        SimVersion::of(Profile::V11_1).shape_reply("query-migrate-capabilities", &mut caps);
        assert_eq!(caps, json!([{"capability": "xbzrle", "state": false}]));
        let mut cpus = json!([{"cpu-index": 0}]);
        SimVersion::of(Profile::V11_1).shape_reply("query-cpus-fast", &mut cpus);
        assert_eq!(cpus[0]["qom-type"], "qemu64-x86_64-cpu");
        let mut same = json!([{"id": "io0", "aio-max-batch": 0}]);
        SimVersion::of(Profile::V10_0).shape_reply("query-iothreads", &mut same);
        assert_eq!(same, json!([{"id": "io0", "aio-max-batch": 0}]));
    }
}
