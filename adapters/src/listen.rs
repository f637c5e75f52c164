//! `-accept [host:]port`, `-port`, `-4`, `-6`: which address to listen on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

/// Pending-connection queue length: s_server's (`BIO_listen` asks for `SOMAXCONN`, 4096 in
/// Linux 5.4 and later and in glibc's headers; the kernel caps it at `net.core.somaxconn`). With
/// std's 128, a burst of connections overflows the queue while the loops are busy, and the
/// kernel drops the SYNs that do not fit: those clients wait a second for their retransmission.
const LISTEN_BACKLOG: i32 = 4096;

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

/// Has each listener of a [`bind_shared`] group take the connections whose packets arrive on
/// one CPU (`SO_INCOMING_CPU`): listener `i` those of the `i`-th CPU this process may run on.
/// Linux 6.2 and later choose the listener within a `SO_REUSEPORT` group by it (older kernels
/// ignore it and keep spreading by hash). Over loopback a connection's packets arrive on its
/// client's CPU, so one client connecting again and again always meets the same loop, whose
/// heap and code are warm, while clients on other CPUs still meet other loops; from a network
/// card they arrive where its receive queues hash them. Connections from a CPU with no
/// listener of its own are spread by hash. A group larger than the CPUs available is left
/// as it is: steered listeners would starve the rest. Returns whether the group is steered.
pub fn steer_by_cpu(group: &[TcpListener]) -> io::Result<bool> {
    let cpus = allowed_cpus().unwrap_or_default();
    if group.len() < 2 || group.len() > cpus.len() {
        return Ok(false);
    }
    for (listener, cpu) in group.iter().zip(cpus) {
        set_incoming_cpu(listener, cpu)?;
    }
    Ok(true)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_incoming_cpu(listener: &TcpListener, cpu: usize) -> io::Result<()> {
    socket2::SockRef::from(listener).set_cpu_affinity(cpu)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_incoming_cpu(_listener: &TcpListener, _cpu: usize) -> io::Result<()> {
    Ok(())
}

/// The CPUs [`steer_by_cpu`] gives a group's listeners, in listener order (listener `i` takes
/// the connections arriving on the `i`-th), where the kernel honours the steering (Linux 6.2 or
/// later) and this process may run on two CPUs or more; `None` where connections are spread by
/// hash anyway.
pub fn steering_cpus() -> Option<Vec<usize>> {
    let cpus = allowed_cpus().filter(|c| c.len() >= 2)?;
    kernel_at_least(6, 2).then_some(cpus)
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

/// The CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`).
fn allowed_cpus() -> Option<Vec<usize>> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    parse_cpu_list(list.trim())
}

/// A kernel CPU list (`0-3,8,10-11`), in order.
fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        let (first, last): (usize, usize) = match part.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let cpu = part.parse().ok()?;
                (cpu, cpu)
            }
        };
        // A list longer than any machine's is not one.
        if last < first || last - first > 1 << 16 {
            return None;
        }
        cpus.extend(first..=last);
    }
    Some(cpus)
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

    fn loopback(port: u16) -> ListenSpec {
        ListenSpec {
            host: Some("127.0.0.1".into()),
            port,
            ipv4_only: false,
            ipv6_only: false,
        }
    }

    #[test]
    fn shared_listeners_take_one_port_and_refuse_a_held_one() {
        let spec = loopback(0);
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
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0-2,8,10-11"), Some(vec![0, 1, 2, 8, 10, 11]));
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list(""), None);
    }

    /// The CPU the calling thread last ran on (`processor`, field 39 of its `stat`).
    fn current_cpu() -> usize {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = stat.rsplit_once(')').unwrap().1;
        after_name.split_whitespace().nth(36).unwrap().parse().unwrap()
    }

    #[test]
    fn steered_listeners_take_the_connections_of_their_cpu() {
        let Some(cpus) = steering_cpus() else {
            eprintln!("skipped: needs two CPUs and Linux 6.2 (SO_INCOMING_CPU in SO_REUSEPORT groups)");
            return;
        };
        let spec = loopback(0);
        let group = bind_shared(&spec, 2).unwrap();
        assert!(steer_by_cpu(&group).unwrap());
        assert!(
            !steer_by_cpu(&bind_shared(&spec, cpus.len() + 1).unwrap()).unwrap(),
            "more listeners than CPUs"
        );
        let port = group[0].local_addr().unwrap().port();
        for l in &group {
            l.set_nonblocking(true).unwrap();
        }
        // Connections whose thread stayed on one CPU while connecting must land on its listener.
        let mut checked = 0;
        for _ in 0..200 {
            let before = current_cpu();
            let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let after = current_cpu();
            let mut taken = None;
            for _ in 0..100 {
                taken = group.iter().position(|l| l.accept().is_ok());
                if taken.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let taken = taken.expect("a listener accepted the connection");
            drop(client);
            if before == after && cpus[..2].contains(&before) {
                assert_eq!(
                    cpus[taken], before,
                    "connection from CPU {before} went to listener {taken}"
                );
                checked += 1;
                if checked == 20 {
                    break;
                }
            }
        }
        assert!(checked >= 5, "too few connections made without a CPU change: {checked}");
    }

    #[test]
    fn a_burst_of_connections_waits_in_the_backlog() {
        // More clients than std's backlog of 128 connect before the server accepts any: each
        // must complete its TCP handshake at once (a dropped SYN waits a second to be resent).
        let burst = 300;
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if somaxconn < burst {
            eprintln!("skipped: net.core.somaxconn is {somaxconn}, below the burst of {burst}");
            return;
        }
        let listener = bind(&loopback(0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..burst)
            .map(|i| {
                std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500))
                    .unwrap_or_else(|e| panic!("connection {i} of a burst of {burst} not taken: {e}"))
            })
            .collect();
        listener.set_nonblocking(true).unwrap();
        let accepted = std::iter::from_fn(|| listener.accept().ok()).count();
        assert_eq!(accepted, clients.len());
    }

    #[test]
    fn port_in_use_is_an_error() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        assert_eq!(bind(&loopback(port)).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    }
}
