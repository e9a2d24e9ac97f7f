//! A minimal SPICE client: the real link handshake (RedLinkMess, encrypted
//! ticket), then a background pump that answers pings and acks so the server
//! keeps the channel. Enough for `info spice` to list sessions and channels.

use super::spice_ticket::encrypt_ticket;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

pub const CHANNEL_MAIN: u8 = 1;
pub const CHANNEL_DISPLAY: u8 = 2;
pub const CHANNEL_INPUTS: u8 = 3;
pub const CHANNEL_CURSOR: u8 = 4;

const MAGIC: &[u8; 4] = b"REDQ";
const MAJOR: u32 = 2;
const MINOR: u32 = 2;
/// Fixed part of the link message, which is also where the (empty) caps start.
const LINK_MESS_LEN: u32 = 18;
const PUBKEY_LEN: usize = 162;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// Messages to skip while waiting for the main channel's init.
const MAX_MESSAGES_BEFORE_INIT: usize = 64;

// Message types (server → client, then client → server).
const MSG_SET_ACK: u16 = 3;
const MSG_PING: u16 = 4;
const MSG_MAIN_INIT: u16 = 103;
const MSGC_ACK_SYNC: u16 = 1;
const MSGC_ACK: u16 = 2;
const MSGC_PONG: u16 = 3;

/// One linked SPICE channel, kept alive by a background thread.
pub struct SpiceChannel {
    stream: TcpStream,
    pump: Option<JoinHandle<()>>,
    pub channel_type: u8,
    pub channel_id: u8,
    /// The client's own address, as QEMU reports it for the channel.
    pub local_addr: SocketAddr,
}

/// One client session: its main channel plus any further channels.
pub struct SpiceSession {
    port: u16,
    password: String,
    /// The session (connection) id the server assigned, from its main init.
    pub session_id: u32,
    pub main: SpiceChannel,
    pub channels: Vec<SpiceChannel>,
}

impl SpiceSession {
    /// Links a main channel on 127.0.0.1:`port` with an empty ticket (fine when
    /// the server runs with disable-ticketing=on).
    pub fn connect(port: u16) -> Result<SpiceSession, String> {
        Self::connect_with_password(port, "")
    }

    pub fn connect_with_password(port: u16, password: &str) -> Result<SpiceSession, String> {
        let (mut stream, local_addr) = link(port, 0, CHANNEL_MAIN, 0, password)?;
        let session_id = read_main_init(&mut stream)
            .map_err(|e| format!("SPICE main channel on port {port}: {e}"))?;
        let main = SpiceChannel::start(stream, CHANNEL_MAIN, 0, local_addr)?;
        Ok(SpiceSession {
            port,
            password: password.to_string(),
            session_id,
            main,
            channels: Vec::new(),
        })
    }

    /// Links another channel (e.g. [`CHANNEL_INPUTS`]) into this session.
    pub fn open_channel(&mut self, channel_type: u8, channel_id: u8) -> Result<(), String> {
        let (stream, local_addr) = link(
            self.port,
            self.session_id,
            channel_type,
            channel_id,
            &self.password,
        )?;
        let channel = SpiceChannel::start(stream, channel_type, channel_id, local_addr)?;
        self.channels.push(channel);
        Ok(())
    }

    /// The session id as QEMU's `info spice` prints it (a signed 32-bit value).
    pub fn session_id_as_printed(&self) -> i32 {
        self.session_id as i32
    }
}

impl SpiceChannel {
    fn start(
        stream: TcpStream,
        channel_type: u8,
        channel_id: u8,
        local_addr: SocketAddr,
    ) -> Result<SpiceChannel, String> {
        let io = |e: std::io::Error| format!("SPICE channel {channel_type}: {e}");
        // The pump blocks in read until Drop shuts the socket down.
        stream.set_read_timeout(None).map_err(io)?;
        let reader = stream.try_clone().map_err(io)?;
        let pump = std::thread::Builder::new()
            .name(format!("spice-pump-{channel_type}"))
            .spawn(move || pump(reader))
            .map_err(io)?;
        Ok(SpiceChannel {
            stream,
            pump: Some(pump),
            channel_type,
            channel_id,
            local_addr,
        })
    }
}

impl Drop for SpiceChannel {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(pump) = self.pump.take() {
            let _ = pump.join();
        }
    }
}

