//! A zip from an upstream proxy, streamed into an [`UnhashedStaged`] blob: the body is read
//! on the runtime and handed through a bounded queue to a blocking writer, which writes every
//! byte to the store's temp area (the blob's sha256 name is computed when it is pinned, after
//! the build that asked for it), reports what is in the file to the zip's
//! [`LiveGuard`] (so clients waiting for it receive the bytes as they arrive) and passes each
//! piece on to a thread scanning the zip's entries, so most of its validation is done by the
//! time the last byte lands. A failed download leaves nothing behind, and its guard fails
//! every reader.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use delos_pool_protocol::zip::{MAX_ZIP_BYTES, ScannedEntries};
use delos_registry_index::{Index, UnhashedStaged};
use tokio::sync::mpsc;

use super::FetchError;
use crate::fetch::live_zip::{LiveGuard, LiveZips};
use crate::http_client::{HttpClient, HttpClientError};
use crate::queue_reader::QueueReader;

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

/// Where a download goes: the store, and the registry readers follow it in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target<'a> {
    pub(super) index: &'a Arc<Index>,
    pub(super) live: &'a LiveZips,
    pub(super) module: &'a ModulePath,
    pub(super) version: &'a Version,
}

/// A downloaded zip: staged, what the scan found of its entries, and the guard that gives
/// the readers following it their verdict.
pub(super) struct Downloaded<'a> {
    pub(super) staged: UnhashedStaged,
    pub(super) scanned: ScannedEntries,
    pub(super) live: LiveGuard<'a>,
}

/// Downloads `url` (at most the protocol's zip size, within `timeout`) into a staged blob,
/// registered as live while it arrives.
pub(super) async fn download<'a>(
    client: &HttpClient,
    url: &str,
    target: Target<'a>,
    timeout: Duration,
) -> Result<Downloaded<'a>, DownloadError> {
    let mut body = client
        .get_stream(url, MAX_ZIP_BYTES, timeout)
        .await
        .map_err(DownloadError::Http)?;
    let index = Arc::clone(target.index);
    let staged = tokio::task::spawn_blocking(move || -> Result<_, FetchError> {
        let staged = index.blobs().stage_unhashed()?;
        let file = staged.reopen()?;
        Ok((staged, file))
    })
    .await
    .map_err(|_| DownloadError::Local(FetchError::TaskFailed))?;
    let (mut staged, file) = staged.map_err(DownloadError::Local)?;
    let guard = target
        .live
        .start(target.module, target.version, file, body.content_length());
    let arrivals = guard.arrivals();
    let (pieces, mut queue) = mpsc::channel::<Bytes>(QUEUE_PIECES);
    let writer = tokio::task::spawn_blocking(move || -> Result<_, FetchError> {
        let (mut scan, scanner) = start_scan();
        while let Some(piece) = queue.blocking_recv() {
            staged.write_all(&piece).map_err(FetchError::WorkArea)?;
            arrivals.arrived(staged.size());
            if scan.as_ref().is_some_and(|scan| scan.send(piece).is_err()) {
                scan = None; // the scanner stopped; the final check inflates the rest
            }
        }
        staged.flush().map_err(FetchError::WorkArea)?;
        drop(scan);
        let scanned = scanner
            .and_then(|scanner| scanner.join().ok())
            .unwrap_or_default();
        Ok((staged, scanned))
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
    let downloaded = match writer.await {
        Err(_) => Err(DownloadError::Local(FetchError::TaskFailed)),
        Ok(written) => read
            .map_err(DownloadError::Http)
            .and_then(|()| written.map_err(DownloadError::Local)),
    };
    match downloaded {
        Ok((staged, scanned)) => Ok(Downloaded {
            staged,
            scanned,
            live: guard,
        }),
        Err(err) => {
            guard.fail(&err.describe());
            Err(err)
        }
    }
}

impl DownloadError {
    /// One line for the clients that were following the download: what went wrong (an
    /// upstream's error names the URL).
    fn describe(&self) -> String {
        match self {
            DownloadError::Http(err) => crate::error_chain::error_chain(err),
            DownloadError::Local(err) => format!("storing the zip: {err}"),
        }
    }
}

/// A thread scanning the zip's entries from the pieces sent to it. The scan only saves work:
/// a thread that cannot be started leaves the final check to inflate everything.
fn start_scan() -> (
    Option<SyncSender<Bytes>>,
    Option<JoinHandle<ScannedEntries>>,
) {
    let (pieces, queue) = sync_channel(QUEUE_PIECES);
    let scanner = std::thread::Builder::new()
        .name("zip-scan".to_owned())
        .spawn(move || ScannedEntries::scan(QueueReader::new(queue)));
    match scanner {
        Ok(scanner) => (Some(pieces), Some(scanner)),
        Err(err) => {
            tracing::warn!(error = %err, "cannot start a zip scan thread; the check will inflate every entry");
            (None, None)
        }
    }
}
