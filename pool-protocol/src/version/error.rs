//! `InvalidVersion`: why a version, escaped version or pseudo-version was refused.

use std::fmt;

use crate::module_path::{EscapeErrorKind, PathErrorKind};

/// How the refused text was presented, so the message reads like Go's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionForm {
    /// A plain version.
    Version,
    /// A `!`-escaped version or query from a URL.
    Escaped,
    /// A version examined as a pseudo-version.
    Pseudo,
}

/// Why a version was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionErrorKind {
    /// Not Go semver.
    NotSemver,
    /// Not usable as a file name (Go's "disallowed version string"), e.g. `feature/x`.
    Disallowed(PathErrorKind),
    /// The escaped text could not be decoded.
    Escaping(EscapeErrorKind),
    /// A pseudo-version without a base version carries build metadata.
    PseudoBuildWithoutBase {
        /// The build metadata, with its `+`.
        build: String,
    },
    /// A `vX.Y.0-0.…` pseudo-version, whose base would have patch number -1.
    PseudoNegativePatch,
    /// The pseudo-version timestamp is not a real `yyyymmddhhmmss` time.
    PseudoBadTime {
        /// The fourteen digits found.
        timestamp: String,
    },
}

impl fmt::Display for VersionErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSemver => f.write_str("not a semantic version"),
            Self::Disallowed(kind) => write!(f, "disallowed version string: {kind}"),
            Self::Escaping(kind) => kind.fmt(f),
            Self::PseudoBuildWithoutBase { build } => {
                write!(f, "lacks base version, but has build metadata {build:?}")
            }
            Self::PseudoNegativePatch => {
                f.write_str("version before it would have negative patch number")
            }
            Self::PseudoBadTime { timestamp } => write!(f, "malformed time {timestamp:?}"),
        }
    }
}

/// A version string Go would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {:?}{}: {kind}", form_prefix(*.form), .version, form_suffix(*.form))]
#[non_exhaustive]
pub struct InvalidVersion {
    /// The refused input, exactly as given.
    pub version: String,
    /// How it was presented.
    pub form: VersionForm,
    /// Why it was refused.
    pub kind: VersionErrorKind,
}

fn form_prefix(form: VersionForm) -> &'static str {
    match form {
        VersionForm::Version => "version",
        VersionForm::Escaped => "invalid escaped version",
        VersionForm::Pseudo => "pseudo-version",
    }
}

fn form_suffix(form: VersionForm) -> &'static str {
    match form {
        VersionForm::Escaped => "",
        VersionForm::Version | VersionForm::Pseudo => " invalid",
    }
}

impl InvalidVersion {
    pub(crate) fn new(version: &str, form: VersionForm, kind: VersionErrorKind) -> Self {
        Self {
            version: version.to_owned(),
            form,
            kind,
        }
    }
}
