//! DTLS listener and sessions over a perfect in-memory network: handshake, data both ways in
//! console mode and `-rev`, datagram sizes, stateless cookies under a flood, cookie replay.
#![cfg(feature = "openssl")]

mod dtls_common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use dtls_common::{dtls_config, Client};
use sserve_engine::dtls::ListenerLimits;
use sserve_engine::ossl::{DtlsListener, DtlsSettings};
use sserve_engine::{AppMode, Duration, Event, Instant, SessionOptions};

fn listener(mode: AppMode, mtu: usize) -> DtlsListener {
    let opts = Arc::new(SessionOptions {
        mode,
        ..SessionOptions::s_server()
    });
    let settings = DtlsSettings {
        mtu,
        ..DtlsSettings::default()
    };
    dtls_config()
        .dtls_listener(opts, settings, ListenerLimits::default())
        .unwrap()
}

fn addr(i: u32) -> SocketAddr {
    SocketAddr::from((
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        40000 + (i % 1000) as u16,
    ))
}

/// Runs the exchange to quiescence over a lossless network; returns server events.
fn pump(
    server: &mut DtlsListener,
    client: &mut Client,
    peer: SocketAddr,
    mut to_server: Vec<Bytes>,
    mtu: usize,
) -> Vec<Event> {
    let mut events = Vec::new();
    for _ in 0..100 {
        let now = Instant::from_millis(1);
        for d in to_server.drain(..) {
            server.handle(now, peer, &d);
        }
        let mut to_client = Vec::new();
        while let Some(t) = server.poll_transmit() {
            assert_eq!(t.peer, peer);
            assert!(
                t.data.len() <= mtu,
                "datagram of {} bytes above the MTU {mtu}",
                t.data.len()
            );
            to_client.push(t.data);
        }
        while let Some((p, e)) = server.poll_event() {
            assert_eq!(p, peer);
            events.push(e);
        }
        if to_client.is_empty() {
            break;
        }
        for d in to_client {
            to_server.extend(client.input(&d));
        }
    }
    events
}

#[test]
fn console_mode_exchanges_data_both_ways() {
    let mtu = 600;
    let mut server = listener(AppMode::Console, mtu);
    let mut client = Client::new(mtu as u32, Duration::from_secs(1));
    let peer = addr(1);
    let first = client.step();
    let events = pump(&mut server, &mut client, peer, first, mtu);
    assert!(client.done, "client handshake: {:?}", client.failed);
    assert!(server.stats().hello_verify_requests >= 1);
    assert!(
        events.iter().any(|e| matches!(e, Event::HandshakeComplete(_))),
        "{events:?}"
    );
    assert_eq!(server.peer_count(), 1);

    let hello = client.write(b"hello server\n");
    let events = pump(&mut server, &mut client, peer, hello, mtu);
    assert!(
        events.contains(&Event::Plaintext(Bytes::from_static(b"hello server\n"))),
        "{events:?}"
    );

    // A console line bigger than the MTU is cut into records that each fit one datagram.
    let big = vec![b'x'; 3000];
    server.console_input(&big);
    pump(&mut server, &mut client, peer, Vec::new(), mtu);
    let got: Vec<u8> = client.received.concat();
    assert_eq!(got, big);
    assert!(client.received.len() >= 6);

    // `q` closes the association with close_notify; the peer entry goes away.
    server.console_input(b"q\n");
    let events = pump(&mut server, &mut client, peer, Vec::new(), mtu);
    assert!(events.iter().any(|e| matches!(e, Event::Closed(_))), "{events:?}");
    assert_eq!(server.peer_count(), 0);
}

#[test]
fn rev_mode_over_dtls() {
    let mtu = 1200;
    let mut server = listener(AppMode::Rev, mtu);
    let mut client = Client::new(mtu as u32, Duration::from_secs(1));
    let peer = addr(2);
    let first = client.step();
    pump(&mut server, &mut client, peer, first, mtu);
    assert!(client.done);
    let d = client.write(b"abc\n");
    pump(&mut server, &mut client, peer, d, mtu);
    assert_eq!(client.received, vec![b"cba\n".to_vec()]);
}

#[test]
fn flood_of_cookieless_client_hellos_creates_no_state() {
    let mut server = listener(AppMode::Console, 1200);
    // One real ClientHello, replayed from 10,000 spoofed addresses.
    let hello = Client::new(1200, Duration::from_secs(1)).step().remove(0);
    for i in 0..10_000 {
        server.handle(Instant::ZERO, addr(i), &hello);
        assert_eq!(server.peer_count(), 0);
        let t = server.poll_transmit().expect("a HelloVerifyRequest");
        assert_eq!(t.peer, addr(i));
        assert!(server.poll_transmit().is_none());
    }
    assert_eq!(server.stats().hello_verify_requests, 10_000);
    assert_eq!(server.peer_count(), 0);
    assert!(server.poll_timeout().is_none());
}

#[test]
fn cookie_replayed_from_another_address_is_refused() {
    let mut server = listener(AppMode::Console, 1200);
    let mut client = Client::new(1200, Duration::from_secs(1));
    let (good, evil) = (addr(7), addr(8));
    let hello = client.step();
    server.handle(Instant::ZERO, good, &hello[0]);
    let hvr = server.poll_transmit().unwrap();
    let with_cookie = client.input(&hvr.data);
    assert_eq!(with_cookie.len(), 1);
    // The ClientHello carrying good's cookie, sent from another address: a new HVR, no state.
    server.handle(Instant::ZERO, evil, &with_cookie[0]);
    assert_eq!(server.peer_count(), 0);
    let t = server.poll_transmit().unwrap();
    assert_eq!(t.peer, evil);
    assert_eq!(t.data[13], 3, "a HelloVerifyRequest");
    // From the right address it is accepted.
    server.handle(Instant::ZERO, good, &with_cookie[0]);
    assert_eq!(server.peer_count(), 1);
    assert_eq!(server.stats().accepted, 1);
}

#[test]
fn naccept_counts_associations_and_idle_peers_expire() {
    let opts = Arc::new(SessionOptions::s_server());
    let limits = ListenerLimits {
        naccept: Some(1),
        peer_idle_timeout: Duration::from_secs(5),
        ..ListenerLimits::default()
    };
    let mut server = dtls_config()
        .dtls_listener(opts, DtlsSettings::default(), limits)
        .unwrap();
    let mtu = DtlsSettings::default().mtu;
    let mut client = Client::new(mtu as u32, Duration::from_secs(1));
    let peer = addr(9);
    let first = client.step();
    pump(&mut server, &mut client, peer, first, mtu);
    assert!(client.done);
    assert!(!server.is_accepting());
    // A second client gets no answer at all.
    let other = Client::new(mtu as u32, Duration::from_secs(1)).step();
    server.handle(Instant::ZERO, addr(10), &other[0]);
    assert!(server.poll_transmit().is_none());
    // The silent first peer expires.
    let deadline = server.poll_timeout().expect("idle deadline");
    assert!(deadline <= Instant::from_millis(1) + Duration::from_secs(5));
    server.handle_timeout(deadline);
    while server.poll_transmit().is_some() {}
    assert_eq!(server.peer_count(), 0);
    assert!(server.is_finished() || server.poll_event().is_some());
}
