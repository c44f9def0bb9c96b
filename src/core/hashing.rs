//! Keyed hashing for the maps whose keys senders choose (the directory's emails and contact keys,
//! the tags of a post, the rule index's tag names).
//!
//! std's `RandomState` is keyed SipHash-1-3, but on `wasm32-unknown-unknown`, where memberwire
//! runs, std has no entropy: its keys are the addresses of a stack byte and a fresh heap box,
//! the same from one instance of the same build to the next. Anyone with the build could then
//! compute emails that all land in one bucket, and make each insert and lookup walk them all.
//! [`KeyedState`] is the same SipHash-1-3, keyed with 128 secret bits once per thread (a wasm
//! instance has one): natively from std's `RandomState` (the OS's entropy), in wasm from the
//! host's CSPRNG, through a source the binding layer installs when the module starts
//! (`set_key_source`) and that is called at the first map made, inside a request. The core
//! itself stays free of I/O: it only asks the installed source. New maps whose keys come from
//! outside use [`KeyedMap`] and [`KeyedSet`].

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

/// A map keyed with this process's secret SipHash keys.
pub type KeyedMap<K, V> = HashMap<K, V, KeyedState>;
/// A set keyed with this process's secret SipHash keys.
pub type KeyedSet<K> = HashSet<K, KeyedState>;

/// Where the keys come from: two secret words.
type KeySource = fn() -> (u64, u64);

thread_local! {
    // Per thread (wasm has one): each map keeps the keys it was made with, so a map may move.
    static KEYS: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
    static SOURCE: Cell<Option<KeySource>> = const { Cell::new(None) };
}

/// Installs where the keys come from (the binding layer, when the module starts; the source is
/// called once, at the first map made).
pub fn set_key_source(source: KeySource) {
    SOURCE.with(|s| s.set(Some(source)));
}

fn keys() -> (u64, u64) {
    KEYS.with(|k| {
        k.get().unwrap_or_else(|| {
            let v = SOURCE
                .with(Cell::get)
                .map_or_else(default_keys, |source| source());
            k.set(Some(v));
            v
        })
    })
}

#[cfg(not(target_arch = "wasm32"))]
fn default_keys() -> (u64, u64) {
    // std keys its RandomState from the OS here: two of its hashes are two secret words.
    let state = std::hash::RandomState::new();
    (state.hash_one(0x6b30_u64), state.hash_one(0x6b31_u64))
}

#[cfg(target_arch = "wasm32")]
fn default_keys() -> (u64, u64) {
    // Without a source there is no entropy to key with: failing is better than predictable keys.
    panic!("no source of hash keys (bindings::start installs it)");
}

/// Builds SipHash-1-3 hashers with the process's keys.
#[derive(Clone, Copy)]
pub struct KeyedState {
    k0: u64,
    k1: u64,
}

impl Default for KeyedState {
    fn default() -> Self {
        let (k0, k1) = keys();
        Self { k0, k1 }
    }
}

impl std::fmt::Debug for KeyedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are secret.
        f.write_str("KeyedState")
    }
}

impl BuildHasher for KeyedState {
    type Hasher = Sip<1, 3>;

    fn build_hasher(&self) -> Sip<1, 3> {
        Sip::new(self.k0, self.k1)
    }
}

/// SipHash with `C` compression and `D` finalization rounds (Aumasson and Bernstein): 1-3 is
/// what std's `RandomState` uses; 2-4 is the reference, which the tests check it against.
#[derive(Clone)]
pub struct Sip<const C: usize, const D: usize> {
    v: [u64; 4],
    /// Bytes written but not yet compressed (fewer than 8), little-endian from the low end.
    tail: u64,
    ntail: usize,
    length: usize,
}

impl<const C: usize, const D: usize> Sip<C, D> {
    pub fn new(k0: u64, k1: u64) -> Self {
        Self {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            length: 0,
        }
    }

    #[inline]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    #[inline]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        for _ in 0..C {
            Self::round(&mut self.v);
        }
        self.v[0] ^= m;
    }
}

impl<const C: usize, const D: usize> std::fmt::Debug for Sip<C, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Its state is the keys, lightly mixed: never printed.
        f.write_str("Sip")
    }
}

/// Up to 7 bytes as the low end of a little-endian word (at most three loads, as std does it).
#[inline]
fn low_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let mut w = 0u64;
    let mut i = 0;
    if n >= 4 {
        w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as u64;
        i = 4;
    }
    if n - i >= 2 {
        w |= (u16::from_le_bytes([bytes[i], bytes[i + 1]]) as u64) << (8 * i);
        i += 2;
    }
    if i < n {
        w |= (bytes[i] as u64) << (8 * i);
    }
    w
}

