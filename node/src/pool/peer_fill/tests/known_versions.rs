//! `list` and `@latest` from versions the trust policy accepts.

use super::*;

#[test]
fn only_versions_the_policy_accepts_are_known_from_the_pool() {
    let trust = TrustPolicy::new(
        key(CLIENT).signer_id(),
        [key(1).signer_id()],
        NonZeroU8::MIN.saturating_add(1),
    );
    let records = [
        mod_record(&key(1), MODULE, "v1.0.0"),
        mod_record(&key(5), MODULE, "v1.1.0"),
        mod_record(&key(5), MODULE, "v1.2.0"),
        mod_record(&key(6), MODULE, "v1.2.0"),
        mod_record(&key(1), "example.com/other", "v9.0.0"),
    ];
    let known = known::accepted_versions(&trust, &module(), &records);
    let expected: Vec<Version> = ["v1.0.0", "v1.2.0"]
        .map(|v| Version::parse(v).unwrap())
        .into();
    assert_eq!(
        known, expected,
        "trusted v1.0.0, quorum v1.2.0, lone v1.1.0 left out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_latest_answer_from_trusted_records_without_vcs() {
    let files = honest();
    let (_a, addr) = server(1, files.clone()).await;
    let records = [
        record(&key(1), &files),
        mod_record(&key(5), MODULE, "v1.3.0"),
        mod_record(&key(1), "example.com/m/v2", "v2.0.0"),
    ];
    let c = client(&[1], 2, &records, &[addr]).await;
    let listed = c.fetcher.list(&module()).await.unwrap();
    assert_eq!(
        listed,
        vec![version()],
        "untrusted v1.3.0 and module /v2 left out"
    );
    let (latest, entry) = c.fetcher.latest(&module()).await.unwrap();
    assert_eq!(latest, version());
    assert_eq!(entry.source(), &Source::Peer(peer(1).to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_records_list_is_not_found_as_before() {
    let (_a, addr) = server(1, honest()).await;
    let c = client(&[], 2, &[record(&key(1), &honest())], &[addr]).await;
    let err = c.fetcher.list(&module()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
