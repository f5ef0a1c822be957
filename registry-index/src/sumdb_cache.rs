//! The checksum-database relay's durable cache: full tiles (whose bytes can never change), the
//! newest verified signed tree head of each database, and fork evidence.
//!
//! Nothing here checks a signature or a proof: the relay stores only what it has verified,
//! and this module keeps it as durably as a blob. Tile bytes are blobs (named by their
//! sha256, verified on read); `sumdb-tiles-v1` maps `database, tile path` to the blob.
//! Database names and tile paths are only ever sled keys, never file names.

use std::io::Read;

use delos_pool_protocol::hash::Sha256;

use crate::blobs::BlobError;
use crate::index::Index;
use crate::meta::{MetaError, Swap};
use crate::schema::{
    POOL_LOG_FORKS, POOL_LOG_HEADS, SUMDB_FORKS, SUMDB_HEADS, SUMDB_TILES, TreeName,
};

/// The most bytes of a cached tile read back (a full data tile of 256 large records).
pub const MAX_TILE_BYTES: u64 = 16 << 20;

/// The relay's durable cache of an [`Index`]: `index.sumdb_cache()`.
#[derive(Debug, Clone, Copy)]
pub struct SumdbCache<'a> {
    pub(crate) index: &'a Index,
    pub(crate) trees: HeadTrees,
}

/// Where a [`SumdbCache`] keeps newest heads and fork evidence: the relay's trees, or the
/// pool's (logs watched over the pool, keyed by verifier key instead of database name).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadTrees {
    heads: TreeName,
    forks: TreeName,
}

impl HeadTrees {
    /// The relay's databases.
    pub(crate) const RELAY: HeadTrees = HeadTrees {
        heads: SUMDB_HEADS,
        forks: SUMDB_FORKS,
    };
    /// The logs whose heads members gossip, keyed by verifier key.
    pub(crate) const POOL: HeadTrees = HeadTrees {
        heads: POOL_LOG_HEADS,
        forks: POOL_LOG_FORKS,
    };
}

/// Two signed tree heads of one database that cannot both be true, as the relay received
/// them (signed notes, byte for byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumdbFork {
    /// The database's name.
    pub database: String,
    /// The head the relay had verified before.
    pub older: Vec<u8>,
    /// The head that contradicts it.
    pub newer: Vec<u8>,
}

/// An error from [`SumdbCache`], naming the database and what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SumdbCacheError {
    /// The metadata engine failed.
    #[error("sumdb cache of {database}: {what}")]
    Meta {
        /// The database.
        database: String,
        /// What was being read or written.
        what: &'static str,
        /// The engine's error.
        #[source]
        source: MetaError,
    },
    /// A tile's blob could not be written or read back (missing, corrupt: then it is moved
    /// aside and the tile counts as not cached).
    #[error("sumdb cache of {database}: tile {tile}")]
    Blob {
        /// The database.
        database: String,
        /// The tile path.
        tile: String,
        /// The blob store's error.
        #[source]
        source: BlobError,
    },
    /// A stored value does not decode (the disk was altered or damaged).
    #[error("sumdb cache of {database}: malformed stored {what}")]
    Malformed {
        /// The database.
        database: String,
        /// Which value.
        what: &'static str,
    },
}

