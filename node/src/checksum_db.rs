//! The node's own Go-format checksum database (`--checksum-db NAME`): a log of every module
//! version the node pins, whole, private ones included, signed with the database's note key,
//! which the stock `go` command verifies (`GOSUMDB=<verifier key>`).
//!
//! - The store keeps the log (`delos_registry_index::ChecksumLog`): records only of pinned
//!   hashes, appended in durable batches.
//! - [`ChecksumDb::start`] first appends every whole version the store pins that the log does
//!   not hold yet, oldest pin first (the entries' obtained-at time, then path and version),
//!   logging progress; this also catches up versions pinned just before a crash.
//! - Then the fill path's epilogue hands each newly pinned whole version to the appender task
//!   (`ChecksumDb::pinned`) over a bounded channel; it appends what has queued up as one
//!   batch (one fsync), and only then signs the head of the new, durable size and stores it,
//!   keeping the first head signed for a size. When the queue is full, the version is not
//!   lost: the appender rescans the store before its next batch.
//! - `.mod`-only versions stay out of the log until they have their zip: a record needs both
//!   `go.sum` lines.

mod appender;
mod serve;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{SignerKey, TreeHead, VerifierKey};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, LogError};
use tokio::sync::mpsc;

use crate::fetch::PinLog;
use crate::sumdb_relay::Memo;

/// How many newly pinned versions may wait for the appender.
const QUEUE: usize = 4096;
/// Lookup bodies kept in memory (a record's id and text never change, and a lookup may carry
/// any head that covers the record, so a kept body stays a right answer).
const LOOKUP_ENTRIES: usize = 65_536;
/// The most bytes of lookup bodies kept in memory.
const LOOKUP_BYTES: usize = 64 << 20;

/// Why the checksum database could not start or sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChecksumDbError {
    /// The store's log failed.
    #[error("the checksum log")]
    Log(#[from] LogError),
    /// A tree head could not be made (a size beyond the format's limit).
    #[error("making the tree head: {0}")]
    Head(String),
    /// A blocking task ended abnormally.
    #[error("a checksum database task ended abnormally")]
    Task,
}

/// The node's checksum database. Cheap to clone; the appender stops once every clone is gone.
#[derive(Debug, Clone)]
pub struct ChecksumDb {
    inner: Arc<Inner>,
    queue: mpsc::Sender<(ModulePath, Version)>,
}

/// What the database and its appender task share.
#[derive(Debug)]
struct Inner {
    name: String,
    key: SignerKey,
    index: Arc<Index>,
    /// Set when a pinned version could not be queued: the appender rescans the store.
    missed: AtomicBool,
    /// Lookup bodies already answered.
    lookups: Memo<(ModulePath, Version)>,
}

impl ChecksumDb {
    /// Catches the log up with the store, signs its head, and starts the appender.
    pub async fn start(
        index: Arc<Index>,
        name: String,
        key: SignerKey,
    ) -> Result<ChecksumDb, ChecksumDbError> {
        let (queue, pinned) = mpsc::channel(QUEUE);
        let inner = Arc::new(Inner {
            name,
            key,
            index,
            missed: AtomicBool::new(false),
            lookups: Memo::new(LOOKUP_ENTRIES, LOOKUP_BYTES),
        });
        let db = ChecksumDb { inner, queue };
        db.catch_up().await?;
        db.sign_latest().await?;
        tokio::spawn(appender::run(Arc::clone(&db.inner), pinned));
        Ok(db)
    }

    /// The database's name (the first part of its verifier key).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The verifier key clients put in `GOSUMDB`.
    pub fn verifier_key(&self) -> VerifierKey {
        self.inner.key.verifier_key()
    }

    /// The store the log lives in.
    pub fn index(&self) -> &Arc<Index> {
        &self.inner.index
    }

    /// The signed head of the log as it is now (durable): the one stored for its size, signed
    /// and stored first if there is none.
    pub async fn sign_latest(&self) -> Result<(u64, Vec<u8>), ChecksumDbError> {
        Inner::sign_latest(&self.inner).await
    }

    /// Appends every whole pin the log lacks, oldest first, in batches; logs progress.
    async fn catch_up(&self) -> Result<(), ChecksumDbError> {
        let index = Arc::clone(&self.inner.index);
        let name = self.inner.name.clone();
        tokio::task::spawn_blocking(move || appender::catch_up(&index, &name))
            .await
            .map_err(|_| ChecksumDbError::Task)?
    }
}

impl Inner {
    /// [`ChecksumDb::sign_latest`], for the appender too.
    async fn sign_latest(this: &Arc<Inner>) -> Result<(u64, Vec<u8>), ChecksumDbError> {
        let this = Arc::clone(this);
        tokio::task::spawn_blocking(move || this.sign_latest_blocking())
            .await
            .map_err(|_| ChecksumDbError::Task)?
    }

    fn sign_latest_blocking(&self) -> Result<(u64, Vec<u8>), ChecksumDbError> {
        let log = self.index.checksum_log();
        let size = log.size()?;
        if let Some(stored) = log.head(size)? {
            return Ok((size, stored));
        }
        let hash = log.tree_hash(size)?;
        let head = TreeHead::new(size, hash).map_err(|e| ChecksumDbError::Head(e.to_string()))?;
        let note = head.sign(&self.key).to_bytes();
        Ok((size, log.store_head(size, &note)?))
    }
}

impl PinLog for ChecksumDb {
    fn pinned(&self, module: &ModulePath, version: &Version) {
        let item = (module.clone(), version.clone());
        if self.queue.try_send(item).is_err() {
            self.inner.missed.store(true, Ordering::Release);
        }
    }
}
