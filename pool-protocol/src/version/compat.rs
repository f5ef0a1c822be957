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
    /// `+incompatible` on a version whose major already fits the path (v0 or v1 without a
    /// suffix, or the suffix's own major), so it is compatible by definition.
    IncompatibleOnCompatibleMajor {
        /// The version's major, such as `v1`.
        major: String,
    },
}

impl fmt::Display for IncompatibleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongMajor { expected, found } => write!(f, "should be {expected}, not {found}"),
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
/// refuses `+incompatible` where the `go` command does (`modfetch` `checkCanonical`): on any
/// version whose major already fits the path, so it is only allowed on v2+ without a suffix.
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
    let suffix = path.major_suffix();
    check_major(
        suffix,
        version.as_str(),
        version.major(),
        version.is_incompatible(),
    )
    .map_err(refuse)?;
    if !version.is_incompatible() {
        return Ok(());
    }
    let base = version.as_str().trim_end_matches("+incompatible");
    if check_major(suffix, base, version.major(), false).is_ok() {
        let major = version.major().to_owned();
        return Err(refuse(IncompatibleKind::IncompatibleOnCompatibleMajor {
            major,
        }));
    }
    Ok(())
}

/// Go's `CheckPathMajor` for a parsed path suffix (`None`, `/v2`, `.v1`, `.v1-unstable`);
/// `text` is the version as given and `major` its major (`v2`).
fn check_major(
    suffix: Option<&str>,
    text: &str,
    major: &str,
    incompatible: bool,
) -> Result<(), IncompatibleKind> {
    let wrong = |expected: &str| IncompatibleKind::WrongMajor {
        expected: expected.to_owned(),
        found: major.to_owned(),
    };
    let Some(suffix) = suffix else {
        let ok = major == "v0" || major == "v1" || incompatible;
        return if ok { Ok(()) } else { Err(wrong("v0 or v1")) };
    };
    let suffix = match suffix.strip_prefix('.') {
        Some(gopkg) => gopkg.strip_suffix("-unstable").unwrap_or(gopkg),
        None => suffix.strip_prefix('/').unwrap_or(suffix),
    };
    if suffix == "v1" && text.starts_with("v0.0.0-") {
        return Ok(());
    }
    if major == suffix {
        Ok(())
    } else {
        Err(wrong(suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, version: &str) -> Result<(), String> {
        let path = ModulePath::parse(path).map_err(|err| err.to_string())?;
        let version = Version::parse(version).map_err(|err| err.to_string())?;
        check_path_version(&path, &version).map_err(|err| err.to_string())
    }

    #[test]
    fn majors_must_match_the_suffix() {
        assert_eq!(
            check("example.org/x", "v2.0.0"),
            Err("example.org/x@v2.0.0: invalid version: should be v0 or v1, not v2".into())
        );
        assert_eq!(
            check("example.org/x/v2", "v1.0.0"),
            Err("example.org/x/v2@v1.0.0: invalid version: should be v2, not v1".into())
        );
        assert!(check("gopkg.in/yaml.v2", "v3.0.0").is_err());
        for (path, version) in [
            ("example.org/x", "v0.1.0"),
            ("example.org/x", "v1.2.3"),
            ("example.org/x/v2", "v2.0.0"),
            ("example.org/x/v2", "v2"),
            ("gopkg.in/yaml.v2", "v2.4.0"),
            ("gopkg.in/yaml.v0", "v0.1.0"),
            ("gopkg.in/yaml.v1-unstable", "v1.0.0"),
        ] {
            assert_eq!(check(path, version), Ok(()), "{path}@{version}");
        }
    }

    #[test]
    fn gopkg_in_v1_accepts_v0_pseudo_versions() {
        assert_eq!(
            check("gopkg.in/yaml.v1", "v0.0.0-20200101000000-abcdefabcdef"),
            Ok(())
        );
        assert_eq!(
            check(
                "gopkg.in/yaml.v1-unstable",
                "v0.0.0-20200101000000-abcdefabcdef"
            ),
            Ok(())
        );
        assert!(check("gopkg.in/yaml.v2", "v0.0.0-20200101000000-abcdefabcdef").is_err());
        assert!(check("gopkg.in/yaml.v1", "v0.1.0").is_err());
    }

    #[test]
    fn incompatible_only_on_v2_and_up_without_a_suffix() {
        assert_eq!(check("example.org/x", "v2.0.0+incompatible"), Ok(()));
        assert_eq!(
            check(
                "example.org/x",
                "v2.0.1-0.20200722182040-012345abcdef+incompatible"
            ),
            Ok(())
        );
        assert_eq!(
            check("example.org/x", "v1.0.0+incompatible"),
            Err(
                "example.org/x@v1.0.0+incompatible: invalid version: +incompatible suffix not \
                 allowed: major version v1 is compatible"
                    .into()
            )
        );
        assert!(check("example.org/x/v2", "v2.0.0+incompatible").is_err());
        assert!(check("example.org/x/v2", "v3.0.0+incompatible").is_err());
        assert!(
            check(
                "gopkg.in/yaml.v1",
                "v0.0.0-20200101000000-abcdefabcdef+incompatible"
            )
            .is_err()
        );
    }
}
