//! `O` arguments: one token in QEMU's option syntax (`key=value,key2=value2`,
//! `,,` for a literal comma), parsed like QemuOpts does for the option lists
//! that accept any key (`device`, `netdev`, `net`).
//!
//! QEMU reports problems here on its stderr, not in the monitor, so failures
//! carry their text as a detail only.

/// An option list an `O` argument may name, with its implied first key.
pub(crate) fn implied_key(list: &str) -> Option<&'static str> {
    match list {
        "device" => Some("driver"),
        "netdev" | "net" => Some("type"),
        _ => None,
    }
}

/// The options of a parsed option string, `id` first when given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Options {
    pub entries: Vec<(String, String)>,
    /// Every item in the order given, repeated keys kept (QEMU's option
    /// visitor makes a list of a repeated list-typed key), `id` first.
    pub all: Vec<(String, String)>,
    /// What QEMU writes to its stderr while parsing (deprecated flag forms).
    pub warnings: Vec<String>,
}

/// One `name=value` (or `flag`, `noflag`, implied value) and where the next
/// one starts.
struct Item {
    name: String,
    value: String,
    next: usize,
    /// `(prefix, name, value)` of a short-form boolean, for the warning.
    short_flag: Option<(&'static str, String, &'static str)>,
}

/// A value up to the next single comma; `,,` stands for one comma.
fn read_value(s: &str, mut at: usize) -> (String, usize) {
    let mut value = String::new();
    loop {
        let rest = s.get(at..).unwrap_or("");
        match rest.find(',') {
            None => {
                value.push_str(rest);
                return (value, s.len());
            }
            Some(i) => {
                value.push_str(rest.get(..i).unwrap_or(""));
                if rest.as_bytes().get(i + 1) == Some(&b',') {
                    value.push(',');
                    at += i + 2;
                } else {
                    return (value, at + i);
                }
            }
        }
    }
}

fn read_item(s: &str, at: usize, implied: Option<&str>) -> Item {
    let rest = s.get(at..).unwrap_or("");
    let name_len = rest.find(['=', ',']).unwrap_or(rest.len());
    let name = rest.get(..name_len).unwrap_or("");
    let (name, value, mut next, short_flag) = if rest.as_bytes().get(name_len) == Some(&b'=') {
        let (value, next) = read_value(s, at + name_len + 1);
        (name.to_string(), value, next, None)
    } else if let Some(implied) = implied {
        let (value, next) = read_value(s, at);
        (implied.to_string(), value, next, None)
    } else if let Some(stripped) = name.strip_prefix("no") {
        let flag = Some(("no", stripped.to_string(), "off"));
        (stripped.to_string(), "off".to_string(), at + name_len, flag)
    } else {
        let is_help = name == "help" || name == "?";
        let flag = (!is_help).then(|| ("", name.to_string(), "on"));
        (name.to_string(), "on".to_string(), at + name_len, flag)
    };
    if s.as_bytes().get(next) == Some(&b',') {
        next += 1;
    }
    Item {
        name,
        value,
        next,
        short_flag,
    }
}

fn flag_warning(prefix: &str, name: &str, value: &str) -> String {
    let advice = if name == "delay" {
        format!(
            "Please use nodelay={} instead",
            if prefix.is_empty() { "off" } else { "on" }
        )
    } else {
        format!("Please use {name}={value} instead")
    };
    format!("warning: short-form boolean option '{prefix}{name}' deprecated\n{advice}")
}

