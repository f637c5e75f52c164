//! Half-open DTLS associations (a valid cookie came back, the handshake is not finished): they
//! hold no record buffers while waiting, their number is bounded with oldest-first eviction
//! that never touches an established association, and they are released at the handshake
//! timeout. Virtual time throughout (no retransmission is needed: the network is perfect).
#![cfg(feature = "openssl")]

mod dtls_common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use dtls_common::{dtls_config, Client};
use sserve_engine::dtls::ListenerLimits;
use sserve_engine::ossl::{DtlsListener, DtlsSettings};
use sserve_engine::{CloseReason, Duration, Event, Instant, SessionError, SessionOptions};

const MTU: usize = 1200;

fn listener(max_peers: usize, max_half_open: usize) -> DtlsListener {
    let opts = Arc::new(SessionOptions {
        handshake_timeout: Some(Duration::from_secs(10)),
        ..SessionOptions::s_server()
    });
    let settings = DtlsSettings {
        mtu: MTU,
        ..DtlsSettings::default()
    };
    let limits = ListenerLimits {
        max_peers,
        max_half_open,
        ..ListenerLimits::default()
    };
    dtls_config().dtls_listener(opts, settings, limits).unwrap()
}

fn addr(i: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 20000 + i))
}

/// Datagrams and events, each with its peer.
type Queued = (Vec<(SocketAddr, Bytes)>, Vec<(SocketAddr, Event)>);

/// Everything the server queued, by kind.
fn drain(server: &mut DtlsListener) -> Queued {
    let mut out = Vec::new();
    while let Some(t) = server.poll_transmit() {
        out.push((t.peer, t.data));
    }
    let mut events = Vec::new();
    while let Some(e) = server.poll_event() {
        events.push(e);
    }
    (out, events)
}

/// A client that does the cookie round trip, receives the server's first flight and then goes
/// silent (its answer is never delivered).
fn half_open(server: &mut DtlsListener, peer: SocketAddr, now: Instant) -> Vec<(SocketAddr, Event)> {
    let mut client = Client::new(MTU as u32, Duration::from_secs(1));
    let hello = client.step();
    server.handle(now, peer, &hello[0]);
    let (hvr, _) = drain(server);
    assert_eq!(hvr.len(), 1, "one HelloVerifyRequest");
    let with_cookie = client.input(&hvr[0].1);
    server.handle(now, peer, &with_cookie[0]);
    let (flight, events) = drain(server);
    assert!(
        flight.iter().all(|(p, _)| *p == peer) && !flight.is_empty(),
        "the server's flight"
    );
    events
}

/// A client that completes the handshake (every datagram delivered at `now`).
fn established(server: &mut DtlsListener, peer: SocketAddr, now: Instant) -> Client {
    let mut client = Client::new(MTU as u32, Duration::from_secs(1));
    let mut to_server = client.step();
    for _ in 0..20 {
        for d in to_server.drain(..) {
            server.handle(now, peer, &d);
        }
        let (out, _) = drain(server);
        if out.is_empty() {
            break;
        }
        for (_, d) in out {
            to_server.extend(client.input(&d));
        }
    }
    assert!(client.done, "client handshake: {:?}", client.failed);
    client
}

fn is_eviction(e: &Event) -> bool {
    matches!(e, Event::Closed(CloseReason::Error(SessionError::HalfOpenEvicted)))
}

#[test]
fn half_open_associations_hold_no_record_buffers() {
    let mut server = listener(16, 8);
    half_open(&mut server, addr(1), Instant::ZERO);
    let s = server.peer(&addr(1)).expect("an association");
    assert!(!s.is_established());
    assert!(
        s.session().tls().record_buffers_released(),
        "buffers kept while waiting for the peer"
    );
    assert_eq!(server.half_open_count(), 1);
}

