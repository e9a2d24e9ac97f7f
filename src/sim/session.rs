//! One QMP connection: greeting, capability negotiation, requests in,
//! replies and events out, in the order QEMU produces them.

use super::commands;
use super::error::QmpError;
use super::wire::{self, Frame, Request, Splitter};
use super::Simulator;
use crate::monitor::Monitor;
use crate::qmp::{Client, ClientConfig};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

type Events = broadcast::Receiver<Arc<str>>;

struct Session {
    sim: Simulator,
    client: u64,
    oob: bool,
    /// Set once negotiation is done: clients in negotiation get no events.
    events: Option<Events>,
    /// Who answers `human-monitor-command` on this connection.
    hmp: Hmp,
}

/// A client's connection answers HMP lines with qhmp's translator, as the
/// proxy does; the translator's own connection gets the simulator's HMP
/// for the lines it hands over unchanged.
enum Hmp {
    /// Not yet asked (the translator is made on the first line).
    Translated(Option<Box<Monitor>>),
    Native,
}

pub(crate) async fn run<S>(sim: Simulator, stream: S, peer: String)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut quit = sim.quit_signal();
    if *quit.borrow() {
        return;
    }
    let client = sim.register_client(peer);
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut s = Session {
        sim: sim.clone(),
        client,
        oob: false,
        events: None,
        hmp: Hmp::Translated(None),
    };
    let _ = serve(&mut s, &mut rd, &mut wr, &mut quit).await;
    let _ = wr.shutdown().await;
    sim.unregister_client(client);
}

/// The translator's connection: not a client of the VM (it is not listed
/// among QMP clients), its HMP is the simulator's own.
async fn run_native<S>(sim: Simulator, stream: S)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut quit = sim.quit_signal();
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut s = Session {
        sim,
        client: 0,
        oob: false,
        events: None,
        hmp: Hmp::Native,
    };
    let _ = serve(&mut s, &mut rd, &mut wr, &mut quit).await;
    let _ = wr.shutdown().await;
}

async fn serve<R, W>(
    s: &mut Session,
    rd: &mut R,
    wr: &mut W,
    quit: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let version = s.sim.version();
    let (major, minor, micro) = version.triple();
    let mut greeting = wire::greeting(major, minor, micro, super::info::PACKAGE);
    greeting["QMP"]["capabilities"] = version.capabilities();
    write_line(wr, &crate::qjson::to_qemu_json_in_order(&greeting)).await?;
    let mut splitter = Splitter::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(frame) = splitter.next_frame() {
            let reply = s.handle(frame).await;
            for line in s.pending_events() {
                write_line(wr, &line).await?;
            }
            write_line(wr, &crate::qjson::to_qemu_json_in_order(&reply)).await?;
            if s.sim.is_quit() {
                return Ok(());
            }
        }
        tokio::select! {
            read = rd.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Ok(()),
                Ok(n) => splitter.push(&buf[..n]),
            },
            Some(line) = next_event(&mut s.events) => write_line(wr, &line).await?,
            _ = quit.changed() => {
                for line in s.pending_events() {
                    write_line(wr, &line).await?;
                }
                return Ok(());
            }
        }
    }
}

async fn write_line<W: AsyncWrite + Unpin>(wr: &mut W, line: &str) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(line.len() + 2);
    bytes.extend_from_slice(line.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    wr.write_all(&bytes).await?;
    wr.flush().await
}

