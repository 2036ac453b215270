//! The response-signature cache: PKCS#1 v1.5 signatures are deterministic, so the
//! signature of a node depends only on (platform key, sign type, exact node bytes), and an
//! answer given before (the same identity asked again, every error answer) costs a look-up
//! instead of an RSA private-key operation.
//!
//! Keyed by a SHA-256 over the key's [`KeyId`], the sign type and the exact node bytes: a
//! collision would need two inputs with the same SHA-256, which no one can produce, so the
//! node bytes are not kept for comparison (they would double the memory per entry). A hit
//! returns the signature computed over those very bytes, so a body still carries a
//! signature of exactly the bytes sent. Bounded by entries and by bytes; eviction is CLOCK
//! (second chance), an LRU approximation with O(1) hits. Owns no keys and does no I/O.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::crypto::{self, KeyId, SignError, SignType, SigningKey};

/// Entries kept unless configured otherwise (`serve --sign-cache-entries`).
pub const DEFAULT_SIGN_CACHE_ENTRIES: usize = 4096;
/// Bytes kept at most unless configured otherwise: room for the default entries with
/// 4096-bit keys.
pub const DEFAULT_SIGN_CACHE_BYTES: usize = 4 * 1024 * 1024;
/// What one entry costs besides its signature: the 32-byte key twice (map and slot), the
/// map's and the slot's bookkeeping. An estimate, used for the byte bound.
const ENTRY_OVERHEAD: usize = 128;

/// What the cache has done so far (a metrics endpoint reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SignCacheStats {
    /// Signatures answered from the cache.
    pub hits: u64,
    /// Signatures computed (and stored) because the cache did not have them.
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now, as counted against the byte bound.
    pub bytes: usize,
}

/// Signatures by (key, sign type, node bytes), bounded; shared by every request.
#[derive(Debug)]
pub struct SignCache {
    max_entries: usize,
    max_bytes: usize,
    clock: Mutex<Clock>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// One cached signature.
#[derive(Debug)]
struct Slot {
    key: [u8; 32],
    signature: String,
    /// Set on every hit; the clock hand clears it once before evicting.
    referenced: bool,
}

impl Slot {
    fn cost(&self) -> usize {
        self.signature.len() + ENTRY_OVERHEAD
    }
}

#[derive(Debug, Default)]
struct Clock {
    index: HashMap<[u8; 32], usize>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
    bytes: usize,
}

impl Clock {
    fn get(&mut self, key: &[u8; 32]) -> Option<String> {
        let at = *self.index.get(key)?;
        let slot = self.slots.get_mut(at)?.as_mut()?;
        slot.referenced = true;
        Some(slot.signature.clone())
    }

    /// Evicts one entry, the first unreferenced one from the hand on. Two turns of the
    /// hand suffice: the first clears every reference bit it passes.
    fn evict_one(&mut self) -> bool {
        let len = self.slots.len();
        for _ in 0..2 * len {
            let at = self.hand % len.max(1);
            self.hand = (at + 1) % len.max(1);
            let Some(Some(slot)) = self.slots.get_mut(at) else {
                continue;
            };
            if slot.referenced {
                slot.referenced = false;
                continue;
            }
            if let Some(slot) = self.slots.get_mut(at).and_then(Option::take) {
                self.bytes = self.bytes.saturating_sub(slot.cost());
                self.index.remove(&slot.key);
                self.free.push(at);
                return true;
            }
        }
        false
    }

