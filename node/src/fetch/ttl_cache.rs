//! [`TtlCache`]: a small bounded map whose entries turn stale after a time to live.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup<V> {
    /// Younger than the time to live.
    Fresh(V),
    /// Older than the time to live: still usable while a refresh runs.
    Stale(V),
    /// Nothing cached.
    Missing,
}

/// A bounded cache of values with the instant they were stored.
#[derive(Debug)]
pub(crate) struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// Entries are fresh for `ttl`; at most `capacity` are kept.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// The cached value of `key` and whether it is still fresh.
    pub(crate) fn get(&self, key: &K) -> Lookup<V> {
        let entries = self.lock();
        match entries.get(key) {
            Some((value, at)) if at.elapsed() < self.ttl => Lookup::Fresh(value.clone()),
            Some((value, _)) => Lookup::Stale(value.clone()),
            None => Lookup::Missing,
        }
    }

    /// The value of `key` only if it is fresh.
    pub(crate) fn get_fresh(&self, key: &K) -> Option<V> {
        match self.get(key) {
            Lookup::Fresh(value) => Some(value),
            _ => None,
        }
    }

    /// Stores `value` as fresh. When full, stale entries are dropped first, then everything.
    pub(crate) fn put(&self, key: K, value: V) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        // Every operation is a single map call, so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_turn_stale_and_capacity_is_kept() {
        let cache = TtlCache::new(Duration::from_millis(30), 2);
        cache.put("a", 1);
        assert_eq!(cache.get(&"a"), Lookup::Fresh(1));
        assert_eq!(cache.get(&"b"), Lookup::Missing);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&"a"), Lookup::Stale(1));
        assert_eq!(cache.get_fresh(&"a"), None);
        cache.put("b", 2);
        cache.put("c", 3);
        assert_eq!(
            cache.get(&"a"),
            Lookup::Missing,
            "the stale entry made room"
        );
        cache.put("d", 4);
        assert_eq!(cache.get(&"d"), Lookup::Fresh(4));
    }
}
