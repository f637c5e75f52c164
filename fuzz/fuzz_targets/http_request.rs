//! The `-www`/`-WWW`/`-HTTP` request scanner: `LineBuffer`, `classify_line`, `validate_path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sserve_fuzz::checks::check_http_request(data));
