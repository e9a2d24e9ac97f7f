//! One proxy client: reads its stream with QEMU's JSON rules, runs its
//! in-band requests one at a time in order (as QEMU does), lets `exec-oob`
//! requests overtake them once `oob` is negotiated, and writes replies and
//! events in QEMU's layout through a single writer.

use super::audit::{self, Peer};
use super::dispatch;
use super::shared::{Link, Out, Queue, Shared};
use crate::monitor::Monitor;
use crate::qjson::{self, Message};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// In-band requests read ahead of the one running (QEMU queues 8 and then
/// stops reading; so does the proxy, which pushes back on the client).
const IN_BAND_QUEUE: usize = 8;
const READ_CHUNK: usize = 64 * 1024;

/// What a session's request handlers share.
pub struct Session {
    pub shared: Arc<Shared>,
    pub link: Link,
    oob: AtomicBool,
    /// Set once the client has gone: queued requests are dropped unrun.
    closed: AtomicBool,
    /// This client's translator and the upstream generation it was made for.
    pub monitor: tokio::sync::Mutex<Option<(u64, Monitor)>>,
    /// Who the client is (peer credentials), for the audit log.
    pub peer: Peer,
}

impl Session {
    pub fn oob_enabled(&self) -> bool {
        self.oob.load(Ordering::SeqCst)
    }

    pub fn enable_oob(&self, on: bool) {
        self.oob.store(on, Ordering::SeqCst);
    }
}

/// Serves one client until it disconnects, breaks a limit, or the proxy
/// stops.
pub async fn serve<S>(stream: S, shared: Arc<Shared>, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let limits = shared.limits.clone();
    let (mut reader, writer) = tokio::io::split(stream);
    let (out, out_rx) = mpsc::unbounded_channel();
    let link = Link::new(out);
    let writer_task = tokio::spawn(write_loop(
        writer,
        out_rx,
        link.queue.clone(),
        limits.write_timeout,
    ));
    link.send(&shared.greeting());
    shared.register(&link);
    let session = Arc::new(Session {
        shared: shared.clone(),
        link: link.clone(),
        oob: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        monitor: tokio::sync::Mutex::new(None),
        peer,
    });
    audit::note(&shared, &format!("connect {}", session.peer));
    let (queue, queue_rx) = mpsc::channel(IN_BAND_QUEUE);
    let worker = tokio::spawn(run_in_band(session.clone(), queue_rx));
    let mut out_of_band = JoinSet::new();
    let mut json = qjson::Reader::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut messages = Vec::new();
    // Bytes read since the last complete message.
    let mut unfinished = 0usize;
    let why = 'read: loop {
        // Backpressure: a client that does not read its replies is not read.
        link.queue.room(limits.queue_bytes).await;
        let read = tokio::select! {
            biased;
            _ = link.queue.closed() => break "gone or too slow to read its replies",
            read = reader.read(&mut buf) => read,
            _ = idle(limits.idle_timeout) => break "idle",
        };
        let n = match read {
            Ok(0) => break "closed",
            Err(_) => break "read error",
            Ok(n) => n,
        };
        json.feed(buf.get(..n).unwrap_or_default(), &mut messages);
        unfinished = if messages.is_empty() {
            unfinished + n
        } else {
            0
        };
        if limits.max_request_bytes.is_some_and(|max| unfinished > max) {
            let desc = format!(
                "qhmp proxy: request longer than {} bytes (--max-request-bytes)",
                limits.max_request_bytes.unwrap_or_default()
            );
            link.send(&dispatch::error_reply("GenericError", &desc, None));
            break "request too long";
        }
        for message in messages.drain(..) {
            if session.oob_enabled() && dispatch::is_out_of_band(&message) {
                while out_of_band.len() >= limits.pending_oob {
                    out_of_band.join_next().await;
                }
                let session = session.clone();
                out_of_band.spawn(async move { dispatch::handle(&session, message).await });
                continue;
            }
            if queue.send(message).await.is_err() {
                break 'read "closed";
            }
        }
        // Reap finished out-of-band handlers.
        while out_of_band.try_join_next().is_some() {}
    };
    audit::note(&shared, &format!("disconnect {} ({why})", session.peer));
    // Like QEMU: the command running completes, queued ones are dropped.
    session.closed.store(true, Ordering::SeqCst);
    drop(queue);
    let _ = worker.await;
    out_of_band.shutdown().await;
    shared.unregister(&link);
    drop(session);
    drop(link);
    let _ = writer_task.await;
    give_back_memory();
}

/// Hands freed heap pages back to the system once a client has gone, so
/// that what a stalled client's queue took is returned, not just reusable.
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Never ends without a limit; otherwise ends after `limit`.
async fn idle(limit: Option<Duration>) {
    match limit {
        Some(limit) => tokio::time::sleep(limit).await,
        None => std::future::pending().await,
    }
}

async fn run_in_band(session: Arc<Session>, mut queue: mpsc::Receiver<Message>) {
    let limit = session.shared.limits.queue_bytes;
    while let Some(message) = queue.recv().await {
        if session.closed.load(Ordering::SeqCst) {
            continue;
        }
        // Replies wait for room: the next request waits with them.
        session.link.queue.room(limit).await;
        // Nobody left to answer (the writer stopped): dropped unrun.
        if session.link.queue.is_closed() {
            continue;
        }
        dispatch::handle(&session, message).await;
    }
}

/// Writes messages as QEMU lays them out, batching what is queued. A client
/// that takes nothing for `stall` is dropped; one whose events were
/// dropped is told so with a `QHMP_EVENTS_DROPPED` event.
async fn write_loop<W: AsyncWrite>(
    writer: W,
    mut queue: mpsc::UnboundedReceiver<Out>,
    sizes: Arc<Queue>,
    stall: Duration,
) {
    let mut writer = std::pin::pin!(writer);
    let mut batch = Vec::new();
    let mut flushed = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        let mut lines = 0usize;
        while let Some(item) = next {
            match item {
                Out::Line(line) => {
                    lines += line.len();
                    batch.extend_from_slice(&line);
                }
                Out::Flush(done) => flushed.push(done),
            }
            next = queue.try_recv().ok();
        }
        let dropped = sizes.take_dropped();
        if dropped > 0 {
            batch.extend(qjson::message_line(&dropped_notice(dropped)));
        }
        let written = tokio::time::timeout(stall, async {
            writer.write_all(&batch).await?;
            writer.flush().await
        })
        .await;
        sizes.written(lines);
        if !matches!(written, Ok(Ok(()))) {
            sizes.close();
            return;
        }
        batch.clear();
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
    sizes.close();
    let _ = writer.shutdown().await;
}

/// The event telling a client how many events it missed.
fn dropped_notice(count: u64) -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    serde_json::json!({
        "event": "QHMP_EVENTS_DROPPED",
        "data": {"count": count, "reason": "the client's output queue was full"},
        "timestamp": {"seconds": now.as_secs(), "microseconds": now.subsec_micros()},
    })
}
