//! Deterministic simulation of many concurrent connections over a seeded virtual network and
//! clock (see `sim/mod.rs`). Replay one seed with `SSERVE_SIM_SEED=<n>`.
#![cfg(feature = "openssl")]

mod common;
mod sim;

use std::sync::{Arc, OnceLock};

use sim::*;
use sserve_engine::{Duration, Event, Instant, ServerConfig};

/// Seeds run by [`many_seeds`].
const SEEDS: u64 = 300;

fn config() -> &'static Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(common::default_config)
}

/// Runs `seeds` on all cores; returns the outcomes in seed order.
fn run_all(seeds: &[u64]) -> Vec<Outcome> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(seeds.len().max(1));
    let mut out: Vec<(u64, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                s.spawn(move || {
                    seeds
                        .iter()
                        .skip(w)
                        .step_by(workers)
                        .map(|&seed| (seed, run_checked(config(), seed)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    out.sort_by_key(|(seed, _)| *seed);
    out.into_iter().map(|(_, o)| o).collect()
}

#[test]
fn many_seeds() {
    let seeds = seeds_from_env(0..SEEDS);
    let outcomes = run_all(&seeds);
    if seeds.len() == 1 {
        println!("{}", outcomes[0].trace_text());
        return;
    }
    // The seeds cover what they are meant to cover.
    let scenarios: Vec<&Scenario> = outcomes.iter().flat_map(|o| &o.scenarios).collect();
    let count = |f: &dyn Fn(&Scenario) -> bool| scenarios.iter().filter(|s| f(s)).count();
    for app in [
        App::Console,
        App::Rev,
        App::Files,
        App::Status,
        App::Silent,
        App::Stalled,
    ] {
        assert!(count(&|s| s.app == app) >= 20, "{app:?} is rare");
    }
    assert!(count(&|s| s.tls13) >= 200 && count(&|s| !s.tls13) >= 200);
    let has = |step: &[u8]| count(&|s| s.server.contains(&ServerStep::Console(step.to_vec())));
    assert!(has(b"k\n") >= 20 && has(b"K\n") >= 20 && has(b"r\n") >= 20 && has(b"S\n") >= 20);
    let conns: usize = outcomes.iter().map(|o| o.trace.len()).sum();
    println!("{} seeds, {conns} connections", outcomes.len());
}

#[test]
fn same_seed_same_trace() {
    let seeds = seeds_from_env([1, 2, 3, 42, 1234, 65_537]);
    let doubled: Vec<u64> = seeds.iter().flat_map(|&s| [s, s]).collect();
    let outcomes = run_all(&doubled);
    for pair in outcomes.chunks(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(
            a.trace_text(),
            b.trace_text(),
            "seed {} is not deterministic; replay with {SEED_ENV}={}",
            a.seed,
            a.seed
        );
    }
    // Different seeds, different schedules (and different scenarios).
    for (i, a) in outcomes.iter().step_by(2).enumerate() {
        for b in outcomes.iter().step_by(2).skip(i + 1) {
            assert_ne!(
                a.schedule, b.schedule,
                "seeds {} and {} share a schedule",
                a.seed, b.seed
            );
            assert_ne!(a.trace, b.trace, "seeds {} and {} share a trace", a.seed, b.seed);
        }
    }
}

/// A silent client among busy ones: closed by the handshake timeout, at the deadline, while the
/// others finish long before.
#[test]
fn silent_client_times_out_without_delaying_others() {
    let seed = 7;
    let mut scenarios: Vec<Scenario> = (0..6).map(|i| Scenario::random(seed, i, App::Console)).collect();
    scenarios.push(Scenario::random(seed, 6, App::Silent));
    scenarios.push(Scenario::random(seed, 7, App::Stalled));
    scenarios.push(Scenario::random(seed, 8, App::Files));
    let outcome = Sim::new(config(), seed, scenarios, &NetemConfig::stream()).run();
    outcome
        .check()
        .unwrap_or_else(|e| panic!("{e}\n{}", outcome.trace_text()));
    for i in [6, 7] {
        let s = &outcome.scenarios[i];
        assert_eq!(outcome.closed_at[i], Some(s.start + HANDSHAKE_TIMEOUT));
        assert_eq!(
            outcome.events[i].iter().map(render_event).collect::<Vec<_>>(),
            ["Closed(Error(HandshakeTimeout))"]
        );
    }
    let busy_end = (0..6)
        .chain([8])
        .map(|i| outcome.last_activity[i])
        .max()
        .unwrap_or(Instant::ZERO);
    assert!(
        busy_end.as_micros() < HANDSHAKE_TIMEOUT.as_micros() / 2,
        "the others took until {} µs",
        busy_end.as_micros()
    );
}

/// The trace is about the conversation, not the schedule: the same scenarios over a slower,
/// choppier network give the same trace.
#[test]
fn trace_does_not_depend_on_the_network() {
    for seed in seeds_from_env([5, 11, 23]) {
        let fast = Sim::new(config(), seed, random_scenarios(seed), &NetemConfig::stream()).run();
        let slow_net = NetemConfig {
            max_delay: sserve_engine::Duration::from_millis(150),
            max_pieces: 12,
            ..NetemConfig::stream()
        };
        let slow = Sim::new(config(), seed, random_scenarios(seed), &slow_net).run();
        fast.check().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        slow.check().unwrap_or_else(|e| panic!("seed {seed} (slow): {e}"));
        assert_ne!(fast.schedule, slow.schedule);
        assert_eq!(fast.trace_text(), slow.trace_text(), "seed {seed}");
    }
}

#[test]
fn stream_link_keeps_order_and_bytes() {
    for seed in 0..50 {
        let mut link = Netem::new(NetemConfig::stream(), Rng::derive(seed, &[9]));
        let mut r = Rng::new(seed);
        let mut sent = Vec::new();
        let mut got = Vec::new();
        let mut now = Instant::ZERO;
        for i in 0..20u64 {
            let n = r.index(300);
            let data = r.bytes(n);
            sent.extend_from_slice(&data);
            link.send(now, &data);
            now = Instant::from_millis(i * 3);
            while let Some(d) = link.poll_deliver(now) {
                got.extend(d);
            }
        }
        while let Some(t) = link.next_event_time() {
            assert!(t >= now || got.len() < sent.len());
            now = now.max(t);
            while let Some(d) = link.poll_deliver(now) {
                got.extend(d);
            }
        }
        assert_eq!(got, sent, "seed {seed}");
        assert!(link.delivered.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(link.delivered.len() > 20, "writes are cut into pieces");
    }
}

#[test]
fn datagram_link_reorders_drops_and_duplicates() {
    let config = NetemConfig {
        loss_permille: 100,
        duplicate_permille: 100,
        ..NetemConfig::datagram()
    };
    let run = |seed: u64| {
        let mut link = Netem::new(config.clone(), Rng::derive(seed, &[9]));
        for i in 0..200u16 {
            link.send(Instant::from_millis(u64::from(i)), &i.to_be_bytes());
        }
        let mut got = Vec::new();
        while let Some(t) = link.next_event_time() {
            while let Some(d) = link.poll_deliver(t) {
                got.push(u16::from_be_bytes([d[0], d[1]]));
            }
        }
        (got, link.lost, link.duplicated)
    };
    let (got, lost, duplicated) = run(3);
    assert_eq!(run(3), (got.clone(), lost, duplicated), "same seed, same deliveries");
    assert_ne!(run(4).0, got);
    assert!(lost > 0 && duplicated > 0, "lost {lost}, duplicated {duplicated}");
    assert_eq!(got.len(), 200 - lost + duplicated);
    assert!(got.windows(2).any(|w| w[0] > w[1]), "datagrams reorder");
    let mut unique = got.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 200 - lost);
}

/// Datagram mode never cuts a write.
#[test]
fn datagram_link_keeps_datagrams_whole() {
    let mut link = Netem::new(NetemConfig::datagram(), Rng::new(1));
    link.send(Instant::ZERO, &[7u8; 1500]);
    let t = link.next_event_time().expect("in flight");
    assert_eq!(link.poll_deliver(t).map(|d| d.len()), Some(1500));
    assert!(link.is_idle());
}

/// The trace names the connection, its mode and version, and the negotiated protocol.
#[test]
fn trace_format() {
    let seed = 99;
    let outcome = Sim::new(
        config(),
        seed,
        vec![Scenario::random(seed, 0, App::Rev)],
        &NetemConfig::stream(),
    )
    .run();
    outcome.check().unwrap_or_else(|e| panic!("{e}"));
    let t = outcome.trace_text();
    assert!(t.starts_with("seed 99\nconn 0 Rev tls1."), "{t}");
    assert!(t.contains("HandshakeComplete(TLSv1."), "{t}");
    assert!(outcome.events[0].iter().any(|e| matches!(e, Event::Closed(_))));
}

/// A client that stops reading a download: the server's writes block on the full transport,
/// and the session closes at exactly the default send timeout after the first blocked write,
/// while the others finish as usual. The same seed gives the same trace.
#[test]
fn stalled_reader_is_closed_at_the_send_timeout() {
    for seed in seeds_from_env([3, 11, 29]) {
        let scenarios = || -> Vec<Scenario> {
            let mut v: Vec<Scenario> = (0..4).map(|i| Scenario::random(seed, i, App::Console)).collect();
            v.push(Scenario::random(seed, 4, App::StopsReading));
            v.push(Scenario::random(seed, 5, App::Files));
            v
        };
        let outcome = Sim::new(config(), seed, scenarios(), &NetemConfig::stream()).run();
        outcome
            .check()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", outcome.trace_text()));
        let blocked = outcome.blocked_at[4].expect("blocked");
        assert_eq!(outcome.closed_at[4], Some(blocked + SEND_TIMEOUT));
        let again = Sim::new(config(), seed, scenarios(), &NetemConfig::stream()).run();
        assert_eq!(outcome.trace, again.trace, "seed {seed}: not deterministic");
    }
}

/// SIGINT/SIGTERM in the middle of a run: every session still open ends at that instant with a
/// local close, an established one sends close_notify (its client sees a clean close), nobody
/// gets bytes that were not meant for it, and connections not yet accepted never start.
#[test]
fn signal_shutdown_closes_every_session_at_once() {
    for seed in seeds_from_env(0..40) {
        let mut r = Rng::derive(seed, &[9]);
        let at = Instant::ZERO + r.duration(Duration::ZERO, Duration::from_millis(150), Duration::from_millis(1));
        let run = || Sim::from_seed(config(), seed).with_shutdown_at(at).run();
        let outcome = run();
        let ctx = || {
            format!(
                "seed {seed}, shutdown at {} µs\n{}",
                at.as_micros(),
                outcome.trace_text()
            )
        };
        for (i, s) in outcome.scenarios.iter().enumerate() {
            let events = &outcome.events[i];
            if s.start > at {
                assert!(events.is_empty(), "conn {i} started after the shutdown: {}", ctx());
                continue;
            }
            let closed = outcome.closed_at[i].unwrap_or_else(|| panic!("conn {i} never closed: {}", ctx()));
            assert!(closed <= at, "conn {i} closed at {} µs: {}", closed.as_micros(), ctx());
            assert!(matches!(events.last(), Some(Event::Closed(_))), "conn {i}: {}", ctx());
            let established = events.iter().any(|e| matches!(e, Event::HandshakeComplete(_)));
            // OpenSSL refuses SSL_shutdown while a renegotiation is under way (s_server too):
            // such a client sees the transport end instead.
            let renegotiating = events
                .iter()
                .any(|e| matches!(e, Event::CommandDone { command, result: Some(1), .. } if matches!(command.letter(), 'r' | 'R')));
            if closed == at && established && !renegotiating && s.app != App::Silent && s.app != App::Stalled {
                assert!(
                    outcome.client_closed[i] || outcome.client_error[i].is_some(),
                    "conn {i}: the client saw no close_notify: {}",
                    ctx()
                );
            }
            if let Some(want) = s.expected_client_plaintext() {
                let got = &outcome.client_plaintext[i];
                assert!(
                    want.starts_with(got),
                    "conn {i}: the client got bytes not meant for it: {}",
                    ctx()
                );
            }
        }
        assert_eq!(outcome.trace, run().trace, "seed {seed}: not deterministic");
    }
}
