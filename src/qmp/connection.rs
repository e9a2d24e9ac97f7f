//! The state a connection shares between its handles and its two tasks: the
//! reader (decodes QEMU's messages and routes them) and the writer (sends
//! whole request lines, so a caller cancelled mid-request never leaves half a
//! line on the wire).

use super::decoder::{DecodeError, LineDecoder};
use super::error::ClientError;
use super::message::{Event, Incoming};
use bytes::BytesMut;
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// How much the reader asks the socket for at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Where a request's reply (or the connection's fatal error) goes.
pub(crate) type ReplySender = oneshot::Sender<Result<Map<String, Value>, ClientError>>;
pub(crate) type ReplyReceiver = oneshot::Receiver<Result<Map<String, Value>, ClientError>>;

/// State shared by all handles of one connection and its tasks.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// How many events to keep while nobody subscribes.
    event_backlog: usize,
    /// How many bytes of events to keep while nobody subscribes.
    event_backlog_bytes: usize,
}

struct State {
    /// Requests sent and not yet answered, by id.
    pending: HashMap<u64, ReplySender>,
    /// Set once the connection is unusable; every later call fails with it.
    fatal: Option<ClientError>,
    subscribers: Vec<mpsc::UnboundedSender<Event>>,
    /// Events that arrived while nobody was subscribed, for the next subscriber.
    backlog: VecDeque<Event>,
    /// Events dropped from a full backlog.
    backlog_dropped: u64,
    /// Bytes (as QEMU sent them, roughly) of the events in the backlog.
    backlog_bytes: usize,
    /// The request already failed for the oversized message being skipped.
    oversized_owner: Option<u64>,
}

