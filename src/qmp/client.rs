//! The QMP client handle: connect, handshake, requests and events.

use super::connection::{self, Shared};
use super::decoder::{LineDecoder, DEFAULT_MAX_LINE};
use super::error::ClientError;
use super::message::{reply_from_object, Event, Greeting, Reply};
use super::target::Target;
use bytes::BytesMut;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Knobs of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Limit on opening the socket.
    pub connect_timeout: Duration,
    /// Limit on the greeting and on the `qmp_capabilities` handshake.
    pub greeting_timeout: Duration,
    /// Default limit on each request; `None` waits as long as the connection lives.
    pub request_timeout: Option<Duration>,
    /// Largest message accepted from QEMU, in bytes.
    pub max_line: usize,
    /// Enable out-of-band execution when QEMU offers it.
    pub enable_oob: bool,
    /// Events kept while nobody holds an event stream (oldest dropped first).
    pub event_backlog: usize,
    /// Bytes of events kept while nobody holds an event stream (oldest
    /// dropped first): a server sending huge events cannot grow the client.
    pub event_backlog_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(5),
            greeting_timeout: Duration::from_secs(5),
            request_timeout: None,
            max_line: DEFAULT_MAX_LINE,
            enable_oob: true,
            event_backlog: 8192,
            event_backlog_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A connection to one QMP server. Cloning is cheap; all clones share the
/// connection and may issue requests concurrently from any task. Replies are
/// matched to requests by id, so they may arrive in any order.
///
/// The connection's tasks stop when [`Client::close`] is called or the last
/// clone is dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// Whole request lines for the writer task.
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    next_id: AtomicU64,
    greeting: Greeting,
    oob: bool,
    config: ClientConfig,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Held for a run of dependent requests (see [`Client::take_turn`]).
    turn: tokio::sync::Mutex<()>,
    /// The last check before a request is written (see [`Client::set_gate`]).
    gate: std::sync::RwLock<Option<Gate>>,
}

/// Judges each request just before it is written to the socket: `Err(why)`
/// keeps it off the wire and answers it with a `GenericError` reply.
pub type Gate = Arc<dyn Fn(&Map<String, Value>) -> Result<(), String> + Send + Sync>;

impl Drop for Inner {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("version", &self.inner.greeting.version.to_string())
            .field("oob", &self.inner.oob)
            .field("fatal", &self.inner.shared.fatal())
            .finish()
    }
}

/// Removes a request from the pending table however its wait ends.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.forget(self.id);
    }
}

