//! The node's own Go-format checksum database log: one record per pinned module version (its
//! two `go.sum` lines), the stored hashes of the tiled log, and the signed tree heads.
//!
//! [`ChecksumLog::append`] takes module versions, reads each one's **pinned** entry and appends
//! the record of its pinned hashes (`M V h1:<zip>` and `M V/go.mod h1:<go.mod>`): the log can
//! only ever say what the store serves. A batch is one [`MetaStore::commit`](crate::MetaStore::commit) (record texts,
//! stored hashes, the id of each version, the new size, and, as a guard, every appended
//! version's entry with its current bytes, so a pin that changed under the append makes the
//! commit stale), then one flush: a burst of fills costs one fsync, and after a crash the log
//! holds every batch whole or not at all, never a record the store does not pin.
//!
//! A version a public checksum database contradicts is kept out for good: the writer skips
//! every version with a [`PublicConflict`] (see `public_conflicts`).
//!
//! Heads are signed by the caller (it holds the key) only for a size that is durable, and
//! stored with [`ChecksumLog::store_head`], which keeps the first head stored for a size: a
//! node that restarts never hands out two different heads for one size.
//!
//! # Encoding
//! - `sumdb-log-meta-v1`: key `size`, value the number of records (`u64`, big-endian).
//! - `sumdb-log-records-v1`: key the record id (`u64`, big-endian), value the record text.
//! - `sumdb-log-hashes-v1`: key the stored hash index (`u64`, big-endian), value 32 bytes.
//! - `sumdb-log-ids-v1`: key as in the versions tree, value the record id.
//! - `sumdb-log-heads-v1`: key the tree size (`u64`, big-endian), value the signed note.
//! - `sumdb-log-conflicts-v1`: key as in the versions tree, value the time found, the public
//!   database's name and its verified lookup answer.

mod public_conflicts;

use std::collections::BTreeMap;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{
    Hash, HashReader, RecordText, Tile, TileLevel, TlogError, format_data_tile, read_tile_data,
    stored_hash_index, stored_hashes, tree_hash,
};
use delos_pool_protocol::version::Version;

use crate::entry_codec::decode;
use crate::error::{IndexError, ModuleVersion};
use crate::index::Index;
use crate::meta::{Commit, MetaError, Write};
use crate::schema::{
    SUMDB_LOG_HASHES, SUMDB_LOG_HEADS, SUMDB_LOG_IDS, SUMDB_LOG_META, SUMDB_LOG_RECORDS,
    version_key,
};

pub use public_conflicts::PublicConflict;

/// The meta-tree key of the log's size.
const SIZE_KEY: &[u8] = b"size";

/// Why the log could not be read or appended to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A version to append is not pinned.
    #[error("{0} is not pinned")]
    NotPinned(Box<ModuleVersion>),
    /// A version to append is pinned without its zip: a `.mod`-only version stays out of the
    /// log until it has one (a record needs both lines).
    #[error("{0} is pinned without its zip")]
    NoZip(Box<ModuleVersion>),
    /// A stored value does not have the shape its tree gives it.
    #[error("the checksum log's {tree} tree holds a malformed value under {key:?}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The key, lossily shown.
        key: String,
    },
    /// The tree functions refused (a size or index out of range).
    #[error("the checksum log's tree: {0}")]
    Tree(String),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The metadata engine failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl<E: std::fmt::Display> From<TlogError<E>> for LogError {
    fn from(err: TlogError<E>) -> Self {
        match err {
            TlogError::Read(inner) => LogError::Tree(format!("reading stored hashes: {inner}")),
            other => LogError::Tree(other.to_string()),
        }
    }
}

/// What [`ChecksumLog::append`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// The size of the log after the batch (durable).
    pub size: u64,
    /// The ids given to the batch's new records, in the batch's order; versions already in
    /// the log are left out.
    pub ids: Vec<(ModulePath, Version, u64)>,
}

/// The node's checksum database log in the store: `index.checksum_log()`.
#[derive(Debug, Clone, Copy)]
pub struct ChecksumLog<'a> {
    pub(crate) index: &'a Index,
}

