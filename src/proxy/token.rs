//! TCP clients and the token: with `--token-file`, the first line a TCP
//! client sends must be the token, before any QMP; only then does it get
//! the greeting. (`--allow-remote` requires it: QMP itself has no
//! authentication, and anyone who reaches the port could drive the VM.)

use super::Access;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How long a client gets to send the token line, and how long it may be.
const TOKEN_WAIT: Duration = Duration::from_secs(10);
const TOKEN_MAX: usize = 512;

/// Reads and checks the token line when one is required.
pub async fn check<S: AsyncRead + Unpin>(stream: &mut S, access: &Access) -> Result<(), String> {
    let Some(token) = &access.token else {
        return Ok(());
    };
    let line = tokio::time::timeout(TOKEN_WAIT, read_line(stream))
        .await
        .map_err(|_| "no token line within 10 s".to_string())??;
    if same(line.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err("wrong token".into())
    }
}

/// One line, byte by byte so that nothing after it is consumed.
async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> Result<String, String> {
    let mut line = Vec::new();
    loop {
        let byte = stream
            .read_u8()
            .await
            .map_err(|_| "the connection ended before the token line".to_string())?;
        if byte == b'\n' {
            break;
        }
        if line.len() >= TOKEN_MAX {
            return Err("token line too long".into());
        }
        line.push(byte);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_token_line_comes_first() {
        let access = Access {
            token: Some("s3cret".into()),
            ..Access::default()
        };
        let mut good: &[u8] = b"s3cret\r\n{\"execute\": \"qmp_capabilities\"}";
        assert_eq!(check(&mut good, &access).await, Ok(()));
        // What follows the token is left for the QMP reader.
        assert_eq!(good, b"{\"execute\": \"qmp_capabilities\"}");
        let mut bad: &[u8] = b"s3cres\n";
        assert_eq!(check(&mut bad, &access).await, Err("wrong token".into()));
        let mut none: &[u8] = b"{\"execute\"";
        assert!(check(&mut none, &access).await.is_err());
        let mut open: &[u8] = b"";
        assert_eq!(check(&mut open, &Access::default()).await, Ok(()));
        assert!(!same(b"s3cret", b"s3cretx"));
        assert!(same(b"", b""));
    }
}
