//! `HOST:PORT` addresses as operators give them for peers: an IP address (IPv6 in
//! brackets) or a DNS name, and a non-zero port.

use std::net::SocketAddr;

/// Whether `text` is `HOST:PORT` with an IP address or a DNS name and a port 1-65535.
pub fn is_host_port(text: &str) -> bool {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return addr.port() != 0;
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    port.parse::<u16>().is_ok_and(|port| port > 0)
        && host.len() <= 253
        && host.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::is_host_port;

    #[test]
    fn addresses() {
        for good in [
            "10.0.0.1:8091",
            "[::1]:8091",
            "edgebase-0.edgebase-peers:8091",
            "node-a.example.com:443",
        ] {
            assert!(is_host_port(good), "{good}");
        }
        for bad in [
            "10.0.0.1:0",
            "10.0.0.1",
            "host:",
            ":8091",
            "-bad.example:1",
            "a..b:1",
            "under_score:1",
            "host:70000",
        ] {
            assert!(!is_host_port(bad), "{bad}");
        }
    }
}
