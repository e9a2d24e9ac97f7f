//! Lesson files: a situation in plain words, simulator setup, a goal checked
//! against the simulator's state through QMP queries, and hints.
//!
//! ```text
//! [lesson]
//! name:      eject-cdrom
//! title:     Take the installer CD out
//! situation: The guest finished installing. Open the CD-ROM tray.
//! setup:     cont
//! goal:      query-block [device=ide1-cd0].tray_open == true
//! means:     the CD-ROM tray is open
//! watch:     info block ide1-cd0
//! hint:      `info block` lists the drives and their trays.
//! hint:      `eject ide1-cd0` opens the tray and removes the medium.
//! ```
//!
//! Every goal is followed by a `means:` line saying, in an operator's
//! words, what holds once it is met (shown for goals not met, instead of
//! the goal's own text). `watch` lines are HMP commands whose output the
//! debrief shows before and after the lesson. Hints go from where to look
//! to the exact command, one more each time `hint` is typed.
//!
//! `setup` lines are HMP commands run before the lesson starts; `script`
//! lines make things happen in the simulator first (`spice-connect HOST PORT`,
//! `vnc-connect HOST PORT`). Every `goal`
//! must hold at the end. A goal is `QMP-COMMAND PATH OP VALUE`: PATH walks the
//! reply with `.member`, `[N]` and `[member=value]` (the first list element
//! whose member has that value); OP is `==`, `!=`, `>=` or `<=`; VALUE is JSON
//! (or a bare word, taken as a string). `PATH` may be `.` for the whole reply,
//! and `absent` as VALUE asks that the path select nothing. Two pseudo
//! queries look where QMP cannot: `event NAME == seen` (the simulator emitted
//! it during the lesson) and `sim PATH` (passwords, link state, viewers).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub name: String,
    pub title: String,
    pub situation: String,
    pub setup: Vec<String>,
    /// Simulator happenings before the start (`vnc-connect HOST PORT`, …).
    pub script: Vec<String>,
    pub goals: Vec<Goal>,
    pub hints: Vec<String>,
    /// HMP lines shown before and after, in the debrief.
    pub watch: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub query: String,
    pub path: String,
    pub op: Op,
    /// `None` means the path must select nothing.
    pub expected: Option<Value>,
    pub source: String,
    /// What holds once the goal is met, in an operator's words.
    pub means: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
}

/// Parses one lesson file; errors name the line.
pub fn parse(file: &str, text: &str) -> Result<Lesson, String> {
    let mut lesson = Lesson {
        name: String::new(),
        title: String::new(),
        situation: String::new(),
        setup: Vec::new(),
        script: Vec::new(),
        goals: Vec::new(),
        hints: Vec::new(),
        watch: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line == "[lesson]" {
            continue;
        }
        let at = |m: String| format!("{file}:{}: {m}", i + 1);
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| at("expected 'field: value'".into()))?;
        let value = value.trim().to_string();
        match key.trim() {
            "name" => lesson.name = value,
            "title" => lesson.title = value,
            "situation" => {
                if !lesson.situation.is_empty() {
                    lesson.situation.push('\n');
                }
                lesson.situation.push_str(&value);
            }
            "setup" => lesson.setup.push(value),
            "script" => lesson.script.push(value),
            "goal" => lesson.goals.push(parse_goal(&value).map_err(at)?),
            "hint" => lesson.hints.push(value),
            "watch" => lesson.watch.push(value),
            "means" => match lesson.goals.last_mut() {
                Some(goal) if goal.means.is_empty() => goal.means = value,
                _ => return Err(at("'means:' must follow its 'goal:' line".into())),
            },
            other => return Err(at(format!("unknown field '{other}'"))),
        }
    }
    if let Some(goal) = lesson.goals.iter().find(|g| g.means.is_empty()) {
        return Err(format!(
            "{file}: goal '{}' needs a 'means:' line in an operator's words",
            goal.source
        ));
    }
    for (what, empty) in [
        ("name", lesson.name.is_empty()),
        ("title", lesson.title.is_empty()),
        ("goal", lesson.goals.is_empty()),
    ] {
        if empty {
            return Err(format!("{file}: expected a '{what}:' line"));
        }
    }
    Ok(lesson)
}

