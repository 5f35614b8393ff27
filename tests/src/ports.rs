//! Free loopback ports for HTTP (TCP) and Raft (QUIC, so UDP).

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{Mutex, OnceLock};

use anyhow::{bail, Context};

/// Ports handed out by this process, so two parallel tests never get the same one.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A 127.0.0.1 address whose port is free for both TCP and UDP right now. The port is
/// released before it is returned, so another process could take it in between; the
/// harness accepts that small race.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    const ATTEMPTS_MAX: usize = 64;
    for _ in 0..ATTEMPTS_MAX {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("bind a TCP port")?;
        let addr = tcp.local_addr().context("read the bound port")?;
        let udp_free = UdpSocket::bind(addr).is_ok();
        drop(tcp);
        if !udp_free {
            continue;
        }
        let mut ports = handed_out()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if ports.insert(addr.port()) {
            return Ok(addr);
        }
    }
    bail!("no port free for both TCP and UDP after {ATTEMPTS_MAX} attempts")
}

/// A 127.0.0.1 address whose port and port + 1 are both free (TCP and UDP): for a node
/// started without `--raft`, which then listens for Raft on the HTTP port + 1.
pub fn free_addr_pair() -> anyhow::Result<SocketAddr> {
    const ATTEMPTS_MAX: usize = 64;
    for _ in 0..ATTEMPTS_MAX {
        let addr = free_addr()?;
        let Some(next_port) = addr.port().checked_add(1) else {
            continue;
        };
        let next = SocketAddr::from((Ipv4Addr::LOCALHOST, next_port));
        let next_free = TcpListener::bind(next).is_ok() && UdpSocket::bind(next).is_ok();
        if !next_free {
            continue;
        }
        let mut ports = handed_out()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if ports.insert(next_port) {
            return Ok(addr);
        }
    }
    bail!("no pair of adjacent free ports after {ATTEMPTS_MAX} attempts")
}
