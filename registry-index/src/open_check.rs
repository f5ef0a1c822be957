//! The open-time check, deferred: a store opened with [`OpenCheck::Deferred`] answers at once,
//! and its entries are checked by [`Index::finish_open_check`] (a background pass, in key
//! order) while it serves.
//!
//! The guarantee of the check does not wait for the pass: a version the pass has not reached
//! yet has its blobs checked when it is read ([`Checked::covers`]), so a version whose blob
//! file went missing is never served, before or after the pass. What waits for the pass is
//! the [`OpenReport`](crate::OpenReport) and the [`Stats`](crate::Stats): both are complete
//! once [`Index::open_check_done`] says so.
//!
//! Counting stays exact while stores run beside the pass. The pass reads a chunk of entries
//! outside the lock, starting only when no store is running, and applies it under the lock
//! only if no store began meanwhile (else it reads the chunk again), so every entry it counts
//! is the one a store settled; and a store settling a key the pass has not reached counts
//! nothing, because the pass will count that key's entry when it gets there.

use crate::entry::VersionEntry;
use crate::error::IndexError;
use crate::index::Index;
use crate::open_report::check;
use crate::schema::VERSIONS;
use crate::versions::is_present;

/// Entries the pass reads per step: small enough that applying them holds the lock for well
/// under a millisecond.
const CHUNK: usize = 128;

/// When the open-time check runs; see [`IndexConfig`](crate::IndexConfig).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenCheck {
    /// Opening checks every entry's blobs before it returns (a cost linear in the store:
    /// about 10 s for 1,000,000 versions). For tools that read the whole store anyway.
    #[default]
    BeforeOpen,
    /// Opening returns at once; [`Index::finish_open_check`] runs the check, and until it is
    /// done a version not yet checked is checked when it is read. For a serving node.
    Deferred,
}

/// How far the check has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Checked {
    /// Every entry present at open was checked.
    All,
    /// The keys up to and including this one were checked (`None`: none yet).
    Through(Option<Vec<u8>>),
}

impl Checked {
    /// Whether the pass has checked (and counted) `key`.
    pub(crate) fn covers(&self, key: &[u8]) -> bool {
        match self {
            Checked::All => true,
            Checked::Through(None) => false,
            Checked::Through(Some(last)) => key <= last.as_slice(),
        }
    }
}

/// Stores running, and how many ever began, for the pass to know a chunk it read is current.
#[derive(Debug, Default)]
pub(crate) struct StoreActivity {
    pub(crate) running: usize,
    pub(crate) begun: u64,
}

/// Marks one store (or repin) running from before its first read until its counts are
/// settled; see the module docs.
pub(crate) struct Settling<'a>(&'a Index);

impl<'a> Settling<'a> {
    pub(crate) fn begin(index: &'a Index) -> Self {
        let mut visibility = index.lock();
        visibility.stores.running += 1;
        visibility.stores.begun += 1;
        Self(index)
    }
}

impl Drop for Settling<'_> {
    fn drop(&mut self) {
        self.0.lock().stores.running -= 1;
    }
}

/// Gives running stores a moment before the pass tries again.
fn wait_for_stores() {
    std::thread::sleep(std::time::Duration::from_millis(1));
}

/// Whether every blob of `entry` is on disk with its recorded size.
pub(crate) fn blobs_present(index: &Index, entry: &VersionEntry) -> Result<bool, IndexError> {
    for blob in entry.blobs() {
        if !is_present(index.blobs(), blob)? {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Index {
    /// Runs the open-time check to its end (see [`OpenCheck::Deferred`]): every entry's blobs
    /// are checked, damaged entries are hidden and reported in [`Self::open_report`], and the
    /// [`Self::stats`] become complete. Returns at once if it is done already. Blocks on disk
    /// I/O for a time linear in the store; run it on a thread of its own.
    pub fn finish_open_check(&self) -> Result<(), IndexError> {
        while !self.open_check_step()? {}
        Ok(())
    }

    /// One step of [`Self::finish_open_check`]: checks up to a few hundred entries (or waits
    /// a millisecond for stores to finish); true once the check is done. For a caller that
    /// must be able to stop between steps.
    pub fn open_check_step(&self) -> Result<bool, IndexError> {
        let (last, begun) = {
            let visibility = self.lock();
            match &visibility.checked {
                Checked::All => return Ok(true),
                // A store running now could write after the chunk is read and finish before
                // it is applied, unseen by the check below: start only when none runs.
                Checked::Through(_) if visibility.stores.running > 0 => {
                    drop(visibility);
                    wait_for_stores();
                    return Ok(false);
                }
                Checked::Through(last) => (last.clone(), visibility.stores.begun),
            }
        };
        let start = match &last {
            None => Vec::new(),
            Some(key) => [key.as_slice(), &[0]].concat(),
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        for item in self.meta().scan_from(VERSIONS, &start)?.take(CHUNK) {
            let (key, value) = item?;
            let checked = check(self.blobs(), &key, &value)?;
            chunk.push((key, checked));
        }
        let mut visibility = self.lock();
        if visibility.stores.begun != begun {
            // A store began while the chunk was read (none ran when it started, so this is
            // every store that may be running): what was read may not be what it settled.
            // Read the chunk again once it is done.
            drop(visibility);
            wait_for_stores();
            return Ok(false);
        }
        let done = chunk.len() < CHUNK;
        let next = chunk.last().map(|(key, _)| key.clone());
        for (key, checked) in chunk {
            match checked {
                Ok(entry) => visibility.stats.add(&entry),
                Err(damage) => {
                    visibility.report.damaged.push(damage);
                    visibility.hidden.insert(key);
                }
            }
        }
        visibility.checked = match done {
            true => Checked::All,
            false => Checked::Through(next.or(last)),
        };
        Ok(done)
    }

    /// Whether the open-time check is done (always, unless opened with
    /// [`OpenCheck::Deferred`] and [`Self::finish_open_check`] has not finished yet).
    pub fn open_check_done(&self) -> bool {
        self.lock().checked == Checked::All
    }
}
