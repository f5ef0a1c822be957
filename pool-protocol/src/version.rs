//! `Version`: a Go module version (Go-flavoured semver), its canonical form, ordering as Go's
//! `semver.Compare`, pseudo-versions, `+incompatible`, and the `!`-case escaping of versions.
//!
//! See `docs/goproxy-protocol.md` §2.3. Versions may be in shorthand (`v1`, `v1.2`) or carry
//! build metadata (`+meta`); zips, `.mod` files and go.sum only ever use canonical versions,
//! which [`Version::canonical`] produces (keeping `+incompatible`, as `module.CanonicalVersion`).

mod compat;
mod error;
#[cfg(test)]
mod proptests;
mod pseudo;
mod semver;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::module_path::{PathKind, check_element};

pub use compat::{IncompatibleKind, IncompatibleVersion, check_path_version};
pub use error::{InvalidVersion, VersionErrorKind, VersionForm};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_path::{EscapeErrorKind, PathErrorKind};

    fn v(text: &str) -> Version {
        match Version::parse(text) {
            Ok(version) => version,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn refuses_leading_zeros_and_non_semver() {
        for text in [
            "v01.0.0",
            "v1.0.0-pre.01",
            "1.0.0",
            "v1.0.0-",
            "latest",
            "master",
            "",
        ] {
            let err = Version::parse(text).err();
            assert_eq!(
                err.map(|err| err.kind),
                Some(VersionErrorKind::NotSemver),
                "{text:?}"
            );
        }
        let message = Version::parse("v01.0.0").err().map(|err| err.to_string());
        assert_eq!(
            message.as_deref(),
            Some("version \"v01.0.0\" invalid: not a semantic version")
        );
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("v1", "v1.0.0"),
            ("v1.2", "v1.2.0"),
            ("v1.0.0+meta", "v1.0.0"),
            ("v1.0.0-rc.1+meta", "v1.0.0-rc.1"),
            ("v2.0.0+incompatible", "v2.0.0+incompatible"),
            ("v1.2.3", "v1.2.3"),
        ];
        for (text, canonical) in cases {
            assert_eq!(v(text).canonical().as_str(), canonical, "{text}");
            assert_eq!(v(text).is_canonical(), text == canonical, "{text}");
            assert!(v(text).canonical().is_canonical(), "{text}");
        }
    }

    #[test]
    fn accessors() {
        let version = v("v2.3.4-rc.1+incompatible");
        assert_eq!(version.major(), "v2");
        assert_eq!((version.minor(), version.patch()), ("3", "4"));
        assert_eq!(version.prerelease(), Some("-rc.1"));
        assert_eq!(version.build(), Some("+incompatible"));
        assert!(version.is_incompatible());
        assert!(!v("v2.0.0+incompatible.1").is_incompatible());
        assert_eq!(v("v1").major(), "v1");
        assert_eq!(
            (v("v1").minor(), v("v1").patch(), v("v1").prerelease()),
            ("0", "0", None)
        );
    }

    #[test]
    fn orders_like_go_semver() {
        let chain = [
            "v0.0.0-20200101000000-abcdefabcdef",
            "v0.9.0",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-alpha.beta",
            "v1.0.0-beta",
            "v1.0.0-beta.2",
            "v1.0.0-beta.11",
            "v1.0.0-rc.1",
            "v1.0.0",
            "v1.0.1",
            "v1.2.0",
            "v1.10.0",
            "v2.0.0+incompatible",
            "v10.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(
                v(pair[0]).semver_cmp(&v(pair[1])),
                Ordering::Less,
                "{pair:?}"
            );
            assert!(v(pair[0]) < v(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn ties_in_semver_are_broken_by_text() {
        for (a, b) in [
            ("v1", "v1.0.0"),
            ("v1.0", "v1.0.0"),
            ("v1.0.0", "v1.0.0+meta"),
        ] {
            assert_eq!(v(a).semver_cmp(&v(b)), Ordering::Equal, "{a} {b}");
            assert_eq!(v(a).cmp(&v(b)), a.cmp(b), "{a} {b}");
            assert_ne!(v(a), v(b));
        }
    }

    #[test]
    fn escape_round_trip() {
        assert_eq!(v("v1.0.0-RC1").escape(), "v1.0.0-!r!c1");
        assert_eq!(
            Version::unescape("v1.0.0-!r!c1").ok(),
            Some(v("v1.0.0-RC1"))
        );
        assert_eq!(v("v1.0.0").escape(), "v1.0.0");
    }

    #[test]
    fn unescape_queries() {
        assert_eq!(unescape_version_query("!main").as_deref(), Ok("Main"));
        assert_eq!(
            unescape_version_query("e6fe82be54cb").as_deref(),
            Ok("e6fe82be54cb")
        );
        assert_eq!(unescape_version_query("latest").as_deref(), Ok("latest"));
        let kind = |text: &str| unescape_version_query(text).err().map(|err| err.kind);
        let slash = PathErrorKind::InvalidChar { ch: '/' };
        assert_eq!(kind("feature/x"), Some(VersionErrorKind::Disallowed(slash)));
        assert_eq!(
            kind("Main"),
            Some(VersionErrorKind::Escaping(EscapeErrorKind::UpperCase {
                ch: 'M'
            }))
        );
        assert_eq!(
            kind("x!"),
            Some(VersionErrorKind::Escaping(EscapeErrorKind::TrailingBang))
        );
        assert!(kind("..").is_some());
        assert!(kind("").is_some());
    }

    #[test]
    fn unescape_requires_semver() {
        let err = Version::unescape("!main").err();
        assert_eq!(
            err.as_ref().map(|err| &err.kind),
            Some(&VersionErrorKind::NotSemver)
        );
        assert_eq!(err.as_ref().map(|err| err.form), Some(VersionForm::Escaped));
        assert_eq!(err.map(|err| err.version).as_deref(), Some("!main"));
    }

    #[test]
    fn serde_goes_through_parse() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StringDeserializer};
        let de = |s: &str| -> StringDeserializer<Error> { s.to_owned().into_deserializer() };
        assert_eq!(Version::deserialize(de("v1.2.3")).ok(), Some(v("v1.2.3")));
        assert!(Version::deserialize(de("1.2.3")).is_err());
    }
}