impl<const C: usize, const D: usize> Hasher for Sip<C, D> {
    fn write(&mut self, bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len());
        let mut rest = bytes;
        if self.ntail > 0 {
            let take = (8 - self.ntail).min(rest.len());
            self.tail |= low_word(&rest[..take]) << (8 * self.ntail);
            self.ntail += take;
            rest = &rest[take..];
            if self.ntail < 8 {
                return;
            }
            let m = self.tail;
            self.compress(m);
            self.tail = 0;
            self.ntail = 0;
        }
        let mut words = rest.chunks_exact(8);
        for w in &mut words {
            self.compress(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let left = words.remainder();
        self.tail = low_word(left);
        self.ntail = left.len();
    }

    /// One byte (a string's `0xff` terminator, after its bytes): straight into the tail.
    fn write_u8(&mut self, b: u8) {
        self.length = self.length.wrapping_add(1);
        self.tail |= (b as u64) << (8 * self.ntail);
        self.ntail += 1;
        if self.ntail == 8 {
            let m = self.tail;
            self.compress(m);
            self.tail = 0;
            self.ntail = 0;
        }
    }

    fn finish(&self) -> u64 {
        let mut v = self.v;
        let b = ((self.length as u64 & 0xff) << 56) | self.tail;
        v[3] ^= b;
        for _ in 0..C {
            Self::round(&mut v);
        }
        v[0] ^= b;
        v[2] ^= 0xff;
        for _ in 0..D {
            Self::round(&mut v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    /// Byte strings of every length to 40, each written whole and in every split in two.
    fn cases() -> Vec<Vec<u8>> {
        (0..=40u8)
            .map(|n| (0..n).map(|i| i.wrapping_mul(37) ^ n).collect())
            .collect()
    }

    fn ours<const C: usize, const D: usize>(k0: u64, k1: u64, parts: &[&[u8]]) -> u64 {
        let mut h = Sip::<C, D>::new(k0, k1);
        for p in parts {
            h.write(p);
        }
        h.finish()
    }

    #[test]
    #[allow(deprecated)] // std's SipHasher: SipHash-2-4 with keys, the reference to check against
    fn siphash_2_4_is_the_reference() {
        let (k0, k1) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        for bytes in cases() {
            let mut std_h = std::hash::SipHasher::new_with_keys(k0, k1);
            std_h.write(&bytes);
            let want = std_h.finish();
            for cut in 0..=bytes.len() {
                let (a, b) = bytes.split_at(cut);
                assert_eq!(
                    ours::<2, 4>(k0, k1, &[a, b]),
                    want,
                    "{} bytes cut at {cut}",
                    bytes.len()
                );
            }
        }
        // Three writes, the first two short (a tail carried twice), and through the Hash trait
        // (a string's bytes and then 0xff; an integer's bytes) as maps hash their keys.
        let bytes: Vec<u8> = (0..23).collect();
        let mut std_h = std::hash::SipHasher::new_with_keys(k0, k1);
        std_h.write(&bytes);
        let want = std_h.finish();
        for (a, b) in [(1, 3), (3, 5), (7, 9), (8, 16), (2, 20)] {
            let parts = [&bytes[..a], &bytes[a..b], &bytes[b..]];
            assert_eq!(ours::<2, 4>(k0, k1, &parts), want, "cut at {a} and {b}");
        }
        let through_hash = |value: &dyn Fn(&mut dyn Hasher)| {
            let mut std_h = std::hash::SipHasher::new_with_keys(k0, k1);
            value(&mut std_h);
            let mut h = Sip::<2, 4>::new(k0, k1);
            value(&mut h);
            (h.finish(), std_h.finish())
        };
        let (got, want) = through_hash(&|h| "x@example.com".hash(&mut &mut *h));
        assert_eq!(got, want);
        let (got, want) = through_hash(&|h| 42u64.hash(&mut &mut *h));
        assert_eq!(got, want);
        let (got, want) = through_hash(&|h| ("m1", 7u32, "tag").hash(&mut &mut *h));
        assert_eq!(got, want);
        assert_eq!(format!("{:?}", Sip::<1, 3>::new(k0, k1)), "Sip");
        // The paper's vector: keys 00..0f, the message 00..0e, SipHash-2-4 = a129ca6149be45e5.
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(ours::<2, 4>(k0, k1, &[&msg]), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn siphash_1_3_is_std_default_hasher() {
        // std's DefaultHasher::new() is SipHash-1-3 with both keys zero.
        for bytes in cases() {
            let mut std_h = std::collections::hash_map::DefaultHasher::new();
            std_h.write(&bytes);
            let want = std_h.finish();
            for cut in 0..=bytes.len() {
                let (a, b) = bytes.split_at(cut);
                assert_eq!(ours::<1, 3>(0, 0, &[a, b]), want);
            }
        }
    }

    #[test]
    fn states_share_the_process_keys_and_they_are_not_zero() {
        let (a, b) = (KeyedState::default(), KeyedState::default());
        assert_eq!(a.hash_one("x@example.com"), b.hash_one("x@example.com"));
        assert_ne!((a.k0, a.k1), (0, 0));
        // Keyed: the same text hashes differently under other keys.
        let mut other = Sip::<1, 3>::new(a.k0 ^ 1, a.k1);
        "x@example.com".hash(&mut other);
        assert_ne!(other.finish(), a.hash_one("x@example.com"));
        assert_eq!(format!("{a:?}"), "KeyedState");
    }

    #[test]
    fn keyed_maps_work_as_maps() {
        let mut m: KeyedMap<String, usize> = KeyedMap::default();
        for i in 0..1000 {
            m.insert(format!("user{i}@example.com"), i);
        }
        assert!((0..1000).all(|i| m[&format!("user{i}@example.com")] == i));
        let s: KeyedSet<&str> = ["a", "b", "a"].into_iter().collect();
        assert_eq!(s.len(), 2);
    }
}
