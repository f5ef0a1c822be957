//! The arguments of `delos import`, `delos export` and `delos verify`: the commands that load,
//! write out and check a stopped node's store.

use std::path::PathBuf;

use clap::Args;

use super::serve::ServeArgs;
use super::shared::DataDirArg;

/// Arguments of `delos import`.
#[derive(Debug, Clone, Args)]
pub struct ImportDirArgs {
    /// A Go module cache (`$GOMODCACHE`, or its `cache/download`) or a GOPROXY file tree
    /// (`<module>/@v/<version>.info|.mod|.zip`, as `delos export` writes).
    #[arg(value_name = "DIR")]
    pub source: PathBuf,
    /// The node's flags (or --config): data dir, signing key, private patterns.
    #[command(flatten)]
    pub node: ServeArgs,
}

/// Arguments of `delos export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The directory to write the GOPROXY file tree into (created if absent).
    #[arg(value_name = "DIR")]
    pub out: PathBuf,
    /// Export private modules too (left out by default).
    #[arg(long)]
    pub private: bool,
    /// The node's private patterns (GOPRIVATE-style, comma-separated), as its --private.
    #[arg(
        long,
        value_name = "PATTERNS",
        env = "DELOS_PRIVATE",
        value_delimiter = ','
    )]
    pub private_patterns: Option<Vec<String>>,
    /// The node's TOML configuration file (its data_dir and private keys are used).
    #[arg(long, value_name = "FILE", env = "DELOS_CONFIG")]
    pub config: Option<PathBuf>,
    /// The node's data directory.
    #[command(flatten)]
    pub dir: DataDirArg,
}

impl ExportArgs {
    /// The node flags these arguments amount to, for loading the node's configuration.
    pub fn node_args(&self) -> ServeArgs {
        let mut node = ServeArgs {
            config: self.config.clone(),
            ..ServeArgs::default()
        };
        node.keys.dir = self.dir.clone();
        node.private.private.clone_from(&self.private_patterns);
        node
    }
}

/// Arguments of `delos verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Also re-check every `.mod`-only version against its VCS (starts `go`; needs the
    /// network), reporting those whose VCS now yields another go.mod.
    #[arg(long)]
    pub vcs: bool,
    /// The node's flags (or --config).
    #[command(flatten)]
    pub node: ServeArgs,
}
