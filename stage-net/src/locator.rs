//! Locators (`stage://host:port`): parsing them, and dialling one.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::NetError;

/// `stage://host:port` or `host:port` to `host:port`.
pub(crate) fn parse(locator: &str) -> Result<String, NetError> {
    let address = locator.strip_prefix("stage://").unwrap_or(locator);
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(address.to_owned())
        }
        _ => Err(NetError::BadLocator(locator.to_owned())),
    }
}

/// The host part of `host:port` (an IPv6 address without its brackets).
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Connects to the first of `address`'s socket addresses that answers within
/// `timeout`.
pub(crate) fn dial(address: &str, timeout: Duration) -> Result<TcpStream, NetError> {
    let mut last = None;
    for socket in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&socket, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.map_or_else(|| NetError::BadLocator(address.to_owned()), NetError::Io))
}

/// Every socket address `address` (`host:port`) resolves to, in the order the
/// resolver gives them, each once: a DNS name with several records (a
/// Kubernetes headless Service, a compose service scaled up) gives them all.
pub(crate) fn resolve_all(address: &str) -> Result<Vec<SocketAddr>, NetError> {
    let mut all: Vec<SocketAddr> = Vec::new();
    for socket in address.to_socket_addrs()? {
        if !all.contains(&socket) {
            all.push(socket);
        }
    }
    if all.is_empty() {
        return Err(NetError::BadLocator(address.to_owned()));
    }
    Ok(all)
}

/// Connects to `socket` within `timeout`.
pub(crate) fn dial_at(socket: SocketAddr, timeout: Duration) -> Result<TcpStream, NetError> {
    Ok(TcpStream::connect_timeout(&socket, timeout)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_with_and_without_the_scheme_parse() {
        assert_eq!(parse("stage://127.0.0.1:80").unwrap(), "127.0.0.1:80");
        assert_eq!(parse("example.org:7").unwrap(), "example.org:7");
        assert_eq!(parse("[::1]:9").unwrap(), "[::1]:9");
        for bad in ["", "stage://", "host", ":80", "host:port", "host:70000"] {
            assert!(matches!(parse(bad), Err(NetError::BadLocator(_))), "{bad}");
        }
    }

    #[test]
    fn a_name_resolves_to_each_of_its_addresses_once() {
        let all = resolve_all("127.0.0.1:80").unwrap();
        assert_eq!(all, ["127.0.0.1:80".parse().unwrap()]);
        let all = resolve_all("localhost:80").unwrap();
        assert!(
            !all.is_empty() && all.iter().all(|a| a.ip().is_loopback()),
            "{all:?}"
        );
    }

    #[test]
    fn the_host_loses_its_port_and_brackets() {
        assert_eq!(host_of("example.org:7"), "example.org");
        assert_eq!(host_of("[::1]:9"), "::1");
    }
}
