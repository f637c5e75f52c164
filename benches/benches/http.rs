//! The `-www`/`-WWW` request scanner: `LineBuffer` + `classify_line` over a curl-style request,
//! delivered whole and byte by byte, and `validate_path` alone. No baseline: s_server's scanner
//! is `BIO_gets` plus `strncmp`, which is not separable from its I/O loop.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sserve_engine::http::{classify_line, validate_path, Request, WebMode};
use sserve_engine::line::LineBuffer;

const REQUEST: &[u8] = b"GET /sub/dir/index.html HTTP/1.1\r\nHost: localhost:4433\r\nUser-Agent: curl/8.5.0\r\n\
Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n";

fn scan(chunks: &mut dyn Iterator<Item = &[u8]>) -> Option<Request> {
    let mut lb = LineBuffer::new();
    let mut found = None;
    for c in chunks {
        lb.push(c, |line| match classify_line(WebMode::Files, line) {
            Request::Ignore => true,
            r => {
                found = Some(r);
                false
            }
        });
        if found.is_some() {
            break;
        }
    }
    found
}

/// Headers first, so the scanner has to look at every line before the request line.
fn headers_then_request() -> Vec<u8> {
    let mut v = b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(16);
    v.extend_from_slice(REQUEST);
    v
}

fn http(c: &mut Criterion) {
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(REQUEST.len() as u64));
    g.bench_function("request-whole", |b| {
        b.iter(|| scan(&mut std::iter::once(black_box(REQUEST))))
    });
    g.bench_function("request-bytewise", |b| {
        b.iter(|| scan(&mut black_box(REQUEST).chunks(1)))
    });
    let long = headers_then_request();
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.bench_function("16-headers-then-request", |b| {
        b.iter(|| scan(&mut std::iter::once(black_box(&long[..]))))
    });
    g.throughput(Throughput::Bytes(32));
    g.bench_function("validate_path", |b| {
        b.iter(|| validate_path(black_box(b"sub/dir/./file-name.tar.gz HTTP/1.0\r\n")))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = http
}
criterion_main!(benches);
