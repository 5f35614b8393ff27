//! The client's address as PocketBase reads it: the peer, or the trusted proxy header the
//! settings name; and whether it falls in a list of addresses and CIDR subnets.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request};

use edgebase_model::settings::Settings;
use edgebase_service::app::App;

/// The client's address as an extractor (empty when neither a trusted header nor the peer
/// says it).
pub struct ClientAddress(pub String);

impl FromRequestParts<App> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        Ok(ClientAddress(
            crate::identity::client_info(app, &parts.headers, peer).address,
        ))
    }
}

/// The peer address of a request served with connect info (none in router-only tests).
pub fn peer<B>(request: &Request<B>) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address)
}

/// The client's address: the first trusted proxy header that holds one (its left- or
/// rightmost entry, as the settings say), else the peer; empty when neither is known.
pub fn client_address(
    settings: &Settings,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> String {
    for name in &settings.trusted_proxy.headers {
        let Some(value) = headers
            .get(name.as_str())
            .and_then(|value| value.to_str().ok())
        else {
            continue;
        };
        let mut addresses = value
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty());
        let picked = if settings.trusted_proxy.use_leftmost_ip {
            addresses.next()
        } else {
            addresses.next_back()
        };
        if let Some(address) = picked.and_then(|text| text.parse::<IpAddr>().ok()) {
            return address.to_string();
        }
    }
    peer.map(|peer| peer.ip().to_string()).unwrap_or_default()
}

/// Whether `address` is one of `entries` (addresses or CIDR subnets).
pub fn in_list(entries: &[String], address: &str) -> bool {
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    entries.iter().any(|entry| matches(entry, address))
}

fn matches(entry: &str, address: IpAddr) -> bool {
    let (network, bits) = match entry.split_once('/') {
        None => {
            return entry
                .parse::<IpAddr>()
                .is_ok_and(|single| single == address)
        }
        Some((network, bits)) => match (network.parse::<IpAddr>(), bits.parse::<u32>()) {
            (Ok(network), Ok(bits)) => (network, bits),
            _ => return false,
        },
    };
    match (network, address) {
        (IpAddr::V4(network), IpAddr::V4(address)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(network) & mask == u32::from(address) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(address)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(network) & mask == u128::from(address) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_addresses_and_subnets() {
        let list = vec![
            "10.0.0.0/8".to_string(),
            "::1".to_string(),
            "192.168.1.7".to_string(),
        ];
        for (address, inside) in [
            ("10.20.30.40", true),
            ("11.0.0.1", false),
            ("::1", true),
            ("192.168.1.7", true),
            ("192.168.1.8", false),
            ("not an ip", false),
        ] {
            assert_eq!(in_list(&list, address), inside, "{address}");
        }
        assert!(in_list(&["0.0.0.0/0".to_string()], "8.8.8.8"));
    }

    #[test]
    fn trusted_proxy_headers() {
        let mut settings = Settings::default();
        let peer: Option<SocketAddr> = "10.0.0.9:5000".parse().ok();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.1.1.1, 2.2.2.2".parse().expect("header"),
        );
        assert_eq!(client_address(&settings, &headers, peer), "10.0.0.9");
        settings.trusted_proxy.headers = vec!["X-Forwarded-For".into()];
        assert_eq!(client_address(&settings, &headers, peer), "2.2.2.2");
        settings.trusted_proxy.use_leftmost_ip = true;
        assert_eq!(client_address(&settings, &headers, peer), "1.1.1.1");
    }
}
