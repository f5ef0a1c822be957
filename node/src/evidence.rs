//! Fork evidence files: two tree heads one key signed that cannot both be true, written by a
//! node that found them (`<data dir>/evidence/`) and checked offline by `delos audit
//! --evidence FILE` with nothing but the file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use delos_pool_protocol::Sha256;
use delos_pool_protocol::sumdb::{
    ForkProofError, ProvedFork, VerifierKey, Verifiers, check_fork_with_tiles,
};
use serde::{Deserialize, Serialize};

/// The `format` of the files this version writes.
pub const FORMAT: &str = "delos-fork-evidence/1";

/// A fork evidence file's content (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkEvidenceFile {
    /// [`FORMAT`].
    pub format: String,
    /// The log's verifier key, `name+hash+key`.
    pub verifier: String,
    /// One signed head, as its note text.
    pub first: String,
    /// The other.
    pub second: String,
    /// For heads of different sizes: the larger tree's tiles that its consistency check reads
    /// (`fork_proof_tiles` order), base64; they must check against the larger head.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiles: Vec<String>,
}

/// Why an evidence file could not be written, read or does not prove a fork.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Reading or writing the file failed.
    #[error("evidence file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not evidence JSON of a known format.
    #[error("evidence file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The verifier key in it does not parse.
    #[error("evidence names a malformed verifier key {0:?}")]
    Key(String),
    /// A tile in it is not base64.
    #[error("evidence holds a tile that is not base64")]
    Tile,
    /// The heads do not prove a fork.
    #[error("the evidence proves no fork")]
    NoFork(#[source] ForkProofError),
}

impl ForkEvidenceFile {
    /// The evidence of `first` and `second`, signed heads of the log `verifier`.
    pub fn new(verifier: &str, first: &[u8], second: &[u8]) -> ForkEvidenceFile {
        ForkEvidenceFile {
            format: FORMAT.to_owned(),
            verifier: verifier.to_owned(),
            first: String::from_utf8_lossy(first).into_owned(),
            second: String::from_utf8_lossy(second).into_owned(),
            tiles: Vec::new(),
        }
    }

    /// This evidence with the larger tree's `tiles` (heads of different sizes).
    pub fn with_tiles(mut self, tiles: &[Vec<u8>]) -> ForkEvidenceFile {
        use base64::Engine as _;
        self.tiles = tiles
            .iter()
            .map(|tile| base64::engine::general_purpose::STANDARD.encode(tile))
            .collect();
        self
    }

    /// Checks the evidence with its key alone.
    pub fn verify(&self) -> Result<ProvedFork, EvidenceError> {
        let key: VerifierKey = self
            .verifier
            .parse()
            .map_err(|_| EvidenceError::Key(self.verifier.clone()))?;
        let verifiers =
            Verifiers::new([key]).map_err(|_| EvidenceError::Key(self.verifier.clone()))?;
        use base64::Engine as _;
        let tiles = self
            .tiles
            .iter()
            .map(|tile| base64::engine::general_purpose::STANDARD.decode(tile))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| EvidenceError::Tile)?;
        check_fork_with_tiles(
            &verifiers,
            self.first.as_bytes(),
            self.second.as_bytes(),
            tiles,
        )
        .map_err(EvidenceError::NoFork)
    }

    /// Reads an evidence file.
    pub fn read(path: &Path) -> Result<ForkEvidenceFile, EvidenceError> {
        let text = fs::read_to_string(path).map_err(|source| EvidenceError::Io {
            path: path.to_owned(),
            source,
        })?;
        let evidence: ForkEvidenceFile =
            serde_json::from_str(&text).map_err(|err| EvidenceError::Malformed {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        if evidence.format != FORMAT {
            return Err(EvidenceError::Malformed {
                path: path.to_owned(),
                reason: format!("unknown format {:?}", evidence.format),
            });
        }
        Ok(evidence)
    }

    /// Writes the evidence into `dir` (created if needed) as
    /// `fork-<log name>-<size>-<digest>.json`, durably (a temp file renamed); returns its path.
    pub fn write_into(&self, dir: &Path, size: u64) -> Result<PathBuf, EvidenceError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EvidenceError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        let name = self.verifier.split('+').next().unwrap_or("log");
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let digest = Sha256::digest(format!("{}{}", self.first, self.second).as_bytes()).to_hex();
        let path = dir.join(format!("fork-{safe}-{size}-{}.json", &digest[..16]));
        let temp = path.with_extension("json.part");
        let json = serde_json::to_string_pretty(self).map_err(|err| EvidenceError::Malformed {
            path: path.clone(),
            reason: err.to_string(),
        })?;
        let mut file = fs::File::create(&temp).map_err(io(&temp))?;
        file.write_all(json.as_bytes()).map_err(io(&temp))?;
        file.sync_all().map_err(io(&temp))?;
        fs::rename(&temp, &path).map_err(io(&path))?;
        Ok(path)
    }
}
