//! [`Overlay`]: many commits gathered in memory over a [`MetaStore`], then applied to it as one.
//!
//! A batch (a page of synced records, a bulk import) is planned step by step exactly as single
//! stores are: each step reads through the overlay (its own earlier writes first, then the
//! store) and commits into it, with the same expectations. [`Overlay::apply`] then writes the
//! net effect in one [`MetaStore::commit`]: for each key, the value it held before the batch
//! (the first expectation) and the last value written. That commit is atomic, so a crash
//! leaves the whole batch or none of it, and it is stale, changing nothing, if anyone else
//! wrote one of those keys meanwhile; the caller then replays the batch one step at a time.
//! One engine transaction per batch instead of one per step is what makes batches cheap: sled
//! writes its log at every transaction.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::meta::{Commit, EngineError, KeyValue, KvIter, MetaError, MetaStore, Swap, Write};
use crate::schema::TreeName;

/// One key written in the batch: its tree, what it held before, what it holds now.
#[derive(Debug)]
struct Pending {
    tree: TreeName,
    before: Option<Vec<u8>>,
    now: Vec<u8>,
}

/// The writes of a batch: per tree, by key.
type PendingWrites = BTreeMap<&'static str, BTreeMap<Vec<u8>, Pending>>;

/// Writes gathered over `base`.
#[derive(Debug)]
pub(crate) struct Overlay<'a> {
    base: &'a dyn MetaStore,
    pending: Mutex<PendingWrites>,
}

impl<'a> Overlay<'a> {
    /// An empty batch over `base`.
    pub(crate) fn new(base: &'a dyn MetaStore) -> Overlay<'a> {
        Overlay {
            base,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    /// Writes the batch to the store in one commit; [`Commit::Stale`] (nothing written) when
    /// a key no longer holds what it held when the batch first read it. Not flushed.
    pub(crate) fn apply(self) -> Result<Commit, MetaError> {
        let pending = self
            .pending
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pending.is_empty() {
            return Ok(Commit::Done);
        }
        let writes: Vec<Write<'_>> = pending
            .values()
            .flatten()
            .map(|(key, p)| Write::new(p.tree, key, p.before.as_deref(), &p.now))
            .collect();
        self.base.commit(&writes)
    }

    fn lock(&self) -> MutexGuard<'_, PendingWrites> {
        // Only this batch's planning thread uses the map; a panic there abandons the batch.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, tree: TreeName, key: &[u8], expected: Option<&[u8]>, value: &[u8]) {
        self.lock()
            .entry(tree.as_str())
            .or_default()
            .entry(key.to_vec())
            .and_modify(|p| p.now = value.to_vec())
            .or_insert_with(|| Pending {
                tree,
                before: expected.map(<[u8]>::to_vec),
                now: value.to_vec(),
            });
    }

    /// This batch's writes to `tree` with keys from `start` on while `keep` holds, in key
    /// order, for merging.
    fn pending_from(
        &self,
        tree: TreeName,
        start: &[u8],
        keep: impl Fn(&[u8]) -> bool,
    ) -> Vec<KeyValue> {
        let pending = self.lock();
        let Some(writes) = pending.get(tree.as_str()) else {
            return Vec::new();
        };
        writes
            .range(start.to_vec()..)
            .take_while(|(key, _)| keep(key))
            .map(|(key, p)| (key.clone(), p.now.clone()))
            .collect()
    }
}

impl MetaStore for Overlay<'_> {
    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        if let Some(p) = self.lock().get(tree.as_str()).and_then(|w| w.get(key)) {
            return Ok(Some(p.now.clone()));
        }
        self.base.get(tree, key)
    }

