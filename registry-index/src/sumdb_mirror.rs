//! What a mirror of another member's checksum log keeps besides its full tiles (which
//! [`SumdbCache`] keeps as for any relayed database): which record id holds which module
//! version, so the mirror answers lookups from its copy while the log's writer is down; how
//! many records of the log it has indexed; and the widest partial tile at each position, one
//! value per position overwritten as the log grows (a narrower tile is its prefix), so a
//! mirror that syncs often does not keep every width it ever saw.
//!
//! Nothing here checks anything: the mirror indexes only records of data tiles it verified
//! against a signed head of the log.

use crate::meta::{Commit, Write};
use crate::schema::SUMDB_MIRROR_IDS;
use crate::sumdb_cache::{SumdbCache, SumdbCacheError, database_key, malformed, meta_err};

/// The marker of a record key (then `module path, space, version`).
const RECORD: u8 = b'r';
/// The key of the indexed-record count.
const SYNCED: u8 = b's';
/// The marker of a partial tile's key (then height, level or `0xff` for data, index).
const PARTIAL: u8 = b'p';

/// Where a tile sits in its log, for [`SumdbCache::mirror_partial_tile`]: its height, its level
/// (`None`: a data tile) and its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePosition {
    /// The tile height (8 for Go's).
    pub height: u8,
    /// The hash level, or `None` for a data tile.
    pub level: Option<u8>,
    /// The tile's number at its level.
    pub index: u64,
}

impl SumdbCache<'_> {
    /// The id of the record of `module version` in the mirrored log `database`, if indexed.
    pub fn mirror_record_id(
        &self,
        database: &str,
        module: &str,
        version: &str,
    ) -> Result<Option<u64>, SumdbCacheError> {
        let key = record_key(database, module, version);
        let Some(value) = self
            .index
            .meta()
            .get(SUMDB_MIRROR_IDS, &key)
            .map_err(meta_err(database, "mirror record"))?
        else {
            return Ok(None);
        };
        decode_u64(&value)
            .map(Some)
            .ok_or_else(|| malformed(database, "mirror record id"))
    }

    /// How many records of `database`, from the first, are indexed.
    pub fn mirror_synced(&self, database: &str) -> Result<u64, SumdbCacheError> {
        Ok(self.synced_value(database)?.map_or(0, |(count, _)| count))
    }

    /// Indexes `records` (`(module, version)` of records `first`, `first + 1`, …) and moves the
    /// indexed count to their end, atomically and durably; a version already indexed keeps
    /// its first id. Returns false (writing nothing) when the count is no longer `first`.
    pub fn index_mirror_records(
        &self,
        database: &str,
        first: u64,
        records: &[(String, String)],
    ) -> Result<bool, SumdbCacheError> {
        let current = self.synced_value(database)?;
        if current.as_ref().map_or(0, |(count, _)| *count) != first {
            return Ok(false);
        }
        let meta = self.index.meta();
        let mut keys = Vec::new();
        for (offset, (module, version)) in records.iter().enumerate() {
            let key = record_key(database, module, version);
            let known = meta
                .get(SUMDB_MIRROR_IDS, &key)
                .map_err(meta_err(database, "mirror record"))?
                .is_some();
            if !known && !keys.iter().any(|(k, _)| *k == key) {
                keys.push((key, (first + offset as u64).to_be_bytes()));
            }
        }
        let synced_key = database_key(database, &[SYNCED]);
        let synced = (first + records.len() as u64).to_be_bytes();
        let mut writes: Vec<Write<'_>> = keys
            .iter()
            .map(|(key, id)| Write::new(SUMDB_MIRROR_IDS, key, None, id))
            .collect();
        let expected = current.as_ref().map(|(_, raw)| raw.as_slice());
        writes.push(Write::new(SUMDB_MIRROR_IDS, &synced_key, expected, &synced));
        let done = meta
            .commit(&writes)
            .map_err(meta_err(database, "mirror records"))?;
        meta.flush().map_err(meta_err(database, "mirror records"))?;
        Ok(done == Commit::Done)
    }

    /// The widest partial tile kept at `position` of `database`: its width and bytes.
    pub fn mirror_partial_tile(
        &self,
        database: &str,
        position: TilePosition,
    ) -> Result<Option<(u32, Vec<u8>)>, SumdbCacheError> {
        let key = partial_key(database, position);
        let Some(value) = self
            .index
            .meta()
            .get(SUMDB_MIRROR_IDS, &key)
            .map_err(meta_err(database, "mirror partial tile"))?
        else {
            return Ok(None);
        };
        let (width, bytes) = value
            .split_first_chunk::<4>()
            .ok_or_else(|| malformed(database, "mirror partial tile"))?;
        Ok(Some((u32::from_be_bytes(*width), bytes.to_vec())))
    }

    /// Keeps `bytes`, the partial tile of `width` at `position`, unless a wider one is kept
    /// there already; durable when this returns.
    pub fn put_mirror_partial_tile(
        &self,
        database: &str,
        position: TilePosition,
        width: u32,
        bytes: &[u8],
    ) -> Result<(), SumdbCacheError> {
        let key = partial_key(database, position);
        let meta = self.index.meta();
        let mut value = width.to_be_bytes().to_vec();
        value.extend_from_slice(bytes);
        loop {
            let current = meta
                .get(SUMDB_MIRROR_IDS, &key)
                .map_err(meta_err(database, "mirror partial tile"))?;
            let kept_width = current
                .as_deref()
                .and_then(|v| v.first_chunk::<4>())
                .map(|w| u32::from_be_bytes(*w));
            if kept_width.is_some_and(|kept| kept >= width) {
                return Ok(());
            }
            let swapped = meta
                .compare_and_swap(SUMDB_MIRROR_IDS, &key, current.as_deref(), &value)
                .map_err(meta_err(database, "mirror partial tile"))?;
            if swapped == crate::meta::Swap::Done {
                return meta
                    .flush()
                    .map_err(meta_err(database, "mirror partial tile"));
            }
        }
    }

    fn synced_value(&self, database: &str) -> Result<Option<(u64, Vec<u8>)>, SumdbCacheError> {
        let key = database_key(database, &[SYNCED]);
        let Some(raw) = self
            .index
            .meta()
            .get(SUMDB_MIRROR_IDS, &key)
            .map_err(meta_err(database, "mirror count"))?
        else {
            return Ok(None);
        };
        let count = decode_u64(&raw).ok_or_else(|| malformed(database, "mirror count"))?;
        Ok(Some((count, raw)))
    }
}

