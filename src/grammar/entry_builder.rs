//! One table entry's fields (`versions:`, `args@7.2:`, `qmp:` …) gathered
//! while a table is read, then checked and built into an [`Entry`].

use super::args_type::ArgsType;
use super::profile::Profile;
use super::table::{Entry, GrammarError, Location, QmpCall, QmpMapping, Versioned};

/// Fields an entry may carry.
pub(super) const FIELDS: &[&str] = &[
    "versions", "args", "params", "help", "qmp", "render", "subtable", "errors", "complete",
    "libvirt", "confirm",
];

pub(super) struct Builder {
    pub(super) name: String,
    pub(super) location: Location,
    pub(super) fields: Vec<Field>,
}

pub(super) struct Field {
    pub(super) key: String,
    pub(super) profile: Option<Profile>,
    pub(super) value: String,
    pub(super) location: Location,
    pub(super) value_column: usize,
}

impl Builder {
    fn error(&self, location: &Location, message: String) -> GrammarError {
        GrammarError {
            location: location.clone(),
            message,
        }
    }

    pub(super) fn finish(self) -> Result<Entry, GrammarError> {
        let mut versions = None;
        let mut args_type = Versioned::new(ArgsType::default());
        let mut params = Versioned::new(String::new());
        let mut help = None;
        let mut qmp_lines: Vec<&Field> = Vec::new();
        let mut render = None;
        let mut subtable = None;
        let mut plain_errors = false;
        let mut hmp_errors = false;
        let mut confirm = None;
        let mut completions = Vec::new();
        let mut libvirt = None;
        for f in &self.fields {
            let only_default = |what: &str| -> Result<(), GrammarError> {
                match f.profile {
                    Some(_) => Err(self.error(
                        &f.location,
                        format!("expected '{what}:' without a version; it cannot vary"),
                    )),
                    None => Ok(()),
                }
            };
            match f.key.as_str() {
                "versions" => {
                    only_default("versions")?;
                    let mut list = Vec::new();
                    for word in f.value.split_whitespace() {
                        let p = word.parse::<Profile>().map_err(|m| {
                            let col = f.value_column + f.value.find(word).unwrap_or(0);
                            GrammarError {
                                location: Location {
                                    column: col,
                                    ..f.location.clone()
                                },
                                message: format!("expected a QEMU version: {m}"),
                            }
                        })?;
                        list.push(p);
                    }
                    if list.is_empty() {
                        return Err(self.error(
                            &f.location,
                            "expected at least one version after 'versions:'".into(),
                        ));
                    }
                    versions = Some(list);
                }
                "args" => {
                    let parsed =
                        ArgsType::parse(&f.value).map_err(|(offset, expected)| GrammarError {
                            location: Location {
                                column: f.value_column + offset,
                                ..f.location.clone()
                            },
                            message: format!("in args: expected {expected}"),
                        })?;
                    set_versioned(&mut args_type, f.profile, parsed);
                }
                "params" => set_versioned(&mut params, f.profile, f.value.clone()),
                "help" => {
                    only_default("help")?;
                    help = Some(f.value.clone());
                }
                "qmp" => qmp_lines.push(f),
                "render" => {
                    only_default("render")?;
                    render = Some(f.value.clone());
                }
                "confirm" => {
                    only_default("confirm")?;
                    confirm = Some(f.value.clone());
                }
                "subtable" => {
                    only_default("subtable")?;
                    subtable = Some(f.value.clone());
                }
                "errors" => {
                    only_default("errors")?;
                    match f.value.as_str() {
                        "plain" => plain_errors = true,
                        "hmp" => hmp_errors = true,
                        _ => {
                            return Err(self.error(
                                &Location {
                                    column: f.value_column,
                                    ..f.location.clone()
                                },
                                "expected 'plain' or 'hmp' after 'errors:'".into(),
                            ))
                        }
                    }
                }
                "complete" => {
                    only_default("complete")?;
                    match f.value.split_once('=') {
                        Some((arg, source))
                            if !arg.trim().is_empty() && !source.trim().is_empty() =>
                        {
                            completions.push((arg.trim().to_string(), source.trim().to_string()));
                        }
                        _ => {
                            return Err(self.error(
                                &Location {
                                    column: f.value_column,
                                    ..f.location.clone()
                                },
                                "expected 'ARGUMENT=SOURCE' after 'complete:'".into(),
                            ))
                        }
                    }
                }
                "libvirt" => {
                    only_default("libvirt")?;
                    libvirt = Some(f.value.clone());
                }
                _ => unreachable!("field names are checked when read"),
            }
        }
        let versions = versions.ok_or_else(|| {
            self.error(
                &self.location,
                format!("entry [{}]: expected a 'versions:' field", self.name),
            )
        })?;
        let help = help.ok_or_else(|| {
            self.error(
                &self.location,
                format!("entry [{}]: expected a 'help:' field", self.name),
            )
        })?;
        let qmp = self.qmp_mapping(&qmp_lines)?;
        Ok(Entry {
            name: self.name,
            versions,
            args_type,
            params,
            help,
            qmp,
            render,
            subtable,
            plain_errors,
            hmp_errors,
            completions,
            libvirt,
            confirm,
            location: self.location,
        })
    }

