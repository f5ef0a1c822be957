//! An in-memory [`MetaStore`], so the conformance suite proves the trait boundary with a
//! second engine. Nothing here is durable; tests only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::meta::{Commit, KeyValue, KvIter, MetaError, MetaStore, Swap, Write};
use crate::schema::TreeName;

/// Pairs keyed by (tree, key).
type Map = BTreeMap<(&'static str, Vec<u8>), Vec<u8>>;

/// A `BTreeMap` behind one lock; clones share the map, so a test can "reopen" it.
#[derive(Debug, Default, Clone)]
pub(crate) struct MemoryStore {
    trees: Arc<Mutex<Map>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Map> {
        self.trees
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MetaStore for MemoryStore {
    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        Ok(self.lock().get(&(tree.as_str(), key.to_vec())).cloned())
    }

    fn compare_and_swap(
        &self,
        tree: TreeName,
        key: &[u8],
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<Swap, MetaError> {
        let mut map = self.lock();
        let slot = (tree.as_str(), key.to_vec());
        let current = map.get(&slot).cloned();
        if current.as_deref() != expected {
            return Ok(Swap::Current(current));
        }
        map.insert(slot, new.to_vec());
        Ok(Swap::Done)
    }

    fn remove_if(&self, tree: TreeName, key: &[u8], expected: &[u8]) -> Result<bool, MetaError> {
        let mut map = self.lock();
        let slot = (tree.as_str(), key.to_vec());
        if map.get(&slot).map(Vec::as_slice) != Some(expected) {
            return Ok(false);
        }
        map.remove(&slot);
        Ok(true)
    }

    fn commit(&self, writes: &[Write<'_>]) -> Result<Commit, MetaError> {
        let mut map = self.lock();
        let holds = |w: &Write<'_>| {
            map.get(&(w.tree.as_str(), w.key.to_vec()))
                .map(Vec::as_slice)
                == w.expected
        };
        if !writes.iter().all(holds) {
            return Ok(Commit::Stale);
        }
        for write in writes {
            map.insert(
                (write.tree.as_str(), write.key.to_vec()),
                write.value.to_vec(),
            );
        }
        Ok(Commit::Done)
    }

    fn scan_from(&self, tree: TreeName, start: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let pairs: Vec<KeyValue> = self
            .lock()
            .iter()
            .filter(|((name, key), _)| *name == tree.as_str() && key.as_slice() >= start)
            .map(|((_, key), value)| (key.clone(), value.clone()))
            .collect();
        Ok(Box::new(pairs.into_iter().map(Ok)))
    }

    fn last(&self, tree: TreeName) -> Result<Option<KeyValue>, MetaError> {
        let map = self.lock();
        let last = map
            .iter()
            .rfind(|((name, _), _)| *name == tree.as_str())
            .map(|((_, key), value)| (key.clone(), value.clone()));
        Ok(last)
    }

    fn scan_prefix(&self, tree: TreeName, prefix: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let pairs: Vec<KeyValue> = self
            .lock()
            .iter()
            .filter(|((name, key), _)| *name == tree.as_str() && key.starts_with(prefix))
            .map(|((_, key), value)| (key.clone(), value.clone()))
            .collect();
        Ok(Box::new(pairs.into_iter().map(Ok)))
    }

    fn flush(&self) -> Result<(), MetaError> {
        Ok(())
    }
}