    fn compare_and_swap(
        &self,
        tree: TreeName,
        key: &[u8],
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<Swap, MetaError> {
        let current = self.get(tree, key)?;
        if current.as_deref() != expected {
            return Ok(Swap::Current(current));
        }
        self.set(tree, key, expected, new);
        Ok(Swap::Done)
    }

    fn remove_if(&self, tree: TreeName, _key: &[u8], _expected: &[u8]) -> Result<bool, MetaError> {
        // No batched step removes anything; a commit cannot express a removal.
        let source: EngineError = "removal inside a batch".into();
        Err(MetaError::Engine {
            tree: tree.as_str(),
            source,
        })
    }

    fn commit(&self, writes: &[Write<'_>]) -> Result<Commit, MetaError> {
        for write in writes {
            if self.get(write.tree, write.key)?.as_deref() != write.expected {
                return Ok(Commit::Stale);
            }
        }
        for write in writes {
            self.set(write.tree, write.key, write.expected, write.value);
        }
        Ok(Commit::Done)
    }

    fn scan_from(&self, tree: TreeName, start: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let base = self.base.scan_from(tree, start)?;
        Ok(Box::new(Merge::new(
            base,
            self.pending_from(tree, start, |_| true),
        )))
    }

    fn last(&self, tree: TreeName) -> Result<Option<KeyValue>, MetaError> {
        let base = self.base.last(tree)?;
        let mine = self.lock().get(tree.as_str()).and_then(|writes| {
            let (key, p) = writes.last_key_value()?;
            Some((key.clone(), p.now.clone()))
        });
        Ok(match (base, mine) {
            (Some(b), Some(m)) if b.0 > m.0 => Some(b),
            (b, None) => b,
            (_, m) => m,
        })
    }

    fn scan_prefix(&self, tree: TreeName, prefix: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let base = self.base.scan_prefix(tree, prefix)?;
        let mine = self.pending_from(tree, prefix, |key| key.starts_with(prefix));
        Ok(Box::new(Merge::new(base, mine)))
    }

    fn flush(&self) -> Result<(), MetaError> {
        // Nothing is in the store until `apply`; its caller flushes.
        Ok(())
    }
}

/// Two key-ordered streams merged; on equal keys the batch's value wins.
struct Merge<'a> {
    base: std::iter::Peekable<KvIter<'a>>,
    mine: std::iter::Peekable<std::vec::IntoIter<KeyValue>>,
}

impl<'a> Merge<'a> {
    fn new(base: KvIter<'a>, mine: Vec<KeyValue>) -> Merge<'a> {
        Merge {
            base: base.peekable(),
            mine: mine.into_iter().peekable(),
        }
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<KeyValue, MetaError>;

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.base.peek(), self.mine.peek()) {
            (Some(Err(_)), _) | (Some(Ok(_)), None) => return self.base.next(),
            (None, _) => return self.mine.next().map(Ok),
            (Some(Ok((base, _))), Some((mine, _))) => base.cmp(mine),
        };
        match order {
            std::cmp::Ordering::Less => self.base.next(),
            std::cmp::Ordering::Equal => {
                self.base.next();
                self.mine.next().map(Ok)
            }
            std::cmp::Ordering::Greater => self.mine.next().map(Ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;
    use crate::schema::{FEED, RECORDS};

    fn pairs(iter: KvIter<'_>) -> Vec<KeyValue> {
        iter.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn reads_see_the_batch_and_apply_writes_its_net_effect_once() {
        let store = MemoryStore::default();
        store
            .commit(&[Write::new(RECORDS, b"a1", None, b"old")])
            .unwrap();
        store
            .commit(&[Write::new(RECORDS, b"a3", None, b"three")])
            .unwrap();
        let overlay = Overlay::new(&store);
        assert_eq!(
            overlay
                .commit(&[Write::new(RECORDS, b"a1", Some(b"old"), b"new")])
                .unwrap(),
            Commit::Done
        );
        overlay
            .commit(&[Write::new(RECORDS, b"a2", None, b"two")])
            .unwrap();
        overlay
            .commit(&[Write::new(RECORDS, b"a1", Some(b"new"), b"newer")])
            .unwrap();
        assert_eq!(
            overlay
                .commit(&[Write::new(RECORDS, b"a1", Some(b"old"), b"x")])
                .unwrap(),
            Commit::Stale,
            "expectations are checked against the batch's own writes"
        );
        let keys: Vec<Vec<u8>> = pairs(overlay.scan_prefix(RECORDS, b"a").unwrap())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, [b"a1".to_vec(), b"a2".to_vec(), b"a3".to_vec()]);
        assert_eq!(overlay.last(RECORDS).unwrap().unwrap().0, b"a3");
        assert_eq!(overlay.get(RECORDS, b"a1").unwrap().unwrap(), b"newer");
        assert!(
            store.get(RECORDS, b"a2").unwrap().is_none(),
            "nothing written yet"
        );
        assert!(overlay.last(FEED).unwrap().is_none());

        assert_eq!(overlay.apply().unwrap(), Commit::Done);
        assert_eq!(store.get(RECORDS, b"a1").unwrap().unwrap(), b"newer");
        assert_eq!(store.get(RECORDS, b"a2").unwrap().unwrap(), b"two");
    }

    #[test]
    fn a_key_changed_behind_the_batch_makes_it_stale_and_writes_nothing() {
        let store = MemoryStore::default();
        let overlay = Overlay::new(&store);
        overlay
            .commit(&[Write::new(RECORDS, b"k", None, b"mine")])
            .unwrap();
        overlay
            .commit(&[Write::new(FEED, b"f", None, b"item")])
            .unwrap();
        store
            .commit(&[Write::new(RECORDS, b"k", None, b"theirs")])
            .unwrap();
        assert_eq!(overlay.apply().unwrap(), Commit::Stale);
        assert!(store.get(FEED, b"f").unwrap().is_none());
    }
}