    /// Groups `qmp:` lines by profile; several lines for one profile are
    /// several calls in order.
    fn qmp_mapping(&self, lines: &[&Field]) -> Result<Versioned<QmpMapping>, GrammarError> {
        let mut groups: Vec<(Option<Profile>, Vec<&Field>)> = Vec::new();
        for f in lines {
            match groups.iter_mut().find(|(p, _)| *p == f.profile) {
                Some((_, g)) => g.push(f),
                None => groups.push((f.profile, vec![f])),
            }
        }
        let mut default = None;
        let mut overrides = Vec::new();
        for (profile, fields) in groups {
            let mapping = self.one_mapping(&fields)?;
            match profile {
                None => default = Some(mapping),
                Some(p) => overrides.push((p, mapping)),
            }
        }
        let default = default.ok_or_else(|| {
            self.error(&self.location, format!("entry [{}]: expected a 'qmp:' field (a QMP call, 'hmp-only', 'local' or 'special NAME')", self.name))
        })?;
        Ok(Versioned { default, overrides })
    }

    fn one_mapping(&self, fields: &[&Field]) -> Result<QmpMapping, GrammarError> {
        let first = fields[0];
        let keyword_alone = |m: QmpMapping| -> Result<QmpMapping, GrammarError> {
            if fields.len() > 1 {
                Err(self.error(
                    &fields[1].location,
                    "expected no further 'qmp:' lines after a keyword mapping".into(),
                ))
            } else {
                Ok(m)
            }
        };
        match first.value.as_str() {
            "hmp-only" => return keyword_alone(QmpMapping::HmpOnly),
            "local" => return keyword_alone(QmpMapping::Local),
            _ => {}
        }
        if let Some(name) = first.value.strip_prefix("special ") {
            return keyword_alone(QmpMapping::Special(name.trim().to_string()));
        }
        let mut calls = Vec::new();
        for f in fields {
            let (command, template) = match f.value.split_once(char::is_whitespace) {
                Some((c, t)) => (c, Some(t.trim())),
                None => (f.value.as_str(), None),
            };
            if command.is_empty()
                || !command
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(self.error(
                    &Location {
                        column: f.value_column,
                        ..f.location.clone()
                    },
                    "expected a QMP command name, 'hmp-only', 'local' or 'special NAME'".into(),
                ));
            }
            let template = match template {
                None => None,
                Some(t) => Some(serde_json::from_str::<serde_json::Value>(t).map_err(|e| {
                    GrammarError {
                        location: Location {
                            column: f.value_column
                                + command.len()
                                + 1
                                + e.column().saturating_sub(1),
                            ..f.location.clone()
                        },
                        message: format!("expected a JSON argument template: {e}"),
                    }
                })?),
            };
            if let Some(t) = &template {
                if !t.is_object() {
                    return Err(self.error(
                        &f.location,
                        "expected the argument template to be a JSON object".into(),
                    ));
                }
            }
            calls.push(QmpCall {
                command: command.to_string(),
                template,
            });
        }
        Ok(QmpMapping::Calls(calls))
    }
}

fn set_versioned<T>(slot: &mut Versioned<T>, profile: Option<Profile>, value: T) {
    match profile {
        None => slot.default = value,
        Some(p) => {
            slot.overrides.retain(|(q, _)| *q != p);
            slot.overrides.push((p, value));
        }
    }
}
