//! Sync cursors: absent is 0, per peer, may move back, keep their feed id, survive a reopen;
//! a cursor from before feed ids is still read. The feed's own id survives a reopen.

use delos_pool_protocol::messages::FeedId;

use crate::SyncCursor;
use crate::conformance::Backend;
use crate::schema::SYNC_CURSORS;

fn at(feed: u8, seq: u64) -> SyncCursor {
    SyncCursor {
        feed: Some(FeedId::from_bytes([feed; 16])),
        seq,
    }
}

pub(crate) fn sync_cursors_are_per_peer_and_survive_reopen(backend: &dyn Backend) {
    let (a, b) = (b"peer-a".as_slice(), b"peer-b".as_slice());
    {
        let index = backend.open();
        let cursors = index.sync_cursors();
        assert_eq!(cursors.get(a).unwrap(), SyncCursor::default());
        cursors.set(a, at(1, 7)).unwrap();
        cursors.set(a, at(1, 20)).unwrap();
        cursors.set(b, at(2, 3)).unwrap();
        assert_eq!(cursors.get(a).unwrap(), at(1, 20));
        assert_eq!(cursors.get(b).unwrap(), at(2, 3));
    }
    let index = backend.open();
    let cursors = index.sync_cursors();
    assert_eq!(
        (cursors.get(a).unwrap(), cursors.get(b).unwrap()),
        (at(1, 20), at(2, 3))
    );
    cursors.set(b, at(9, 0)).unwrap();
    assert_eq!(
        cursors.get(b).unwrap(),
        at(9, 0),
        "a reset peer's cursor moves back"
    );
    let unknown = SyncCursor { feed: None, seq: 4 };
    cursors.set(b, unknown).unwrap();
    assert_eq!(cursors.get(b).unwrap(), unknown);
    assert_eq!(cursors.get(b"peer-c").unwrap(), SyncCursor::default());
}

pub(crate) fn a_cursor_from_before_feed_ids_is_read_without_one(backend: &dyn Backend) {
    let peer = b"old-peer".as_slice();
    let index = backend.open();
    let legacy = 12u64.to_be_bytes();
    index
        .meta()
        .compare_and_swap(SYNC_CURSORS, peer, None, &legacy)
        .unwrap();
    let cursors = index.sync_cursors();
    assert_eq!(
        cursors.get(peer).unwrap(),
        SyncCursor {
            feed: None,
            seq: 12
        }
    );
    cursors.set(peer, at(3, 13)).unwrap();
    assert_eq!(cursors.get(peer).unwrap(), at(3, 13), "the new cursor wins");
}

pub(crate) fn the_feed_id_survives_reopen(backend: &dyn Backend) {
    let id = backend.open().feed().id();
    assert_eq!(backend.open().feed().id(), id);
}
