//! A minimal VNC (RFB 3.8) client: handshake with "None" security, then it just
//! stays connected so QEMU lists it under `info vnc` until it is dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
const SECURITY_NONE: u8 = 1;

/// A connected, initialised VNC client.
pub struct RfbClient {
    stream: TcpStream,
    /// The client's own address, as QEMU reports it for the client.
    pub local_addr: SocketAddr,
    pub width: u16,
    pub height: u16,
    /// The desktop name from ServerInit.
    pub name: String,
}

impl RfbClient {
    /// Connects to 127.0.0.1:`port` and runs the RFB 3.8 handshake up to ServerInit.
    pub fn connect(port: u16) -> Result<RfbClient, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT)
            .map_err(|e| format!("VNC: cannot connect to {addr}: {e}"))?;
        Self::handshake(stream).map_err(|e| format!("VNC handshake with {addr}: {e}"))
    }

    fn handshake(mut stream: TcpStream) -> Result<RfbClient, String> {
        let io = |e: std::io::Error| e.to_string();
        stream
            .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
            .map_err(io)?;
        stream
            .set_write_timeout(Some(HANDSHAKE_TIMEOUT))
            .map_err(io)?;
        let local_addr = stream.local_addr().map_err(io)?;

        let mut version = [0u8; 12];
        stream.read_exact(&mut version).map_err(io)?;
        if !version.starts_with(b"RFB 003.") {
            return Err(format!(
                "not an RFB server: {:?}",
                String::from_utf8_lossy(&version)
            ));
        }
        stream.write_all(b"RFB 003.008\n").map_err(io)?;

        let count = read_u8(&mut stream)?;
        if count == 0 {
            return Err(format!(
                "server refused the connection: {}",
                read_reason(&mut stream)?
            ));
        }
        let mut types = vec![0u8; usize::from(count)];
        stream.read_exact(&mut types).map_err(io)?;
        if !types.contains(&SECURITY_NONE) {
            return Err(format!("server offers no None security (types {types:?})"));
        }
        stream.write_all(&[SECURITY_NONE]).map_err(io)?;
        let result = read_u32(&mut stream)?;
        if result != 0 {
            return Err(format!(
                "security handshake failed: {}",
                read_reason(&mut stream)?
            ));
        }

        // ClientInit: ask to share the desktop with other clients.
        stream.write_all(&[1]).map_err(io)?;
        let mut init = [0u8; 20];
        stream.read_exact(&mut init).map_err(io)?;
        let width = u16::from_be_bytes([init[0], init[1]]);
        let height = u16::from_be_bytes([init[2], init[3]]);
        let name_len = u32::from_be_bytes([init[16], init[17], init[18], init[19]]);
        let name = read_string(&mut stream, name_len)?;
        Ok(RfbClient {
            stream,
            local_addr,
            width,
            height,
            name,
        })
    }
}

impl Drop for RfbClient {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn read_u8(stream: &mut TcpStream) -> Result<u8, String> {
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte).map_err(|e| e.to_string())?;
    Ok(byte[0])
}

fn read_u32(stream: &mut TcpStream) -> Result<u32, String> {
    let mut bytes = [0u8; 4];
    stream.read_exact(&mut bytes).map_err(|e| e.to_string())?;
    Ok(u32::from_be_bytes(bytes))
}

/// A length-prefixed failure reason.
fn read_reason(stream: &mut TcpStream) -> Result<String, String> {
    let len = read_u32(stream)?;
    read_string(stream, len)
}

fn read_string(stream: &mut TcpStream, len: u32) -> Result<String, String> {
    if len > 64 * 1024 {
        return Err(format!("implausible string length {len}"));
    }
    let mut bytes = vec![0u8; len as usize];
    stream.read_exact(&mut bytes).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
