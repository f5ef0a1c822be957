//! `ModulePath`: a Go module path that passed Go's `module.CheckPath`, with its `!`-case
//! encoding for URLs and its major-version suffix.
//!
//! The rules are those of `golang.org/x/mod/module` (see `docs/goproxy-protocol.md` §2.1–2.2):
//! module paths are ASCII, the first element is a lowercase host name with a dot, no element
//! starts or ends with a dot, Windows device names and `x~1` short names are refused, and a
//! trailing `/vN` (or `gopkg.in/x.vN`) must be a well-formed major version. The free functions
//! [`check_import_path`] and [`check_file_path`] apply the sibling rules for import paths and
//! for file names inside module zips.

mod check;
mod error;
mod escape;
mod letters;
mod major;
#[cfg(test)]
mod proptests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use check::{PathErrorKind, check_file_path, check_file_path_bytes, check_import_path};
pub use error::{InvalidFilePath, InvalidModulePath, PathForm};
pub use escape::EscapeErrorKind;

pub(crate) use check::{PathKind, check_element};
pub(crate) use escape::{escape as escape_text, unescape as unescape_text};

/// The `!`-case encoding of any text as it goes into a URL: a version query such as a branch
/// name (`Main` becomes `!main`), which is neither a module path nor a version.
pub fn escape_case(text: &str) -> String {
    escape::escape(text)
}

/// A module path that passed Go's `CheckPath`, such as `golang.org/x/mod` or
/// `example.org/MixedCase/v2`. Its text is the unescaped form used in go.sum and zip prefixes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModulePath(String);

impl ModulePath {
    /// Parses `s` as a module path, applying every rule of Go's `module.CheckPath`.
    pub fn parse(s: &str) -> Result<ModulePath, InvalidModulePath> {
        check_module_path(s).map_err(|kind| InvalidModulePath::new(s, PathForm::Module, kind))?;
        Ok(ModulePath(s.to_owned()))
    }

    /// The path as text, unescaped (`example.org/MixedCase`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `!`-case encoded form used in proxy URLs and cache directories
    /// (`example.org/!mixed!case`), as Go's `module.EscapePath`.
    pub fn escape(&self) -> String {
        escape::escape(&self.0)
    }

    /// Decodes a `!`-case encoded path and checks the result, as Go's `module.UnescapePath`.
    pub fn unescape(escaped: &str) -> Result<ModulePath, InvalidModulePath> {
        let refuse = |kind| InvalidModulePath::new(escaped, PathForm::EscapedModule, kind);
        let path =
            escape::unescape(escaped).map_err(|kind| refuse(PathErrorKind::Escaping(kind)))?;
        check_module_path(&path).map_err(refuse)?;
        Ok(ModulePath(path))
    }

    /// Splits off the major-version suffix, as Go's `module.SplitPathVersion`:
    /// `("example.org/x", Some("/v2"))`, `("gopkg.in/yaml", Some(".v2"))`, or the whole path and
    /// `None` when there is no suffix.
    pub fn split_major(&self) -> (&str, Option<&str>) {
        match major::split(&self.0) {
            Some(split) => (split.prefix, split.major),
            // Unreachable for a parsed path; answering "no suffix" keeps this total.
            None => (&self.0, None),
        }
    }

    /// The major-version suffix alone (`/v2`, `.v1-unstable`), if there is one.
    pub fn major_suffix(&self) -> Option<&str> {
        self.split_major().1
    }

    /// Whether this is a `gopkg.in/` path, whose suffix rules differ.
    pub fn is_gopkg_in(&self) -> bool {
        self.0.starts_with("gopkg.in/")
    }

    /// Consumes the path, returning its text.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Go's `CheckPath`: the shared element rules, then the first-element and suffix rules.
fn check_module_path(path: &str) -> Result<(), PathErrorKind> {
    check::check_path(path, PathKind::Module)?;
    let first = path.split('/').next().unwrap_or(path);
    if !first.contains('.') {
        return Err(PathErrorKind::MissingDotInFirstElement);
    }
    let first_ok =
        |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.';
    if let Some(ch) = first.chars().find(|&ch| !first_ok(ch)) {
        return Err(PathErrorKind::InvalidCharInFirstElement { ch });
    }
    match major::split(path) {
        Some(_) => Ok(()),
        None => Err(PathErrorKind::InvalidMajorSuffix),
    }
}

impl FromStr for ModulePath {
    type Err = InvalidModulePath;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ModulePath {
    type Error = InvalidModulePath;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        check_module_path(&s).map_err(|kind| InvalidModulePath::new(&s, PathForm::Module, kind))?;
        Ok(ModulePath(s))
    }
}

impl From<ModulePath> for String {
    fn from(path: ModulePath) -> String {
        path.0
    }
}

impl AsRef<str> for ModulePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(path: &str) -> PathErrorKind {
        match ModulePath::parse(path) {
            Ok(_) => panic!("{path:?} was accepted"),
            Err(err) => err.kind,
        }
    }

    #[test]
    fn accepts_the_documented_valid_paths() {
        for path in [
            "example.org/~user/x",
            "gopkg.in/yaml.v2",
            "gopkg.in/yaml.v1-unstable",
            "gopkg.in/yaml.v0",
            "example.org/x/v2",
            "golang.org/x/mod",
            "example.org/MixedCase.git",
            "example.org/a~b",
            "example.org/x~",
            "example.org/x_y-z",
            "1.2.3.4/x",
        ] {
            let parsed = ModulePath::parse(path);
            assert!(parsed.is_ok(), "{path}: {parsed:?}");
        }
    }

