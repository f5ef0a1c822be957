//! [`QueueReader`]: the pieces arriving on a bounded queue, read as one byte stream (for a
//! thread that scans a zip while it is still being received). Each piece is let go as soon as
//! it has been read.

use std::io::{self, Read};
use std::ops::Deref;
use std::sync::mpsc::Receiver;

/// Reads the pieces of `queue` in order; the stream ends when the queue closes.
#[derive(Debug)]
pub(crate) struct QueueReader<P> {
    queue: Receiver<P>,
    current: Option<P>,
    at: usize,
}

impl<P: Deref<Target = [u8]>> QueueReader<P> {
    /// A reader of what arrives on `queue`.
    pub(crate) fn new(queue: Receiver<P>) -> QueueReader<P> {
        QueueReader {
            queue,
            current: None,
            at: 0,
        }
    }
}

impl<P: Deref<Target = [u8]>> Read for QueueReader<P> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(current) = &self.current
                && self.at < current.len()
            {
                let rest = current.get(self.at..).unwrap_or_default();
                let n = rest.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(rest.get(..n).unwrap_or_default());
                self.at += n;
                return Ok(n);
            }
            match self.queue.recv() {
                Ok(piece) => (self.current, self.at) = (Some(piece), 0),
                Err(_) => return Ok(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_read_as_one_stream() {
        let (pieces, queue) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        pieces.send(b"hel".to_vec()).unwrap();
        pieces.send(Vec::new()).unwrap();
        pieces.send(b"lo".to_vec()).unwrap();
        drop(pieces);
        let mut read = String::new();
        QueueReader::new(queue).read_to_string(&mut read).unwrap();
        assert_eq!(read, "hello");
    }
}
