//! [`Index`]: the handle a node holds: blob store, metadata store, and what is visible.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use delos_pool_protocol::messages::FeedId;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::blobs::BlobStore;
use crate::checksum_log::ChecksumLog;
use crate::conflicts::Conflicts;
use crate::entry::VersionEntry;
use crate::entry_codec::decode;
use crate::error::IndexError;
use crate::feed::Feed;
use crate::meta::{Commit, MetaStore};
use crate::open_check::{Checked, OpenCheck, Settling, StoreActivity, blobs_present};
use crate::open_report::OpenReport;
use crate::overlay::Overlay;
use crate::pins::Pins;
use crate::records::Records;
use crate::records_state::RecordsState;
use crate::schema::{MalformedKey, VERSIONS, module_prefix, parse_version_key, version_key};
use crate::sled_store::{DEFAULT_CACHE_CAPACITY_BYTES, SledStore};
use crate::stats::Stats;
use crate::sumdb_cache::SumdbCache;
use crate::sync_cursors::SyncCursors;
use crate::versions::{Change, Stored, Target, store, store_unflushed};

/// Directory (under the data dir) of the blob store.
const BLOBS_DIR: &str = "blobs";
/// Directory (under the data dir) of the sled database.
const META_DIR: &str = "meta-sled";

/// Tuning for [`Index::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexConfig {
    /// Size of sled's page cache in bytes. Default: 16 MiB ([`DEFAULT_CACHE_CAPACITY_BYTES`]).
    pub cache_capacity_bytes: u64,
    /// When every entry's blobs are checked. Default: before `open` returns.
    pub check: OpenCheck,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            cache_capacity_bytes: DEFAULT_CACHE_CAPACITY_BYTES,
            check: OpenCheck::BeforeOpen,
        }
    }
}

/// Keys hidden because they were found damaged, the counts of everything else, how far the
/// open-time check has got, and the stores running.
#[derive(Debug)]
pub(crate) struct Visibility {
    pub(crate) hidden: HashSet<Vec<u8>>,
    pub(crate) stats: Stats,
    /// A record written but not yet flushed is already readable by other threads; while this
    /// is non-zero, reads flush before returning, so nothing is served that a crash could undo.
    unflushed_stores: usize,
    /// What the open-time check found damaged so far.
    pub(crate) report: OpenReport,
    /// How far the open-time check has got; see [`crate::open_check`].
    pub(crate) checked: Checked,
    /// Stores running and begun, for the open-time check.
    pub(crate) stores: StoreActivity,
}

/// Counts one store in [`Visibility::unflushed_stores`] for as long as it lives.
struct Unflushed<'a>(&'a Index);

impl<'a> Unflushed<'a> {
    fn begin(index: &'a Index) -> Self {
        index.lock().unflushed_stores += 1;
        Self(index)
    }
}

impl Drop for Unflushed<'_> {
    fn drop(&mut self) {
        self.0.lock().unflushed_stores -= 1;
    }
}

/// One module version as iterated: its module, its version and its entry.
pub type Listed = (ModulePath, Version, VersionEntry);

/// One version offered to [`Index::store_batch`]: its module, its version and its entry.
pub type BatchItem = (ModulePath, Version, VersionEntry);

/// The on-disk store of a node: content-addressed blobs and the immutable version index.
///
/// Every method blocks on disk I/O; async callers run them in `spawn_blocking`. The handle is
/// `Sync`: share it (e.g. in an `Arc`) between threads; concurrent stores are safe.
#[derive(Debug)]
pub struct Index {
    blobs: BlobStore,
    meta: Box<dyn MetaStore>,
    visibility: Mutex<Visibility>,
    records: RecordsState,
    feed_id: FeedId,
    /// Serialises appends to the checksum log (one writer, contiguous ids).
    log_writer: Mutex<()>,
    /// Bumped by every pin and record stored; see [`Index::changes`].
    changes: AtomicU64,
}

