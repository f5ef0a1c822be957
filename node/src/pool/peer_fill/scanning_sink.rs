//! [`ScanningSink`]: where a peer's zip is written. Each piece goes to the store's temp area
//! (a [`StagedBlob`]) and is then passed on (not copied) through a bounded queue to a thread
//! scanning the zip's entries as they arrive, so most of the zip's validation is done by the
//! time its last byte lands.

use std::io::{self, Write};

use crate::p2p::{Piece, PieceSink};
use crate::queue_reader::QueueReader;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use delos_pool_protocol::zip::ScannedEntries;
use delos_registry_index::{BlobError, BlobStore, StagedBlob};

/// Pieces waiting for the scanning thread: as many as a fetch's ring holds, so the writer
/// never waits for the scanner here; a scanner that falls behind holds the ring's pieces,
/// which slows the fetch, never grows memory.
const SCAN_QUEUE: usize = crate::p2p::pieces::RING_PIECES;

/// A zip being received: staged in the store and scanned on the side. Dropping it closes
/// the queue, which ends the scanner (not waited for), and deletes the staged bytes.
#[derive(Debug)]
pub(super) struct ScanningSink {
    staged: StagedBlob,
    pieces: Option<SyncSender<Piece>>,
    scanner: Option<JoinHandle<ScannedEntries>>,
}

impl ScanningSink {
    /// A new staged blob in `blobs`, and its scanning thread. The scan only saves work: a
    /// thread that cannot be started leaves the final check to inflate everything.
    pub(super) fn new(blobs: &BlobStore) -> Result<ScanningSink, BlobError> {
        let staged = blobs.stage()?;
        let (pieces, queue) = sync_channel(SCAN_QUEUE);
        let scanner = std::thread::Builder::new()
            .name("zip-scan".to_owned())
            .spawn(move || ScannedEntries::scan(QueueReader::new(queue)));
        let (pieces, scanner) = match scanner {
            Ok(scanner) => (Some(pieces), Some(scanner)),
            Err(err) => {
                tracing::warn!(error = %err, "cannot start a zip scan thread; the check will inflate every entry");
                (None, None)
            }
        };
        Ok(ScanningSink {
            staged,
            pieces,
            scanner,
        })
    }

    /// The staged zip and what the scan found (nothing, if the scanner failed). Blocks until
    /// the scanner has read the last piece: call it off the async runtime.
    pub(super) fn finish(mut self) -> (StagedBlob, ScannedEntries) {
        self.pieces = None;
        let scanned = self
            .scanner
            .take()
            .and_then(|scanner| scanner.join().ok())
            .unwrap_or_default();
        (self.staged, scanned)
    }
}

impl PieceSink for ScanningSink {
    fn write_piece(&mut self, piece: Piece) -> io::Result<()> {
        self.staged.write_all(&piece)?;
        if let Some(pieces) = &self.pieces
            && pieces.send(piece).is_err()
        {
            self.pieces = None; // the scanner stopped; the final check inflates the rest
        }
        Ok(())
    }

    fn finish_body(&mut self) -> io::Result<()> {
        self.staged.flush()
    }
}
