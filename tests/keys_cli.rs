//! `delos id` through the real binary: the key is created once, kept private, reused, and a
//! key file others can read stops the node with the fix in the message (issue 6, item 1).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use delos_pool_protocol::signing::SignerId;

/// Runs `delos id` with `args`, free of any DELOS_* settings from the environment.
fn delos_id(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_delos"))
        .arg("id")
        .args(args)
        .env_remove("DELOS_DATA_DIR")
        .env_remove("DELOS_SIGNING_KEY")
        .output()
        .expect("run delos")
}

/// The `peer-id:` and `signing-key:` values of a successful `delos id`.
fn id_lines(output: &Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "delos id failed: {stderr}");
    let stdout = String::from_utf8(output.stdout.clone()).expect("utf-8 output");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let peer = lines[0].strip_prefix("peer-id: ").expect("peer-id line");
    let key = lines[1]
        .strip_prefix("signing-key: ")
        .expect("signing-key line");
    (peer.to_owned(), key.to_owned())
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("key file").permissions().mode() & 0o7777
}

#[test]
fn delos_id_creates_a_private_key_once_and_refuses_a_readable_one() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data_dir = tmp.path().join("data");
    let data = data_dir.to_str().expect("utf-8 temp path");
    let key_file = data_dir.join("node.key");

    let (peer, key) = id_lines(&delos_id(&["--data-dir", data]));
    assert_eq!(mode(&key_file), 0o600);
    assert!(peer.starts_with("12D3KooW"), "{peer}");
    let signer: SignerId = key.parse().expect("signing-key parses as a signer");
    let derived = delos_node::keys::peer_id_of(&signer).expect("an ed25519 key");
    assert_eq!(
        derived.to_string(),
        peer,
        "PeerId and signing key are one key"
    );

    let again = id_lines(&delos_id(&["--data-dir", data]));
    assert_eq!(
        again,
        (peer.clone(), key.clone()),
        "the key is reused, not remade"
    );

    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).expect("chmod");
    let refused = delos_id(&["--data-dir", data]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a 0644 key was accepted");
    let hint = format!("chmod 600 {}", key_file.display());
    assert!(stderr.contains(&hint), "no `{hint}` in: {stderr}");
    assert!(refused.stdout.is_empty(), "nothing printed on refusal");
}

#[test]
fn delos_id_with_a_shared_signing_key_keeps_the_peer_id() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let node_dir = tmp.path().join("node");
    let org_dir = tmp.path().join("org");
    let node = node_dir.to_str().expect("utf-8 temp path");
    let (peer, own_key) = id_lines(&delos_id(&["--data-dir", node]));
    // An organisation key made the documented way: another data dir's node.key.
    let org = org_dir.to_str().expect("utf-8 temp path");
    let (_, org_key) = id_lines(&delos_id(&["--data-dir", org]));
    let org_file = org_dir.join("node.key");
    let org_path = org_file.to_str().expect("utf-8 temp path");

    let (peer_shared, key_shared) =
        id_lines(&delos_id(&["--data-dir", node, "--signing-key", org_path]));
    assert_eq!(peer_shared, peer);
    assert_eq!(key_shared, org_key);
    assert_ne!(key_shared, own_key);

    let missing = tmp.path().join("missing.key");
    let out = delos_id(&[
        "--data-dir",
        node,
        "--signing-key",
        missing.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        !missing.exists(),
        "a missing signing key must not be created"
    );
}
