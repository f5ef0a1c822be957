//! The command line's definitions parse what `--help` promises.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use delos_pool_protocol::signing::SignerId;

use super::*;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn id_takes_data_dir_and_signing_key() {
    let cli = Cli::try_parse_from([
        "delos",
        "id",
        "--data-dir",
        "/tmp/d",
        "--signing-key",
        "/tmp/k",
    ])
    .unwrap();
    let Some(Command::Id(args)) = cli.command else {
        panic!("not the id command")
    };
    assert_eq!(args.data_dir().unwrap(), PathBuf::from("/tmp/d"));
    assert_eq!(args.signing_key, Some(PathBuf::from("/tmp/k")));
}

/// A command that runs a node flattens `TrustArgs`; this stands in for it.
#[derive(Debug, Parser)]
struct WithTrust {
    #[command(flatten)]
    trust: TrustArgs,
}

fn signer(n: u8) -> SignerId {
    delos_pool_protocol::signing::NodeKey::from_secret_bytes([n; 32]).signer_id()
}

#[test]
fn trusted_signers_repeat_and_quorum_defaults_to_two() {
    let (a, b) = (signer(1).to_string(), signer(2).to_string());
    let parsed = WithTrust::try_parse_from([
        "x",
        "--trusted-signer",
        a.as_str(),
        "--trusted-signer",
        b.as_str(),
    ])
    .unwrap();
    assert_eq!(parsed.trust.trusted_signers, vec![signer(1), signer(2)]);
    assert_eq!(parsed.trust.quorum, None);
    let policy = parsed.trust.policy(signer(3));
    assert!(policy.is_trusted(&signer(1)) && policy.is_trusted(&signer(3)));
    assert!(!policy.is_trusted(&signer(4)));
}

#[test]
fn a_trusted_signer_may_be_named_by_its_peer_id() {
    let key = delos_pool_protocol::signing::NodeKey::from_secret_bytes([1; 32]);
    let peer = crate::keys::peer_id(&key).to_string();
    let key_text = signer(2).to_string();
    let both = format!("{peer},{key_text}");
    let parsed = WithTrust::try_parse_from(["x", "--trusted-signer", both.as_str()]).unwrap();
    assert_eq!(parsed.trust.trusted_signers, vec![signer(1), signer(2)]);
}

#[test]
fn a_hashed_peer_id_is_refused_naming_it() {
    // An RSA node's PeerId: a SHA-256 multihash of its key, which cannot be recovered.
    let hashed = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    let err = WithTrust::try_parse_from(["x", "--trusted-signer", hashed]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(hashed) && text.contains("hash"), "{text}");
}

#[test]
fn bad_trust_flags_are_refused() {
    for args in [
        vec!["x", "--trusted-signer", "12D3KooWnotakey"],
        vec!["x", "--quorum", "0"],
    ] {
        assert!(WithTrust::try_parse_from(args).is_err());
    }
}