/// QEMU's identifier rule for `id=`.
fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Parses an option string for a list with implied first key `implied`.
/// The error is what QEMU prints to its stderr.
pub(crate) fn parse_options(params: &str, implied: &str) -> Result<Options, String> {
    // The id is looked for first, reading every item as `name=value` or flag.
    let mut id = None;
    let mut at = 0;
    while at < params.len() {
        let item = read_item(params, at, None);
        if item.name == "id" {
            id = Some(item.value);
            break;
        }
        at = item.next.max(at + 1);
    }
    let mut out = Options::default();
    if let Some(id) = id {
        if !id_wellformed(&id) {
            return Err("Parameter 'id' expects an identifier\n\
                        Identifiers consist of letters, digits, '-', '.', '_', starting with a letter."
                .into());
        }
        out.entries.push(("id".into(), id.clone()));
        out.all.push(("id".into(), id));
    }
    let mut implied = Some(implied);
    let mut at = 0;
    while at < params.len() {
        let item = read_item(params, at, implied.take());
        if let Some((prefix, name, value)) = &item.short_flag {
            out.warnings.push(flag_warning(prefix, name, value));
        }
        at = item.next.max(at + 1);
        if item.name != "id" {
            out.all.push((item.name.clone(), item.value.clone()));
            match out.entries.iter_mut().find(|(k, _)| *k == item.name) {
                Some(slot) => slot.1 = item.value,
                None => out.entries.push((item.name, item.value)),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(s: &str) -> Vec<(String, String)> {
        parse_options(s, "driver").unwrap().entries
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn implied_first_key_and_pairs() {
        assert_eq!(
            opts("e1000,id=n1,mac=52:54:00:12:34:56"),
            pairs(&[
                ("id", "n1"),
                ("driver", "e1000"),
                ("mac", "52:54:00:12:34:56"),
            ])
        );
        assert_eq!(opts("driver=e1000"), pairs(&[("driver", "e1000")]));
        assert_eq!(
            parse_options("user,id=x", "type").unwrap().entries,
            pairs(&[("id", "x"), ("type", "user")])
        );
        assert_eq!(opts(""), pairs(&[]));
        assert_eq!(opts("e1000,"), pairs(&[("driver", "e1000")]));
    }

    #[test]
    fn doubled_commas_and_odd_items() {
        assert_eq!(
            opts("e1000,,x,id=a"),
            pairs(&[("id", "a"), ("driver", "e1000,x")])
        );
        assert_eq!(
            opts("a,b=c,,d,=e"),
            pairs(&[("driver", "a"), ("b", "c,d"), ("", "e")])
        );
        assert_eq!(opts("a,x=1,x=2"), pairs(&[("driver", "a"), ("x", "2")]));
        assert_eq!(opts(",x=1"), pairs(&[("driver", ""), ("x", "1")]));
    }

    #[test]
    fn flags_and_their_warnings() {
        let o = parse_options("e1000,foo,nobar,help,?,delay", "driver").unwrap();
        assert_eq!(
            o.entries,
            pairs(&[
                ("driver", "e1000"),
                ("foo", "on"),
                ("bar", "off"),
                ("help", "on"),
                ("?", "on"),
                ("delay", "on"),
            ])
        );
        assert_eq!(o.warnings, vec![
            "warning: short-form boolean option 'foo' deprecated\nPlease use foo=on instead".to_string(),
            "warning: short-form boolean option 'nobar' deprecated\nPlease use bar=off instead".to_string(),
            "warning: short-form boolean option 'delay' deprecated\nPlease use nodelay=off instead".to_string(),
        ]);
        let o = parse_options("e1000,nohelp,nodelay", "driver").unwrap();
        assert_eq!(
            o.warnings[0],
            "warning: short-form boolean option 'nohelp' deprecated\nPlease use help=off instead"
        );
        assert_eq!(o.warnings[1], "warning: short-form boolean option 'nodelay' deprecated\nPlease use nodelay=on instead");
    }

    #[test]
    fn id_rules() {
        // The first `id` wins; later ones are dropped.
        assert_eq!(
            opts("e1000,id=a,id=b"),
            pairs(&[("id", "a"), ("driver", "e1000")])
        );
        // `id` as a flag, even as the implied first item, sets the id to "on".
        assert_eq!(opts("id"), pairs(&[("id", "on"), ("driver", "id")]));
        let o = parse_options("e1000,noid", "driver").unwrap();
        assert_eq!(o.entries, pairs(&[("id", "off"), ("driver", "e1000")]));
        assert_eq!(o.warnings.len(), 1);
        let err = parse_options("e1000,id=1x", "driver").unwrap_err();
        assert_eq!(err, "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        assert!(parse_options("e1000,id=", "driver").is_err());
        assert!(parse_options("e1000,id=a b", "driver").is_err());
        assert!(parse_options("e1000,id=a-b.c_d9", "driver").is_ok());
    }
}
