//! `-accept [host:]port`, `-port`, `-4`, `-6`: which address to listen on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

/// Pending-connection queue length (s_server uses `BIO_listen`'s `SOMAXCONN`-capped default).
const LISTEN_BACKLOG: i32 = 128;

/// Where to listen, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSpec {
    /// Host name or address; `None` means every address (dual stack unless `-4`/`-6`).
    pub host: Option<String>,
    /// Port (0 picks a free one; s_server then prints the bound address).
    pub port: u16,
    /// `-4`: IPv4 only.
    pub ipv4_only: bool,
    /// `-6`: IPv6 only.
    pub ipv6_only: bool,
}

impl ListenSpec {
    /// Parses s_server's `-accept` value: `port`, `host:port`, `[v6]:port`, or `*:port`.
    pub fn parse_accept(value: &str) -> Result<ListenSpec, String> {
        let (host, port) = match value.rsplit_once(':') {
            Some((h, p)) => (Some(h.trim_start_matches('[').trim_end_matches(']')), p),
            None => (None, value),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("invalid port '{port}' in -accept {value}"))?;
        let host = host.filter(|h| !h.is_empty() && *h != "*").map(str::to_string);
        Ok(ListenSpec {
            host,
            port,
            ipv4_only: false,
            ipv6_only: false,
        })
    }

    fn candidates(&self) -> io::Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = match &self.host {
            Some(h) => (h.as_str(), self.port).to_socket_addrs()?.collect(),
            None if self.ipv4_only => vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), self.port)],
            // `[::]` with the kernel default (IPV6_V6ONLY off) accepts IPv4 too, as s_server does.
            None => vec![
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), self.port),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), self.port),
            ],
        };
        let filtered: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| !(self.ipv4_only && a.is_ipv6() || self.ipv6_only && a.is_ipv4()))
            .collect();
        if filtered.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no address of the requested family",
            ));
        }
        Ok(filtered)
    }
}

/// Binds the first candidate address that works (IPv6 dual stack first, then IPv4), with
/// `SO_REUSEADDR` like s_server, and `IPV6_V6ONLY` set only for `-6`.
pub fn bind(spec: &ListenSpec) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in spec.candidates()? {
        match bind_socket(addr, spec.ipv6_only, false) {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
}

/// Binds `n` listening sockets to the address [`bind`] picks, all with `SO_REUSEPORT`, so that
/// the kernel spreads new connections over them (one accept loop per core). The address is
/// first bound as [`bind`] binds it, without `SO_REUSEPORT`: a port another server holds is
/// refused as before, and this server never joins another one's group on the same port.
/// With `n` of 1 this is [`bind`].
pub fn bind_shared(spec: &ListenSpec, n: usize) -> io::Result<Vec<TcpListener>> {
    let probe = bind(spec)?;
    if n <= 1 {
        return Ok(vec![probe]);
    }
    let addr = probe.local_addr()?;
    let v6_only = addr.is_ipv6() && socket2::SockRef::from(&probe).only_v6()?;
    drop(probe);
    (0..n).map(|_| bind_socket(addr, v6_only, true)).collect()
}

fn bind_socket(addr: SocketAddr, v6_only: bool, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(v6_only)?;
    }
    socket.bind(&addr.into())?;
    // Before listening, so that every connection inherits it (see `transport`): no per-connection
    // system call for what s_server sets on each one.
    socket.set_tcp_nodelay(true)?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// s_server's `ACCEPT` line suffix: the bound address, shown only when the port was 0.
pub fn accept_line(requested_port: u16, bound: SocketAddr) -> String {
    if requested_port != 0 {
        return "ACCEPT".to_string();
    }
    match bound {
        SocketAddr::V4(a) => format!("ACCEPT {}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("ACCEPT [{}]:{}", a.ip(), a.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_values() {
        let s = ListenSpec::parse_accept("4433").unwrap();
        assert_eq!((s.host, s.port), (None, 4433));
        let s = ListenSpec::parse_accept("127.0.0.1:0").unwrap();
        assert_eq!((s.host.as_deref(), s.port), (Some("127.0.0.1"), 0));
        let s = ListenSpec::parse_accept("[::1]:80").unwrap();
        assert_eq!((s.host.as_deref(), s.port), (Some("::1"), 80));
        assert_eq!(ListenSpec::parse_accept("*:5").unwrap().host, None);
        assert!(ListenSpec::parse_accept("x:y").is_err());
        assert!(ListenSpec::parse_accept("70000").is_err());
    }

    #[test]
    fn accept_line_shows_address_only_for_port_zero() {
        let a: SocketAddr = "[::]:36551".parse().unwrap();
        assert_eq!(accept_line(0, a), "ACCEPT [::]:36551");
        assert_eq!(accept_line(4433, a), "ACCEPT");
        assert_eq!(accept_line(0, "0.0.0.0:5".parse().unwrap()), "ACCEPT 0.0.0.0:5");
    }

    #[test]
    fn shared_listeners_take_one_port_and_refuse_a_held_one() {
        let spec = ListenSpec {
            host: Some("127.0.0.1".into()),
            port: 0,
            ipv4_only: false,
            ipv6_only: false,
        };
        let group = bind_shared(&spec, 3).unwrap();
        assert_eq!(group.len(), 3);
        let port = group[0].local_addr().unwrap().port();
        assert!(group.iter().all(|l| l.local_addr().unwrap().port() == port));
        // Every listener of the group gets connections: connect until each has accepted one.
        for l in &group {
            l.set_nonblocking(true).unwrap();
        }
        let mut clients = Vec::new();
        let mut seen = [false; 3];
        for _ in 0..200 {
            clients.push(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
            for (i, l) in group.iter().enumerate() {
                if l.accept().is_ok() {
                    seen[i] = true;
                }
            }
            if seen.iter().all(|s| *s) {
                break;
            }
        }
        assert_eq!(seen, [true; 3], "the kernel spread no connection to some listener");
        // A second server on the same port is refused, as with a single listener.
        let again = ListenSpec { port, ..spec };
        assert_eq!(bind_shared(&again, 2).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn port_in_use_is_an_error() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let spec = ListenSpec {
            host: Some("127.0.0.1".into()),
            port,
            ipv4_only: false,
            ipv6_only: false,
        };
        assert_eq!(bind(&spec).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    }
}
