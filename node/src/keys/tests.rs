//! Key file tests, on real files in temp dirs.

use std::os::unix::fs::PermissionsExt;

use super::*;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn first_load_creates_a_0600_key_and_later_loads_reuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested/data");
    let first = NodeKeys::load(&data_dir, None).unwrap();
    let key_file = data_dir.join(NODE_KEY_FILE);
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(fs::metadata(&key_file).unwrap().len(), 32);
    assert_eq!(fs::read(&key_file).unwrap(), first.identity.secret_bytes());
    let second = NodeKeys::load(&data_dir, None).unwrap();
    assert_eq!(second.peer_id(), first.peer_id());
    assert_eq!(second.signer_id(), first.signer_id());
    let leftovers = fs::read_dir(&data_dir).unwrap().count();
    assert_eq!(leftovers, 1, "only node.key remains");
}

#[test]
fn a_key_readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    NodeKeys::load(dir.path(), None).unwrap();
    let key_file = dir.path().join(NODE_KEY_FILE);
    for loose in [0o644, 0o640, 0o604, 0o660, 0o602] {
        chmod(&key_file, loose);
        let err = NodeKeys::load(dir.path(), None).unwrap_err();
        assert!(
            matches!(err, KeyError::Permissions { mode, .. } if mode == loose),
            "{loose:o}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", key_file.display())),
            "{message}"
        );
    }
    chmod(&key_file, 0o400);
    assert!(
        NodeKeys::load(dir.path(), None).is_ok(),
        "owner-only is fine"
    );
}

#[test]
fn a_file_of_the_wrong_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join(NODE_KEY_FILE);
    write_private(&key_file, &[1; 33]).unwrap();
    let err = NodeKeys::load(dir.path(), None).unwrap_err();
    assert!(
        matches!(err, KeyError::WrongLength { len: 33, .. }),
        "{err:?}"
    );
}

#[test]
fn a_shared_signing_key_signs_while_the_node_key_stays_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let org = tempfile::tempdir().unwrap();
    let org_key = org.path().join("org.key");
    write_private(&org_key, &[9; 32]).unwrap();
    let own = NodeKeys::load(dir.path(), None).unwrap();
    let shared = NodeKeys::load(dir.path(), Some(&org_key)).unwrap();
    assert_eq!(shared.peer_id(), own.peer_id());
    assert_eq!(
        shared.signer_id(),
        NodeKey::from_secret_bytes([9; 32]).signer_id()
    );
    assert_ne!(shared.signer_id(), own.signer_id());
    chmod(&org_key, 0o644);
    let err = NodeKeys::load(dir.path(), Some(&org_key)).unwrap_err();
    assert!(matches!(err, KeyError::Permissions { .. }), "{err:?}");
}

#[test]
fn a_missing_signing_key_is_refused_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("org.key");
    let err = NodeKeys::load(dir.path(), Some(&missing)).unwrap_err();
    assert!(matches!(err, KeyError::MissingSigningKey { .. }), "{err:?}");
    assert!(!missing.exists());
}

#[test]
fn peer_id_and_signer_name_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = NodeKeys::load(dir.path(), None).unwrap();
    assert_eq!(peer_id_of(&keys.signer_id()), Some(keys.peer_id()));
    assert!(keys.peer_id().to_string().starts_with("12D3KooW"));
    let report = keys.id_report();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], format!("peer-id: {}", keys.peer_id()));
    assert_eq!(lines[1], format!("signing-key: {}", keys.signer_id()));
    assert_eq!(lines.len(), 2);
}

#[test]
fn the_note_key_is_created_once_private_and_keeps_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sumdb.key");
    let key = load_or_create_note_key(&path, "corp.example").unwrap();
    assert_eq!(mode(&path), 0o600);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("PRIVATE+KEY+corp.example+"), "{text}");
    let again = load_or_create_note_key(&path, "corp.example").unwrap();
    assert_eq!(
        again.verifier_key(),
        key.verifier_key(),
        "reused, not made anew"
    );
    let renamed = load_or_create_note_key(&path, "other.example").unwrap_err();
    assert!(
        renamed.to_string().contains("not other.example"),
        "{renamed}"
    );
    chmod(&path, 0o644);
    assert!(matches!(
        load_or_create_note_key(&path, "corp.example"),
        Err(KeyError::Permissions { .. })
    ));
}
