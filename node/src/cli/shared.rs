//! Arguments more than one subcommand takes, each declared once and flattened where used:
//! the data directory, the signing key and the private patterns.

use std::path::PathBuf;

use clap::Args;

/// `--data-dir`: where the node keeps its state.
#[derive(Debug, Clone, Default, Args)]
pub struct DataDirArg {
    /// Data directory (node key, store). Default: the platform data directory, e.g.
    /// ~/.local/share/delos on Linux.
    #[arg(long, value_name = "DIR", env = "DELOS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    /// `--data-dir` set to `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DataDirArg {
        DataDirArg {
            data_dir: Some(dir.into()),
        }
    }

    /// The data directory: `--data-dir`, else the platform default.
    pub fn resolve(&self) -> Result<PathBuf, NoDataDir> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_data_dir().ok_or(NoDataDir),
        }
    }
}

/// Where the node keeps its state and which key signs its records (`delos id`, `delos serve`).
#[derive(Debug, Clone, Default, Args)]
pub struct KeyArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: DataDirArg,

    /// Sign provenance records with this key file (an organisation's shared key, 32 raw
    /// ed25519 secret-key bytes, mode 0600) instead of the node key, `<data dir>/node.key`.
    /// Never created.
    #[arg(long, value_name = "FILE", env = "DELOS_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
}

impl KeyArgs {
    /// The data directory: `--data-dir`, else the platform default.
    pub fn data_dir(&self) -> Result<PathBuf, NoDataDir> {
        self.dir.resolve()
    }
}

/// `--private`: the node's private modules.
#[derive(Debug, Clone, Default, Args)]
pub struct PrivateArg {
    /// GOPRIVATE-style comma-separated patterns of private modules: fetched only from their
    /// VCS, without the checksum database; never asked of, served to or announced to peers;
    /// their records are stored but never put in the feed peers sync from.
    #[arg(
        long,
        value_name = "PATTERNS",
        env = "DELOS_PRIVATE",
        value_delimiter = ','
    )]
    pub private: Option<Vec<String>>,
}

/// No `--data-dir` was given and the platform has no data directory (no home directory).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no --data-dir given and no platform data directory (is HOME set?)")]
pub struct NoDataDir;

/// The platform data directory for Delos (`$XDG_DATA_HOME/delos`, `~/.local/share/delos`, or
/// the macOS and Windows equivalents), if the platform has one.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "delos").map(|dirs| dirs.data_dir().to_owned())
}