impl Shared {
    pub(crate) fn new(event_backlog: usize, event_backlog_bytes: usize) -> Shared {
        Shared {
            state: Mutex::new(State {
                pending: HashMap::new(),
                fatal: None,
                subscribers: Vec::new(),
                backlog: VecDeque::new(),
                backlog_dropped: 0,
                backlog_bytes: 0,
                oversized_owner: None,
            }),
            event_backlog,
            event_backlog_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave State half-updated in a way that
        // matters here, so a poisoned lock is still used.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error that ended the connection, if it has ended.
    pub(crate) fn fatal(&self) -> Option<ClientError> {
        self.lock().fatal.clone()
    }

    pub(crate) fn fatal_or_closed(&self) -> ClientError {
        self.fatal().unwrap_or(ClientError::Closed)
    }

    /// Records a request about to be sent; fails at once on a dead connection.
    pub(crate) fn register(&self, id: u64) -> Result<ReplyReceiver, ClientError> {
        let mut state = self.lock();
        if let Some(err) = &state.fatal {
            return Err(err.clone());
        }
        let (tx, rx) = oneshot::channel();
        state.pending.insert(id, tx);
        Ok(rx)
    }

    /// Forgets a request whose caller stopped waiting (timeout, cancellation).
    pub(crate) fn forget(&self, id: u64) {
        self.lock().pending.remove(&id);
    }

    /// Ends the connection: the first error sticks (unless `overwrite`), all
    /// waiting requests get it, event streams end.
    pub(crate) fn fail(&self, err: ClientError, overwrite: bool) {
        let mut state = self.lock();
        if state.fatal.is_none() || overwrite {
            state.fatal = Some(err);
        }
        let fatal = state.fatal.clone().unwrap_or(ClientError::Closed);
        for (_, tx) in state.pending.drain() {
            let _ = tx.send(Err(fatal.clone()));
        }
        state.subscribers.clear();
    }

    /// A new event stream. The first subscriber after a quiet spell also
    /// gets the events kept meanwhile; after the end of the connection the
    /// stream yields what was kept and then ends.
    pub(crate) fn subscribe(&self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        for event in state.backlog.drain(..) {
            let _ = tx.send(event);
        }
        state.backlog_bytes = 0;
        if state.fatal.is_none() {
            state.subscribers.push(tx);
        }
        rx
    }

    /// How many events were dropped because nobody subscribed in time.
    pub(crate) fn events_dropped(&self) -> u64 {
        self.lock().backlog_dropped
    }

    fn deliver_event(&self, event: Event) {
        let mut state = self.lock();
        state.subscribers.retain(|tx| !tx.is_closed());
        if state.subscribers.is_empty() {
            let size = event_size(&event);
            if self.event_backlog == 0 || size > self.event_backlog_bytes {
                state.backlog_dropped += 1;
                return;
            }
            while state.backlog.len() >= self.event_backlog
                || state.backlog_bytes + size > self.event_backlog_bytes
            {
                let Some(old) = state.backlog.pop_front() else {
                    break;
                };
                state.backlog_bytes = state.backlog_bytes.saturating_sub(event_size(&old));
                state.backlog_dropped += 1;
            }
            state.backlog_bytes += size;
            state.backlog.push_back(event);
            return;
        }
        for tx in &state.subscribers {
            let _ = tx.send(event.clone());
        }
    }

    /// Hands a reply to the request it answers. A reply to an unknown id
    /// belongs to a request that gave up waiting and is dropped.
    fn deliver_reply(
        &self,
        id: Option<Value>,
        body: Map<String, Value>,
    ) -> Result<(), ClientError> {
        let mut state = self.lock();
        let tx = match id {
            Some(id) => id.as_u64().and_then(|id| state.pending.remove(&id)),
            // QEMU leaves the id out only when it could not read the request;
            // with one request in flight it is unambiguous.
            None => match state.pending.len() {
                0 => None,
                1 => {
                    let only = state.pending.keys().next().copied();
                    only.and_then(|id| state.pending.remove(&id))
                }
                n => {
                    return Err(ClientError::Protocol(format!(
                        "reply without an id while {n} requests were waiting: {}",
                        super::decoder::excerpt(Value::Object(body).to_string().as_bytes())
                    )))
                }
            },
        };
        if let Some(tx) = tx {
            let _ = tx.send(Ok(body));
        }
        Ok(())
    }

    /// A message passed the size cap: when it is a reply and one request
    /// waits, that request fails now; the connection goes on.
    fn oversized_started(&self, error: DecodeError) {
        let mut state = self.lock();
        let DecodeError::TooLong { excerpt, .. } = &error else {
            return;
        };
        let event = excerpt.contains("timestamp") || excerpt.contains("\\\"event\\\"");
        if event || state.pending.len() != 1 {
            return;
        }
        let only = state.pending.keys().next().copied();
        if let Some(tx) = only.and_then(|id| state.pending.remove(&id)) {
            state.oversized_owner = only;
            let _ = tx.send(Err(ClientError::Decode(error)));
        }
    }

    /// The oversized message has ended with `id`: that request fails (if it
    /// has not yet); every other request goes on.
    fn oversized_ended(&self, id: Option<u64>, error: DecodeError) {
        let mut state = self.lock();
        let owner = state.oversized_owner.take();
        if let Some(id) = id.filter(|id| Some(*id) != owner) {
            if let Some(tx) = state.pending.remove(&id) {
                let _ = tx.send(Err(ClientError::Decode(error)));
            }
        }
    }

    fn dispatch(&self, message: Value) -> Result<(), ClientError> {
        match Incoming::classify(message).map_err(ClientError::Protocol)? {
            Incoming::Event(event) => {
                self.deliver_event(event);
                Ok(())
            }
            Incoming::Reply { id, body } => self.deliver_reply(id, body),
        }
    }
}

/// An event's size as QEMU sent it, near enough for a memory bound.
fn event_size(event: &Event) -> usize {
    serde_json::to_vec(&event.raw).map_or(0, |v| v.len())
}

/// Decodes and routes messages until the stream ends or breaks, then fails
/// the connection with the reason.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    mut buf: BytesMut,
    mut decoder: LineDecoder,
    shared: std::sync::Arc<Shared>,
) {
    let err = loop {
        if let Err(err) = drain_messages(&mut decoder, &mut buf, &shared) {
            break err;
        }
        buf.reserve(READ_CHUNK);
        match reader.read_buf(&mut buf).await {
            Ok(0) => break eof(&mut decoder, &mut buf),
            Ok(_) => {}
            Err(e) => break stream_error(e),
        }
    };
    shared.fail(err, false);
}

fn drain_messages(
    decoder: &mut LineDecoder,
    buf: &mut BytesMut,
    shared: &Shared,
) -> Result<(), ClientError> {
    loop {
        match decoder.decode(buf) {
            Ok(Some(message)) => shared.dispatch(message)?,
            Ok(None) => return Ok(()),
            Err(e @ DecodeError::TooLong { .. }) => shared.oversized_started(e),
            Err(DecodeError::Skipped {
                max_line,
                excerpt,
                id,
            }) => shared.oversized_ended(id, DecodeError::TooLong { max_line, excerpt }),
            Err(other) => return Err(other.into()),
        }
    }
}

/// The error for a stream that ended, naming a message it cut short.
pub(crate) fn eof(decoder: &mut LineDecoder, buf: &mut BytesMut) -> ClientError {
    match decoder.finish(buf) {
        Ok(()) => ClientError::Eof { partial: None },
        Err(super::decoder::DecodeError::Truncated { excerpt }) => ClientError::Eof {
            partial: Some(excerpt),
        },
        Err(other) => other.into(),
    }
}

/// Writes queued request lines in order until every sender is gone.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: std::sync::Arc<Shared>,
) {
    while let Some(line) = outgoing.recv().await {
        let mut result = writer.write_all(&line).await;
        if result.is_ok() && outgoing.is_empty() {
            result = writer.flush().await;
        }
        if let Err(e) = result {
            shared.fail(stream_error(e), false);
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// An I/O error on the socket; the peer hanging up (with requests of ours
/// still unread, a unix socket reports a reset) counts as end of stream.
fn stream_error(e: io::Error) -> ClientError {
    match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
            ClientError::Eof { partial: None }
        }
        _ => ClientError::from(e),
    }
}
