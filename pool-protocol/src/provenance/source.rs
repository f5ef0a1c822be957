//! `Source`: where a signer got a module version from.

use serde::{Deserialize, Serialize};

use super::RecordProblem;
use crate::signing::SignerId;

/// Where the signer obtained the module version it vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Source {
    /// Built from version control by `go mod download`, which reported this `Origin`.
    Vcs(VcsOrigin),
    /// Copied from another Delos node, named by its libp2p identity key (ed25519, so the key
    /// determines the PeerId; `delos-node` converts). The bytes were checked against hashes the
    /// trust policy accepted.
    Peer(SignerId),
    /// Fetched from an upstream GOPROXY at this base URL.
    Upstream(String),
    /// Imported by the operator (for example from a module cache or an archive).
    Import,
}

/// The `Origin` that `go mod download -json` reports for a version it fetched from VCS.
///
/// Field names follow Go's `Origin` JSON (`VCS`, `URL`, `Subdir`, `Hash`, `Ref`); the
/// tag/repo checksums (`TagSum`, `RepoSum`) are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VcsOrigin {
    /// The version control system, as Go names it: `git`, `hg`, `svn`, `bzr`, `fossil`.
    pub vcs: String,
    /// The repository URL (for `.git`-suffixed module paths, without the `.git`).
    pub url: String,
    /// The module's directory inside the repository, if not the root (`Subdir`).
    pub subdir: Option<String>,
    /// The commit (revision) the version was built from: for git, the full hex commit hash.
    pub hash: String,
    /// The ref the version was resolved through, such as `refs/tags/v1.0.0` (`Ref`), if any.
    pub ref_name: Option<String>,
}

/// Bounds on the text fields of a record, in bytes. They keep every record far below
/// [`MAX_RECORD_BYTES`](crate::codec::MAX_RECORD_BYTES) whatever the combination.
pub(super) mod limits {
    /// `VcsOrigin::vcs`.
    pub(crate) const VCS: usize = 16;
    /// `VcsOrigin::url` and `Source::Upstream`.
    pub(crate) const URL: usize = 512;
    /// `VcsOrigin::subdir`.
    pub(crate) const SUBDIR: usize = 256;
    /// `VcsOrigin::hash`: 40 hex digits for git SHA-1 and hg, 64 for git SHA-256.
    pub(crate) const HASH: usize = 128;
    /// `VcsOrigin::ref_name`.
    pub(crate) const REF: usize = 256;
}

/// Checks one text field: present (non-empty), at most `max` bytes, no control characters.
pub(super) fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), RecordProblem> {
    if text.is_empty() {
        return Err(RecordProblem::EmptyText { field });
    }
    if text.len() > max {
        return Err(RecordProblem::TextTooLong {
            field,
            len: text.len(),
            max,
        });
    }
    if text.chars().any(char::is_control) {
        return Err(RecordProblem::ControlCharacter { field });
    }
    Ok(())
}

impl Source {
    /// Checks the text fields against their bounds.
    pub(super) fn check(&self) -> Result<(), RecordProblem> {
        match self {
            Source::Vcs(origin) => origin.check(),
            Source::Upstream(url) => check_text("upstream url", url, limits::URL),
            Source::Peer(_) | Source::Import => Ok(()),
        }
    }
}

impl VcsOrigin {
    fn check(&self) -> Result<(), RecordProblem> {
        check_text("vcs", &self.vcs, limits::VCS)?;
        check_text("url", &self.url, limits::URL)?;
        if let Some(subdir) = &self.subdir {
            check_text("subdir", subdir, limits::SUBDIR)?;
        }
        check_text("hash", &self.hash, limits::HASH)?;
        if let Some(ref_name) = &self.ref_name {
            check_text("ref", ref_name, limits::REF)?;
        }
        Ok(())
    }
}
