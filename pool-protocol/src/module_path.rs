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
mod escape;
mod major;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use check::PathErrorKind;
pub use escape::EscapeErrorKind;

pub(crate) use check::{PathKind, check_element};
pub(crate) use escape::{escape as escape_text, unescape as unescape_text};

/// A module path that passed Go's `CheckPath`, such as `golang.org/x/mod` or
/// `example.org/MixedCase/v2`. Its text is the unescaped form used in go.sum and zip prefixes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModulePath(String);

/// Which check refused a path, so the message names the right kind of path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathForm {
    /// A module path (`CheckPath`).
    Module,
    /// An import path (`CheckImportPath`).
    Import,
    /// The `!`-escaped form of a module path, as found in proxy URLs.
    EscapedModule,
}

/// A module or import path that Go would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {:?}: {kind}", form_noun(*.form), .path)]
#[non_exhaustive]
pub struct InvalidModulePath {
    /// The refused input, exactly as given (escaped, for [`PathForm::EscapedModule`]).
    pub path: String,
    /// Which check refused it.
    pub form: PathForm,
    /// Why it was refused.
    pub kind: PathErrorKind,
}

/// A file name inside a module zip that Go's `CheckFilePath` would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed file path {path:?}: {kind}")]
#[non_exhaustive]
pub struct InvalidFilePath {
    /// The refused name (lossily decoded if it was not UTF-8).
    pub path: String,
    /// Why it was refused.
    pub kind: PathErrorKind,
}

fn form_noun(form: PathForm) -> &'static str {
    match form {
        PathForm::Module => "malformed module path",
        PathForm::Import => "malformed import path",
        PathForm::EscapedModule => "invalid escaped module path",
    }
}

impl InvalidModulePath {
    fn new(path: &str, form: PathForm, kind: PathErrorKind) -> Self {
        Self {
            path: path.to_owned(),
            form,
            kind,
        }
    }
}

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

/// Checks an import path (a package path inside a module) with Go's `CheckImportPath`: module
/// path element rules plus `+`, without the first-element and suffix rules.
pub fn check_import_path(s: &str) -> Result<(), InvalidModulePath> {
    check::check_path(s, PathKind::Import)
        .map_err(|kind| InvalidModulePath::new(s, PathForm::Import, kind))
}

/// Checks a slash-separated file name inside a module zip with Go's `CheckFilePath`: Unicode
/// letters, digits, space and ``!#$%&()+,-.=@[]^_{}~`` are allowed; no tilde or leading-dot rule.
pub fn check_file_path(s: &str) -> Result<(), InvalidFilePath> {
    check::check_path(s, PathKind::File).map_err(|kind| InvalidFilePath {
        path: s.to_owned(),
        kind,
    })
}

/// [`check_file_path`] for a raw zip entry name, which must first be valid UTF-8.
pub fn check_file_path_bytes(name: &[u8]) -> Result<&str, InvalidFilePath> {
    let text = std::str::from_utf8(name).map_err(|_| InvalidFilePath {
        path: String::from_utf8_lossy(name).into_owned(),
        kind: PathErrorKind::InvalidUtf8,
    })?;
    check_file_path(text)?;
    Ok(text)
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