impl Client {
    /// Opens `target`, reads the greeting and negotiates capabilities.
    pub async fn connect(target: &Target, config: ClientConfig) -> Result<Client, ClientError> {
        let limit = config.connect_timeout;
        let timed_out = || ClientError::ConnectTimeout {
            target: target.to_string(),
            timeout: limit,
        };
        match target {
            Target::Unix(path) => {
                let stream = tokio::time::timeout(limit, UnixStream::connect(path))
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| ClientError::connect(target, e))?;
                Client::from_stream(stream, config).await
            }
            Target::Tcp { host, port } => {
                let stream =
                    tokio::time::timeout(limit, TcpStream::connect((host.as_str(), *port)))
                        .await
                        .map_err(|_| timed_out())?
                        .map_err(|e| ClientError::connect_tcp(target, e))?;
                // Requests are small and latency matters more than batching.
                let _ = stream.set_nodelay(true);
                Client::from_stream(stream, config).await
            }
            Target::Libvirt { domain, uri } => {
                let stream = super::libvirt::open(domain, uri.as_deref(), limit).await?;
                // The bridge would hand exec-oob to libvirt as an ordinary command.
                let config = ClientConfig {
                    enable_oob: false,
                    ..config
                };
                Client::from_stream(stream, config).await
            }
        }
    }

    /// Runs the handshake over an already open stream (a socket, or an
    /// in-memory duplex for the simulator and tests). Must be called inside
    /// a tokio runtime; it spawns the connection's reader and writer tasks.
    pub async fn from_stream<S>(stream: S, config: ClientConfig) -> Result<Client, ClientError>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (mut reader, writer) = tokio::io::split(stream);
        let mut decoder = LineDecoder::new(config.max_line);
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let first = tokio::time::timeout(
            config.greeting_timeout,
            read_greeting(&mut reader, &mut decoder, &mut buf),
        )
        .await
        .map_err(|_| ClientError::NoGreeting {
            timeout: config.greeting_timeout,
        })?
        .map_err(ClientError::not_qmp)?;
        let greeting = Greeting::parse(&first).map_err(ClientError::BadGreeting)?;

        let shared = Arc::new(Shared::new(
            config.event_backlog,
            config.event_backlog_bytes,
        ));
        let (outgoing, queue) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(connection::read_loop(
                reader,
                buf,
                decoder,
                Arc::clone(&shared),
            )),
            tokio::spawn(connection::write_loop(writer, queue, Arc::clone(&shared))),
        ];
        let oob = config.enable_oob && greeting.offers("oob");
        let client = Client {
            inner: Arc::new(Inner {
                shared,
                outgoing,
                next_id: AtomicU64::new(1),
                greeting,
                oob,
                config,
                tasks: Mutex::new(tasks),
                turn: tokio::sync::Mutex::new(()),
                gate: std::sync::RwLock::new(None),
            }),
        };
        client.negotiate().await?;
        Ok(client)
    }

    /// Leaves capabilities-negotiation mode, enabling `oob` when chosen.
    async fn negotiate(&self) -> Result<(), ClientError> {
        let arguments = self.inner.oob.then(|| json!({"enable": ["oob"]}));
        let limit = self.inner.config.greeting_timeout;
        let reply = self
            .execute_with_timeout("qmp_capabilities", arguments, limit)
            .await
            .map_err(|e| match e {
                ClientError::Timeout { .. } => ClientError::Negotiation(format!(
                    "no reply to qmp_capabilities within {limit:?}"
                )),
                other => other,
            })?;
        reply
            .map(|_| ())
            .map_err(|e| ClientError::Negotiation(e.to_string()))
    }

    /// What QEMU said when the connection opened.
    pub fn greeting(&self) -> &Greeting {
        &self.inner.greeting
    }

    /// Waits for this connection's turn to run a long series of dependent
    /// requests (one walk of QEMU's object tree), held until the guard drops.
    /// QEMU answers one in-band request at a time, so series interleaved with
    /// each other finish no sooner overall, while each holds its partial
    /// result all along. Plain requests never wait for the turn.
    pub async fn take_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.turn.lock().await
    }

    /// Puts a check in front of the socket, for every clone of this
    /// connection: a request it refuses is answered locally with a
    /// `GenericError` reply and never sent (a proxy's policy uses it).
    pub fn set_gate(&self, gate: Gate) {
        *self
            .inner
            .gate
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(gate);
    }

    /// True when out-of-band execution was negotiated.
    pub fn oob_enabled(&self) -> bool {
        self.inner.oob
    }

    /// The settings this connection was opened with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The error that ended the connection, if it has ended.
    pub fn fatal_error(&self) -> Option<ClientError> {
        self.inner.shared.fatal()
    }

    /// A stream of QEMU's events, each delivered to every open stream.
    ///
    /// Streams are unbounded so that no event is lost however long a
    /// command takes or however slowly the stream is read. Events that
    /// arrive while no stream is open are kept (up to
    /// `config.event_backlog`, oldest dropped first) and handed to the next
    /// stream opened, so the first caller sees events from the start of the
    /// connection. A stream ends when the connection does.
    pub fn events(&self) -> mpsc::UnboundedReceiver<Event> {
        self.inner.shared.subscribe()
    }

    /// Events dropped because the backlog filled while no stream was open.
    pub fn events_dropped(&self) -> u64 {
        self.inner.shared.events_dropped()
    }

    /// Runs a command; an `Err` is a transport failure, a QMP error reply
    /// comes back as `Ok(Err(..))`. Uses `config.request_timeout`.
    pub async fn execute(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Reply, ClientError> {
        let timeout = self.inner.config.request_timeout;
        self.execute_as("execute", command, arguments, timeout)
            .await
    }

    /// Like [`Client::execute`] with its own time limit.
    pub async fn execute_with_timeout(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        self.execute_as("execute", command, arguments, Some(timeout))
            .await
    }

    /// Runs a command out of band (`exec-oob`), overtaking queued in-band
    /// commands; only for commands QEMU marks as allowing it.
    pub async fn execute_oob(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Reply, ClientError> {
        if !self.inner.oob {
            return Err(ClientError::OobUnavailable);
        }
        let timeout = self.inner.config.request_timeout;
        self.execute_as("exec-oob", command, arguments, timeout)
            .await
    }

    async fn execute_as(
        &self,
        verb: &str,
        command: &str,
        arguments: Option<Value>,
        timeout: Option<Duration>,
    ) -> Result<Reply, ClientError> {
        let mut request = Map::new();
        request.insert(verb.to_string(), Value::String(command.to_string()));
        if let Some(arguments) = arguments {
            request.insert("arguments".to_string(), arguments);
        }
        let mut body = self.roundtrip(request, timeout).await?;
        // Move the result out: copying it cost as much as decoding it.
        if let Some(value) = body.remove("return") {
            return Ok(Ok(value));
        }
        reply_from_object(&body)
            .map_err(|detail| ClientError::Protocol(format!("reply to '{command}': {detail}")))
    }

    /// Sends any request object as it is, except that its `id` is replaced
    /// by this client's own, and returns QEMU's whole reply object with the
    /// id removed (for relaying other clients' requests). Uses
    /// `config.request_timeout`.
    pub async fn request_raw(&self, request: Map<String, Value>) -> Result<Value, ClientError> {
        let timeout = self.inner.config.request_timeout;
        self.request_raw_with_timeout(request, timeout).await
    }

    /// Like [`Client::request_raw`] with its own time limit (`None`: no limit).
    pub async fn request_raw_with_timeout(
        &self,
        request: Map<String, Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, ClientError> {
        self.roundtrip(request, timeout).await.map(Value::Object)
    }

    /// Sends one request and waits for the reply carrying its id.
    async fn roundtrip(
        &self,
        mut request: Map<String, Value>,
        timeout: Option<Duration>,
    ) -> Result<Map<String, Value>, ClientError> {
        let inner = &*self.inner;
        let label = request_label(&request);
        let gate = inner
            .gate
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(Err(why)) = gate.map(|gate| gate(&request)) {
            let mut reply = Map::new();
            reply.insert(
                "error".into(),
                json!({"class": "GenericError", "desc": why}),
            );
            return Ok(reply);
        }
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        request.insert("id".to_string(), Value::from(id));
        let mut line = serde_json::to_vec(&request)
            .map_err(|e| ClientError::InvalidRequest(format!("{label}: {e}")))?;
        line.push(b'\n');

        let reply = inner.shared.register(id)?;
        let _guard = PendingGuard {
            shared: &inner.shared,
            id,
        };
        if inner.outgoing.send(line).is_err() {
            return Err(inner.shared.fatal_or_closed());
        }
        let outcome = match timeout {
            None => reply.await,
            Some(limit) => {
                tokio::time::timeout(limit, reply)
                    .await
                    .map_err(|_| ClientError::Timeout {
                        command: label,
                        timeout: limit,
                    })?
            }
        };
        outcome.unwrap_or_else(|_| Err(inner.shared.fatal_or_closed()))
    }

    /// Ends the connection for every clone: waiting requests and later calls
    /// fail with [`ClientError::Closed`], event streams end, and the tasks
    /// are stopped before this returns.
    pub async fn close(&self) {
        self.inner.shared.fail(ClientError::Closed, true);
        let tasks: Vec<_> = {
            let mut guard = self
                .inner
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            guard.drain(..).collect()
        };
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// The command a request runs, for error messages.
fn request_label(request: &Map<String, Value>) -> String {
    ["execute", "exec-oob"]
        .iter()
        .find_map(|verb| request.get(*verb).and_then(Value::as_str))
        .unwrap_or("request")
        .to_string()
}

/// Reads the first message; the stream ending first means it is no QMP
/// server (or QEMU is shutting down).
async fn read_greeting<R: AsyncRead + Unpin>(
    reader: &mut R,
    decoder: &mut LineDecoder,
    buf: &mut BytesMut,
) -> Result<Value, ClientError> {
    loop {
        if let Some(message) = decoder.decode(buf)? {
            return Ok(message);
        }
        buf.reserve(8 * 1024);
        let read = reader.read_buf(buf).await?;
        if read == 0 {
            let cause = connection::eof(decoder, buf);
            return Err(ClientError::BadGreeting(format!(
                "{cause} before greeting; is this a QMP socket?"
            )));
        }
    }
}
