#![no_main]
//! The keap_rest parser on arbitrary bodies (the first byte picks a content type).
use libfuzzer_sys::fuzz_target;
use memberwire::core::inbound::Source;

fuzz_target!(|data: &[u8]| memberwire_fuzz::check_post(Source::KeapRest, data));
