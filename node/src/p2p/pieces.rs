//! The buffers a fetch reads a body into, and where they go.
//!
//! A fetch owns a small ring of equal buffers (`PieceRing`): it fills one from the stream,
//! hands it to the [`PieceSink`] as a [`Piece`], and the piece finds its way back to the ring
//! when whoever holds it last (the disk writer, a zip scanner) drops it. So a body of any size
//! costs the same few megabytes, no buffer is allocated or zeroed per piece, and a sink that
//! passes a piece on to another thread passes it on rather than copying it. A sink slower
//! than the network runs the ring dry, which pauses the reading, which lets the peer's stream
//! window close: back-pressure all the way to the sender.

use std::fs::File;
use std::io::{self, Write};
use std::ops::Deref;

use tokio::sync::mpsc;

/// The bytes of one piece: large, so a 100 MiB zip is a few hundred hand-overs.
pub(crate) const PIECE_BYTES: usize = 256 << 10;
/// Buffers in one fetch's ring: at most 4 MiB of a body is in memory at once.
pub(crate) const RING_PIECES: usize = 16;

/// Consecutive bytes of a fetched body, in a buffer borrowed from its fetch's ring.
#[derive(Debug)]
pub struct Piece {
    buffer: Vec<u8>,
    len: usize,
    /// Where the buffer goes when the piece is dropped; `None` for a piece of no ring.
    home: Option<mpsc::Sender<Vec<u8>>>,
}

impl Piece {
    /// A piece of no ring holding `bytes` (its buffer is freed when it is dropped).
    pub fn detached(bytes: Vec<u8>) -> Piece {
        Piece {
            len: bytes.len(),
            buffer: bytes,
            home: None,
        }
    }
}

impl Deref for Piece {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.buffer.get(..self.len).unwrap_or_default()
    }
}

impl Drop for Piece {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            // The ring has room for every buffer it made; a fetch that has ended lets it go.
            let _ = home.try_send(std::mem::take(&mut self.buffer));
        }
    }
}

/// Where a fetched body goes: pieces in order, on a blocking thread.
pub trait PieceSink: Send + 'static {
    /// Takes the next piece; may block (on a disk, on a full queue).
    fn write_piece(&mut self, piece: Piece) -> io::Result<()>;

    /// Called once after the last piece.
    fn finish_body(&mut self) -> io::Result<()>;
}

impl PieceSink for Vec<u8> {
    fn write_piece(&mut self, piece: Piece) -> io::Result<()> {
        self.extend_from_slice(&piece);
        Ok(())
    }

    fn finish_body(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PieceSink for File {
    fn write_piece(&mut self, piece: Piece) -> io::Result<()> {
        self.write_all(&piece)
    }

    fn finish_body(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// One fetch's buffers: made on demand up to [`RING_PIECES`], then reused.
#[derive(Debug)]
pub(crate) struct PieceRing {
    free: mpsc::Receiver<Vec<u8>>,
    home: mpsc::Sender<Vec<u8>>,
    made: usize,
}

impl PieceRing {
    pub(crate) fn new() -> PieceRing {
        let (home, free) = mpsc::channel(RING_PIECES);
        PieceRing {
            free,
            home,
            made: 0,
        }
    }

    /// A buffer of [`PIECE_BYTES`] to read into: a returned one, a new one while fewer than
    /// [`RING_PIECES`] exist, or else the next one returned.
    pub(crate) async fn buffer(&mut self) -> Vec<u8> {
        if let Ok(buffer) = self.free.try_recv() {
            return buffer;
        }
        if self.made < RING_PIECES {
            self.made += 1;
            return vec![0; PIECE_BYTES];
        }
        // `self.home` keeps the channel open, so this waits for a buffer, never for nothing.
        self.free
            .recv()
            .await
            .unwrap_or_else(|| vec![0; PIECE_BYTES])
    }

    /// The first `len` bytes of `buffer` as a piece that comes back here when dropped.
    pub(crate) fn piece(&self, buffer: Vec<u8>, len: usize) -> Piece {
        Piece {
            len: len.min(buffer.len()),
            buffer,
            home: Some(self.home.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropped_pieces_come_back_and_the_ring_never_grows() {
        let mut ring = PieceRing::new();
        let mut held = Vec::new();
        for _ in 0..RING_PIECES {
            let buffer = ring.buffer().await;
            assert_eq!(buffer.len(), PIECE_BYTES);
            held.push(ring.piece(buffer, 3));
        }
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), ring.buffer());
        assert!(
            waiting.await.is_err(),
            "a ring of held pieces made a new buffer"
        );
        let returned = held.pop().unwrap();
        let address = returned.buffer.as_ptr();
        drop(returned);
        let reused = ring.buffer().await;
        assert_eq!(reused.as_ptr(), address, "not the returned buffer");
        assert_eq!(ring.made, RING_PIECES);
    }

    #[test]
    fn a_piece_is_its_first_len_bytes() {
        let ring = PieceRing::new();
        let piece = ring.piece(b"abcdef".to_vec(), 4);
        assert_eq!(&*piece, b"abcd");
        assert_eq!(&*Piece::detached(b"xy".to_vec()), b"xy");
    }
}
