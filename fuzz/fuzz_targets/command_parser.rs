//! Console chunks: `parse_console_chunk` and a `Session::console_input` sequence.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sserve_fuzz::checks::check_command_parser(data));
