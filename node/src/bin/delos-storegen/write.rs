//! Writes made versions into the store in batches, through the calls a fill makes, batched:
//! the blobs ([`BlobStore::write_batch`]), the pins ([`Index::store_batch`]) and the signed
//! records with their feed items ([`Records::insert_batch`]), each batch durable before the
//! next starts.
//!
//! [`BlobStore::write_batch`]: delos_registry_index::BlobStore::write_batch
//! [`Records::insert_batch`]: delos_registry_index::Records::insert_batch

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_registry_index::{
    BatchItem, BlobError, Change, HashedBlob, Index, IndexError, RecordCap, RecordOffer,
    RecordStored, Sharing, Source, VersionEntry,
};

use crate::make::Made;

/// A made version with its signed record.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) made: Made,
    pub(crate) record: VerifiedRecord,
}

/// Why a batch could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("writing blobs")]
    Blobs(#[from] BlobError),
    #[error("pinning versions")]
    Pins(#[from] IndexError),
    #[error("storing records")]
    Records(#[from] delos_registry_index::RecordError),
    #[error("{0} was already pinned with other content")]
    Unexpected(String),
}

/// What a written batch added.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Added {
    pub(crate) versions: u64,
    pub(crate) records: u64,
}

/// Writes one batch: blobs, then pins, then records, each step durable before the next.
pub(crate) fn write_batch(index: &Index, batch: &[Prepared]) -> Result<Added, WriteError> {
    let contents = batch
        .iter()
        .flat_map(|p| [p.made.zip.as_slice(), p.made.go_mod.as_slice()]);
    let blobs = index.blobs().write_batch(contents)?;
    let items: Vec<BatchItem> = batch
        .iter()
        .zip(blobs.chunks_exact(2))
        .map(|(p, pair)| {
            let made = &p.made;
            let go_mod = HashedBlob::new(pair[1], H1Hash::of_go_mod(&made.go_mod));
            let entry = VersionEntry::new(made.info.clone(), go_mod, made.obtained_at, Source::Vcs)
                .with_zip(HashedBlob::new(pair[0], made.zip_h1));
            (made.slot.module.clone(), made.slot.version.clone(), entry)
        })
        .collect();
    let mut added = Added::default();
    for (stored, (module, version, _)) in index.store_batch(&items)?.iter().zip(&items) {
        match stored.change {
            Change::Inserted => added.versions += 1,
            Change::AlreadyPresent => {}
            _ => return Err(WriteError::Unexpected(format!("{module}@{version}"))),
        }
    }
    let offers: Vec<RecordOffer<'_>> = batch
        .iter()
        .map(|p| RecordOffer {
            record: &p.record,
            sharing: Sharing::Public,
            cap: RecordCap::UNLIMITED,
        })
        .collect();
    let stored = index.records().insert_batch(&offers)?;
    added.records = stored.iter().filter(|s| took_slot(s)).count() as u64;
    Ok(added)
}

fn took_slot(stored: &RecordStored) -> bool {
    stored.change.took_slot()
}