impl SumdbCache<'_> {
    /// The bytes of the full tile at `path` of `database`, if cached. A blob that fails its
    /// hash check is moved aside and reported as an error once; afterwards it counts as absent.
    pub fn tile(&self, database: &str, path: &str) -> Result<Option<Vec<u8>>, SumdbCacheError> {
        let key = database_key(database, path.as_bytes());
        let Some(name) = self.get(SUMDB_TILES, database, &key, "tile")? else {
            return Ok(None);
        };
        let sha256 = <[u8; 32]>::try_from(name.as_slice())
            .map(Sha256::from_bytes)
            .map_err(|_| malformed(database, "tile name"))?;
        let blob_err = |source| SumdbCacheError::Blob {
            database: database.to_owned(),
            tile: path.to_owned(),
            source,
        };
        let reader = match self.index.blobs().open_verified(&sha256) {
            Ok(reader) => reader,
            Err(BlobError::MissingBlob(_)) => return Ok(None),
            Err(source) => return Err(blob_err(source)),
        };
        let mut bytes = Vec::new();
        reader
            .take(MAX_TILE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|source| blob_err(BlobError::io(path)(source)))?;
        Ok(Some(bytes))
    }

    /// Whether the full tile at `path` of `database` is cached (without reading it).
    pub fn has_tile(&self, database: &str, path: &str) -> Result<bool, SumdbCacheError> {
        let key = database_key(database, path.as_bytes());
        Ok(self.get(SUMDB_TILES, database, &key, "tile")?.is_some())
    }

    /// Stores the bytes of the full tile at `path`; durable when this returns. Storing a tile
    /// again is a no-op: the first bytes stay (for a verified full tile they are the only
    /// possible bytes).
    pub fn put_tile(
        &self,
        database: &str,
        path: &str,
        bytes: &[u8],
    ) -> Result<(), SumdbCacheError> {
        let blob = self
            .index
            .blobs()
            .write(bytes)
            .map_err(|source| SumdbCacheError::Blob {
                database: database.to_owned(),
                tile: path.to_owned(),
                source,
            })?;
        let key = database_key(database, path.as_bytes());
        let meta = self.index.meta();
        let sha256 = blob.sha256().as_bytes();
        // Absent → set; present → keep the first, whatever it is.
        meta.compare_and_swap(SUMDB_TILES, &key, None, sha256)
            .map_err(meta_err(database, "tile"))?;
        meta.flush().map_err(meta_err(database, "tile"))
    }

    /// The newest signed tree head verified for `database`, if any.
    pub fn newest_head(&self, database: &str) -> Result<Option<Vec<u8>>, SumdbCacheError> {
        self.get(self.trees.heads, database, database.as_bytes(), "head")
    }

    /// Replaces the newest head of `database` with `head` if it still is `expected`; returns
    /// whether it did. Durable when this returns.
    pub fn set_newest_head(
        &self,
        database: &str,
        expected: Option<&[u8]>,
        head: &[u8],
    ) -> Result<bool, SumdbCacheError> {
        let meta = self.index.meta();
        let swap = meta
            .compare_and_swap(self.trees.heads, database.as_bytes(), expected, head)
            .map_err(meta_err(database, "head"))?;
        meta.flush().map_err(meta_err(database, "head"))?;
        Ok(swap == Swap::Done)
    }

    /// Every database's newest head, by name.
    pub fn newest_heads(&self) -> Result<Vec<(String, Vec<u8>)>, SumdbCacheError> {
        let pairs = self
            .index
            .meta()
            .scan_prefix(self.trees.heads, &[])
            .map_err(meta_err("*", "heads"))?;
        pairs
            .map(|pair| {
                let (key, value) = pair.map_err(meta_err("*", "heads"))?;
                let name = String::from_utf8(key).map_err(|_| malformed("*", "head"))?;
                Ok((name, value))
            })
            .collect()
    }

    /// Keeps `fork` as evidence; durable when this returns. Returns whether it is new (the
    /// same two heads again are kept once).
    pub fn add_fork(&self, fork: &SumdbFork) -> Result<bool, SumdbCacheError> {
        let database = fork.database.as_str();
        let mut id = fork.older.clone();
        id.extend_from_slice(&fork.newer);
        let key = database_key(database, Sha256::digest(&id).as_bytes());
        let mut value = (fork.older.len() as u64).to_be_bytes().to_vec();
        value.extend_from_slice(&fork.older);
        value.extend_from_slice(&fork.newer);
        let meta = self.index.meta();
        let swap = meta
            .compare_and_swap(self.trees.forks, &key, None, &value)
            .map_err(meta_err(database, "fork"))?;
        meta.flush().map_err(meta_err(database, "fork"))?;
        Ok(swap == Swap::Done)
    }

    /// Every fork kept as evidence, by database.
    pub fn forks(&self) -> Result<Vec<SumdbFork>, SumdbCacheError> {
        let pairs = self
            .index
            .meta()
            .scan_prefix(self.trees.forks, &[])
            .map_err(meta_err("*", "forks"))?;
        pairs
            .map(|pair| {
                let (key, value) = pair.map_err(meta_err("*", "forks"))?;
                decode_fork(&key, &value).ok_or_else(|| malformed("*", "fork"))
            })
            .collect()
    }

    /// Forgets every fork kept for `database` and its newest head, so the log is believed
    /// again from the next head on (an operator's decision; evidence files elsewhere stay).
    /// Durable when this returns; returns how many forks were forgotten.
    pub fn forget_forks(&self, database: &str) -> Result<usize, SumdbCacheError> {
        let meta = self.index.meta();
        let prefix = database_key(database, &[]);
        let pairs: Vec<_> = meta
            .scan_prefix(self.trees.forks, &prefix)
            .map_err(meta_err(database, "forks"))?
            .collect::<Result<_, _>>()
            .map_err(meta_err(database, "forks"))?;
        let mut forgotten = 0;
        for (key, value) in pairs {
            if meta
                .remove_if(self.trees.forks, &key, &value)
                .map_err(meta_err(database, "fork"))?
            {
                forgotten += 1;
            }
        }
        if let Some(head) = self.newest_head(database)? {
            meta.remove_if(self.trees.heads, database.as_bytes(), &head)
                .map_err(meta_err(database, "head"))?;
        }
        meta.flush().map_err(meta_err(database, "forks"))?;
        Ok(forgotten)
    }

    fn get(
        &self,
        tree: TreeName,
        database: &str,
        key: &[u8],
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, SumdbCacheError> {
        self.index
            .meta()
            .get(tree, key)
            .map_err(meta_err(database, what))
    }
}

/// `u16 big-endian length of the database name, name, rest`: no name can run into the rest.
pub(crate) fn database_key(database: &str, rest: &[u8]) -> Vec<u8> {
    let name = database.as_bytes();
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    let mut key = len.to_be_bytes().to_vec();
    key.extend_from_slice(&name[..usize::from(len)]);
    key.extend_from_slice(rest);
    key
}

fn decode_fork(key: &[u8], value: &[u8]) -> Option<SumdbFork> {
    let (len, rest) = key.split_at_checked(2)?;
    let len = usize::from(u16::from_be_bytes(<[u8; 2]>::try_from(len).ok()?));
    let database = std::str::from_utf8(rest.get(..len)?).ok()?.to_owned();
    let (older_len, heads) = value.split_at_checked(8)?;
    let older_len = u64::from_be_bytes(<[u8; 8]>::try_from(older_len).ok()?);
    let (older, newer) = heads.split_at_checked(usize::try_from(older_len).ok()?)?;
    Some(SumdbFork {
        database,
        older: older.to_vec(),
        newer: newer.to_vec(),
    })
}

pub(crate) fn meta_err(
    database: &str,
    what: &'static str,
) -> impl Fn(MetaError) -> SumdbCacheError {
    let database = database.to_owned();
    move |source| SumdbCacheError::Meta {
        database: database.clone(),
        what,
        source,
    }
}

pub(crate) fn malformed(database: &str, what: &'static str) -> SumdbCacheError {
    SumdbCacheError::Malformed {
        database: database.to_owned(),
        what,
    }
}
