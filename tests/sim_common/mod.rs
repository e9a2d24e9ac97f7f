//! A raw QMP client for the simulator tests: lines in, lines out.

#![allow(dead_code)]

pub mod qemu;

use serde_json::Value;
use std::time::Duration;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf,
};

pub const WAIT: Duration = Duration::from_secs(5);

pub struct Raw<S> {
    rd: BufReader<ReadHalf<S>>,
    wr: WriteHalf<S>,
}

impl<S: AsyncRead + AsyncWrite> Raw<S> {
    pub fn new(stream: S) -> Self {
        let (rd, wr) = tokio::io::split(stream);
        Raw {
            rd: BufReader::new(rd),
            wr,
        }
    }

    pub async fn send(&mut self, text: &str) {
        self.wr
            .write_all(text.as_bytes())
            .await
            .expect("write to simulator");
        self.wr.flush().await.expect("flush");
    }

    /// The next line, without its `\r\n` (which must be there). `None` at EOF.
    pub async fn line(&mut self) -> Option<String> {
        let mut s = String::new();
        let n = tokio::time::timeout(WAIT, self.rd.read_line(&mut s))
            .await
            .expect("simulator answers in time")
            .expect("read");
        if n == 0 {
            return None;
        }
        assert!(s.ends_with("\r\n"), "line not ended by CR LF: {s:?}");
        s.truncate(s.len() - 2);
        Some(s)
    }

    pub async fn json(&mut self) -> Value {
        let l = self.line().await.expect("a line, not EOF");
        serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}"))
    }

    /// Send one request line and collect everything up to its reply:
    /// (events before it, reply).
    pub async fn call(&mut self, req: &str) -> (Vec<Value>, Value) {
        self.send(&format!("{req}\n")).await;
        let mut events = Vec::new();
        loop {
            let v = self.json().await;
            if v.get("event").is_some() {
                events.push(v);
            } else {
                return (events, v);
            }
        }
    }

    /// The reply line of a request, asserting no events came first.
    pub async fn reply_line(&mut self, req: &str) -> String {
        self.send(&format!("{req}\n")).await;
        let l = self.line().await.expect("reply");
        assert!(!l.contains("\"event\""), "unexpected event {l}");
        l
    }

    pub async fn negotiate(&mut self) {
        let g = self.json().await;
        assert!(g.get("QMP").is_some(), "greeting first: {g}");
        let (_, r) = self.call(r#"{"execute":"qmp_capabilities"}"#).await;
        assert_eq!(r, serde_json::json!({"return": {}}));
    }

    /// Assert nothing arrives for a short while.
    pub async fn quiet(&mut self) {
        let mut s = String::new();
        let got = tokio::time::timeout(Duration::from_millis(150), self.rd.read_line(&mut s)).await;
        assert!(got.is_err(), "expected silence, got {s:?}");
    }
}

pub fn event_names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("?").to_string())
        .collect()
}