fn parse_goal(text: &str) -> Result<Goal, String> {
    let mut parts = text.splitn(4, ' ').map(str::trim);
    let (Some(query), Some(path), Some(op), Some(value)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "goal '{text}': expected 'QMP-COMMAND PATH OP VALUE'"
        ));
    };
    let op = match op {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        ">=" => Op::Ge,
        "<=" => Op::Le,
        other => return Err(format!("goal '{text}': unknown operator '{other}'")),
    };
    let expected = match value {
        "absent" => None,
        v => Some(serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))),
    };
    Ok(Goal {
        query: query.into(),
        path: path.into(),
        op,
        expected,
        source: text.into(),
        means: String::new(),
    })
}

/// Follows a goal path through a reply.
pub fn select<'a>(reply: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = reply;
    let mut rest = path.trim();
    if rest == "." {
        return Some(current);
    }
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            current = current.get(&after[..end])?;
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let selector = &after[..end];
            current = match selector.split_once('=') {
                Some((member, value)) => current.as_array()?.iter().find(|item| {
                    item.get(member)
                        .is_some_and(|v| v.as_str() == Some(value) || *v == value)
                })?,
                None => current.get(selector.parse::<usize>().ok()?)?,
            };
            rest = &after[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            current = current.get(&rest[..end])?;
            rest = &rest[end..];
        }
    }
    Some(current)
}

impl Goal {
    /// True when the reply satisfies the goal.
    pub fn holds(&self, reply: &Value) -> bool {
        let found = select(reply, &self.path);
        match (&self.expected, found) {
            (None, found) => (self.op == Op::Eq) == found.is_none(),
            (Some(_), None) => self.op == Op::Ne,
            (Some(want), Some(got)) => match self.op {
                Op::Eq => got == want,
                Op::Ne => got != want,
                Op::Ge => got.as_f64().zip(want.as_f64()).is_some_and(|(g, w)| g >= w),
                Op::Le => got.as_f64().zip(want.as_f64()).is_some_and(|(g, w)| g <= w),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_select_members_indexes_and_matches() {
        let reply = json!([{"device": "drive0", "tray_open": false}, {"device": "ide1-cd0", "tray_open": true, "inserted": {"file": "a.iso"}}]);
        assert_eq!(
            select(&reply, "[device=ide1-cd0].tray_open"),
            Some(&json!(true))
        );
        assert_eq!(select(&reply, "[1].inserted.file"), Some(&json!("a.iso")));
        assert_eq!(select(&reply, "[0].inserted"), None);
        assert_eq!(
            select(&json!({"status": "paused"}), "status"),
            Some(&json!("paused"))
        );
        assert_eq!(select(&reply, "."), Some(&reply));
    }

    #[test]
    fn goals_compare_and_test_absence() {
        let g = parse_goal("query-status status == paused").unwrap();
        assert!(g.holds(&json!({"status": "paused"})));
        assert!(!g.holds(&json!({"status": "running"})));
        let absent = parse_goal("query-block [device=ide1-cd0].inserted == absent").unwrap();
        assert!(absent.holds(&json!([{"device": "ide1-cd0"}])));
        assert!(!absent.holds(&json!([{"device": "ide1-cd0", "inserted": {}}])));
        let ge = parse_goal("query-balloon actual <= 536870912").unwrap();
        assert!(ge.holds(&json!({"actual": 536870912})));
        assert!(parse_goal("query-status status ~ x").is_err());
    }

    #[test]
    fn lesson_files_name_their_errors() {
        assert!(parse(
            "x.lesson",
            "name: a\ntitle: t\ngoal: query-status status == paused\nmeans: it is paused\n"
        )
        .is_ok());
        assert!(parse(
            "x.lesson",
            "name: a\ntitle: t\ngoal: query-status status == paused\n"
        )
        .unwrap_err()
        .contains("needs a 'means:' line"));
        assert!(parse("x.lesson", "name: a\nmeans: x\n")
            .unwrap_err()
            .contains("must follow"));
        assert!(parse("x.lesson", "name: a\ntitle: t\n")
            .unwrap_err()
            .contains("goal"));
        assert!(parse("x.lesson", "name: a\nbogus: 1\n")
            .unwrap_err()
            .starts_with("x.lesson:2:"));
    }
}