impl ChecksumLog<'_> {
    /// The number of records in the log.
    pub fn size(&self) -> Result<u64, LogError> {
        match self.index.meta().get(SUMDB_LOG_META, SIZE_KEY)? {
            None => Ok(0),
            Some(bytes) => decode_u64(SUMDB_LOG_META.as_str(), SIZE_KEY, &bytes),
        }
    }

    /// Appends a record for each pinned, whole version of `versions` not in the log yet, in
    /// the order given, as one durable batch (see the module docs).
    pub fn append(&self, versions: &[(ModulePath, Version)]) -> Result<Appended, LogError> {
        let _writer = self.index.lock_log_writer();
        loop {
            if let Some(appended) = self.try_append(versions)? {
                return Ok(appended);
            }
        }
    }

    /// One attempt of [`Self::append`]; `None` when the store changed under it.
    fn try_append(&self, versions: &[(ModulePath, Version)]) -> Result<Option<Appended>, LogError> {
        let meta = self.index.meta();
        let start = self.size()?;
        let mut size = start;
        let mut pending = Pending::default();
        let mut guards = Vec::new();
        let mut ids = Vec::new();
        for (module, version) in versions {
            let key = version_key(module, version);
            if meta.get(SUMDB_LOG_IDS, &key)?.is_some()
                || pending.ids.contains_key(&key)
                || self.has_public_conflict(&key)?
            {
                continue;
            }
            let (pinned, record) = pinned_record(self.index, module, version, &key)?;
            let hashes = stored_hashes(size, record.hash(), &self.reader(&pending))?;
            let first = stored_hash_index(0, size);
            for (offset, hash) in hashes.into_iter().enumerate() {
                pending.hashes.insert(first + offset as u64, hash);
            }
            pending.records.insert(size, record);
            pending.ids.insert(key.clone(), size);
            guards.push((key, pinned));
            ids.push((module.clone(), version.clone(), size));
            size += 1;
        }
        if size == start {
            return Ok(Some(Appended { size, ids }));
        }
        let encoded = pending.encode(size);
        let current_size = (start > 0).then(|| start.to_be_bytes());
        let mut writes = vec![Write {
            tree: SUMDB_LOG_META,
            key: SIZE_KEY,
            expected: current_size.as_ref().map(|b| b.as_slice()),
            value: &encoded.size,
        }];
        for (key, pinned) in &guards {
            writes.push(Write::new(
                crate::schema::VERSIONS,
                key,
                Some(pinned),
                pinned,
            ));
        }
        for (key, value) in &encoded.records {
            writes.push(Write::new(SUMDB_LOG_RECORDS, key, None, value));
        }
        for (key, value) in &encoded.hashes {
            writes.push(Write::new(SUMDB_LOG_HASHES, key, None, value));
        }
        for (key, value) in &encoded.ids {
            writes.push(Write::new(SUMDB_LOG_IDS, key, None, value));
        }
        if meta.commit(&writes)? == Commit::Stale {
            return Ok(None);
        }
        meta.flush()?;
        Ok(Some(Appended { size, ids }))
    }

    /// The record the log would hold for `module@version`: the `go.sum` lines of its pinned
    /// hashes. Refuses what is not pinned whole.
    pub fn pinned_record(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<RecordText, LogError> {
        let key = version_key(module, version);
        Ok(pinned_record(self.index, module, version, &key)?.1)
    }

    /// The id of `module@version`'s record, if it is in the log.
    pub fn id_of(&self, module: &ModulePath, version: &Version) -> Result<Option<u64>, LogError> {
        let key = version_key(module, version);
        match self.index.meta().get(SUMDB_LOG_IDS, &key)? {
            None => Ok(None),
            Some(bytes) => decode_u64(SUMDB_LOG_IDS.as_str(), &key, &bytes).map(Some),
        }
    }

    /// The text of record `id`, if the log has that many records.
    pub fn record(&self, id: u64) -> Result<Option<RecordText>, LogError> {
        let key = id.to_be_bytes();
        match self.index.meta().get(SUMDB_LOG_RECORDS, &key)? {
            None => Ok(None),
            Some(bytes) => RecordText::parse(&bytes)
                .map(Some)
                .map_err(|_| LogError::Corrupt {
                    tree: SUMDB_LOG_RECORDS.as_str(),
                    key: id.to_string(),
                }),
        }
    }

    /// The hash of the tree of the first `size` records.
    pub fn tree_hash(&self, size: u64) -> Result<Hash, LogError> {
        Ok(tree_hash(size, self)?)
    }

    /// The bytes of `tile` as the log of `size` records serves them (hash tiles from the
    /// stored hashes, data tiles from the record texts); `None` when the tile is not part of
    /// a tree of that size.
    pub fn tile(&self, tile: &Tile, size: u64) -> Result<Option<Vec<u8>>, LogError> {
        if !tile.is_in_tree(size) {
            return Ok(None);
        }
        match tile.level() {
            TileLevel::Data => {
                let first = tile.index() << tile.height();
                let mut records = Vec::with_capacity(tile.width() as usize);
                for id in first..first + u64::from(tile.width()) {
                    records.push(self.record(id)?.ok_or_else(|| LogError::Corrupt {
                        tree: SUMDB_LOG_RECORDS.as_str(),
                        key: id.to_string(),
                    })?);
                }
                Ok(Some(format_data_tile(&records)))
            }
            TileLevel::Hashes(_) => Ok(Some(read_tile_data(tile, self)?)),
        }
    }

    /// Keeps `note` as the signed head for `size` unless one is stored already; returns the
    /// head stored for `size` (the first one, which the caller must hand out instead of its
    /// own when they differ). Flushed before it returns.
    pub fn store_head(&self, size: u64, note: &[u8]) -> Result<Vec<u8>, LogError> {
        let meta = self.index.meta();
        let key = size.to_be_bytes();
        loop {
            if let Some(stored) = meta.get(SUMDB_LOG_HEADS, &key)? {
                return Ok(stored);
            }
            let put = Write::new(SUMDB_LOG_HEADS, &key, None, note);
            if meta.commit(&[put])? == Commit::Done {
                meta.flush()?;
                return Ok(note.to_vec());
            }
        }
    }

    /// The signed head stored for `size`, if any.
    pub fn head(&self, size: u64) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self
            .index
            .meta()
            .get(SUMDB_LOG_HEADS, &size.to_be_bytes())?)
    }

    /// Every signed head stored, with its size, smallest first.
    pub fn heads(&self) -> Result<Vec<(u64, Vec<u8>)>, LogError> {
        self.index
            .meta()
            .scan_prefix(SUMDB_LOG_HEADS, &[])?
            .map(|pair| {
                let (key, note) = pair?;
                Ok((decode_u64(SUMDB_LOG_HEADS.as_str(), &key, &key)?, note))
            })
            .collect()
    }

    /// The signed head of the largest size stored, with its size.
    pub fn latest_head(&self) -> Result<Option<(u64, Vec<u8>)>, LogError> {
        match self.index.meta().last(SUMDB_LOG_HEADS)? {
            None => Ok(None),
            Some((key, note)) => {
                let size = decode_u64(SUMDB_LOG_HEADS.as_str(), &key, &key)?;
                Ok(Some((size, note)))
            }
        }
    }

    /// Reads stored hashes, the batch being appended first, then the store.
    fn reader<'p>(&'p self, pending: &'p Pending) -> PendingReader<'p> {
        PendingReader {
            log: *self,
            pending,
        }
    }
}

