//! A zip from an upstream proxy, streamed into a [`StagedBlob`]: the body is read on the
//! runtime and handed through a bounded queue to a blocking writer, which hashes every byte
//! on its way to the store's temp area. A failed download leaves nothing behind.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use delos_pool_protocol::zip::MAX_ZIP_BYTES;
use delos_registry_index::{Index, StagedBlob};
use tokio::sync::mpsc;

use super::FetchError;
use crate::http_client::{HttpClient, HttpClientError};

/// Pieces of the body waiting for the writer: the download's whole buffer.
const QUEUE_PIECES: usize = 16;

/// Why a zip did not arrive.
#[derive(Debug)]
pub(super) enum DownloadError {
    /// The upstream (status, transport, size).
    Http(HttpClientError),
    /// This node (temp file, disk).
    Local(FetchError),
}

/// Downloads `url` (at most the protocol's zip size, within `timeout`) into a staged blob.
pub(super) async fn download(
    client: &HttpClient,
    url: &str,
    index: &Arc<Index>,
    timeout: Duration,
) -> Result<StagedBlob, DownloadError> {
    let mut body = client
        .get_stream(url, MAX_ZIP_BYTES, timeout)
        .await
        .map_err(DownloadError::Http)?;
    let (pieces, mut queue) = mpsc::channel::<Bytes>(QUEUE_PIECES);
    let index = Arc::clone(index);
    let writer = tokio::task::spawn_blocking(move || -> Result<StagedBlob, FetchError> {
        let mut staged = index.blobs().stage()?;
        while let Some(piece) = queue.blocking_recv() {
            staged.write_all(&piece).map_err(FetchError::WorkArea)?;
        }
        staged.flush().map_err(FetchError::WorkArea)?;
        Ok(staged)
    });
    let read = async {
        while let Some(chunk) = body.next_chunk().await? {
            if pieces.send(chunk).await.is_err() {
                break; // the writer failed; its error is the one reported
            }
        }
        Ok::<(), HttpClientError>(())
    };
    let read = read.await;
    drop(pieces);
    let written = writer
        .await
        .map_err(|_| DownloadError::Local(FetchError::TaskFailed))?;
    read.map_err(DownloadError::Http)?;
    written.map_err(DownloadError::Local)
}