#[test]
fn oldest_half_open_is_evicted_and_established_ones_never_are() {
    let mut server = listener(16, 3);
    let t = |ms| Instant::from_millis(ms);
    // One established association first: it is never a candidate.
    let _client = established(&mut server, addr(100), t(1));
    assert!(server.peer(&addr(100)).is_some_and(|s| s.is_established()));
    assert_eq!(server.half_open_count(), 0);

    for i in 0..3 {
        half_open(&mut server, addr(i), t(10 + u64::from(i)));
    }
    assert_eq!((server.peer_count(), server.half_open_count()), (4, 3));

    // The fourth and fifth half-open peers push out the two oldest, in order.
    for (i, victim) in [(3, 0), (4, 1)] {
        let events = half_open(&mut server, addr(i), t(20 + u64::from(i)));
        let evicted: Vec<SocketAddr> = events.iter().filter(|(_, e)| is_eviction(e)).map(|(p, _)| *p).collect();
        assert_eq!(evicted, vec![addr(victim)], "{events:?}");
        assert!(server.peer(&addr(victim)).is_none());
        assert!(events
            .iter()
            .any(|(p, e)| *p == addr(i) && *e == Event::DatagramAccepted));
    }
    assert_eq!(server.stats().evicted, 2);
    assert_eq!(server.half_open_count(), 3);
    assert!(server.peer(&addr(100)).is_some_and(|s| s.is_established()));
    for i in 2..5 {
        assert!(server.peer(&addr(i)).is_some(), "peer {i} kept");
    }

    // A half-open peer that finishes its handshake stops counting as half-open.
    let _late = established(&mut server, addr(200), t(30));
    assert_eq!(
        server.stats().evicted,
        3,
        "making room for the new handshake evicted peer 2"
    );
    assert_eq!(server.half_open_count(), 2);
    assert!(server.peer(&addr(200)).is_some_and(|s| s.is_established()));
}

#[test]
fn a_full_table_makes_room_by_evicting_half_open_not_established() {
    // Two slots: one established, one half-open; a third peer takes the half-open one's place.
    let mut server = listener(2, 2);
    let _client = established(&mut server, addr(1), Instant::ZERO);
    half_open(&mut server, addr(2), Instant::ZERO);
    let events = half_open(&mut server, addr(3), Instant::ZERO);
    assert!(
        events.iter().any(|(p, e)| *p == addr(2) && is_eviction(e)),
        "{events:?}"
    );
    assert_eq!(server.peer_count(), 2);
    assert!(server.peer(&addr(1)).is_some() && server.peer(&addr(3)).is_some());

    // With only established associations the table is full: a new ClientHello gets nothing.
    let _other = established(&mut server, addr(4), Instant::ZERO);
    assert!(server.peer(&addr(3)).is_none(), "half-open peer 3 made room for peer 4");
    let hello = Client::new(MTU as u32, Duration::from_secs(1)).step();
    server.handle(Instant::ZERO, addr(5), &hello[0]);
    assert!(server.poll_transmit().is_none());
    assert_eq!(server.peer_count(), 2);
}

#[test]
fn half_open_associations_are_released_at_the_handshake_timeout() {
    let mut server = listener(64, 16);
    let _client = established(&mut server, addr(100), Instant::ZERO);
    for i in 0..10 {
        half_open(&mut server, addr(i), Instant::from_millis(u64::from(i)));
    }
    assert_eq!(server.half_open_count(), 10);
    // Nothing expires before the handshake timeout...
    server.handle_timeout(Instant::from_millis(9_000));
    let _ = drain(&mut server);
    assert_eq!(server.half_open_count(), 10);
    // ...and everything half-open has by then, with a close event each.
    let end = Instant::from_millis(10_000 + 10);
    let mut closed = Vec::new();
    while let Some(t) = server.poll_timeout().filter(|t| *t <= end) {
        server.handle_timeout(t);
        let (_, events) = drain(&mut server);
        closed.extend(
            events
                .into_iter()
                .filter(|(_, e)| matches!(e, Event::Closed(CloseReason::Error(SessionError::HandshakeTimeout)))),
        );
    }
    assert_eq!(closed.len(), 10, "{closed:?}");
    assert_eq!(server.half_open_count(), 0);
    assert_eq!(server.peer_count(), 1, "the established association stays");
    assert_eq!(server.stats().evicted, 0);
}
