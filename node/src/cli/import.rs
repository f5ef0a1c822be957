//! [`ImportArgs`]: the arguments of `delos import-record`.

use std::path::PathBuf;

use clap::Args;

use super::shared::{DataDirArg, NoDataDir, PrivateArg};

/// Arguments of `delos import-record`. The node must be stopped: the store is locked while it
/// runs.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The data directory of the node whose store receives the records.
    #[command(flatten)]
    pub dir: DataDirArg,
    /// The node's private modules (pass the node's own --private value).
    #[command(flatten)]
    pub private: PrivateArg,
    /// Files each holding one signed record's wire bytes (`SignedRecord::to_wire`).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

impl ImportArgs {
    /// The data directory: `--data-dir`, else the platform default.
    pub fn data_dir(&self) -> Result<PathBuf, NoDataDir> {
        self.dir.resolve()
    }

    /// The private patterns as given (none when `--private` is absent).
    pub fn private_patterns(&self) -> &[String] {
        self.private.private.as_deref().unwrap_or_default()
    }
}
