//! The scanning sink: what is written is staged byte for byte and scanned on the side.

use std::io::Read;

use delos_registry_index::BlobStore;

use super::super::scanning_sink::ScanningSink;
use super::*;
use crate::p2p::{Piece, PieceSink};

#[test]
fn a_zip_written_in_pieces_is_staged_whole_and_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(dir.path()).unwrap();
    let zip = honest().zip;
    let mut sink = ScanningSink::new(&blobs).unwrap();
    for piece in zip.chunks(7) {
        sink.write_piece(Piece::detached(piece.to_vec())).unwrap();
    }
    let (staged, scanned) = sink.finish();
    let mut back = Vec::new();
    staged.reopen().unwrap().read_to_end(&mut back).unwrap();
    assert_eq!(back, zip);
    let entries = zip::ZipArchive::new(std::io::Cursor::new(&zip))
        .unwrap()
        .len();
    assert_eq!(scanned.len(), entries);
}

#[test]
fn a_dropped_sink_leaves_nothing_staged() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(dir.path()).unwrap();
    let zip = honest().zip;
    let mut sink = ScanningSink::new(&blobs).unwrap();
    let half = zip[..zip.len() / 2].to_vec();
    sink.write_piece(Piece::detached(half)).unwrap();
    drop(sink);
    let left = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(left, 0);
}
