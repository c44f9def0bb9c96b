#![no_main]
//! The form decoder: any bytes decode, and what it decodes encodes back to the same pairs.
use libfuzzer_sys::fuzz_target;
use memberwire::core::form::Form;

fuzz_target!(|data: &[u8]| {
    let form = Form::parse(data);
    let pairs: Vec<(String, String)> = form
        .pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut encoded = String::new();
    for (k, v) in &pairs {
        if !encoded.is_empty() {
            encoded.push('&');
        }
        for (i, part) in [k, v].into_iter().enumerate() {
            if i == 1 {
                encoded.push('=');
            }
            for b in part.bytes() {
                if b.is_ascii_alphanumeric() {
                    encoded.push(char::from(b));
                } else {
                    encoded.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    let again: Vec<(String, String)> = Form::parse(encoded.as_bytes())
        .pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(again, pairs, "decode, encode, decode changed the form");
});