impl Index {
    /// Opens (creating if needed) the store in `dir` with the default [`IndexConfig`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, IndexError> {
        Self::open_with(dir, &IndexConfig::default())
    }

    /// Opens (creating if needed) the store in `dir`: `dir/blobs` and `dir/meta-sled`.
    ///
    /// Removes temp files left by a crash and checks every entry's blobs, before returning or
    /// deferred as `config.check` says; see [`Self::open_report`]. Only one process may open a
    /// directory at a time.
    pub fn open_with(dir: impl AsRef<Path>, config: &IndexConfig) -> Result<Self, IndexError> {
        let dir = dir.as_ref();
        // sled first: it takes an exclusive lock on its directory, so a second process fails
        // here, before `BlobStore::open` would delete the first process's temp files.
        let meta = SledStore::open(&dir.join(META_DIR), config.cache_capacity_bytes)?;
        let blobs = BlobStore::open(dir.join(BLOBS_DIR))?;
        Self::with_backend(blobs, Box::new(meta), config.check)
    }

    /// Assembles an index from its parts and runs the open-time check, or defers it.
    pub(crate) fn with_backend(
        blobs: BlobStore,
        meta: Box<dyn MetaStore>,
        check: OpenCheck,
    ) -> Result<Self, IndexError> {
        crate::signer_counts::rebuild_if_missing(meta.as_ref())?;
        let records = RecordsState::load(meta.as_ref())?;
        let feed_id = crate::feed_id::load_or_create(meta.as_ref())?;
        crate::pins::backfill_if_missing(meta.as_ref())?;
        let visibility = Visibility {
            hidden: HashSet::new(),
            stats: Stats::default(),
            unflushed_stores: 0,
            report: OpenReport::default(),
            checked: Checked::Through(None),
            stores: StoreActivity::default(),
        };
        let index = Self {
            blobs,
            meta,
            visibility: Mutex::new(visibility),
            records,
            feed_id,
            log_writer: Mutex::new(()),
            changes: AtomicU64::new(0),
        };
        if check == OpenCheck::BeforeOpen {
            index.finish_open_check()?;
        }
        Ok(index)
    }

    /// The blob store: write a version's blobs here before [`Self::store`], read them to serve.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The signed provenance records: insert (with the feed and conflict checks) and read.
    pub fn records(&self) -> Records<'_> {
        Records { index: self }
    }

    /// The local feed of public records, for peers to sync from.
    pub fn feed(&self) -> Feed<'_> {
        Feed { index: self }
    }

    /// The pin log: every version in the order it became servable whole, for the public feeds.
    pub fn pins(&self) -> Pins<'_> {
        Pins { index: self }
    }

    /// The per-peer cursors of the feed sync (where to resume pulling each peer's feed).
    pub fn sync_cursors(&self) -> SyncCursors<'_> {
        SyncCursors { index: self }
    }

    /// The checksum-database relay's durable cache: full tiles, newest heads, fork evidence.
    pub fn sumdb_cache(&self) -> SumdbCache<'_> {
        SumdbCache {
            index: self,
            trees: crate::sumdb_cache::HeadTrees::RELAY,
        }
    }

    /// The newest signed head of every checksum log the pool gossips, keyed by the log's
    /// verifier key, and the fork evidence members found (tiles are not kept here).
    pub fn pool_log_heads(&self) -> SumdbCache<'_> {
        SumdbCache {
            index: self,
            trees: crate::sumdb_cache::HeadTrees::POOL,
        }
    }

    /// The conflict evidence: disagreeing signed records, kept, never served.
    pub fn conflicts(&self) -> Conflicts<'_> {
        Conflicts { index: self }
    }

    /// The node's Go-format checksum database log of what it pins.
    pub fn checksum_log(&self) -> ChecksumLog<'_> {
        ChecksumLog { index: self }
    }

    /// Held while appending to the checksum log.
    pub(crate) fn lock_log_writer(&self) -> MutexGuard<'_, ()> {
        self.log_writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn meta(&self) -> &dyn MetaStore {
        self.meta.as_ref()
    }

    pub(crate) fn records_state(&self) -> &RecordsState {
        &self.records
    }

    pub(crate) fn feed_id(&self) -> FeedId {
        self.feed_id
    }

    /// Entries the open-time check found damaged (so far, while a deferred check runs: see
    /// [`Self::open_check_done`]).
    pub fn open_report(&self) -> OpenReport {
        self.lock().report.clone()
    }

    /// Pins `entry` as `module@version`, by the rules of [`crate::versions`].
    ///
    /// Every blob the entry references must already be stored (written with
    /// [`BlobStore::write`], which makes it durable). The metadata is written in one atomic
    /// step and flushed to disk before this returns `Ok`; only then may a client be answered.
    pub fn store(
        &self,
        module: &ModulePath,
        version: &Version,
        entry: VersionEntry,
    ) -> Result<Stored, IndexError> {
        let target = Target { module, version };
        let _settling = Settling::begin(self);
        let unflushed = Unflushed::begin(self);
        let mut stored = store(self.meta.as_ref(), &self.blobs, &target, &entry)?;
        drop(unflushed);
        if self.settle(&version_key(module, version), &stored) {
            // Writing the blobs again (same sha256) already put the missing file back.
            stored.change = Change::Repaired;
        }
        if stored.change != Change::AlreadyPresent {
            self.note_change();
        }
        Ok(stored)
    }

    /// Pins every `(module, version, entry)` of `batch`, in order, by the rules of
    /// [`crate::versions`], with one flush for the whole batch.
    ///
    /// The guarantees of [`Self::store`] hold for each version when this returns `Ok`: every
    /// blob must already be durable (for many small blobs, [`BlobStore::write_batch`]), each
    /// entry is written in its own atomic step, and all are flushed before this returns; until
    /// then, reads flush first, so nothing is served that a crash could undo. On an error the
    /// versions before the failing one are pinned (and flushed), the rest are not.
    pub fn store_batch(&self, batch: &[BatchItem]) -> Result<Vec<Stored>, IndexError> {
        let _settling = Settling::begin(self);
        let unflushed = Unflushed::begin(self);
        // First as one commit (see `crate::overlay`); if a concurrent store touched one of
        // these versions or took a pin number meanwhile, one commit per version, decided again.
        let overlay = Overlay::new(self.meta.as_ref());
        let (mut done, mut failure) = self.store_each(&overlay, batch);
        let applied = overlay.apply();
        if matches!(applied, Ok(Commit::Stale)) {
            (done, failure) = self.store_each(self.meta.as_ref(), batch);
        }
        let flushed = applied.and_then(|_| self.meta.flush());
        drop(unflushed);
        flushed?;
        for ((module, version, _), stored) in batch.iter().zip(&mut done) {
            if self.settle(&version_key(module, version), stored) {
                stored.change = Change::Repaired;
            }
        }
        if done
            .iter()
            .any(|stored| stored.change != Change::AlreadyPresent)
        {
            self.note_change();
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(done),
        }
    }

    /// Stores the versions into `meta` in order until one fails; what was done, and the failure.
    fn store_each(
        &self,
        meta: &dyn MetaStore,
        batch: &[BatchItem],
    ) -> (Vec<Stored>, Option<IndexError>) {
        let mut done = Vec::with_capacity(batch.len());
        for (module, version, entry) in batch {
            let target = Target { module, version };
            match store_unflushed(meta, &self.blobs, &target, entry) {
                Ok(stored) => done.push(stored),
                Err(err) => return (done, Some(err)),
            }
        }
        (done, None)
    }

    /// A number that grows whenever a version is pinned (or upgraded, or repaired) or a
    /// provenance record is stored: answers derived from the store's contents (a module's
    /// version list) that were computed at the same number are still current.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Counts a change for [`Self::changes`].
    pub(crate) fn note_change(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Updates visibility and counts after a successful store; true if the entry was hidden
    /// as damaged until now. A key the open-time check has not reached is left to it.
    fn settle(&self, key: &[u8], stored: &Stored) -> bool {
        let mut visibility = self.lock();
        if !visibility.checked.covers(key) {
            return false;
        }
        if visibility.hidden.remove(key) {
            visibility.stats.add(&stored.entry);
            return true;
        }
        if stored.change != Change::AlreadyPresent {
            if let Some(previous) = &stored.previous {
                visibility.stats.remove(previous);
            }
            visibility.stats.add(&stored.entry);
        }
        false
    }

    /// The entry of `module@version`, if it is stored and not damaged.
    pub fn get(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Option<VersionEntry>, IndexError> {
        let key = version_key(module, version);
        let Some(bytes) = self.meta.get(VERSIONS, &key)? else {
            return Ok(None);
        };
        let checked = {
            let visibility = self.lock();
            if visibility.hidden.contains(&key) {
                return Ok(None);
            }
            visibility.checked.covers(&key)
        };
        self.flush_if_unflushed()?;
        let entry =
            decode(&bytes).map_err(|source| IndexError::corrupt_entry(module, version, source))?;
        if !checked && !blobs_present(self, &entry)? {
            // Damaged; the open-time check reports and hides it when it gets there.
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// The stored versions of exactly `module` (not of `module/v2` or `module-x`), with their
    /// entries, in Go's semver order.
    pub fn module_entries(
        &self,
        module: &ModulePath,
    ) -> Result<Vec<(Version, VersionEntry)>, IndexError> {
        let mut found: Vec<(Version, VersionEntry)> = self
            .scan(&module_prefix(module))?
            .map(|item| item.map(|(_, version, entry)| (version, entry)))
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    /// The stored versions of exactly `module`, in Go's semver order.
    ///
    /// Reads the versions from the keys: an entry is decoded only if the open-time check has
    /// not reached it yet (to check its blobs), so a module of 10,000 versions lists in
    /// milliseconds.
    pub fn list_versions(&self, module: &ModulePath) -> Result<Vec<Version>, IndexError> {
        let prefix = module_prefix(module);
        let (hidden, checked) = {
            let visibility = self.lock();
            (visibility.hidden.clone(), visibility.checked.clone())
        };
        let mut versions = Vec::new();
        for item in self.meta.scan_prefix(VERSIONS, &prefix)? {
            let (key, value) = item?;
            if hidden.contains(&key) {
                continue;
            }
            if !checked.covers(&key) {
                let (_, _, entry) = listed(&key, &value)?;
                if !blobs_present(self, &entry)? {
                    continue;
                }
            }
            versions.push(version_of_key(&key, prefix.len())?);
        }
        // A version read may come from a store not flushed yet; durable before it is told.
        self.flush_if_unflushed()?;
        // Stable: versions equal in semver order (build metadata) keep their key order.
        versions.sort();
        Ok(versions)
    }

    /// Every stored, undamaged version, in key order (by module path, then version text).
    pub fn iter(
        &self,
    ) -> Result<impl Iterator<Item = Result<Listed, IndexError>> + '_, IndexError> {
        self.scan(&[])
    }

    fn scan(
        &self,
        prefix: &[u8],
    ) -> Result<impl Iterator<Item = Result<Listed, IndexError>> + '_, IndexError> {
        let (hidden, checked) = {
            let visibility = self.lock();
            (visibility.hidden.clone(), visibility.checked.clone())
        };
        let pairs = self.meta.scan_prefix(VERSIONS, prefix)?;
        Ok(pairs.filter_map(move |item| match item {
            Ok((key, _)) if hidden.contains(&key) => None,
            Ok((key, value)) => {
                let listed = self
                    .flush_if_unflushed()
                    .and_then(|()| listed(&key, &value));
                match listed {
                    Ok((_, _, ref entry)) if !checked.covers(&key) => {
                        match blobs_present(self, entry) {
                            Ok(true) => Some(listed),
                            Ok(false) => None,
                            Err(err) => Some(Err(err)),
                        }
                    }
                    listed => Some(listed),
                }
            }
            Err(err) => Some(Err(err.into())),
        }))
    }

    /// Flushes if a concurrent store may have made a record readable before it is durable.
    pub(crate) fn flush_if_unflushed(&self) -> Result<(), IndexError> {
        if self.lock().unflushed_stores > 0 {
            self.meta.flush()?;
        }
        Ok(())
    }

    /// Counts and sizes of what is served.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Counts `replacement` instead of `previous` at `key` (after [`Self::repin_mod_only`]),
    /// unless the open-time check has not reached `key` yet (it counts it then).
    pub(crate) fn replace_counted(
        &self,
        key: &[u8],
        previous: &VersionEntry,
        replacement: &VersionEntry,
    ) {
        let mut visibility = self.lock();
        if !visibility.checked.covers(key) {
            return;
        }
        visibility.stats.remove(previous);
        visibility.stats.add(replacement);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Visibility> {
        // The guarded data is only counters and a set; a panic elsewhere cannot leave them in a
        // state worse than slightly wrong counts, so a poisoned lock is still usable.
        self.visibility
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The version of a versions-tree key whose module prefix is `prefix_len` bytes long.
fn version_of_key(key: &[u8], prefix_len: usize) -> Result<Version, MalformedKey> {
    let text = key
        .get(prefix_len..)
        .and_then(|tail| std::str::from_utf8(tail).ok());
    text.and_then(|text| Version::parse(text).ok())
        .ok_or_else(|| MalformedKey {
            key: String::from_utf8_lossy(key).into_owned(),
        })
}

fn listed(key: &[u8], value: &[u8]) -> Result<Listed, IndexError> {
    let (module, version) = parse_version_key(key)?;
    match decode(value) {
        Ok(entry) => Ok((module, version, entry)),
        Err(source) => Err(IndexError::corrupt_entry(&module, &version, source)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn creates_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path().join("not/yet/there")).unwrap();
        assert_eq!(index.stats(), Stats::default());
    }

    #[test]
    fn a_second_open_fails_without_touching_the_first_writers_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = Index::open(dir.path()).unwrap();
        let in_progress = dir.path().join(BLOBS_DIR).join("tmp").join("1-1-1.part");
        std::fs::File::create(&in_progress)
            .unwrap()
            .write_all(b"half")
            .unwrap();

        let second = Index::open(dir.path());
        assert!(matches!(second, Err(IndexError::Meta(_))), "{second:?}");
        assert!(in_progress.exists());
        drop(first);
    }
}
