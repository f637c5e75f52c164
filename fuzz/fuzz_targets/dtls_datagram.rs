//! Arbitrary datagrams from arbitrary peers into the DTLS `DatagramListener`, beside a real
//! in-memory DTLS client (invariants in `fuzz/src/dtls_checks.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|input: sserve_fuzz::DtlsInput| sserve_fuzz::dtls_checks::check_dtls_datagram(&input.0));