impl HashReader for ChecksumLog<'_> {
    type Error = LogError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, LogError> {
        let meta = self.index.meta();
        indexes
            .iter()
            .map(|index| {
                let key = index.to_be_bytes();
                let bytes = meta.get(SUMDB_LOG_HASHES, &key)?;
                bytes
                    .as_deref()
                    .and_then(Hash::from_slice)
                    .ok_or_else(|| LogError::Corrupt {
                        tree: SUMDB_LOG_HASHES.as_str(),
                        key: index.to_string(),
                    })
            })
            .collect()
    }
}

/// The records, hashes and ids of a batch not committed yet.
#[derive(Default)]
struct Pending {
    records: BTreeMap<u64, RecordText>,
    hashes: BTreeMap<u64, Hash>,
    ids: BTreeMap<Vec<u8>, u64>,
}

/// A batch's writes, encoded.
struct Encoded {
    size: [u8; 8],
    records: Vec<([u8; 8], Vec<u8>)>,
    hashes: Vec<([u8; 8], [u8; 32])>,
    ids: Vec<(Vec<u8>, [u8; 8])>,
}

impl Pending {
    fn encode(&self, size: u64) -> Encoded {
        Encoded {
            size: size.to_be_bytes(),
            records: self
                .records
                .iter()
                .map(|(id, text)| (id.to_be_bytes(), text.as_str().as_bytes().to_vec()))
                .collect(),
            hashes: self
                .hashes
                .iter()
                .map(|(index, hash)| (index.to_be_bytes(), *hash.as_bytes()))
                .collect(),
            ids: self
                .ids
                .iter()
                .map(|(key, id)| (key.clone(), id.to_be_bytes()))
                .collect(),
        }
    }
}

/// [`HashReader`] over a batch being appended and the log behind it.
struct PendingReader<'p> {
    log: ChecksumLog<'p>,
    pending: &'p Pending,
}

impl HashReader for PendingReader<'_> {
    type Error = LogError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, LogError> {
        indexes
            .iter()
            .map(|index| match self.pending.hashes.get(index) {
                Some(hash) => Ok(*hash),
                None => Ok(self.log.read_hashes(&[*index])?[0]),
            })
            .collect()
    }
}

/// The pinned entry's bytes and the record of its hashes; refuses what is not pinned whole.
fn pinned_record(
    index: &Index,
    module: &ModulePath,
    version: &Version,
    key: &[u8],
) -> Result<(Vec<u8>, RecordText), LogError> {
    let at = || {
        Box::new(ModuleVersion {
            module: module.clone(),
            version: version.clone(),
        })
    };
    let bytes = index
        .meta()
        .get(crate::schema::VERSIONS, key)?
        .ok_or_else(|| LogError::NotPinned(at()))?;
    let entry = decode(&bytes).map_err(|err| IndexError::corrupt_entry(module, version, err))?;
    let zip = entry.zip().ok_or_else(|| LogError::NoZip(at()))?;
    let record = RecordText::go_sum(module, version, zip.h1(), entry.go_mod().h1());
    Ok((bytes, record))
}

fn decode_u64(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u64, LogError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| LogError::Corrupt {
            tree,
            key: String::from_utf8_lossy(key).into_owned(),
        })
}
