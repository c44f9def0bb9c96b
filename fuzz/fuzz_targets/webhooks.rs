#![no_main]
//! The webhooks of Kit, Drip, MailerLite, HighLevel, HubSpot, Mailchimp and a mapped source on
//! arbitrary bodies: the first byte picks the source, the second a content type.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| memberwire_fuzz::check_webhook(data));
