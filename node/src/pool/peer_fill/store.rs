//! Storing a peer's files: the zip arrives straight into the store's temp area as a
//! [`StagedBlob`] (hashed as it is written, and scanned on the side); it is validated there
//! (reusing the scan's digests where the central directory agrees) while the disk syncs it,
//! and only then linked under its name and pinned with the verified `.mod` and `.info`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::zip::ScannedEntries;
use delos_registry_index::{
    HashedBlob, Index, IndexError, Source, StagedBlob, StoredBlob, VersionEntry,
};
use libp2p::PeerId;

use super::candidates::signer_of;
use super::one_fill::PeerFailure;
use super::scanning_sink::ScanningSink;
use super::verify::Expected;
use crate::clock::now_unix_secs;
use crate::fetch::{
    FetchError, Filled, FilledFrom, ONLY_MOD_VOUCHED, PinnedZips, mapped_as_written,
};

/// The verified `.info` and `.mod` of one peer, and the peer.
pub(super) struct SmallFiles {
    pub(super) info: Vec<u8>,
    pub(super) go_mod: Vec<u8>,
    pub(super) go_mod_h1: H1Hash,
    pub(super) peer: PeerId,
}

/// A peer's verified small files and its zip as it arrived: staged, and scanned on the side.
pub(super) struct PeerFiles {
    pub(super) small: SmallFiles,
    pub(super) zip: ScanningSink,
}

/// How long the blocking half of a peer fill took.
#[derive(Debug, Clone, Copy)]
pub(super) struct StoreTimings {
    /// Validating the zip (its `fsync` ran meanwhile).
    pub(super) verify: Duration,
    /// Linking the blobs and pinning the entry.
    pub(super) store: Duration,
}

/// Checks the zip against the accepted zip hash, then stores the files and pins the entry
/// (the first entry ever pinned wins); blocking. Nothing is stored when the zip fails. When
/// these very bytes are pinned, the zip goes to `pinned_zips` (if they keep one of its size)
/// mapped as it was written: its bytes were hashed as they arrived and checked since.
pub(super) fn verify_and_store(
    index: &Index,
    expected: &Expected,
    files: PeerFiles,
    pinned_zips: Option<Arc<dyn PinnedZips>>,
) -> Result<(Filled, StoreTimings), PeerFailure> {
    let started = Instant::now();
    let (zip, scanned) = files.zip.finish();
    let h1 = check_zip_while_syncing(expected, &zip, &scanned)?;
    let verify = started.elapsed();
    let (sha256, size) = (zip.sha256(), zip.size());
    let mapped = pinned_zips
        .as_ref()
        .filter(|zips| zips.keeps(size))
        .and_then(|_| mapped_as_written(&zip));
    let filled = store(index, expected, files.small, zip, h1).map_err(PeerFailure::Local)?;
    let pinned = filled.entry.zip().map(|zip| *zip.blob().sha256());
    if let (Some(zips), Some(mapped)) = (pinned_zips, mapped)
        && pinned == Some(sha256)
    {
        zips.pinned(sha256, Bytes::from_owner(mapped));
    }
    let store = started.elapsed().saturating_sub(verify);
    Ok((filled, StoreTimings { verify, store }))
}

/// Validates the staged zip on this thread while another makes it durable: the two share no
/// resource but the page cache, so a fill pays for the slower of them, not their sum.
fn check_zip_while_syncing(
    expected: &Expected,
    zip: &StagedBlob,
    scanned: &ScannedEntries,
) -> Result<H1Hash, PeerFailure> {
    let Some(want) = expected.hashes.zip_h1 else {
        let missing = std::io::Error::other("no accepted zip hash");
        return Err(PeerFailure::Local(FetchError::WorkArea(missing)));
    };
    std::thread::scope(|scope| {
        let synced = scope.spawn(|| zip.sync());
        let checked = expected.check_zip(zip.path(), want, scanned);
        let synced = synced.join();
        let h1 = checked.map_err(PeerFailure::Mismatch)?;
        match synced {
            Ok(Ok(())) => Ok(h1),
            Ok(Err(err)) => Err(PeerFailure::Local(err.into())),
            Err(_) => Err(PeerFailure::Local(FetchError::TaskFailed)),
        }
    })
}

/// Links the verified zip, writes the `.mod` blob and pins the entry; blocking.
fn store(
    index: &Index,
    expected: &Expected,
    files: SmallFiles,
    zip: StagedBlob,
    zip_h1: H1Hash,
) -> Result<Filled, FetchError> {
    let zip_blob: StoredBlob = zip.commit()?;
    pin(
        index,
        expected,
        files,
        Some(HashedBlob::new(zip_blob, zip_h1)),
    )
}

/// Writes the verified `.mod` blob and pins a `.mod`-only entry (its zip stays unavailable,
/// with the reason); blocking.
pub(super) fn store_mod_only(
    index: &Index,
    expected: &Expected,
    files: SmallFiles,
) -> Result<Filled, FetchError> {
    pin(index, expected, files, None)
}

/// Writes the `.mod` blob and pins the entry, with `zip` when there is one; blocking.
fn pin(
    index: &Index,
    expected: &Expected,
    files: SmallFiles,
    zip: Option<HashedBlob>,
) -> Result<Filled, FetchError> {
    let go_mod_blob = index.blobs().write(&files.go_mod[..])?;
    let mut entry = VersionEntry::new(
        files.info,
        HashedBlob::new(go_mod_blob, files.go_mod_h1),
        now_unix_secs(),
        Source::Peer(files.peer.to_string()),
    );
    let zip_problem = match zip {
        Some(zip) => {
            entry = entry.with_zip(zip);
            None
        }
        None => Some(ONLY_MOD_VOUCHED.to_owned()),
    };
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
        zip_problem: zip_problem.filter(|_| !entry.is_full()),
        entry,
        from: FilledFrom::Peer(signer_of(&files.peer)),
    })
}
