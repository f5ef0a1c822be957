//! The metadata engine boundary: the few ordered key/value operations the index needs.
//!
//! Everything above this trait (key layout, value encoding, first-write-wins) is engine
//! independent, so replacing sled is one new implementation of [`MetaStore`] in this crate.

use std::fmt;

use crate::schema::TreeName;

/// A boxed error from the underlying engine.
pub type EngineError = Box<dyn std::error::Error + Send + Sync>;

/// An error from a [`MetaStore`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// The engine failed (I/O, corruption it detected, or a closed database).
    #[error("metadata engine failed on tree {tree}")]
    Engine {
        /// The tree the operation was on.
        tree: &'static str,
        /// The engine's own error.
        #[source]
        source: EngineError,
    },
    /// The tree is not one of [`crate::schema::ALL_TREES`].
    #[error("metadata tree {0} is not part of the schema")]
    UnknownTree(&'static str),
}

/// The result of a [`MetaStore::compare_and_swap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The key held the expected value and now holds the new one.
    Done,
    /// The key did not hold the expected value; this is what it holds.
    Current(Option<Vec<u8>>),
}

/// One conditional write of a [`MetaStore::commit`]: set `key` in `tree` to `value`, provided
/// it currently holds `expected` (`None`: absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write<'a> {
    /// The tree.
    pub tree: TreeName,
    /// The key.
    pub key: &'a [u8],
    /// What the key must hold for the commit to happen (`None`: absent).
    pub expected: Option<&'a [u8]>,
    /// The new value.
    pub value: &'a [u8],
}

impl<'a> Write<'a> {
    /// Sets `key` in `tree` to `value`, provided it holds `expected` (`None`: absent).
    pub fn new(
        tree: TreeName,
        key: &'a [u8],
        expected: Option<&'a [u8]>,
        value: &'a [u8],
    ) -> Write<'a> {
        Write {
            tree,
            key,
            expected,
            value,
        }
    }
}

/// The result of a [`MetaStore::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Commit {
    /// Every key held its expected value; every write is done.
    Done,
    /// Some key did not hold its expected value; nothing was written.
    Stale,
}

/// One key/value pair read from a tree.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Key/value pairs in ascending key order.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<KeyValue, MetaError>> + Send + 'a>;

/// An ordered, crash-safe key/value store with atomic compare-and-swap per key.
///
/// Calls block; async callers run them in `spawn_blocking`.
pub trait MetaStore: Send + Sync + fmt::Debug {
    /// The value stored under `key`, if any.
    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError>;

    /// Atomically sets `key` to `new` if it currently holds `expected` (`None`: absent).
    ///
    /// The write is visible to later reads at once, and durable after [`Self::flush`].
    fn compare_and_swap(
        &self,
        tree: TreeName,
        key: &[u8],
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<Swap, MetaError>;

    /// Atomically removes `key` if it currently holds `expected`; returns whether it did.
    ///
    /// Visible to later reads at once, and durable after [`Self::flush`].
    fn remove_if(&self, tree: TreeName, key: &[u8], expected: &[u8]) -> Result<bool, MetaError>;

    /// Atomically applies every write, across trees, if every key holds its expected value;
    /// otherwise writes nothing. A crash leaves all of the writes or none of them.
    ///
    /// The writes are visible to later reads at once, and durable after [`Self::flush`].
    fn commit(&self, writes: &[Write<'_>]) -> Result<Commit, MetaError>;

    /// Every pair whose key is `start` or sorts after it, in key order.
    fn scan_from(&self, tree: TreeName, start: &[u8]) -> Result<KvIter<'_>, MetaError>;

    /// The pair with the greatest key, if the tree is not empty.
    fn last(&self, tree: TreeName) -> Result<Option<KeyValue>, MetaError>;

    /// Every pair whose key starts with `prefix` (all pairs for an empty prefix), in key order.
    fn scan_prefix(&self, tree: TreeName, prefix: &[u8]) -> Result<KvIter<'_>, MetaError>;

    /// Makes every write that has returned so far durable: after `Ok`, they survive a crash.
    fn flush(&self) -> Result<(), MetaError>;
}