    fn insert(&mut self, slot: Slot, max_entries: usize, max_bytes: usize) {
        if self.index.contains_key(&slot.key) || slot.cost() > max_bytes {
            return;
        }
        while self.index.len() >= max_entries || self.bytes + slot.cost() > max_bytes {
            if !self.evict_one() {
                return;
            }
        }
        self.bytes += slot.cost();
        let key = slot.key;
        let free = self
            .free
            .pop()
            .and_then(|at| self.slots.get_mut(at).map(|place| (at, place)));
        let at = match free {
            Some((at, place)) => {
                *place = Some(slot);
                at
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, at);
    }
}

impl SignCache {
    /// A cache of at most `max_entries` signatures and about `max_bytes` bytes; either at
    /// 0 turns it off.
    pub fn new(max_entries: usize, max_bytes: usize) -> SignCache {
        SignCache {
            max_entries,
            max_bytes,
            clock: Mutex::new(Clock::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache that keeps nothing: every signature is computed.
    pub fn off() -> SignCache {
        SignCache::new(0, 0)
    }

    /// Whether signatures are kept at all.
    pub fn is_on(&self) -> bool {
        self.max_entries > 0 && self.max_bytes > 0
    }

    /// The Base64 signature of `data`, as [`crypto::sign`] computes it, from the cache
    /// when this key signed these very bytes with this sign type before.
    pub fn sign(
        &self,
        key: &SigningKey,
        sign_type: SignType,
        data: &[u8],
    ) -> Result<String, SignError> {
        if !self.is_on() {
            return crypto::sign(key, sign_type, data);
        }
        let lookup = lookup_key(key.id(), sign_type, data);
        if let Some(signature) = self.lock().get(&lookup) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(signature);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Signed outside the lock: two threads may sign the same bytes at once, and the
        // second insert is a no-op.
        let signature = crypto::sign(key, sign_type, data)?;
        self.lock().insert(
            Slot {
                key: lookup,
                signature: signature.clone(),
                referenced: false,
            },
            self.max_entries,
            self.max_bytes,
        );
        Ok(signature)
    }

    /// Hits, misses and what is held now.
    pub fn stats(&self) -> SignCacheStats {
        let clock = self.lock();
        SignCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: clock.index.len(),
            bytes: clock.bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Clock> {
        // A poisoned lock only means a thread panicked between two complete changes.
        self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Signs with `cache` when one is given, else computes the signature.
pub fn sign(
    cache: Option<&SignCache>,
    key: &SigningKey,
    sign_type: SignType,
    data: &[u8],
) -> Result<String, SignError> {
    match cache {
        Some(cache) => cache.sign(key, sign_type, data),
        None => crypto::sign(key, sign_type, data),
    }
}

fn lookup_key(key: &KeyId, sign_type: SignType, data: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(key);
    hash.update(sign_type.as_str().as_bytes());
    // A separator: the sign type names differ in length ("RSA" vs "RSA2").
    hash.update([0]);
    hash.update(data);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;

    fn platform_key() -> SigningKey {
        keys::parse_private_key(include_str!("../fixtures/keys/alipay_private_key.pem"))
            .unwrap()
            .into()
    }

    #[test]
    fn a_repeated_node_is_a_hit_with_the_same_signature() {
        let key = platform_key();
        let cache = SignCache::new(10, DEFAULT_SIGN_CACHE_BYTES);
        let first = cache
            .sign(&key, SignType::Rsa2, b"{\"code\":\"10000\"}")
            .unwrap();
        let second = cache
            .sign(&key, SignType::Rsa2, b"{\"code\":\"10000\"}")
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(
            first,
            crypto::sign(&key, SignType::Rsa2, b"{\"code\":\"10000\"}").unwrap()
        );
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    }

    #[test]
    fn another_key_sign_type_or_byte_is_a_miss() {
        let key = platform_key();
        let hostile: SigningKey =
            keys::parse_private_key(include_str!("../fixtures/keys/hostile_private_key.pem"))
                .unwrap()
                .into();
        let cache = SignCache::new(10, DEFAULT_SIGN_CACHE_BYTES);
        let a = cache.sign(&key, SignType::Rsa2, b"{}").unwrap();
        let b = cache.sign(&key, SignType::Rsa, b"{}").unwrap();
        let c = cache.sign(&hostile, SignType::Rsa2, b"{}").unwrap();
        let d = cache.sign(&key, SignType::Rsa2, b"{ }").unwrap();
        assert_eq!(cache.stats().misses, 4);
        assert_eq!(cache.stats().hits, 0);
        for (signature, k, t, data) in [
            (&a, &key, SignType::Rsa2, &b"{}"[..]),
            (&b, &key, SignType::Rsa, b"{}"),
            (&c, &hostile, SignType::Rsa2, b"{}"),
            (&d, &key, SignType::Rsa2, b"{ }"),
        ] {
            assert!(crypto::verify(&k.verifying_key(), t, data, signature));
        }
    }

    #[test]
    fn entries_stay_within_the_entry_bound_and_recent_hits_survive() {
        let key = platform_key();
        let cache = SignCache::new(3, DEFAULT_SIGN_CACHE_BYTES);
        cache.sign(&key, SignType::Rsa2, b"0").unwrap();
        for i in 1..10u8 {
            // Keep "0" referenced: the clock gives it a second chance every turn.
            cache.sign(&key, SignType::Rsa2, b"0").unwrap();
            cache.sign(&key, SignType::Rsa2, &[b'0' + i]).unwrap();
            assert!(cache.stats().entries <= 3);
        }
        let before = cache.stats().hits;
        cache.sign(&key, SignType::Rsa2, b"0").unwrap();
        assert_eq!(cache.stats().hits, before + 1, "the hot entry was evicted");
    }

    #[test]
    fn entries_stay_within_the_byte_bound() {
        let key = platform_key();
        let per_entry = 344 + ENTRY_OVERHEAD;
        let cache = SignCache::new(100, 2 * per_entry + 1);
        for i in 0..10u8 {
            cache.sign(&key, SignType::Rsa2, &[i]).unwrap();
            assert!(cache.stats().bytes <= 2 * per_entry + 1);
        }
        assert_eq!(cache.stats().entries, 2);
    }

    #[test]
    fn a_cache_turned_off_keeps_nothing() {
        let key = platform_key();
        let cache = SignCache::new(0, DEFAULT_SIGN_CACHE_BYTES);
        cache.sign(&key, SignType::Rsa2, b"{}").unwrap();
        cache.sign(&key, SignType::Rsa2, b"{}").unwrap();
        assert_eq!(cache.stats(), SignCacheStats::default());
    }
}
