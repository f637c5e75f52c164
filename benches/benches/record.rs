//! The record path: the server seals (encrypts) and opens (decrypts) 1 KiB and 16 KiB records,
//! through a `sserve-engine` session and through a bare OpenSSL `SslStream` on the same
//! `SSL_CTX` (the baseline), in the same run. TLS 1.3 with `TLS_AES_128_GCM_SHA256`.
//!
//! * `seal`: `Session::send` + `poll_transmit` vs `ssl_write` + taking the pipe's output;
//! * `open`: `Session::handle_input` + `poll_event` vs pushing into the pipe + `ssl_read`. The
//!   client's encryption of each record happens in criterion's untimed batch setup.
//!
//! Ratios: `benches/ratios.py` (see `benches/RESULTS.md`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sserve_benches::{client_context, client_read_all, client_seal, server_config, EnginePair, KeyKind, RawPair};
use sserve_engine::{Instant, SessionOptions};

const SIZES: [usize; 2] = [1024, 16 * 1024];

fn seal(c: &mut Criterion) {
    let config = server_config(KeyKind::EcdsaP256);
    let ctx = client_context(true);
    let opts = Arc::new(SessionOptions::s_server());
    let mut g = c.benchmark_group("seal");
    for size in SIZES {
        let data = vec![b'x'; size];
        g.throughput(Throughput::Bytes(size as u64));

        let mut e = EnginePair::new(&config, &opts, &ctx);
        e.handshake();
        g.bench_with_input(BenchmarkId::new("engine", size), &data, |b, data| {
            b.iter(|| {
                e.server.send(data);
                while let Some(t) = e.server.poll_transmit() {
                    black_box(t);
                }
            })
        });

        let mut r = RawPair::new(&config, &ctx);
        r.handshake();
        g.bench_with_input(BenchmarkId::new("raw", size), &data, |b, data| {
            b.iter(|| {
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let n = r.server.ssl_write(rest).expect("write");
                    rest = &rest[n..];
                }
                let out = &mut r.server.get_mut().outgoing;
                black_box(&out[..]);
                out.clear();
            })
        });
    }
    g.finish();
}

fn open(c: &mut Criterion) {
    let config = server_config(KeyKind::EcdsaP256);
    let ctx = client_context(true);
    let opts = Arc::new(SessionOptions::s_server());
    let mut g = c.benchmark_group("open");
    for size in SIZES {
        let data = vec![b'y'; size];
        g.throughput(Throughput::Bytes(size as u64));

        let mut e = EnginePair::new(&config, &opts, &ctx);
        e.handshake();
        let mut sink = vec![0u8; 16 * 1024];
        // The client processes the server's session tickets once, outside the measurement.
        client_read_all(&mut e.client, &mut sink);
        let mut client = e.client;
        let mut server = e.server;
        g.bench_with_input(BenchmarkId::new("engine", size), &data, |b, data| {
            b.iter_batched(
                || client_seal(&mut client, data),
                |ct| {
                    server.handle_input(Instant::ZERO, &ct);
                    while let Some(t) = server.poll_transmit() {
                        black_box(t);
                    }
                    while let Some(ev) = server.poll_event() {
                        black_box(ev);
                    }
                },
                BatchSize::SmallInput,
            )
        });
        assert!(server.is_established(), "the engine closed during the benchmark");

        let mut r = RawPair::new(&config, &ctx);
        r.handshake();
        client_read_all(&mut r.client, &mut sink);
        let mut buf = vec![0u8; 16 * 1024];
        g.bench_with_input(BenchmarkId::new("raw", size), &data, |b, data| {
            b.iter_batched(
                || client_seal(&mut r.client, data),
                |ct| {
                    r.server.get_mut().push(&ct);
                    let mut got = 0;
                    while got < data.len() {
                        got += r.server.ssl_read(&mut buf).expect("read");
                    }
                    black_box(&buf);
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = seal, open
}
criterion_main!(benches);
