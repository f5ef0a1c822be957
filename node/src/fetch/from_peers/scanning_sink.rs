//! [`ScanningSink`]: where a peer's zip is written. Each piece goes to the store's temp area
//! (a [`StagedBlob`]) and, through a bounded queue, to a thread scanning the zip's entries as
//! they arrive, so most of the zip's validation is done by the time its last byte lands.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use delos_pool_protocol::zip::ScannedEntries;
use delos_registry_index::{BlobError, BlobStore, StagedBlob};

/// Pieces waiting for the scanning thread. Pieces are the transfer's (256 KiB), so at most
/// 4 MiB wait; a full queue slows the writer, never grows.
const SCAN_QUEUE: usize = 16;

/// A zip being received: staged in the store and scanned on the side. Dropping it closes
/// the queue, which ends the scanner (not waited for), and deletes the staged bytes.
#[derive(Debug)]
pub(super) struct ScanningSink {
    staged: StagedBlob,
    pieces: Option<SyncSender<Vec<u8>>>,
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
            .spawn(move || ScannedEntries::scan(Pieces::new(queue)));
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
    /// The staged zip and what the scan found (nothing, if the scanner failed).
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

impl Write for ScanningSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.staged.write_all(buf)?;
        if let Some(pieces) = &self.pieces
            && pieces.send(buf.to_vec()).is_err()
        {
            self.pieces = None; // the scanner stopped; the final check inflates the rest
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.staged.flush()
    }
}

/// The queue's pieces as one byte stream, ending when the queue closes.
struct Pieces {
    queue: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Pieces {
    fn new(queue: Receiver<Vec<u8>>) -> Pieces {
        Pieces {
            queue,
            current: Vec::new(),
            at: 0,
        }
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match self.queue.recv() {
                Ok(piece) => (self.current, self.at) = (piece, 0),
                Err(_) => return Ok(0),
            }
        }
        let rest = self.current.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.at += n;
        Ok(n)
    }
}
