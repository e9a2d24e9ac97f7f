//! One proxy client: its own greeting and negotiation, then each request is
//! answered in order — forwarded upstream with the id rewritten, or, for
//! `human-monitor-command`, answered by qhmp's translator.

use super::{Shared, MAX_CLIENT_LINE};
use crate::qmp::{DecodeError, LineDecoder};
use bytes::BytesMut;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// QEMU's error reply shape, with the request's id when it had one.
pub fn error_reply(class: &str, desc: &str, id: Option<&Value>) -> Value {
    let mut reply = Map::new();
    if let Some(id) = id {
        reply.insert("id".into(), id.clone());
    }
    reply.insert("error".into(), json!({"class": class, "desc": desc}));
    Value::Object(reply)
}

/// Serves one client until it disconnects or the proxy stops.
pub async fn serve<S>(stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Value>();
    // One writer task, so replies and events never interleave mid-line.
    let writer_task = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let mut line = message.to_string().into_bytes();
            line.extend_from_slice(b"\r\n");
            if writer.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    let _ = out_tx.send(shared.greeting());
    let mut session = Session {
        shared: shared.clone(),
        out: out_tx.clone(),
        negotiated: false,
        monitor: None,
    };
    let mut decoder = LineDecoder::new(MAX_CLIENT_LINE);
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(message)) => {
                session.handle(message).await;
                continue;
            }
            Ok(None) => {}
            Err(e @ DecodeError::TooLong { .. }) => {
                let _ = out_tx.send(error_reply(
                    "GenericError",
                    &format!("JSON parse error, {e}"),
                    None,
                ));
                break;
            }
            Err(e) => {
                let _ = out_tx.send(error_reply(
                    "GenericError",
                    &format!("JSON parse error, {e}"),
                    None,
                ));
                continue;
            }
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    shared.forget_subscriber(&out_tx);
    drop(session);
    drop(out_tx);
    let _ = writer_task.await;
}

struct Session {
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<Value>,
    negotiated: bool,
    /// Translator state (remembered `/fmt` defaults) for this client's HMP lines.
    monitor: Option<crate::monitor::Monitor>,
}

impl Session {
    async fn handle(&mut self, message: Value) {
        let Value::Object(request) = message else {
            let _ = self.out.send(error_reply(
                "GenericError",
                "QMP input must be a JSON object",
                None,
            ));
            return;
        };
        let id = request.get("id").cloned();
        let command = request
            .get("execute")
            .or_else(|| request.get("exec-oob"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(command) = command else {
            let _ = self.out.send(error_reply(
                "GenericError",
                "QMP input lacks member 'execute'",
                id.as_ref(),
            ));
            return;
        };
        let reply = if command == "qmp_capabilities" {
            self.negotiate(id.as_ref())
        } else if !self.negotiated {
            error_reply(
                "CommandNotFound",
                "Expecting capabilities negotiation with 'qmp_capabilities'",
                id.as_ref(),
            )
        } else if command == "human-monitor-command" && !self.shared.native_hmp {
            self.human_monitor_command(&request, id.as_ref()).await
        } else if let Err(why) = self.shared.policy.check_qmp(&command) {
            error_reply("GenericError", &why, id.as_ref())
        } else {
            self.forward(request, id.as_ref()).await
        };
        let _ = self.out.send(reply);
    }

    fn negotiate(&mut self, id: Option<&Value>) -> Value {
        if self.negotiated {
            return error_reply(
                "CommandNotFound",
                "Capabilities negotiation is already complete, command ignored",
                id,
            );
        }
        self.negotiated = true;
        self.shared.subscribe(self.out.clone());
        with_id(json!({"return": {}}), id)
    }

    async fn forward(&self, mut request: Map<String, Value>, id: Option<&Value>) -> Value {
        request.remove("id");
        let Some(client) = self.shared.upstream().await else {
            return error_reply(
                "GenericError",
                "qhmp proxy: the upstream QEMU is not connected",
                id,
            );
        };
        match client.request_raw(request).await {
            Ok(reply) => with_id(reply, id),
            Err(e) => error_reply(
                "GenericError",
                &format!("qhmp proxy: upstream QEMU: {e}"),
                id,
            ),
        }
    }

    async fn human_monitor_command(
        &mut self,
        request: &Map<String, Value>,
        id: Option<&Value>,
    ) -> Value {
        let args = request.get("arguments").and_then(Value::as_object);
        let Some(line) = args
            .and_then(|a| a.get("command-line"))
            .and_then(Value::as_str)
        else {
            return error_reply("GenericError", "Parameter 'command-line' is missing", id);
        };
        let cpu_index = args
            .and_then(|a| a.get("cpu-index"))
            .and_then(Value::as_i64);
        if self.monitor.is_none() {
            match self.shared.monitor().await {
                Ok(m) => self.monitor = Some(m),
                Err(e) => return error_reply("GenericError", &format!("qhmp proxy: {e}"), id),
            }
        }
        let Some(monitor) = self.monitor.as_mut() else {
            return error_reply("GenericError", "qhmp proxy: no monitor", id);
        };
        match monitor
            .human_monitor_command(line, cpu_index, &self.shared.policy)
            .await
        {
            Ok(Ok(text)) => with_id(json!({"return": text}), id),
            Ok(Err(refusal)) => error_reply("GenericError", &refusal, id),
            Err(e) => {
                // The upstream connection may have been replaced; start afresh next time.
                self.monitor = None;
                error_reply("GenericError", &format!("qhmp proxy: {e}"), id)
            }
        }
    }
}

fn with_id(reply: Value, id: Option<&Value>) -> Value {
    match (reply, id) {
        (Value::Object(mut map), Some(id)) => {
            map.insert("id".into(), id.clone());
            Value::Object(map)
        }
        (other, _) => other,
    }
}
