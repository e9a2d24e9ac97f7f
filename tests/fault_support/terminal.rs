//! The interactive monitor in a real terminal: a tmux server of the test's
//! own (its socket in the test's directory), as `tests/repl_e2e.rs` does.

use super::{in_ci, poll_until, process::qhmp_binary, DEADLINE};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Terminal {
    socket: PathBuf,
    config: PathBuf,
    dir: PathBuf,
}

impl Terminal {
    /// A tmux server in `dir`, or `None` (with a note) when tmux is missing
    /// outside CI.
    pub fn new(dir: &Path) -> Option<Terminal> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(!in_ci(), "tmux is missing, and CI=true needs it");
            eprintln!("note: tmux not found; skipping the terminal test");
            return None;
        }
        // Scrollback for a burst of events (tmux keeps 2000 lines by default).
        let config = dir.join("tmux.conf");
        std::fs::write(&config, "set -g history-limit 30000\n").expect("a tmux config");
        Some(Terminal {
            socket: dir.join("tmux.sock"),
            config,
            dir: dir.to_path_buf(),
        })
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg(&self.config)
            .env_remove("TMUX")
            .stdin(Stdio::null());
        c
    }

    /// Starts `qhmp --connect TARGET --format classic` in session `name`,
    /// its exit status left on screen as `[exit N]`; waits for the prompt.
    pub fn start_qhmp(&self, name: &str, target: &str) {
        self.start_qhmp_with(name, target, "");
    }

    /// [`Terminal::start_qhmp`] with further options (`extra`, as shell words).
    pub fn start_qhmp_with(&self, name: &str, target: &str, extra: &str) {
        self.launch(name, target, extra);
        self.wait_for(name, "the banner and the prompt", |s| {
            s.contains("monitor via qhmp") && prompt_line(s).is_some()
        });
    }

    /// Starts qhmp in session `name` without waiting for anything.
    pub fn launch(&self, name: &str, target: &str, extra: &str) {
        let command = format!(
            "env XDG_STATE_HOME='{dir}/state' XDG_CACHE_HOME='{dir}/cache' '{bin}' \
             --connect '{target}' --format classic {extra}; echo \"[exit $?]\"; sleep 600",
            dir = self.dir.display(),
            bin = qhmp_binary().display(),
        );
        let status = self
            .tmux()
            .args(["new-session", "-d", "-x", "200", "-y", "50", "-s", name])
            .arg(&command)
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
    }

    /// Types `text` literally.
    pub fn type_text(&self, session: &str, text: &str) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", session, "-l", text])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys failed");
    }

    /// Presses a key by its tmux name (`Enter`, `C-d`).
    pub fn press(&self, session: &str, key: &str) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", session, key])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys failed");
    }

    /// Types `line` and presses Enter.
    pub fn enter(&self, session: &str, line: &str) {
        self.type_text(session, line);
        self.press(session, "Enter");
    }

    /// The visible screen plus the scrollback.
    pub fn screen(&self, session: &str) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `ok` holds; returns that screen.
    pub fn wait_for(&self, session: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        poll_until(|| {
            last = self.screen(session);
            ok(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| {
            let tail: Vec<&str> = last.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "waiting for {what} (up to {DEADLINE:?}); the screen ends:\n{}",
                tail.join("\n")
            )
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// The last non-empty line if it is the prompt (with what is typed on it).
pub fn prompt_line(screen: &str) -> Option<&str> {
    let line = screen.lines().rev().find(|l| !l.trim().is_empty())?;
    line.starts_with("(qemu)").then_some(line.trim_end())
}

/// True when the screen ends with an empty prompt.
pub fn at_empty_prompt(screen: &str) -> bool {
    prompt_line(screen) == Some("(qemu)")
}
