//! Replays the committed fuzz corpora
//! (`fuzz/corpus/{command_parser,http_request,session_input,dtls_datagram}`)
//! through the same invariant checks the cargo-fuzz targets run (`fuzz/src/checks.rs`), so every
//! seed and every fixed crash reproducer stays a regression test on stable. The `cli_args`
//! corpus replays in `benches/tests/cli_args_corpus.rs` (it needs the `sserve` package).
//!
//! `SSERVE_WRITE_FUZZ_SEEDS=1 cargo test -p sserve-engine --test fuzz_corpus` rewrites the
//! generated `session_input` and `dtls_datagram` seeds (client flights captured from an in-memory OpenSSL client).
#![cfg(feature = "openssl")]

#[path = "../../fuzz/src/checks.rs"]
mod checks;
#[path = "../../fuzz/src/dtls_checks.rs"]
mod dtls_checks;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    for (path, data) in corpus(target) {
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            eprintln!("corpus file {} fails", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn command_parser_corpus() {
    replay("command_parser", checks::check_command_parser);
}

#[test]
fn http_request_corpus() {
    replay("http_request", checks::check_http_request);
}

#[test]
fn session_input_corpus() {
    replay("session_input", checks::check_session_bytes);
}

/// The same seeds with the other way of feeding the transport (config bit 4: the session reads
/// it itself through `handle_readable`, or is handed the bytes).
#[test]
fn session_input_corpus_fed_the_other_way() {
    replay("session_input", |data| {
        let mut flipped = data.to_vec();
        flipped.resize(flipped.len().max(2), 0);
        flipped[1] ^= 0x10;
        checks::check_session_bytes(&flipped);
    });
}

/// The decoder and the seed encoder agree, so a seed means what it was written to mean.
#[test]
fn session_input_encoding_round_trips() {
    let seeds = checks::session_seeds();
    assert!(seeds.len() > 10);
    for (name, bytes) in &seeds {
        let input = checks::SessionInput::decode(bytes);
        assert_eq!(&input.encode(), bytes, "{name}");
    }
    if std::env::var_os("SSERVE_WRITE_FUZZ_SEEDS").is_some() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/session_input");
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (name, bytes) in seeds {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
    }
}

#[test]
fn dtls_datagram_corpus() {
    if std::env::var_os("SSERVE_WRITE_FUZZ_SEEDS").is_some() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/dtls_datagram");
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (name, bytes) in dtls_checks::dtls_seeds() {
            std::fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
    replay("dtls_datagram", dtls_checks::check_dtls_datagram);
}
