//! Free loopback ports for the servers the bench starts.

use std::net::{TcpListener, UdpSocket};

use anyhow::Context;

/// A loopback port that is free for TCP and UDP right now (QUIC needs UDP). Another process
/// could take it before the server binds it; on this quiet machine that is rare, and the
/// server then fails to start with a clear error.
pub fn free_port() -> anyhow::Result<u16> {
    for _ in 0..32 {
        let listener = TcpListener::bind("127.0.0.1:0").context("bind a loopback port")?;
        let port = listener.local_addr().context("local address")?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no loopback port free for both TCP and UDP after 32 tries")
}
