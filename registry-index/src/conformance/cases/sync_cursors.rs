//! Sync cursors: absent is 0, per peer, may move back, survive a reopen.

use crate::conformance::Backend;

pub(crate) fn sync_cursors_are_per_peer_and_survive_reopen(backend: &dyn Backend) {
    let (a, b) = (b"peer-a".as_slice(), b"peer-b".as_slice());
    {
        let index = backend.open();
        let cursors = index.sync_cursors();
        assert_eq!(cursors.get(a).unwrap(), 0);
        cursors.set(a, 7).unwrap();
        cursors.set(a, 20).unwrap();
        cursors.set(b, 3).unwrap();
        assert_eq!((cursors.get(a).unwrap(), cursors.get(b).unwrap()), (20, 3));
    }
    let index = backend.open();
    let cursors = index.sync_cursors();
    assert_eq!((cursors.get(a).unwrap(), cursors.get(b).unwrap()), (20, 3));
    cursors.set(b, 0).unwrap();
    assert_eq!(
        cursors.get(b).unwrap(),
        0,
        "a reset peer's cursor moves back"
    );
    assert_eq!(cursors.get(b"peer-c").unwrap(), 0);
}