    #[test]
    fn refuses_the_documented_invalid_paths() {
        use PathErrorKind as K;
        let dots = |element: &str| K::DotsOnlyElement {
            element: element.to_owned(),
        };
        let windows = |name: &str| K::WindowsReservedName {
            name: name.to_owned(),
        };
        let cases = [
            ("example.org/x/../y", dots("..")),
            ("example.org/./y", dots(".")),
            ("example.org/.x", K::LeadingDot),
            ("example.org/x.", K::TrailingDot),
            ("example/x", K::MissingDotInFirstElement),
            ("example.org/x@v1", K::InvalidChar { ch: '@' }),
            ("example.org/a b", K::InvalidChar { ch: ' ' }),
            ("example.org/x~1", K::TildeDigits),
            ("example.org/x~1.go", K::TildeDigits),
            ("example.org/con", windows("con")),
            ("example.org/CON.txt", windows("CON")),
            ("example.org/Lpt9", windows("Lpt9")),
            ("example.org/x++", K::InvalidChar { ch: '+' }),
            ("gopkg.in/yaml", K::InvalidMajorSuffix),
            ("gopkg.in/check.v01", K::InvalidMajorSuffix),
            ("example.org/x/v0", K::InvalidMajorSuffix),
            ("example.org/x/v1", K::InvalidMajorSuffix),
            ("example.org/x/v02", K::InvalidMajorSuffix),
            ("example.org/x/v2.1", K::InvalidMajorSuffix),
            ("Example.org/x", K::InvalidCharInFirstElement { ch: 'E' }),
            ("exa_mple.org/x", K::InvalidCharInFirstElement { ch: '_' }),
            ("", K::Empty),
            ("-example.org/x", K::LeadingDash),
            ("example.org//x", K::DoubleSlash),
            ("example.org/x/", K::TrailingSlash),
            ("/example.org/x", K::EmptyElement),
            ("example.org/caf\u{e9}", K::InvalidChar { ch: '\u{e9}' }),
        ];
        for (path, kind) in cases {
            assert_eq!(kind_of(path), kind, "{path:?}");
        }
    }

    #[test]
    fn messages_name_the_path_and_the_reason() {
        let err = ModulePath::parse("example.org/x~1").err();
        let message = err.map(|err| err.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "malformed module path \"example.org/x~1\": trailing tilde and digits in path element"
            )
        );
        let err = ModulePath::parse("example.org/CON.txt")
            .err()
            .map(|err| err.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "malformed module path \"example.org/CON.txt\": \"CON\" disallowed as path \
                 element component on Windows"
            )
        );
        let err = check_import_path("x//y").err().map(|err| err.to_string());
        assert_eq!(
            err.as_deref(),
            Some("malformed import path \"x//y\": double slash")
        );
    }

    #[test]
    fn escape_and_unescape() {
        let path = ModulePath::parse("example.org/MixedCase.git").ok();
        let escaped = path.as_ref().map(ModulePath::escape);
        assert_eq!(escaped.as_deref(), Some("example.org/!mixed!case.git"));
        assert_eq!(
            ModulePath::unescape("example.org/!mixed!case.git").ok(),
            path
        );
    }

    #[test]
    fn unescape_refuses_bad_encodings_and_bad_paths() {
        use EscapeErrorKind as E;
        let cases = [
            (
                "example.org/MixedCase.git",
                PathErrorKind::Escaping(E::UpperCase { ch: 'M' }),
            ),
            (
                "example.org/!1",
                PathErrorKind::Escaping(E::BangNotBeforeLowercase { next: '1' }),
            ),
            ("example.org/x!", PathErrorKind::Escaping(E::TrailingBang)),
            (
                "example.org/caf\u{e9}",
                PathErrorKind::Escaping(E::NonAscii { ch: '\u{e9}' }),
            ),
            (
                "!example.org/x",
                PathErrorKind::InvalidCharInFirstElement { ch: 'E' },
            ),
            ("example.org/x~1", PathErrorKind::TildeDigits),
        ];
        for (escaped, kind) in cases {
            let err = ModulePath::unescape(escaped).err();
            assert_eq!(
                err.as_ref().map(|err| &err.kind),
                Some(&kind),
                "{escaped:?}"
            );
            assert_eq!(err.map(|err| err.form), Some(PathForm::EscapedModule));
        }
    }

    #[test]
    fn split_major_suffixes() {
        let split = |path: &str| {
            let parsed = ModulePath::parse(path).ok()?;
            let (prefix, major) = parsed.split_major();
            Some((prefix.to_owned(), major.map(str::to_owned)))
        };
        let owned =
            |prefix: &str, major: Option<&str>| Some((prefix.to_owned(), major.map(str::to_owned)));
        assert_eq!(split("example.org/x"), owned("example.org/x", None));
        assert_eq!(
            split("example.org/x/v2"),
            owned("example.org/x", Some("/v2"))
        );
        assert_eq!(
            split("gopkg.in/yaml.v2"),
            owned("gopkg.in/yaml", Some(".v2"))
        );
        assert_eq!(
            split("gopkg.in/yaml.v1-unstable"),
            owned("gopkg.in/yaml", Some(".v1-unstable"))
        );
    }

    #[test]
    fn serde_goes_through_the_checks() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StringDeserializer};
        let de = |s: &str| -> StringDeserializer<Error> { s.to_owned().into_deserializer() };
        let good = ModulePath::deserialize(de("example.org/x/v2"));
        assert_eq!(
            good.ok().map(String::from).as_deref(),
            Some("example.org/x/v2")
        );
        assert!(ModulePath::deserialize(de("example.org/x/v1")).is_err());
    }
}
