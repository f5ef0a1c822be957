//! The checks of a peer's files against the accepted hashes.

use delos_pool_protocol::zip::ScannedEntries;

use super::*;

fn expected() -> Expected {
    let files = honest();
    let r = record(&key(1), &files);
    let hashes = ClaimedHashes::of(r.record());
    let vouched = [r.signer()].into_iter().collect();
    Expected::new(module(), version(), hashes, &vouched, &[r])
}

#[test]
fn the_info_must_name_the_version_and_a_vouched_time() {
    let expected = expected();
    assert!(expected.check_info(&honest().info).is_ok());
    let other_version = br#"{"Version":"v1.0.1","Time":"2026-01-02T03:04:05Z"}"#;
    assert!(matches!(
        expected.check_info(other_version),
        Err(Mismatch::InfoVersion { .. })
    ));
    let other_time = br#"{"Version":"v1.0.0","Time":"2027-01-02T03:04:05Z"}"#;
    assert!(matches!(
        expected.check_info(other_time),
        Err(Mismatch::InfoTime { .. })
    ));
    assert!(matches!(
        expected.check_info(b"not json"),
        Err(Mismatch::InfoUnreadable(_))
    ));
}

#[test]
fn the_mod_and_zip_must_hash_as_vouched() {
    let expected = expected();
    assert!(expected.check_go_mod(&honest().go_mod).is_ok());
    assert!(matches!(
        expected.check_go_mod(b"module example.com/evil\n"),
        Err(Mismatch::GoMod { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let want = expected.hashes.zip_h1.unwrap();
    let check = |bytes: &[u8]| {
        let path = dir.path().join("zip");
        std::fs::write(&path, bytes).unwrap();
        let scanned = ScannedEntries::scan(bytes);
        expected.check_zip(&path, want, &scanned)
    };
    assert!(check(&honest().zip).is_ok());
    assert!(matches!(
        check(&tampered_zip().zip),
        Err(Mismatch::ZipHash { .. })
    ));
    assert!(matches!(check(b"PK not a zip"), Err(Mismatch::Zip(_))));
}
