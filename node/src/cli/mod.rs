//! The `delos` command line, every flag of every subcommand (with its environment fallback
//! and its help) in this folder: [`Cli`] and its [`Command`]s here; the arguments several
//! subcommands share, declared once and flattened, in `shared.rs` ([`DataDirArg`],
//! [`KeyArgs`], [`PrivateArg`]); `serve`'s own in [`ServeArgs`], with the pool's
//! ([`P2pArgs`]) and the trust settings ([`TrustArgs`]); `import-record`'s in
//! [`ImportArgs`]; `import`'s, `export`'s and `verify`'s in [`ImportDirArgs`],
//! [`ExportArgs`] and [`VerifyArgs`].
//!
//! Nothing here validates or merges: [`crate::config`] reads these structs (and the
//! `--config` file) into the [`Config`](crate::config::Config) a node runs with.

mod airgap;
mod import;
mod pool;
mod serve;
mod shared;
mod trust;

#[cfg(test)]
mod tests;

use clap::{Parser, Subcommand};

pub use airgap::{ExportArgs, ImportDirArgs, VerifyArgs};
pub use import::ImportArgs;
pub use pool::P2pArgs;
pub use serve::ServeArgs;
pub use shared::{DataDirArg, KeyArgs, NoDataDir, PrivateArg, default_data_dir};
pub use trust::TrustArgs;

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
    Serve(Box<ServeArgs>),
    /// Verify signed provenance records (files of their wire bytes) and store them in a
    /// stopped node's store; disagreement with pinned versions is kept as conflict evidence.
    /// Pass the node's own --private, so private modules' records stay out of its feed.
    ImportRecord(ImportArgs),
    /// Load a Go module cache or a GOPROXY file tree into a stopped node's store, every version
    /// checked as a peer's fill is (zip rules, .ziphash, .mod against the zip) and signed with
    /// source "import"; prints imported, already present and refused (with why). Takes the
    /// node's flags or --config. Exits 1 when anything was refused.
    Import(Box<ImportDirArgs>),
    /// Write a stopped node's store as a GOPROXY file tree (`<module>/@v/list`, `.info`, `.mod`,
    /// `.zip`) that `delos import` loads and `GOPROXY=file://DIR` serves; private modules only
    /// with --private. Every blob is re-hashed on the way. Exits 1 when a version failed.
    Export(Box<ExportArgs>),
    /// Re-hash every blob of a stopped node's store against the index, move corrupt ones aside
    /// (the node then answers 404 for their versions until they are filled again) and report;
    /// with --vcs also re-check `.mod`-only versions against their VCS (pinning nothing).
    /// Takes the node's flags or --config. Exits 1 when it found a bad blob or a version that
    /// needs the operator.
    Verify(Box<VerifyArgs>),
    /// Replace one `.mod`-only version that `delos verify` reported as poisoned with a fresh,
    /// validated fill from its VCS; the node's old record is kept as conflict evidence. The one
    /// exception to "pinned forever". Takes the node's own flags or --config; stop it first.
    Repin(Box<RepinArgs>),
    /// The node's own checksum database (`--checksum-db`).
    #[command(subcommand)]
    ChecksumDb(ChecksumDbCommand),
    /// Audit the node's own checksum log end to end (every record against the store's pins,
    /// every tile, every head it signed or saw gossiped), or with --evidence check fork
    /// evidence files offline. Prints a report; exits non-zero on any disagreement (or on
    /// evidence that proves no fork). Takes the node's flags or --config; stop it first.
    Audit(Box<AuditArgs>),
    /// Believe again a pool member's checksum log that the pool proved forked: forget the
    /// stopped node's fork records of that log (and the newest head it kept), so its relay and
    /// mirrors serve the log again from the next head on. The evidence files in
    /// `<data dir>/evidence/` stay. For when the log's operator has explained the fork and
    /// kept its key; otherwise rotate to a new name and key instead.
    LiftFork(LiftForkArgs),
}

/// Arguments of `delos lift-fork`.
#[derive(Debug, clap::Args)]
pub struct LiftForkArgs {
    /// The log's verifier key, `name+hash+key`, as `/status` lists it under
    /// `pool.log_fork_evidence`.
    #[arg(value_name = "VERIFIER_KEY")]
    pub verifier: String,
    /// The data directory of the (stopped) node.
    #[command(flatten)]
    pub dir: DataDirArg,
}

/// Arguments of `delos audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// A fork evidence file (as a node writes into `<data dir>/evidence/`) to check with its
    /// key alone, no store needed. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub evidence: Vec<std::path::PathBuf>,
    /// The node's flags (or --config): data dir, --checksum-db and its key.
    #[command(flatten)]
    pub node: ServeArgs,
}

/// `delos checksum-db` subcommands.
#[derive(Debug, Subcommand)]
pub enum ChecksumDbCommand {
    /// Print the database's verifier key, the value clients set GOSUMDB to (one line:
    /// `<name>+<hash>+<key>`), creating the note key file if absent. Takes the node's flags or
    /// --config (--checksum-db names the database).
    Key(Box<ServeArgs>),
}

/// Arguments of `delos repin`.
#[derive(Debug, clap::Args)]
pub struct RepinArgs {
    /// The version to replace, as `module@version` (e.g. example.org/big.git@v1.0.0).
    #[arg(value_name = "MODULE@VERSION")]
    pub target: String,
    /// The node's flags (or --config): data dir, signing key, upstream, private patterns.
    #[command(flatten)]
    pub node: ServeArgs,
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
