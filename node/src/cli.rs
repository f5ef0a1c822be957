//! The `delos` command line: subcommands, flags (with environment fallbacks) and their help.

use std::num::NonZeroU8;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::trust::TrustPolicy;

/// A node of a federated Go module proxy pool.
///
/// Serves the Go module download protocol (GOPROXY) from its own immutable store and shares
/// verified module versions with other Delos nodes.
#[derive(Debug, Parser)]
#[command(name = "delos", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The `delos` subcommands (exhaustive on purpose: `main` must handle each one).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print this node's PeerId and signing key, creating the node key if absent.
    #[command(long_about = ID_LONG_ABOUT)]
    Id(KeyArgs),
    /// Serve the Go module download protocol (point GOPROXY at it), filling misses with
    /// `go mod download`.
    Serve(Box<crate::config::ServeArgs>),
    /// Verify signed provenance records (files of their wire bytes) and store them in a
    /// stopped node's store; disagreement with pinned versions is kept as conflict evidence.
    ImportRecord(ImportArgs),
}

/// The long help of `delos id`: states the output format scripts can rely on.
const ID_LONG_ABOUT: &str = "\
Print this node's PeerId and signing key, creating the node key if absent.

Output, one line each, always in this order:

  peer-id: <libp2p PeerId, e.g. 12D3KooW...>
  signing-key: ed25519:<64 lowercase hex digits>

Use the peer-id in bootstrap addresses (/ip4/.../tcp/.../p2p/<peer-id>) and the signing-key
value in other nodes' --trusted-signer lists. Without --signing-key both name the same
ed25519 key, <data dir>/node.key, and --trusted-signer takes either; with --signing-key only
the signing-key names the signer.

Key files hold exactly 32 raw ed25519 secret-key bytes and must be readable by their owner
only (chmod 600); the node refuses to start otherwise.";

/// Where the node keeps its state and which key signs its records.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Data directory (node key, store). Default: the platform data directory, e.g.
    /// ~/.local/share/delos on Linux.
    #[arg(long, value_name = "DIR", env = "DELOS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Sign provenance records with this key file (an organisation's shared key, 32 raw
    /// ed25519 secret-key bytes, mode 0600) instead of the node key. Never created.
    #[arg(long, value_name = "FILE", env = "DELOS_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
}

/// Arguments of `delos import-record`. The node must be stopped: the store is locked while it
/// runs.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Data directory of the node whose store receives the records. Default: the platform
    /// data directory, e.g. ~/.local/share/delos on Linux.
    #[arg(long, value_name = "DIR", env = "DELOS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// GOPRIVATE-style comma-separated patterns: records of matching modules are stored but
    /// never put in the feed peers sync from (pass the node's own --private value).
    #[arg(
        long,
        value_name = "PATTERNS",
        env = "DELOS_PRIVATE",
        value_delimiter = ','
    )]
    pub private: Vec<String>,
    /// Files each holding one signed record's wire bytes (`SignedRecord::to_wire`).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

impl ImportArgs {
    /// The data directory: `--data-dir`, else the platform default.
    pub fn data_dir(&self) -> Result<PathBuf, NoDataDir> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_data_dir().ok_or(NoDataDir),
        }
    }
}

/// Whose provenance records the node believes (flatten into commands that run a node).
/// `Default` is what no flag gives: no trusted signer, the default quorum.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Believe records signed by this signer on its own (repeatable): its signing key
    /// (ed25519:<hex>, the signing-key line of `delos id` on the signer's node) or its PeerId
    /// (12D3KooW..., the peer-id line, when the node signs with its node key). The node's own
    /// signing key is always trusted.
    #[arg(
        long = "trusted-signer",
        value_name = "KEY|PEERID",
        env = "DELOS_TRUSTED_SIGNERS",
        value_delimiter = ',',
        value_parser = crate::keys::parse_signer
    )]
    pub trusted_signers: Vec<SignerId>,

    /// Number of distinct signers that must agree before records from untrusted signers are
    /// believed [default: 2].
    #[arg(long, value_name = "N", env = "DELOS_QUORUM")]
    pub quorum: Option<NonZeroU8>,
}

impl TrustArgs {
    /// The trust policy for a node whose own signing key is `own`.
    pub fn policy(&self, own: SignerId) -> TrustPolicy {
        let quorum = self.quorum.unwrap_or(TrustPolicy::DEFAULT_QUORUM);
        TrustPolicy::new(own, self.trusted_signers.iter().copied(), quorum)
    }
}

/// No `--data-dir` was given and the platform has no data directory (no home directory).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no --data-dir given and no platform data directory (is HOME set?)")]
pub struct NoDataDir;

impl KeyArgs {
    /// The data directory: `--data-dir`, else the platform default.
    pub fn data_dir(&self) -> Result<PathBuf, NoDataDir> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_data_dir().ok_or(NoDataDir),
        }
    }
}

/// The platform data directory for Delos (`$XDG_DATA_HOME/delos`, `~/.local/share/delos`, or
/// the macOS and Windows equivalents), if the platform has one.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "delos").map(|dirs| dirs.data_dir().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
}
