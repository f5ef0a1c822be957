//! `StoreSources`: what peers are served from — the store's `.info`, `.mod` and `.zip` files
//! ([`BlobSource`]) and its feed of public records ([`FeedSource`]). Private modules are never
//! served: their files answer "not found" and their records are left out of feed pages.

use std::io::Cursor;
use std::sync::Arc;

use delos_pool_protocol::codec;
use delos_pool_protocol::messages::{BlobKind, SyncItem, TransferRequest};
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::provenance::ProvenanceRecord;
use delos_pool_protocol::signing::SignedRecord;
use delos_registry_index::{Index, RecordError, VersionEntry};
use futures::future::BoxFuture;

use crate::p2p::{Blob, BlobSource, FeedPage, FeedSource, SourceError};

#[cfg(test)]
mod tests;

/// The node's store as the pool's [`BlobSource`] and [`FeedSource`]. Every read runs off the
/// async threads.
#[derive(Debug)]
pub struct StoreSources {
    index: Arc<Index>,
    private: PrivatePatterns,
}

impl StoreSources {
    /// Sources over `index` that never serve modules matching `private`.
    pub fn new(index: Arc<Index>, private: PrivatePatterns) -> StoreSources {
        StoreSources { index, private }
    }

    /// Opens the file `request` names, blocking.
    fn open_blocking(
        index: &Index,
        request: &TransferRequest,
    ) -> Result<Option<Blob>, SourceError> {
        let Some(entry) = index
            .get(request.module(), request.version())
            .map_err(source_error)?
        else {
            return Ok(None);
        };
        match request.kind() {
            BlobKind::Info => Ok(Some(info_blob(&entry))),
            BlobKind::Mod => open_stored(index, entry.go_mod().blob().sha256()),
            BlobKind::Zip => match entry.zip() {
                Some(zip) => open_stored(index, zip.blob().sha256()),
                None => Ok(None),
            },
        }
    }
}

impl BlobSource for StoreSources {
    fn open<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<Option<Blob>, SourceError>> {
        Box::pin(async move {
            if self.private.matches(request.module().as_str()) {
                return Ok(None);
            }
            let (index, request) = (Arc::clone(&self.index), request.clone());
            tokio::task::spawn_blocking(move || Self::open_blocking(&index, &request))
                .await
                .map_err(source_error)?
        })
    }
}

impl FeedSource for StoreSources {
    fn page(&self, after_seq: u64, max_items: u32) -> BoxFuture<'_, Result<FeedPage, SourceError>> {
        Box::pin(async move {
            let index = Arc::clone(&self.index);
            let private = self.private.clone();
            let (items, head_seq, feed_id) = tokio::task::spawn_blocking(move || {
                let feed = index.feed();
                let (head_seq, feed_id) = (feed.last_seq(), feed.id());
                let items = feed.page(after_seq, max_items as usize)?;
                // Private records never enter the feed; this only guards against patterns
                // that changed since a record was stored.
                let items: Vec<SyncItem> = items
                    .into_iter()
                    .filter(|item| shareable(&private, &item.record))
                    .map(|item| SyncItem {
                        seq: item.seq,
                        record: item.record,
                    })
                    .collect();
                Ok::<_, RecordError>((items, head_seq, feed_id))
            })
            .await
            .map_err(source_error)?
            .map_err(source_error)?;
            Ok(FeedPage {
                items,
                head_seq,
                feed_id,
            })
        })
    }
}

/// Whether a feed record may go to peers: it decodes and its module is not `private`. Its
/// signature is not checked again: it was verified when stored, and every receiver verifies it
/// (checking it here cost the serving node as much CPU as the late joiner it served).
fn shareable(private: &PrivatePatterns, record: &SignedRecord) -> bool {
    codec::decode::<ProvenanceRecord>(record.bytes())
        .is_ok_and(|decoded| !private.matches(decoded.module().as_str()))
}

/// The `.info` bytes, held in the entry itself.
fn info_blob(entry: &VersionEntry) -> Blob {
    let bytes = entry.info().to_vec();
    Blob {
        length: bytes.len() as u64,
        reader: Box::pin(Cursor::new(bytes)),
    }
}

/// A stored blob as a stream.
fn open_stored(
    index: &Index,
    sha256: &delos_pool_protocol::hash::Sha256,
) -> Result<Option<Blob>, SourceError> {
    let reader = index.blobs().open_read(sha256).map_err(source_error)?;
    let length = reader.size();
    let file = tokio::fs::File::from_std(reader.into_file());
    Ok(Some(Blob {
        length,
        reader: Box::pin(file),
    }))
}

fn source_error(err: impl std::error::Error + Send + Sync + 'static) -> SourceError {
    SourceError(Box::new(err))
}
