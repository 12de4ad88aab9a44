//! The address of the person behind a request: the TCP peer, or — only when
//! that peer is a configured reverse proxy — the nearest address in
//! `X-Forwarded-For` that is not itself a trusted proxy. A client cannot
//! choose its throttle bucket or pass for loopback by sending the header.

use crate::server::app_state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// Where a request comes from; `None` when the server was not given the
/// peer address (then nothing that depends on it is granted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn is_loopback(&self) -> bool {
        self.0.is_some_and(|ip| ip.is_loopback())
    }

    /// The throttle key for this client.
    pub fn key(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The client behind `peer`, believing `X-Forwarded-For` only from trusted proxies.
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted(peer, proxies) {
        return Some(peer);
    }
    // Each proxy appends the address it received from; read from the right.
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let mut client = peer;
    for hop in forwarded.into_iter().rev() {
        client = hop;
        if !trusted(hop, proxies) {
            break;
        }
    }
    Some(client)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(ClientAddr::of(parts, &state.config.trusted_proxies))
    }
}

impl ClientAddr {
    pub fn of(parts: &Parts, proxies: &[IpNet]) -> ClientAddr {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        ClientAddr(resolve(peer, &parts.headers, proxies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let cases: &[(&str, &[&str], &str)] = &[
            // No proxy configured for this peer: the header is ignored.
            ("203.0.113.9", &["127.0.0.1"], "203.0.113.9"),
            ("127.0.0.1", &["198.51.100.1"], "127.0.0.1"),
            // From the proxy: the last untrusted hop.
            ("10.0.0.2", &["198.51.100.7"], "198.51.100.7"),
            ("10.0.0.2", &["1.1.1.1, 198.51.100.7"], "198.51.100.7"),
            (
                "10.0.0.2",
                &["1.1.1.1", "198.51.100.7, 10.0.0.3"],
                "198.51.100.7",
            ),
            // Only proxies in the chain: the leftmost.
            ("10.0.0.2", &["10.0.0.5"], "10.0.0.5"),
            // No header or garbage: the proxy itself.
            ("10.0.0.2", &[], "10.0.0.2"),
            ("10.0.0.2", &["not-an-ip"], "10.0.0.2"),
        ];
        for (peer, xff, want) in cases {
            assert_eq!(
                resolve(Some(ip(peer)), &headers(xff), &proxies),
                Some(ip(want)),
                "peer {peer}, X-Forwarded-For {xff:?}"
            );
        }
        assert_eq!(resolve(None, &headers(&["127.0.0.1"]), &proxies), None);
        assert!(!ClientAddr(None).is_loopback());
        assert!(ClientAddr(Some(ip("::1"))).is_loopback());
    }
}