/// Connects and links one channel; returns the stream ready for messages.
fn link(
    port: u16,
    connection_id: u32,
    channel_type: u8,
    channel_id: u8,
    password: &str,
) -> Result<(TcpStream, SocketAddr), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let what = format!("SPICE link of channel {channel_type}:{channel_id} to {addr}");
    let io = |e: std::io::Error| format!("{what}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT).map_err(io)?;
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(io)?;
    stream
        .set_write_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(io)?;
    let local_addr = stream.local_addr().map_err(io)?;

    // SpiceLinkHeader + SpiceLinkMess with no capabilities.
    let mut request = Vec::with_capacity(16 + LINK_MESS_LEN as usize);
    request.extend_from_slice(MAGIC);
    for word in [MAJOR, MINOR, LINK_MESS_LEN, connection_id] {
        request.extend_from_slice(&word.to_le_bytes());
    }
    request.extend_from_slice(&[channel_type, channel_id]);
    for word in [0u32, 0, LINK_MESS_LEN] {
        request.extend_from_slice(&word.to_le_bytes());
    }
    stream.write_all(&request).map_err(io)?;

    let mut header = [0u8; 16];
    stream
        .read_exact(&mut header)
        .map_err(|e| format!("{what}: no link reply (channel not available?): {e}"))?;
    if &header[..4] != MAGIC {
        return Err(format!("{what}: bad reply magic {:?}", &header[..4]));
    }
    let major = le_u32(&header[4..8]);
    let size = le_u32(&header[12..16]) as usize;
    if major != MAJOR || !(4 + PUBKEY_LEN..=4096).contains(&size) {
        return Err(format!(
            "{what}: unexpected reply header (major {major}, size {size})"
        ));
    }
    let mut reply = vec![0u8; size];
    stream.read_exact(&mut reply).map_err(io)?;
    let error = le_u32(&reply[..4]);
    if error != 0 {
        return Err(format!("{what}: server refused the link (error {error})"));
    }
    let ticket =
        encrypt_ticket(&reply[4..4 + PUBKEY_LEN], password).map_err(|e| format!("{what}: {e}"))?;
    stream.write_all(&ticket).map_err(io)?;
    let mut result = [0u8; 4];
    stream.read_exact(&mut result).map_err(io)?;
    match le_u32(&result) {
        0 => Ok((stream, local_addr)),
        code => Err(format!(
            "{what}: link result {code} (7 = permission denied)"
        )),
    }
}

/// Reads messages until SPICE_MSG_MAIN_INIT and returns its session id.
fn read_main_init(stream: &mut TcpStream) -> Result<u32, String> {
    for _ in 0..MAX_MESSAGES_BEFORE_INIT {
        let (kind, body) = read_message(stream)?;
        if kind == MSG_MAIN_INIT {
            if body.len() < 4 {
                return Err("main init message too short".to_string());
            }
            return Ok(le_u32(&body[..4]));
        }
        answer(stream, kind, &body, &mut Acks::default())?;
    }
    Err(format!(
        "no main init within {MAX_MESSAGES_BEFORE_INIT} messages"
    ))
}

/// Window bookkeeping for SPICE's message acknowledgement.
#[derive(Default)]
struct Acks {
    window: u32,
    unacked: u32,
    serial: u64,
}

/// Keeps a channel alive: drains messages, answers pings and ack requests.
fn pump(mut stream: TcpStream) {
    let mut acks = Acks::default();
    while let Ok((kind, body)) = read_message(&mut stream) {
        if answer(&mut stream, kind, &body, &mut acks).is_err() {
            break;
        }
    }
}

fn answer(stream: &mut TcpStream, kind: u16, body: &[u8], acks: &mut Acks) -> Result<(), String> {
    match kind {
        MSG_SET_ACK if body.len() >= 8 => {
            acks.window = le_u32(&body[4..8]);
            acks.unacked = 0;
            send(stream, acks, MSGC_ACK_SYNC, &body[..4])
        }
        MSG_PING if body.len() >= 12 => {
            count_for_ack(stream, acks)?;
            send(stream, acks, MSGC_PONG, &body[..12])
        }
        _ => count_for_ack(stream, acks),
    }
}

fn count_for_ack(stream: &mut TcpStream, acks: &mut Acks) -> Result<(), String> {
    acks.unacked += 1;
    if acks.window > 0 && acks.unacked >= acks.window {
        acks.unacked = 0;
        return send(stream, acks, MSGC_ACK, &[]);
    }
    Ok(())
}

/// Sends one client message with the full (non-mini) data header.
fn send(stream: &mut TcpStream, acks: &mut Acks, kind: u16, body: &[u8]) -> Result<(), String> {
    acks.serial += 1;
    let mut message = Vec::with_capacity(18 + body.len());
    message.extend_from_slice(&acks.serial.to_le_bytes());
    message.extend_from_slice(&kind.to_le_bytes());
    message.extend_from_slice(&(body.len() as u32).to_le_bytes());
    message.extend_from_slice(&0u32.to_le_bytes());
    message.extend_from_slice(body);
    stream
        .write_all(&message)
        .map_err(|e| format!("SPICE send: {e}"))
}

/// One server message: full data header (serial u64, type u16, size u32,
/// sub_list u32) and body.
fn read_message(stream: &mut TcpStream) -> Result<(u16, Vec<u8>), String> {
    let mut header = [0u8; 18];
    stream
        .read_exact(&mut header)
        .map_err(|e| format!("SPICE read: {e}"))?;
    let kind = u16::from_le_bytes([header[8], header[9]]);
    let size = le_u32(&header[10..14]) as usize;
    if size > 64 * 1024 * 1024 {
        return Err(format!("SPICE message of {size} bytes is implausible"));
    }
    let mut body = vec![0u8; size];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("SPICE read: {e}"))?;
    Ok((kind, body))
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}