/// The next broadcast event; never resolves before negotiation.
async fn next_event(events: &mut Option<Events>) -> Option<Arc<str>> {
    let Some(rx) = events else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(line) => return Some(line),
            // A client too slow to keep up loses the oldest events.
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

impl Session {
    /// Events already queued for this client (emitted before the reply).
    fn pending_events(&mut self) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        if let Some(rx) = &mut self.events {
            loop {
                match rx.try_recv() {
                    Ok(line) => out.push(line),
                    Err(TryRecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        }
        out
    }

    async fn handle(&mut self, frame: Frame) -> Value {
        let v = match frame {
            Frame::Json(v) => v,
            Frame::Error(desc) => return wire::reply_err(&QmpError::generic(desc), None),
        };
        let req = match wire::parse_request(v, self.oob) {
            Ok(r) => r,
            Err((e, id)) => return wire::reply_err(&e, id),
        };
        let id = req.id.clone();
        // (`exec-oob` goes the usual way, to be refused as QEMU does.)
        let result = if req.command == "human-monitor-command"
            && self.events.is_some()
            && !req.oob
            && matches!(self.hmp, Hmp::Translated(_))
        {
            self.translated_hmp(&req).await
        } else {
            self.execute(req)
        };
        match result {
            Ok(ret) => wire::reply_ok(ret, id),
            Err(e) => wire::reply_err(&e, id),
        }
    }

    /// `human-monitor-command` answered by qhmp's translator (the one the
    /// proxy and the library use), over a connection of its own.
    ///
    /// Boxed as `Send`: the translator's connection is served by a session
    /// too, which would make this future's type recursive.
    fn translated_hmp<'a>(
        &'a mut self,
        req: &'a Request,
    ) -> Pin<Box<dyn Future<Output = Result<Value, QmpError>> + Send + 'a>> {
        Box::pin(self.translated_hmp_inner(req))
    }

    async fn translated_hmp_inner(&mut self, req: &Request) -> Result<Value, QmpError> {
        super::args::check(&super::hmp::HMC, &req.args)?;
        let cpu = super::hmp::check_cpu_index(&req.args)?;
        let line = req.args.get("command-line").and_then(Value::as_str);
        let line = line.unwrap_or_default();
        let monitor = match &mut self.hmp {
            Hmp::Translated(Some(monitor)) => monitor,
            Hmp::Translated(slot) => {
                let (near, far) = tokio::io::duplex(64 * 1024);
                tokio::spawn(run_native(self.sim.clone(), far));
                let client = Client::from_stream(near, ClientConfig::default())
                    .await
                    .map_err(|e| translator_error(&e))?;
                let monitor = Monitor::on_client(client)
                    .await
                    .map_err(|e| translator_error(&e))?;
                slot.insert(Box::new(monitor))
            }
            Hmp::Native => return Err(translator_error(&"not on the translator's own connection")),
        };
        match monitor.human_monitor_command(line, cpu).await {
            Ok(text) => Ok(Value::String(text)),
            Err(e) => Err(translator_error(&e)),
        }
    }

    fn execute(&mut self, req: Request) -> Result<Value, QmpError> {
        if self.events.is_none() {
            if req.command != "qmp_capabilities" {
                return Err(QmpError::command_not_found(
                    "Expecting capabilities negotiation with 'qmp_capabilities'",
                ));
            }
            super::args::check(&commands::CAPABILITIES_ARGS, &req.args)?;
            let enable = req.args.get("enable").and_then(Value::as_array);
            self.oob = enable.is_some_and(|caps| caps.iter().any(|c| c == "oob"));
            self.events = Some(self.sim.subscribe());
            self.sim.client_negotiated(self.client, self.oob);
            return Ok(json!({}));
        }
        let offered = self.sim.version().offers(&req.command);
        let Some(cmd) = commands::find(&req.command).filter(|_| offered) else {
            return Err(QmpError::command_not_found(format!(
                "The command {} has not been found",
                req.command
            )));
        };
        if req.oob && !cmd.allow_oob {
            return Err(QmpError::generic(format!(
                "The command {} does not support OOB",
                req.command
            )));
        }
        self.sim.run_command(cmd, &req.args)
    }
}

fn translator_error(e: &dyn std::fmt::Display) -> QmpError {
    QmpError::generic(format!("qhmp simulator: HMP translator: {e}"))
}
