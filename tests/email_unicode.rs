//! International addresses are one address however they are typed: the local part in NFC (a
//! precomposed and a decomposed `ü` match), the domain as A-labels (`bücher.de` matches
//! `xn--bcher-kva.de`, a full-width `ｅｘａｍｐｌｅ.com` matches `example.com`), and a domain that
//! cannot be converted is refused. Natively through the crates; as wasm (Node and Chromium)
//! through the host's own `normalize` and URL parser: the same answers on every target, and the
//! same from `Email::parse` (workflow, directory) as from `Email::normalize_into` (bulk plans).

mod support;

use memberwire::core::email::Email;
use memberwire::core::error::ErrorCode;

fn norm(raw: &str) -> String {
    let parsed = Email::parse(raw, "email").unwrap_or_else(|e| panic!("{raw:?}: {}", e.message));
    let mut buf = String::new();
    Email::normalize_into(raw, "email", &mut buf).unwrap();
    assert_eq!(parsed.as_str(), buf, "the bulk planner's form of {raw:?}");
    buf
}

both_targets! {
    fn lower_case_is_unicode_s_full_mapping_on_every_target() {
        use memberwire::core::text::lowercase;
        // As wasm this is the host's toLowerCase; natively std's: the same answers.
        assert_eq!(lowercase("Ann@Example.COM"), "ann@example.com");
        assert_eq!(lowercase(""), "");
        assert_eq!(lowercase("Stra\u{df}e"), "stra\u{df}e");
        assert_eq!(lowercase("\u{c9}LODIE@Exemple.FR"), "\u{e9}lodie@exemple.fr");
        assert_eq!(lowercase("\u{130}stanbul"), "i\u{307}stanbul");
        assert_eq!(lowercase("\u{39f}\u{394}\u{39f}\u{3a3} \u{3a3}\u{391}\u{3a3}"), "\u{3bf}\u{3b4}\u{3bf}\u{3c2} \u{3c3}\u{3b1}\u{3c2}");
        assert_eq!(lowercase("STRA\u{df}E \u{1e9e}"), "stra\u{df}e \u{df}");
        assert_eq!(norm("J\u{dc}RGEN@Example.com"), "j\u{fc}rgen@example.com");
    }

    fn nfc_and_nfd_are_one_address() {
        let composed = "j\u{fc}rgen@example.com";
        let decomposed = "ju\u{308}rgen@example.com";
        assert_ne!(composed, decomposed);
        assert_eq!(norm(composed), norm(decomposed));
        assert_eq!(norm(decomposed), "j\u{fc}rgen@example.com");
    }

    fn unicode_domains_and_their_a_labels_are_one_address() {
        assert_eq!(norm("ann@bücher.de"), "ann@xn--bcher-kva.de");
        assert_eq!(norm("Ann@BÜCHER.de"), "ann@xn--bcher-kva.de");
        assert_eq!(norm("ann@xn--bcher-kva.de"), "ann@xn--bcher-kva.de");
        // Decomposed in the domain too.
        assert_eq!(norm("ann@bu\u{308}cher.de"), "ann@xn--bcher-kva.de");
    }

    fn full_width_domains_map_to_ascii() {
        assert_eq!(norm("ann@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.com"), "ann@example.com");
        // A full-width dot separates labels too.
        assert_eq!(norm("ann@example\u{ff0e}com"), "ann@example.com");
    }

    fn domains_that_cannot_be_converted_are_refused() {
        for bad in [
            "ann@\u{378}x.com",          // unassigned: UTS #46 disallows it
            "ann@bücher.de/evil.com",    // a path: never read as a host
            "ann@bücher.de:8080",        // a port
            "ann@bü%63her.de",           // an escape
            "ann@bücher.de#x",
            "ann@[bücher].de",
            "a\u{200b}nn@example.com",     // a zero-width space
            "ann\u{202e}@bücher.de",        // a bidirectional override
            "j\u{fc}r\u{ad}gen@example.com", // a soft hyphen
            "j\u{fc}rgen@0x7f.1",           // an IP address to a URL parser
            "j\u{fc}rgen@1.2.3.4",
            "ann@b.0x",
        ] {
            let err = Email::parse(bad, "Email").unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidEmail, "{bad:?}");
            assert!(err.message.contains("`Email`"), "{}", err.message);
        }
    }

    fn ascii_addresses_are_only_lower_cased() {
        assert_eq!(norm("  Ann.Lee+VIP@Example.COM "), "ann.lee+vip@example.com");
    }
}
