//! Opens (or seals) N records through the engine or the raw OpenSSL baseline, for instruction
//! counting under `valgrind --tool=callgrind` (noise-free, unlike wall time on a shared VM):
//! `benches/record_ir.sh` runs it and prints instructions per record, engine / raw.
//!
//! Usage: `record_profile <engine|raw|raw-kept> <open|seal> <size> <records>`; `raw` is an
//! `SSL` of the engine's server context (which frees its record buffers after each record),
//! `raw-kept` one of a plain context, which keeps them (as s_server's). Client-side encryption for
//! `open` happens before the measured loop, and the measured loop is the function
//! `measured`, so callgrind's `--toggle-collect=*measured*` counts only the server's work.

use std::hint::black_box;
use std::sync::Arc;

use sserve_benches::{
    client_context, client_read_all, client_seal, measured, plain_server_context, server_config, EnginePair, KeyKind,
    RawPair,
};
use sserve_engine::{Instant, SessionOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: record_profile <engine|raw|raw-kept> <open|seal> <size> <records>";
    let (side, op) = (args.get(1).expect(usage).as_str(), args.get(2).expect(usage).as_str());
    let size: usize = args.get(3).and_then(|s| s.parse().ok()).expect(usage);
    let n: usize = args.get(4).and_then(|s| s.parse().ok()).expect(usage);
    let config = server_config(KeyKind::EcdsaP256);
    let kept = side == "raw-kept";
    let raw_pair = |ctx: &openssl::ssl::SslContext| match kept {
        true => RawPair::on(&plain_server_context(KeyKind::EcdsaP256), ctx),
        false => RawPair::new(&config, ctx),
    };
    let side = if kept { "raw" } else { side };
    let ctx = client_context(true);
    let opts = Arc::new(SessionOptions::s_server());
    let data = vec![b'y'; size];
    let mut sink = vec![0u8; 16 * 1024];
    match (side, op) {
        ("engine", "open") => {
            let mut e = EnginePair::new(&config, &opts, &ctx);
            e.handshake();
            client_read_all(&mut e.client, &mut sink);
            let records: Vec<Vec<u8>> = (0..n).map(|_| client_seal(&mut e.client, &data)).collect();
            let server = &mut e.server;
            measured(&mut || {
                for ct in &records {
                    server.handle_input(Instant::ZERO, ct);
                    while let Some(t) = server.poll_transmit() {
                        black_box(t);
                    }
                    while let Some(ev) = server.poll_event() {
                        black_box(ev);
                    }
                }
            });
            assert!(server.is_established());
        }
        ("raw", "open") => {
            let mut r = raw_pair(&ctx);
            r.handshake();
            client_read_all(&mut r.client, &mut sink);
            let records: Vec<Vec<u8>> = (0..n).map(|_| client_seal(&mut r.client, &data)).collect();
            let mut buf = vec![0u8; 16 * 1024];
            let server = &mut r.server;
            measured(&mut || {
                for ct in &records {
                    server.get_mut().push(ct);
                    let mut got = 0;
                    while got < size {
                        got += server.ssl_read(&mut buf).expect("read");
                    }
                    black_box(&buf);
                }
            });
        }
        ("engine", "seal") => {
            let mut e = EnginePair::new(&config, &opts, &ctx);
            e.handshake();
            let server = &mut e.server;
            measured(&mut || {
                for _ in 0..n {
                    server.send(&data);
                    while let Some(t) = server.poll_transmit() {
                        black_box(t);
                    }
                }
            });
        }
        ("raw", "seal") => {
            let mut r = raw_pair(&ctx);
            r.handshake();
            let server = &mut r.server;
            measured(&mut || {
                for _ in 0..n {
                    let mut rest = &data[..];
                    while !rest.is_empty() {
                        rest = &rest[server.ssl_write(rest).expect("write")..];
                    }
                    let out = &mut server.get_mut().outgoing;
                    black_box(&out[..]);
                    out.clear();
                }
            });
        }
        _ => panic!("{usage}"),
    }
}
