#![no_main]
//! memberwire's JSON parser and writer against serde_json's on any text (see `check_json`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| memberwire_fuzz::check_json(data));
