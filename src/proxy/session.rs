//! One proxy client: reads its stream with QEMU's JSON rules, runs its
//! in-band requests one at a time in order (as QEMU does), lets `exec-oob`
//! requests overtake them once `oob` is negotiated, and writes replies and
//! events in QEMU's layout through a single writer.

use super::dispatch;
use super::shared::{Link, Out, Shared};
use crate::monitor::Monitor;
use crate::qjson::{self, Message};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
}

impl Session {
    pub fn oob_enabled(&self) -> bool {
        self.oob.load(Ordering::SeqCst)
    }

    pub fn enable_oob(&self, on: bool) {
        self.oob.store(on, Ordering::SeqCst);
    }
}

/// Serves one client until it disconnects or the proxy stops.
pub async fn serve<S>(stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let (out, out_rx) = mpsc::unbounded_channel();
    let writer_task = tokio::spawn(write_loop(writer, out_rx));
    let _ = out.send(Out::Message(shared.greeting()));
    let link = shared.register(out);
    let session = Arc::new(Session {
        shared: shared.clone(),
        link: link.clone(),
        oob: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        monitor: tokio::sync::Mutex::new(None),
    });
    let (queue, queue_rx) = mpsc::channel(IN_BAND_QUEUE);
    let worker = tokio::spawn(run_in_band(session.clone(), queue_rx));
    let mut out_of_band = JoinSet::new();
    let mut json = qjson::Reader::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut messages = Vec::new();
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        json.feed(buf.get(..n).unwrap_or_default(), &mut messages);
        for message in messages.drain(..) {
            if session.oob_enabled() && dispatch::is_out_of_band(&message) {
                let session = session.clone();
                out_of_band.spawn(async move { dispatch::handle(&session, message).await });
                continue;
            }
            if queue.send(message).await.is_err() {
                break 'read;
            }
        }
        // Reap finished out-of-band handlers.
        while out_of_band.try_join_next().is_some() {}
    }
    // Like QEMU: the command running completes, queued ones are dropped.
    session.closed.store(true, Ordering::SeqCst);
    drop(queue);
    let _ = worker.await;
    out_of_band.shutdown().await;
    shared.unregister(&link);
    drop(session);
    drop(link);
    let _ = writer_task.await;
}

async fn run_in_band(session: Arc<Session>, mut queue: mpsc::Receiver<Message>) {
    while let Some(message) = queue.recv().await {
        if session.closed.load(Ordering::SeqCst) {
            continue;
        }
        dispatch::handle(&session, message).await;
    }
}

/// Writes messages as QEMU lays them out, batching what is queued.
async fn write_loop<W: AsyncWrite>(writer: W, mut queue: mpsc::UnboundedReceiver<Out>) {
    let mut writer = std::pin::pin!(writer);
    let mut batch = Vec::new();
    let mut flushed = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(item) = next {
            match item {
                Out::Message(message) => batch.extend(qjson::message_line(&message)),
                Out::Flush(done) => flushed.push(done),
            }
            next = queue.try_recv().ok();
        }
        if writer.write_all(&batch).await.is_err() || writer.flush().await.is_err() {
            return;
        }
        batch.clear();
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
    let _ = writer.shutdown().await;
}
