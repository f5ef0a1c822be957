//! Whether a version may be used with a module path: Go's `module.Check`/`CheckPathMajor` plus
//! the `+incompatible` rules the `go` command enforces when it resolves versions.

use std::fmt;

use super::Version;
use crate::module_path::ModulePath;

/// Why a version does not fit a module path's major-version suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncompatibleKind {
    /// The version's major does not match the path (`should be v0 or v1, not v2`).
    WrongMajor {
        /// What the path allows: `v0 or v1`, or the suffix's major such as `v2`.
        expected: String,
        /// The version's major, such as `v1`.
        found: String,
    },
    /// `+incompatible` on a path that has a `/vN` or `.vN` suffix.
    IncompatibleWithMajorSuffix,
    /// `+incompatible` on a v0 or v1 version, which is compatible by definition.
    IncompatibleOnCompatibleMajor {
        /// The version's major, `v0` or `v1`.
        major: String,
    },
}

impl fmt::Display for IncompatibleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongMajor { expected, found } => write!(f, "should be {expected}, not {found}"),
            Self::IncompatibleWithMajorSuffix => f.write_str(
                "+incompatible suffix not allowed: module path includes a major version suffix, \
                 so major version must match",
            ),
            Self::IncompatibleOnCompatibleMajor { major } => {
                write!(
                    f,
                    "+incompatible suffix not allowed: major version {major} is compatible"
                )
            }
        }
    }
}

/// A version that may not be used with a module path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}@{version}: invalid version: {kind}")]
#[non_exhaustive]
pub struct IncompatibleVersion {
    /// The module path.
    pub path: String,
    /// The refused version.
    pub version: String,
    /// Why they do not fit together.
    pub kind: IncompatibleKind,
}

/// Checks that `version` may be a version of `path`, as Go's `module.Check` does, and also
/// refuses the `+incompatible` uses the `go` command refuses (on a path with a major suffix, or
/// on a v0/v1 version).
///
/// Without a suffix only v0 and v1 are allowed (or `+incompatible` v2+); `/vN` and
/// `gopkg.in/x.vN` need major N, except that `.v1` also accepts `v0.0.0-` pseudo-versions (an
/// old rule Go keeps for compatibility).
pub fn check_path_version(path: &ModulePath, version: &Version) -> Result<(), IncompatibleVersion> {
    let refuse = |kind| IncompatibleVersion {
        path: path.as_str().to_owned(),
        version: version.as_str().to_owned(),
        kind,
    };
    check_major(path.major_suffix(), version).map_err(refuse)?;
    if !version.is_incompatible() {
        return Ok(());
    }
    if path.major_suffix().is_some() {
        return Err(refuse(IncompatibleKind::IncompatibleWithMajorSuffix));
    }
    match version.major() {
        major @ ("v0" | "v1") => Err(refuse(IncompatibleKind::IncompatibleOnCompatibleMajor {
            major: major.to_owned(),
        })),
        _ => Ok(()),
    }
}

/// Go's `CheckPathMajor` for a parsed path suffix (`None`, `/v2`, `.v1`, `.v1-unstable`).
fn check_major(suffix: Option<&str>, version: &Version) -> Result<(), IncompatibleKind> {
    let major = version.major();
    let wrong = |expected: &str| IncompatibleKind::WrongMajor {
        expected: expected.to_owned(),
        found: major.to_owned(),
    };
    let Some(suffix) = suffix else {
        let ok = major == "v0" || major == "v1" || version.is_incompatible();
        return if ok { Ok(()) } else { Err(wrong("v0 or v1")) };
    };
    let suffix = match suffix.strip_prefix('.') {
        Some(gopkg) => gopkg.strip_suffix("-unstable").unwrap_or(gopkg),
        None => &suffix[1..],
    };
    if suffix == "v1" && version.as_str().starts_with("v0.0.0-") {
        return Ok(());
    }
    if major == suffix {
        Ok(())
    } else {
        Err(wrong(suffix))
    }
}
