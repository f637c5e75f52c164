//! Arbitrary transport bytes, console input, time and a real client into a server `Session`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: sserve_fuzz::SessionInput| sserve_fuzz::checks::check_session_input(&input.0));
