//! [`Memo`]: a small in-memory cache bounded in entries and bytes, oldest insert evicted
//! first, that tells the age of what it returns (so callers choose fresh or stale).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// A bounded map from `K` to bytes, with insertion times.
#[derive(Debug)]
pub(crate) struct Memo<K> {
    inner: Mutex<Inner<K>>,
    max_entries: usize,
    max_bytes: usize,
}

#[derive(Debug)]
struct Inner<K> {
    slots: HashMap<K, Slot>,
    order: BTreeMap<u64, K>,
    next: u64,
    bytes: usize,
}

#[derive(Debug)]
struct Slot {
    value: Bytes,
    at: Instant,
    seq: u64,
}

impl<K: Hash + Eq + Clone> Memo<K> {
    /// An empty memo holding at most `max_entries` values of `max_bytes` in all.
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Memo<K> {
        Memo {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                order: BTreeMap::new(),
                next: 0,
                bytes: 0,
            }),
            max_entries,
            max_bytes,
        }
    }

    /// The value under `key` and how long ago it was inserted.
    pub(crate) fn get(&self, key: &K) -> Option<(Bytes, Duration)> {
        let inner = self.lock();
        let slot = inner.slots.get(key)?;
        Some((slot.value.clone(), slot.at.elapsed()))
    }

    /// Inserts (or replaces) `key`, evicting the oldest entries past the bounds. A value
    /// larger than the whole byte bound is not kept.
    pub(crate) fn insert(&self, key: K, value: Bytes) {
        if value.len() > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        inner.remove(&key);
        while inner.slots.len() >= self.max_entries || inner.bytes + value.len() > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.remove(&oldest);
        }
        let seq = inner.next;
        inner.next += 1;
        inner.bytes += value.len();
        inner.order.insert(seq, key.clone());
        let at = Instant::now();
        inner.slots.insert(key, Slot { value, at, seq });
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K>> {
        // Only a map of immutable values: a panic elsewhere leaves it consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<K: Hash + Eq> Inner<K> {
    fn remove(&mut self, key: &K) {
        if let Some(slot) = self.slots.remove(key) {
            self.order.remove(&slot.seq);
            self.bytes -= slot.value.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_evict_the_oldest() {
        let memo = Memo::new(2, 10);
        memo.insert(1, Bytes::from_static(b"aaaa"));
        memo.insert(2, Bytes::from_static(b"bbbb"));
        memo.insert(3, Bytes::from_static(b"cc"));
        assert!(memo.get(&1).is_none(), "entry bound");
        memo.insert(4, Bytes::from_static(b"dddddd"));
        assert!(memo.get(&2).is_none(), "byte bound");
        assert!(memo.get(&3).is_some() && memo.get(&4).is_some());
        memo.insert(5, Bytes::from(vec![0; 11]));
        assert!(memo.get(&5).is_none(), "larger than the whole bound");
    }
}
