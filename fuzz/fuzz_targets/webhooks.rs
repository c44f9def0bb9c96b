#![no_main]
//! The webhooks read through JSON mappings (Kit, Drip, MailerLite, HighLevel and a mapped
//! source) on arbitrary bodies: the first byte picks the source, the second a content type.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| memberwire_fuzz::check_webhook(data));
