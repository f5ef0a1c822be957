//! Storing a peer's verified files: the zip's last check, the blobs, the pinned entry; and the
//! private work directory the files wait in.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::zip::{MAX_ZIP_BYTES, VerifiedZip};
use delos_registry_index::{HashedBlob, Index, IndexError, Source, VersionEntry};
use libp2p::PeerId;

use super::peer_fill::PeerFailure;
use super::verify::Expected;
use crate::fetch::error::FetchError;
use crate::fetch::from_vcs::Filled;

/// The verified small files and the downloaded zip of one peer.
pub(super) struct PeerFiles {
    pub(super) info: Vec<u8>,
    pub(super) go_mod: Vec<u8>,
    pub(super) go_mod_h1: H1Hash,
    pub(super) zip: PathBuf,
    pub(super) peer: PeerId,
}

/// Checks the downloaded zip against the accepted zip hash; blocking.
pub(super) fn check_zip(expected: &Expected, zip: &Path) -> Result<VerifiedZip, PeerFailure> {
    let Some(want) = expected.hashes.zip_h1 else {
        let missing = std::io::Error::other("no accepted zip hash");
        return Err(PeerFailure::Local(FetchError::WorkArea(missing)));
    };
    expected.check_zip(zip, want).map_err(PeerFailure::Mismatch)
}

/// Stores verified files and pins the entry (the first entry ever pinned wins); blocking.
pub(super) fn store(
    index: &Index,
    expected: &Expected,
    files: PeerFiles,
    verified: VerifiedZip,
) -> Result<Filled, FetchError> {
    let go_mod_blob = index.blobs().write(&files.go_mod[..])?;
    let zip = File::open(&files.zip).map_err(FetchError::WorkArea)?;
    let zip_blob = index.blobs().write_limited(zip, MAX_ZIP_BYTES)?;
    if zip_blob.sha256() != &verified.sha256 {
        let changed = std::io::Error::other("the zip changed while it was being stored");
        return Err(FetchError::WorkArea(changed));
    }
    let entry = VersionEntry::new(
        files.info,
        HashedBlob::new(go_mod_blob, files.go_mod_h1),
        now_unix_secs(),
        Source::Peer(files.peer.to_string()),
    )
    .with_zip(HashedBlob::new(zip_blob, verified.h1));
    let produced = entry.claimed_hashes();
    let (module, version) = (&expected.module, &expected.version);
    let entry = match index.store(module, version, entry) {
        Ok(stored) => stored.entry,
        Err(IndexError::Conflict(conflict)) => conflict.existing,
        Err(err) => return Err(err.into()),
    };
    Ok(Filled {
        version: version.clone(),
        pinned_is_ours: !entry.claimed_hashes().conflicts(&produced),
        entry,
        zip_problem: None,
        origin: None,
    })
}

/// Reads a `.info` or `.mod` the transfer already bounded in size.
pub(super) fn read_small(path: &Path) -> Result<Vec<u8>, PeerFailure> {
    std::fs::read(path).map_err(|err| PeerFailure::Local(FetchError::WorkArea(err)))
}

/// A fresh directory for one peer's files, removed (with what is left in it) when dropped.
pub(super) struct WorkDir(pub(super) PathBuf);

impl WorkDir {
    pub(super) fn create(parent: &Path) -> Result<WorkDir, FetchError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(FetchError::WorkArea)?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.0) {
            tracing::debug!(dir = %self.0.display(), error = %err, "cannot remove a peer fill directory");
        }
    }
}

fn now_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}
