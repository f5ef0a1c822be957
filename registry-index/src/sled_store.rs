//! [`MetaStore`] on sled 0.34: one sled tree per schema tree, flushed with fsync on demand.

use std::collections::HashMap;
use std::path::Path;

use crate::meta::{KvIter, MetaError, MetaStore, Swap};
use crate::schema::{ALL_TREES, TreeName};

/// Default size of sled's page cache: enough for the hot part of a large index, small next to
/// the blobs a node streams.
pub const DEFAULT_CACHE_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// The sled-backed metadata store.
///
/// sled holds an exclusive lock on its directory, so only one process opens a given store.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    trees: HashMap<&'static str, sled::Tree>,
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
        Ok(Self { db, trees })
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

    fn scan_prefix(&self, tree: TreeName, prefix: &[u8]) -> Result<KvIter<'_>, MetaError> {
        let iter = self.tree(tree)?.scan_prefix(prefix).map(move |item| {
            item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(engine_error(tree))
        });
        Ok(Box::new(iter))
    }

    fn flush(&self) -> Result<(), MetaError> {
        // `Db::flush` writes and fsyncs sled's log for every tree, not just the default one.
        self.db.flush().map_err(|source| MetaError::Engine {
            tree: "(database)",
            source: Box::new(source),
        })?;
        Ok(())
    }
}
