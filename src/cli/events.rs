//! `qhmp events`: watch QMP events, one readable line each (or raw JSON).

use super::args::EventsArgs;
use crate::output::{Exit, Format};
use crate::qmp::Event;
use crate::render::event::event_line;
use regex::Regex;
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

/// Which events to show.
pub struct EventFilter {
    names: Vec<Regex>,
    sessions: bool,
    /// SPICE clients (`host:port`) known to be main channels.
    main_channels: HashSet<String>,
}

impl EventFilter {
    /// Filters are globs (`SPICE_*`, `vnc_?nitialized`) or `/regex/`, all
    /// case-insensitive; an event passes when any filter matches its name.
    pub fn new(filters: &[String], sessions: bool) -> Result<EventFilter, String> {
        let mut names = Vec::new();
        for f in filters {
            let pattern = match f.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
                Some(re) => re.to_string(),
                None => format!("^{}$", glob_to_regex(f)),
            };
            let re = regex::RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("event filter '{f}': {e}"))?;
            names.push(re);
        }
        Ok(EventFilter {
            names,
            sessions,
            main_channels: HashSet::new(),
        })
    }

    /// True when the event should be shown. `--sessions` keeps, of the SPICE
    /// events, only those of main channels (channel type 1): SPICE reports
    /// the channel type in SPICE_INITIALIZED only, so the clients seen there
    /// are remembered to recognise their SPICE_DISCONNECTED.
    pub fn accepts(&mut self, event: &Event) -> bool {
        if !self.names.is_empty() && !self.names.iter().any(|re| re.is_match(&event.name)) {
            return false;
        }
        if !self.sessions || !event.name.starts_with("SPICE_") {
            return true;
        }
        let client = &event.data["client"];
        let key = format!(
            "{}:{}",
            client["host"].as_str().unwrap_or(""),
            client["port"].as_str().unwrap_or("")
        );
        match event.name.as_str() {
            "SPICE_INITIALIZED" => {
                let main = client.get("channel-type").and_then(|t| t.as_i64()) == Some(1);
                if main {
                    self.main_channels.insert(key);
                }
                main
            }
            "SPICE_DISCONNECTED" => self.main_channels.remove(&key),
            _ => false,
        }
    }
}

fn glob_to_regex(glob: &str) -> String {
    let mut out = String::new();
    for c in glob.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out
}

pub fn run(
    args: &EventsArgs,
    cli: &super::Cli,
    runtime: &tokio::runtime::Runtime,
    client: crate::qmp::Client,
) -> Exit {
    let mut filter = match EventFilter::new(&args.filters, args.sessions) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("qhmp: {e}");
            return Exit::Usage;
        }
    };
    let json = cli.format == Some(Format::Json);
    let limit = args.count;
    let deadline = args
        .timeout
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    runtime.block_on(async move {
        let mut events = client.events();
        // Scripts may wait for this line before making things happen.
        eprintln!("qhmp: watching events (QEMU {})", client.greeting().version);
        let mut shown = 0u64;
        loop {
            if limit.is_some_and(|n| shown >= n) {
                return Exit::Success;
            }
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d, events.recv()).await {
                    Ok(e) => e,
                    Err(_) => return Exit::Success,
                },
                None => events.recv().await,
            };
            let Some(event) = next else {
                eprintln!(
                    "qhmp: {}",
                    client
                        .fatal_error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "the event stream ended".into())
                );
                return Exit::Connection;
            };
            if !filter.accepts(&event) {
                continue;
            }
            let line = if json {
                event.raw.to_string()
            } else {
                event_line(&event.raw)
            };
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return Exit::Success;
            }
            shown += 1;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(name: &str, data: serde_json::Value) -> Event {
        Event {
            name: name.into(),
            data: data.clone(),
            timestamp: None,
            raw: json!({"event": name, "data": data}),
        }
    }

    #[test]
    fn globs_and_regexes_ignore_case() {
        let mut f = EventFilter::new(&["vnc_*".into(), "/^stop$/".into()], false).unwrap();
        assert!(f.accepts(&ev("VNC_CONNECTED", json!({}))));
        assert!(f.accepts(&ev("STOP", json!({}))));
        assert!(!f.accepts(&ev("RESUME", json!({}))));
        assert!(EventFilter::new(&["/(/".into()], false).is_err());
    }

    #[test]
    fn sessions_keep_main_channels_only() {
        let mut f = EventFilter::new(&[], true).unwrap();
        let main = json!({"client": {"host": "127.0.0.1", "port": "1", "channel-type": 1}});
        let display = json!({"client": {"host": "127.0.0.1", "port": "2", "channel-type": 2}});
        assert!(!f.accepts(&ev(
            "SPICE_CONNECTED",
            json!({"client": {"host": "127.0.0.1", "port": "1"}})
        )));
        assert!(f.accepts(&ev("SPICE_INITIALIZED", main)));
        assert!(!f.accepts(&ev("SPICE_INITIALIZED", display)));
        assert!(!f.accepts(&ev(
            "SPICE_DISCONNECTED",
            json!({"client": {"host": "127.0.0.1", "port": "2"}})
        )));
        assert!(f.accepts(&ev(
            "SPICE_DISCONNECTED",
            json!({"client": {"host": "127.0.0.1", "port": "1"}})
        )));
        assert!(f.accepts(&ev("STOP", json!({}))));
    }
}