fn record_key(database: &str, module: &str, version: &str) -> Vec<u8> {
    let mut rest = vec![RECORD];
    rest.extend_from_slice(module.as_bytes());
    rest.push(b' ');
    rest.extend_from_slice(version.as_bytes());
    database_key(database, &rest)
}

fn partial_key(database: &str, position: TilePosition) -> Vec<u8> {
    let mut rest = vec![PARTIAL, position.height, position.level.unwrap_or(u8::MAX)];
    rest.extend_from_slice(&position.index.to_be_bytes());
    database_key(database, &rest)
}

fn decode_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use crate::Index;

    #[test]
    fn mirror_records_are_indexed_once_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let cache = index.sumdb_cache();
        let records = |names: &[&str]| {
            names
                .iter()
                .map(|n| (format!("example.org/{n}"), String::from("v1.0.0")))
                .collect::<Vec<_>>()
        };
        assert_eq!(cache.mirror_synced("db").unwrap(), 0);
        assert!(
            cache
                .index_mirror_records("db", 0, &records(&["a", "b"]))
                .unwrap()
        );
        assert!(
            !cache
                .index_mirror_records("db", 0, &records(&["x"]))
                .unwrap()
        );
        assert!(
            cache
                .index_mirror_records("db", 2, &records(&["c", "a"]))
                .unwrap()
        );
        assert_eq!(cache.mirror_synced("db").unwrap(), 4);
        let id = |n: &str| {
            cache
                .mirror_record_id("db", &format!("example.org/{n}"), "v1.0.0")
                .unwrap()
        };
        assert_eq!(
            (id("a"), id("b"), id("c"), id("x")),
            (Some(0), Some(1), Some(2), None)
        );
        assert_eq!(cache.mirror_synced("other").unwrap(), 0);
    }

    #[test]
    fn one_partial_tile_is_kept_per_position_the_widest() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let cache = index.sumdb_cache();
        let at = |index| super::TilePosition {
            height: 8,
            level: Some(0),
            index,
        };
        assert_eq!(cache.mirror_partial_tile("db", at(0)).unwrap(), None);
        cache
            .put_mirror_partial_tile("db", at(0), 2, b"ab")
            .unwrap();
        cache
            .put_mirror_partial_tile("db", at(0), 3, b"abc")
            .unwrap();
        cache.put_mirror_partial_tile("db", at(0), 1, b"a").unwrap();
        assert_eq!(
            cache.mirror_partial_tile("db", at(0)).unwrap(),
            Some((3, b"abc".to_vec())),
            "the widest stays"
        );
        assert_eq!(cache.mirror_partial_tile("db", at(1)).unwrap(), None);
        let data = super::TilePosition {
            level: None,
            ..at(0)
        };
        assert_eq!(cache.mirror_partial_tile("db", data).unwrap(), None);
    }
}
