//! `Version`: a Go module version (Go-flavoured semver), its canonical form, ordering as Go's
//! `semver.Compare`, pseudo-versions, `+incompatible`, and the `!`-case escaping of versions.
//!
//! See `docs/goproxy-protocol.md` §2.3. Versions may be in shorthand (`v1`, `v1.2`) or carry
//! build metadata (`+meta`); zips, `.mod` files and go.sum only ever use canonical versions,
//! which [`Version::canonical`] produces (keeping `+incompatible`, as `module.CanonicalVersion`).

mod compat;
mod pseudo;
mod semver;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::module_path::{EscapeErrorKind, PathErrorKind, PathKind, check_element};

pub use compat::{IncompatibleKind, IncompatibleVersion, check_path_version};
pub use pseudo::{PseudoTime, PseudoVersion};

use semver::Layout;

/// A valid Go semantic version `vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`.
///
/// Equality and hashing are on the exact text (`v1` ≠ `v1.0.0`); ordering follows Go's
/// `semver.Compare` and breaks its ties by the text, so that `Ord` agrees with `Eq`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version {
    text: String,
    layout: Layout,
}

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

impl Version {
    /// Parses `s` as Go semver (`semver.IsValid`).
    pub fn parse(s: &str) -> Result<Version, InvalidVersion> {
        Self::try_from(s.to_owned())
    }

    /// The version as text, exactly as parsed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this already is its canonical form (`v1.2.3`, `v1.2.3-pre`, `v2.0.0+incompatible`).
    pub fn is_canonical(&self) -> bool {
        let build_ok = self.layout.build_start.is_none() || self.is_incompatible();
        self.layout.patch.is_some() && build_ok
    }

    /// Go's `module.CanonicalVersion`: shorthands filled in with `.0`, build metadata dropped
    /// except `+incompatible`.
    pub fn canonical(&self) -> Version {
        if self.is_canonical() {
            return self.clone();
        }
        let mut text = format!("{}.{}.{}", self.major(), self.minor(), self.patch());
        text.push_str(self.prerelease().unwrap_or(""));
        let layout = semver::parse(&text).unwrap_or(self.layout);
        Version { text, layout }
    }

    /// The major version with its `v`: `v2` for `v2.3.4`.
    pub fn major(&self) -> &str {
        &self.text[..self.layout.major_end]
    }

    /// The major number without the `v`: `2` for `v2.3.4`.
    pub fn major_number(&self) -> &str {
        &self.text[1..self.layout.major_end]
    }

    /// The minor number (`"0"` for the `vN` shorthand).
    pub fn minor(&self) -> &str {
        self.layout
            .minor
            .map_or("0", |(start, end)| &self.text[start..end])
    }

    /// The patch number (`"0"` for the shorthands).
    pub fn patch(&self) -> &str {
        self.layout
            .patch
            .map_or("0", |(start, end)| &self.text[start..end])
    }

    /// The prerelease with its leading `-` (`-rc.1`), as Go's `semver.Prerelease`.
    pub fn prerelease(&self) -> Option<&str> {
        self.layout
            .prerelease
            .map(|(start, end)| &self.text[start..end])
    }

    /// The build metadata with its leading `+` (`+incompatible`), as Go's `semver.Build`.
    pub fn build(&self) -> Option<&str> {
        self.layout.build_start.map(|start| &self.text[start..])
    }

    /// Whether the build metadata is exactly `+incompatible`.
    pub fn is_incompatible(&self) -> bool {
        self.build() == Some("+incompatible")
    }

    /// Go's `module.IsPseudoVersion`.
    pub fn is_pseudo(&self) -> bool {
        self.pseudo().is_some()
    }

    /// The parts of a pseudo-version (timestamp, revision, base), or `None` if this is not one.
    pub fn pseudo(&self) -> Option<PseudoVersion<'_>> {
        PseudoVersion::of(self)
    }

    /// The `!`-case encoded form for URLs and cache paths (`v1.0.0-!r!c1`), as Go's
    /// `module.EscapeVersion`; every valid version passes its file-name check.
    pub fn escape(&self) -> String {
        crate::module_path::escape_text(&self.text)
    }

    /// Decodes a `!`-case encoded version and parses it as semver.
    pub fn unescape(escaped: &str) -> Result<Version, InvalidVersion> {
        let text = unescape_version_query(escaped)?;
        Version::parse(&text).map_err(|mut err| {
            err.version = escaped.to_owned();
            err.form = VersionForm::Escaped;
            err
        })
    }

    /// Go's `semver.Compare`, which calls versions equal when only build metadata or shorthand
    /// differ (`v1` = `v1.0.0` = `v1.0.0+meta`). [`Ord`] refines this with the text.
    pub fn semver_cmp(&self, other: &Version) -> Ordering {
        semver::compare_numbers(self.major_number(), other.major_number())
            .then_with(|| semver::compare_numbers(self.minor(), other.minor()))
            .then_with(|| semver::compare_numbers(self.patch(), other.patch()))
            .then_with(|| {
                let (a, b) = (self.prerelease(), other.prerelease());
                semver::compare_prerelease(a.unwrap_or(""), b.unwrap_or(""))
            })
    }

    /// Consumes the version, returning its text.
    pub fn into_string(self) -> String {
        self.text
    }
}

/// Decodes an escaped version *query* from a URL (`!main`, `e6fe82be54cb`, `v1.0.0-!r!c1`), as
/// Go's `module.UnescapeVersion`: the result need not be semver, but must be a valid file name.
pub fn unescape_version_query(escaped: &str) -> Result<String, InvalidVersion> {
    let refuse = |kind| InvalidVersion::new(escaped, VersionForm::Escaped, kind);
    let text = crate::module_path::unescape_text(escaped)
        .map_err(|kind| refuse(VersionErrorKind::Escaping(kind)))?;
    check_element(&text, PathKind::File)
        .map_err(|kind| refuse(VersionErrorKind::Disallowed(kind)))?;
    Ok(text)
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.semver_cmp(other)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Version").field(&self.text).finish()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Version {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Version {
    type Error = InvalidVersion;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match semver::parse(&text) {
            Some(layout) => Ok(Version { text, layout }),
            None => Err(InvalidVersion::new(
                &text,
                VersionForm::Version,
                VersionErrorKind::NotSemver,
            )),
        }
    }
}

impl From<Version> for String {
    fn from(version: Version) -> String {
        version.text
    }
}

impl AsRef<str> for Version {
    fn as_ref(&self) -> &str {
        &self.text
    }
}
