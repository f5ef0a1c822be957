//! [`WriteBehind`]: gets the disk writing a large staged blob while the rest of it is still
//! arriving, so the fsync that makes it durable only waits for the last few megabytes.
//!
//! Every [`WRITE_BEHIND_BYTES`] written, a helper thread (started when first needed) runs
//! `fdatasync` on its own handle of the file. Requests that arrive while one runs are
//! coalesced into the next, so the writer never waits for the disk here; durability is still
//! decided by the final [`StagedBlob::sync`](super::StagedBlob::sync), which also reports a
//! failure the helper saw.

use std::fs::File;
use std::io;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};

/// Bytes written between two background syncs: large enough that a small blob never starts
/// the helper, small enough that the final fsync of a large one is short.
pub(crate) const WRITE_BEHIND_BYTES: u64 = 8 << 20;

/// The background syncing of one staged file.
#[derive(Debug, Default)]
pub(crate) struct WriteBehind {
    /// Wakes the helper; `None` until it runs (or when it could not be started).
    wake: Option<SyncSender<()>>,
    /// What the helper saw when a background sync failed.
    failure: Arc<OnceLock<io::Error>>,
    /// Whether starting the helper was tried.
    tried: bool,
    /// Bytes written since the last request.
    pending: u64,
}

impl WriteBehind {
    /// Counts `written` bytes just written to `file`, and asks for a background sync once
    /// [`WRITE_BEHIND_BYTES`] have gathered.
    pub(crate) fn wrote(&mut self, file: &File, written: usize) {
        self.pending += written as u64;
        if self.pending < WRITE_BEHIND_BYTES {
            return;
        }
        self.pending = 0;
        if !self.tried {
            self.tried = true;
            self.wake = self.start(file);
        }
        if let Some(wake) = &self.wake
            && let Err(TrySendError::Disconnected(())) = wake.try_send(())
        {
            self.wake = None;
        }
    }

    /// The error of a failed background sync, if one failed: the caller must not report the
    /// file durable (the final fsync may not see that failure again).
    pub(crate) fn failure(&self) -> Option<io::Error> {
        let err = self.failure.get()?;
        Some(io::Error::new(
            err.kind(),
            format!("a background sync of this file failed earlier: {err}"),
        ))
    }

    /// Starts the helper on a handle of its own; `None` when that fails (the final fsync then
    /// does all the work, as without write-behind).
    fn start(&self, file: &File) -> Option<SyncSender<()>> {
        let file = file.try_clone().ok()?;
        let failure = self.failure.clone();
        // One request may wait while a sync runs; more would only repeat it.
        let (wake, requests) = sync_channel::<()>(1);
        let helper = std::thread::Builder::new()
            .name("blob-write-behind".to_owned())
            .spawn(move || {
                while requests.recv().is_ok() {
                    if let Err(err) = file.sync_data() {
                        let _ = failure.set(err);
                        return;
                    }
                }
            });
        helper.ok().map(|_| wake)
    }
}
