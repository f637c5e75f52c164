//! Arbitrary argv (NUL-separated) into `sserve::options::split_args` and `parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sserve_fuzz::cli_checks::check_cli_args(data));
