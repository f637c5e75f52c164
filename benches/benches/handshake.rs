//! Full TLS 1.3 handshakes (client and server, in memory), engine vs a bare OpenSSL server on the
//! same `SSL_CTX`, with an ECDSA P-256 and an RSA-2048 certificate. Each iteration creates both
//! connections and runs the handshake to completion; the client's share of the work is the same
//! on both sides (ratios: `benches/ratios.py`).
//!
//! Resumed handshakes are not measured here: the `openssl` crate's `SslRef::set_session` is
//! `unsafe`, and the workspace denies `unsafe_code` outside the engine's OpenSSL module. They are
//! measured at the process level instead, against s_server: `RESUME=1 benches/handshake_ir.sh`
//! (server instructions per resumed connection) and `benches/ab.sh` (`resumed_hs`).

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sserve_benches::{client_context, server_config, EnginePair, KeyKind, RawPair};
use sserve_engine::SessionOptions;

fn handshake(c: &mut Criterion) {
    let ctx = client_context(false);
    let opts = Arc::new(SessionOptions::s_server());
    let mut g = c.benchmark_group("handshake");
    for kind in [KeyKind::EcdsaP256, KeyKind::Rsa2048] {
        let config = server_config(kind);
        g.bench_function(BenchmarkId::new("engine", kind.label()), |b| {
            b.iter(|| {
                let mut p = EnginePair::new(&config, &opts, &ctx);
                p.handshake();
                p
            })
        });
        g.bench_function(BenchmarkId::new("raw", kind.label()), |b| {
            b.iter(|| {
                let mut p = RawPair::new(&config, &ctx);
                p.handshake();
                p
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = handshake
}
criterion_main!(benches);
