//! Moves N records through the embeddable tokio `TlsStream` over loopback TCP, for instruction
//! counting under `valgrind --tool=callgrind`: `benches/stream_ir.sh` runs it and prints the
//! server's instructions per record. The client is a blocking OpenSSL thread; the handshake
//! happens before the function `measured`, so `--toggle-collect=*measured*` counts only the
//! server's transfer (callgrind keeps the toggle per thread).
//!
//! Usage: `stream_profile <kept|per-record> <up|down> <size> <records>`. `kept` is the stream's
//! default options (record buffers kept while data moves, given back when a read finds the peer
//! quiet); `per-record` sets `buffer_linger: None` (OpenSSL frees them after every record).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;

use sserve_benches::{client_context, measured, server_config, KeyKind};
use sserve_engine::SessionOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: stream_profile <kept|per-record> <up|down> <size> <records>";
    let (side, dir) = (args.get(1).expect(usage).as_str(), args.get(2).expect(usage).as_str());
    let size: usize = args.get(3).and_then(|s| s.parse().ok()).expect(usage);
    let n: usize = args.get(4).and_then(|s| s.parse().ok()).expect(usage);
    let opts = match side {
        "kept" => sserve_adapters::stream::stream_options(),
        "per-record" => Arc::new(SessionOptions {
            buffer_linger: None,
            ..SessionOptions::default()
        }),
        _ => panic!("{usage}"),
    };
    let upload = match dir {
        "up" => true,
        "down" => false,
        _ => panic!("{usage}"),
    };
    let config = server_config(KeyKind::EcdsaP256);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let ctx = client_context(true);
    let client = thread::spawn(move || {
        let tcp = TcpStream::connect(addr).expect("connect");
        let mut tls = openssl::ssl::Ssl::new(&ctx)
            .expect("SSL")
            .connect(tcp)
            .expect("client handshake");
        let mut piece = vec![b'u'; size];
        for _ in 0..n {
            if upload {
                tls.write_all(&piece).expect("client write");
            } else {
                tls.read_exact(&mut piece).expect("client read");
            }
        }
        // Until the server closes: closing first, with its tickets unread, would reset the
        // connection under the server's last reads.
        let _ = tls.read_to_end(&mut Vec::new());
    });
    let mut stream = rt.block_on(async {
        let (tcp, _) = listener.accept().await.expect("accept");
        sserve_adapters::tokio::accept_with(&config, opts, tcp)
            .await
            .expect("server handshake")
    });
    let mut buf = vec![b'd'; size];
    measured(&mut || {
        rt.block_on(async {
            for _ in 0..n {
                if upload {
                    stream.read_exact(&mut buf).await.expect("server read");
                } else {
                    stream.write_all(&buf).await.expect("server write");
                }
            }
            stream.flush().await.expect("flush");
        })
    });
    drop(stream);
    client.join().expect("client");
}
