//! The node's own Go-format checksum database (`--checksum-db NAME`): a log of every module
//! version the node pins, whole, private ones included, signed with the database's note key,
//! which the stock `go` command verifies (`GOSUMDB=<verifier key>`).
//!
//! - The store keeps the log (`delos_registry_index::ChecksumLog`): records only of pinned
//!   hashes, appended in durable batches.
//! - [`ChecksumDb::new`] makes the database and its [`Appender`]; the server hands the database
//!   to the fill path first, then [`Appender::start`] appends every whole version the store
//!   pins that the log does not hold yet, oldest pin first (the entries' obtained-at time, then
//!   path and version), logging progress; this also catches up versions pinned just before a
//!   crash. Nothing pinned in between is missed: the queue holds it.
//! - Then the fill path's epilogue hands each newly pinned whole version to the appender task
//!   (`ChecksumDb::pinned`) over a bounded channel; it appends what has queued up as one
//!   batch (one fsync), and only then signs the head of the new, durable size and stores it,
//!   keeping the first head signed for a size. When the queue is full, the version is not
//!   lost: the appender rescans the store before its next batch.
//! - With a public database to check against ([`PublicCheck`], `--checksum-db-check`), a
//!   public version enters the log only once that database's proved record agrees with its
//!   pinned hashes. A contradicted version stays out for good, its evidence kept in the store
//!   and shown in `/provenance`, `/status` and `/metrics`; a version that could not be checked
//!   (the database unreachable, no record there) waits, and is checked again every
//!   5 minutes until it can be. Private modules are never looked up there.
//! - `.mod`-only versions stay out of the log until they have their zip: a record needs both
//!   `go.sum` lines.

mod appender;
mod public_check;
mod serve;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{SignerKey, TreeHead, VerifierKey};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, LogError};
use tokio::sync::{mpsc, watch};

pub use public_check::PublicCheck;
pub use serve::OwnLookup;

use crate::fetch::PinLog;
use crate::sumdb_relay::Memo;
use crate::telemetry::ChecksumDbStats;

/// How many newly pinned versions may wait for the appender.
const QUEUE: usize = 4096;
/// Lookup bodies kept in memory (a record's id and text never change, and a lookup may carry
/// any head that covers the record, so a kept body stays a right answer).
const LOOKUP_ENTRIES: usize = 65_536;
/// The most bytes of lookup bodies kept in memory.
const LOOKUP_BYTES: usize = 64 << 20;
/// The most unchecked versions remembered with their reasons (every one is rechecked anyway:
/// a rescan finds all that are out of the log).
const UNCHECKED_SHOWN: usize = 10_000;

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

/// The appender of a new [`ChecksumDb`], not started yet.
#[derive(Debug)]
pub struct Appender {
    db: Arc<Inner>,
    pinned: mpsc::Receiver<(ModulePath, Version)>,
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
    /// The public database versions must agree with, when there is one.
    check: Option<PublicCheck>,
    /// Public versions out of the log until they can be checked, with why.
    unchecked: Mutex<BTreeMap<(ModulePath, Version), String>>,
    stats: ChecksumDbStats,
    /// The newest signed head, for whoever publishes it (the pool).
    heads: watch::Sender<Option<Vec<u8>>>,
}

impl ChecksumDb {
    /// The database `name` of the log in `index`, signed with `key`, checking public versions
    /// with `check`; and its appender, to start once the fill path hands it new pins.
    pub fn new(
        index: Arc<Index>,
        name: String,
        key: SignerKey,
        check: Option<PublicCheck>,
        stats: ChecksumDbStats,
    ) -> (ChecksumDb, Appender) {
        let (queue, pinned) = mpsc::channel(QUEUE);
        let inner = Arc::new(Inner {
            name,
            key,
            index,
            missed: AtomicBool::new(false),
            lookups: Memo::new(LOOKUP_ENTRIES, LOOKUP_BYTES),
            check,
            unchecked: Mutex::new(BTreeMap::new()),
            stats,
            heads: watch::Sender::new(None),
        });
        let appender = Appender {
            db: Arc::clone(&inner),
            pinned,
        };
        (ChecksumDb { inner, queue }, appender)
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

    /// The newest signed head, as it changes (`None` before the first is signed).
    pub fn heads(&self) -> watch::Receiver<Option<Vec<u8>>> {
        self.inner.heads.subscribe()
    }

    /// The public database versions are checked against, if any.
    pub fn public_check(&self) -> Option<&PublicCheck> {
        self.inner.check.as_ref()
    }

    /// Public versions waiting out of the log to be checked, with why (the first 10,000
    /// remembered; a rescan finds them all).
    pub fn unchecked(&self) -> Vec<(ModulePath, Version, String)> {
        self.inner
            .unchecked()
            .iter()
            .map(|((m, v), why)| (m.clone(), v.clone(), why.clone()))
            .collect()
    }

    /// The signed head of the log as it is now (durable): the one stored for its size, signed
    /// and stored first if there is none.
    pub async fn sign_latest(&self) -> Result<(u64, Vec<u8>), ChecksumDbError> {
        Inner::sign_latest(&self.inner).await
    }
}

impl Appender {
    /// Catches the log up with the store (checking public versions first), signs its head,
    /// and starts the appender task.
    pub async fn start(self) -> Result<(), ChecksumDbError> {
        let Appender { db, pinned } = self;
        let conflicts = {
            let index = Arc::clone(&db.index);
            tokio::task::spawn_blocking(move || index.checksum_log().public_conflicts())
                .await
                .map_err(|_| ChecksumDbError::Task)??
        };
        db.stats.set_public_conflicts(conflicts.len() as u64);
        appender::catch_up(&db).await?;
        Inner::sign_latest(&db).await?;
        tokio::spawn(appender::run(db, pinned));
        Ok(())
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
        self.stats.set_size(size);
        let stored = match log.head(size)? {
            Some(stored) => stored,
            None => {
                let hash = log.tree_hash(size)?;
                let head =
                    TreeHead::new(size, hash).map_err(|e| ChecksumDbError::Head(e.to_string()))?;
                let note = head.sign(&self.key).to_bytes();
                log.store_head(size, &note)?
            }
        };
        self.heads.send_if_modified(|newest| {
            let changed = newest.as_deref() != Some(stored.as_slice());
            if changed {
                *newest = Some(stored.clone());
            }
            changed
        });
        Ok((size, stored))
    }
}

impl Inner {
    fn unchecked(&self) -> std::sync::MutexGuard<'_, BTreeMap<(ModulePath, Version), String>> {
        self.unchecked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that `module@version` waits to be checked, and why.
    fn set_unchecked(&self, module: &ModulePath, version: &Version, why: String) {
        let mut unchecked = self.unchecked();
        let key = (module.clone(), version.clone());
        if unchecked.contains_key(&key) || unchecked.len() < UNCHECKED_SHOWN {
            unchecked.insert(key, why);
        }
        self.stats.set_public_unchecked(unchecked.len() as u64);
    }

    /// Forgets that `module@version` waits (it was checked).
    fn clear_unchecked(&self, module: &ModulePath, version: &Version) {
        let mut unchecked = self.unchecked();
        unchecked.remove(&(module.clone(), version.clone()));
        self.stats.set_public_unchecked(unchecked.len() as u64);
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
