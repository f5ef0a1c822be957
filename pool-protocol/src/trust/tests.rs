//! Trust verdicts for the cases issue 6 lists, and a few more.

use super::*;
use crate::hash::Sha256;
use crate::provenance::tests::vcs_fields;
use crate::provenance::{ProvenanceRecord, ZipFacts};
use crate::signing::NodeKey;

fn key(n: u8) -> NodeKey {
    NodeKey::from_secret_bytes([n; 32])
}

fn id(n: u8) -> SignerId {
    key(n).signer_id()
}

/// The hashes a record claims: go.mod hash `go_mod`, zip hash `zip` (0 = `.mod`-only).
fn hashes(go_mod: u8, zip: u8) -> ClaimedHashes {
    ClaimedHashes {
        go_mod_h1: H1Hash::from_bytes([go_mod; 32]),
        zip_h1: (zip != 0).then(|| H1Hash::from_bytes([zip; 32])),
    }
}

/// A record signed by key `signer`, claiming `hashes(go_mod, zip)`; the zip's sha256 differs
/// per signer (honest nodes can hold different zip bytes with the same h1).
fn record(signer: u8, go_mod: u8, zip: u8) -> VerifiedRecord {
    let claimed = hashes(go_mod, zip);
    let mut fields = vcs_fields();
    fields.go_mod_h1 = claimed.go_mod_h1;
    fields.zip = claimed.zip_h1.map(|h1| ZipFacts {
        h1,
        sha256: Sha256::digest(&[signer]),
        size: 100 + u64::from(signer),
    });
    let record = ProvenanceRecord::new(fields).unwrap();
    key(signer).sign(&record).unwrap().verify().unwrap()
}

/// Own key 1; trusted signers 2 and 3; quorum 2.
fn policy() -> TrustPolicy {
    TrustPolicy::new(id(1), [id(2), id(3)], TrustPolicy::DEFAULT_QUORUM)
}

fn verdict(records: &[VerifiedRecord]) -> Verdict {
    let fields = vcs_fields();
    policy().verdict(&fields.module, &fields.version, records)
}

fn set(ids: &[u8]) -> BTreeSet<SignerId> {
    ids.iter().map(|&n| id(n)).collect()
}

#[test]
fn trusted_signer_alone_is_enough() {
    let Verdict::Accepted {
        hashes: got,
        vouched_by,
        reason,
        dissent,
    } = verdict(&[record(2, 10, 20)])
    else {
        panic!("not accepted")
    };
    assert_eq!(got, hashes(10, 20));
    assert_eq!(vouched_by, set(&[2]));
    assert_eq!(reason, AcceptReason::TrustedSigner);
    assert!(dissent.is_empty());
}

#[test]
fn quorum_met_accepts_despite_different_zip_bytes() {
    let Verdict::Accepted {
        hashes: got,
        vouched_by,
        reason,
        ..
    } = verdict(&[record(7, 10, 20), record(8, 10, 20)])
    else {
        panic!("not accepted")
    };
    assert_eq!(got, hashes(10, 20));
    assert_eq!(vouched_by, set(&[7, 8]));
    assert_eq!(reason, AcceptReason::Quorum);
}

#[test]
fn quorum_unmet_accepts_nothing() {
    let records = [record(7, 10, 20), record(7, 10, 20), record(8, 10, 21)];
    let Verdict::NotEnoughTrust { claims, quorum } = verdict(&records) else {
        panic!("accepted without quorum")
    };
    assert_eq!(quorum.get(), 2);
    assert_eq!(claims.len(), 2, "the same signer twice counts once");
}

#[test]
fn no_records_accept_nothing() {
    assert!(matches!(verdict(&[]), Verdict::NotEnoughTrust { .. }));
}

#[test]
fn two_trusted_signers_disagreeing_is_a_conflict() {
    for (zip_a, zip_b, go_mod_b) in [(20, 21, 10), (20, 20, 11)] {
        let records = [record(2, 10, zip_a), record(3, go_mod_b, zip_b)];
        let Verdict::Conflict { claims, own } = verdict(&records) else {
            panic!("trusted signers disagreeing were resolved")
        };
        assert_eq!(claims.len(), 2);
        assert_eq!(own, None);
    }
}

#[test]
fn trusted_disagreement_is_not_outvoted_by_a_quorum() {
    let records = [
        record(2, 10, 20),
        record(3, 10, 21),
        record(7, 10, 20),
        record(8, 10, 20),
        record(9, 10, 20),
    ];
    assert!(matches!(verdict(&records), Verdict::Conflict { .. }));
}

#[test]
fn own_key_versus_a_peer_is_a_conflict_and_own_is_kept() {
    for peer in [2, 7] {
        let records = [record(1, 10, 20), record(peer, 10, 21)];
        let Verdict::Conflict { claims, own } = verdict(&records) else {
            panic!("own key disagreement with {peer} was resolved")
        };
        assert_eq!(own, Some(hashes(10, 20)));
        assert!(claims.iter().any(|c| c.signers.contains(&id(peer))));
    }
}

#[test]
fn untrusted_dissent_does_not_block_a_trusted_signer() {
    let records = [record(2, 10, 20), record(7, 10, 21), record(8, 10, 21)];
    let Verdict::Accepted {
        hashes: got,
        dissent,
        ..
    } = verdict(&records)
    else {
        panic!("not accepted")
    };
    assert_eq!(got, hashes(10, 20));
    assert_eq!(dissent.len(), 1);
    assert_eq!(dissent[0].signers, set(&[7, 8]));
}

#[test]
fn conflicting_quorums_are_a_conflict() {
    let records = [
        record(7, 10, 20),
        record(8, 10, 20),
        record(5, 10, 21),
        record(6, 10, 21),
    ];
    assert!(matches!(
        verdict(&records),
        Verdict::Conflict { own: None, .. }
    ));
}

#[test]
fn equivocating_signers_do_not_count_toward_a_quorum() {
    let records = [record(7, 10, 20), record(8, 10, 20), record(8, 10, 21)];
    assert!(matches!(verdict(&records), Verdict::NotEnoughTrust { .. }));
}

#[test]
fn mod_only_claim_agrees_with_a_full_claim() {
    let records = [record(2, 10, 0), record(3, 10, 20)];
    let Verdict::Accepted {
        hashes: got,
        vouched_by,
        ..
    } = verdict(&records)
    else {
        panic!("compatible claims were not accepted")
    };
    assert_eq!(got, hashes(10, 20));
    assert_eq!(vouched_by, set(&[2, 3]));
}

#[test]
fn records_for_other_versions_are_ignored() {
    let fields = vcs_fields();
    let other = Version::parse("v1.0.1").unwrap();
    let v = policy().verdict(&fields.module, &other, &[record(2, 10, 20)]);
    assert!(matches!(v, Verdict::NotEnoughTrust { .. }));
}

#[test]
fn an_empty_trusted_set_still_trusts_only_own() {
    let policy = TrustPolicy::new(id(1), [], NonZeroU8::MIN.saturating_add(2));
    assert!(policy.is_trusted(&id(1)));
    assert!(!policy.is_trusted(&id(2)));
    let fields = vcs_fields();
    let v = policy.verdict(&fields.module, &fields.version, &[record(2, 10, 20)]);
    assert!(matches!(v, Verdict::NotEnoughTrust { .. }));
}
