//! [`MetaStore`] on sled 0.34: one sled tree per schema tree, flushed with fsync on demand.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::meta::{Commit, KeyValue, KvIter, MetaError, MetaStore, Swap, Write};
use crate::schema::{ALL_TREES, TreeName};

/// Default size of sled's page cache. sled's in-memory pages weigh about three times what it
/// counts against this, and its page table holds ~70 MB for a million versions besides, so the
/// cache is kept small: warm answers come from the node's own answer cache, not from sled.
pub const DEFAULT_CACHE_CAPACITY_BYTES: u64 = 16 * 1024 * 1024;

/// The file sled 0.34 keeps its log and pages in, under its directory.
const SLED_LOG_FILE: &str = "db";

/// The sled-backed metadata store.
///
/// sled holds an exclusive lock on its directory, so only one process opens a given store.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    trees: HashMap<&'static str, sled::Tree>,
    /// A second handle on sled's log file, only to fsync it; see [`MetaStore::flush`].
    log_file: File,
}

impl SledStore {
    /// Opens (creating if needed) the database in `dir`, with a page cache of
    /// `cache_capacity_bytes`, and opens every tree of the schema.
    pub fn open(dir: &Path, cache_capacity_bytes: u64) -> Result<Self, MetaError> {
        let engine = |source: sled::Error| MetaError::Engine {
            tree: "(database)",
            source: Box::new(source),
        };
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity_bytes)
            .open()
            .map_err(engine)?;
        let mut trees = HashMap::new();
        for name in ALL_TREES {
            let tree = db.open_tree(name.as_str()).map_err(engine)?;
            trees.insert(name.as_str(), tree);
        }
        let log_file = File::open(dir.join(SLED_LOG_FILE)).map_err(|source| MetaError::Engine {
            tree: "(database)",
            source: Box::new(source),
        })?;
        Ok(Self {
            db,
            trees,
            log_file,
        })
    }

    fn tree(&self, name: TreeName) -> Result<&sled::Tree, MetaError> {
        self.trees
            .get(name.as_str())
            .ok_or(MetaError::UnknownTree(name.as_str()))
    }
}

fn engine_error(tree: TreeName) -> impl Fn(sled::Error) -> MetaError {
    move |source| MetaError::Engine {
        tree: tree.as_str(),
        source: Box::new(source),
    }
}

impl MetaStore for SledStore {
    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let value = self.tree(tree)?.get(key).map_err(engine_error(tree))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn compare_and_swap(
        &self,
        tree: TreeName,
        key: &[u8],
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<Swap, MetaError> {
        let outcome = self
            .tree(tree)?
            .compare_and_swap(key, expected, Some(new))
            .map_err(engine_error(tree))?;
        Ok(match outcome {
            Ok(()) => Swap::Done,
            Err(conflict) => Swap::Current(conflict.current.map(|v| v.to_vec())),
        })
    }

    fn remove_if(&self, tree: TreeName, key: &[u8], expected: &[u8]) -> Result<bool, MetaError> {
        let outcome = self
            .tree(tree)?
            .compare_and_swap(key, Some(expected), None::<&[u8]>)
            .map_err(engine_error(tree))?;
        Ok(outcome.is_ok())
    }

    fn commit(&self, writes: &[Write<'_>]) -> Result<Commit, MetaError> {
        let mut names: Vec<TreeName> = writes.iter().map(|w| w.tree).collect();
        names.sort_by_key(|name| name.as_str());
        names.dedup();
        let trees = names
            .iter()
            .map(|name| self.tree(*name))
            .collect::<Result<Vec<_>, _>>()?;
        let outcome = trees[..].transaction(|views| apply_writes(&names, views, writes));
        match outcome {
            Ok(()) => Ok(Commit::Done),
            Err(TransactionError::Abort(())) => Ok(Commit::Stale),
            Err(TransactionError::Storage(source)) => Err(MetaError::Engine {
                tree: names.first().map_or("(database)", |name| name.as_str()),
                source: Box::new(source),
            }),
        }
    }

    fn scan_from(&self, tree: TreeName, start: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let iter = self.tree(tree)?.range(start..).map(move |item| {
            item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(engine_error(tree))
        });
        Ok(Box::new(iter))
    }

    fn last(&self, tree: TreeName) -> Result<Option<KeyValue>, MetaError> {
        let last = self.tree(tree)?.last().map_err(engine_error(tree))?;
        Ok(last.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn scan_prefix(&self, tree: TreeName, prefix: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let iter = self.tree(tree)?.scan_prefix(prefix).map(move |item| {
            item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(engine_error(tree))
        });
        Ok(Box::new(iter))
    }

    fn flush(&self) -> Result<(), MetaError> {
        let engine = |source: Box<dyn std::error::Error + Send + Sync>| MetaError::Engine {
            tree: "(database)",
            source,
        };
        // `Db::flush` writes sled's log for every tree, but on Linux sled 0.34 ends it with
        // `sync_file_range`, which neither commits file metadata nor flushes the drive's write
        // cache: enough for `kill -9`, not for power loss. The fsync makes it durable.
        self.db.flush().map_err(|err| engine(Box::new(err)))?;
        self.log_file
            .sync_all()
            .map_err(|err| engine(Box::new(err)))
    }
}

/// The body of a [`MetaStore::commit`] transaction: check every expectation, then write.
/// `views[i]` is the transactional view of `names[i]`.
fn apply_writes(
    names: &[TreeName],
    views: &[TransactionalTree],
    writes: &[Write<'_>],
) -> Result<(), ConflictableTransactionError<()>> {
    let view = |tree: TreeName| {
        names
            .iter()
            .position(|name| *name == tree)
            .and_then(|i| views.get(i))
            .ok_or(ConflictableTransactionError::Abort(()))
    };
    for write in writes {
        let current = view(write.tree)?.get(write.key)?;
        if current.as_deref() != write.expected {
            return Err(ConflictableTransactionError::Abort(()));
        }
    }
    for write in writes {
        view(write.tree)?.insert(write.key, write.value)?;
    }
    Ok(())
}
