//! The element-by-element rules Go applies to module paths, import paths and file paths.
//!
//! The three checks share one walk over the path (Go's `checkPath`/`checkElem` in
//! `golang.org/x/mod/module`); they differ only in which characters an element may hold and
//! whether the leading-dot and tilde rules apply.

use std::fmt;

use super::error::{InvalidFilePath, InvalidModulePath, PathForm};
use super::escape::EscapeErrorKind;
use super::letters::is_go_letter;

/// Why a module, import or file path was refused. The messages follow Go's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// The bytes are not valid UTF-8 (only possible for raw file names).
    InvalidUtf8,
    /// The path is empty.
    Empty,
    /// The path starts with `-` (allowed for file paths).
    LeadingDash,
    /// The path contains `//`.
    DoubleSlash,
    /// The path ends with `/`.
    TrailingSlash,
    /// An element is empty, e.g. because the path starts with `/`.
    EmptyElement,
    /// An element consists only of dots, such as `.` or `..`.
    DotsOnlyElement {
        /// The offending element.
        element: String,
    },
    /// An element starts with `.` (module paths only).
    LeadingDot,
    /// An element ends with `.`.
    TrailingDot,
    /// A character that this kind of path may not contain.
    InvalidChar {
        /// The refused character.
        ch: char,
    },
    /// The part of an element before its first dot is a reserved device name on Windows.
    WindowsReservedName {
        /// The reserved name as it appears in the path.
        name: String,
    },
    /// An element ends in `~` and digits (a Windows short name such as `x~1`).
    TildeDigits,
    /// The first element of a module path holds no dot.
    MissingDotInFirstElement,
    /// A character other than lowercase ASCII letters, digits, `-` and `.` in the first element.
    InvalidCharInFirstElement {
        /// The refused character.
        ch: char,
    },
    /// The major-version suffix (`/vN`, `gopkg.in/x.vN`) is malformed, e.g. `/v1`, `/v02`.
    InvalidMajorSuffix,
    /// The escaped form could not be decoded.
    Escaping(EscapeErrorKind),
}

impl fmt::Display for PathErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Self::Empty => f.write_str("empty string"),
            Self::LeadingDash => f.write_str("leading dash"),
            Self::DoubleSlash => f.write_str("double slash"),
            Self::TrailingSlash => f.write_str("trailing slash"),
            Self::EmptyElement => f.write_str("empty path element"),
            Self::DotsOnlyElement { element } => write!(f, "invalid path element {element:?}"),
            Self::LeadingDot => f.write_str("leading dot in path element"),
            Self::TrailingDot => f.write_str("trailing dot in path element"),
            Self::InvalidChar { ch } => write!(f, "invalid char {ch:?}"),
            Self::WindowsReservedName { name } => {
                write!(
                    f,
                    "{name:?} disallowed as path element component on Windows"
                )
            }
            Self::TildeDigits => f.write_str("trailing tilde and digits in path element"),
            Self::MissingDotInFirstElement => f.write_str("missing dot in first path element"),
            Self::InvalidCharInFirstElement { ch } => {
                write!(f, "invalid char {ch:?} in first path element")
            }
            Self::InvalidMajorSuffix => f.write_str("invalid version"),
            Self::Escaping(kind) => kind.fmt(f),
        }
    }
}

/// Which of Go's three path checks is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// `CheckPath`: module paths.
    Module,
    /// `CheckImportPath`: import paths (module paths plus `+`).
    Import,
    /// `CheckFilePath`: names inside module zips.
    File,
}

/// Device names Windows reserves in any directory, compared case-insensitively.
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Runs the rules shared by all three checks: whole-path rules, then each element.
pub(crate) fn check_path(path: &str, kind: PathKind) -> Result<(), PathErrorKind> {
    if path.is_empty() {
        return Err(PathErrorKind::Empty);
    }
    if path.starts_with('-') && kind != PathKind::File {
        return Err(PathErrorKind::LeadingDash);
    }
    if path.contains("//") {
        return Err(PathErrorKind::DoubleSlash);
    }
    if path.ends_with('/') {
        return Err(PathErrorKind::TrailingSlash);
    }
    path.split('/')
        .try_for_each(|elem| check_element(elem, kind))
}

/// Checks an import path (a package path inside a module) with Go's `CheckImportPath`: module
/// path element rules plus `+`, without the first-element and suffix rules.
pub fn check_import_path(s: &str) -> Result<(), InvalidModulePath> {
    check_path(s, PathKind::Import)
        .map_err(|kind| InvalidModulePath::new(s, PathForm::Import, kind))
}

/// Checks a slash-separated file name inside a module zip with Go's `CheckFilePath`: Unicode
/// letters, digits, space and ``!#$%&()+,-.=@[]^_{}~`` are allowed; no tilde or leading-dot rule.
pub fn check_file_path(s: &str) -> Result<(), InvalidFilePath> {
    check_path(s, PathKind::File).map_err(|kind| InvalidFilePath {
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

/// Checks one path element (also used on versions, as Go's file-name check for versions).
pub(crate) fn check_element(elem: &str, kind: PathKind) -> Result<(), PathErrorKind> {
    if elem.is_empty() {
        return Err(PathErrorKind::EmptyElement);
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(PathErrorKind::DotsOnlyElement {
            element: elem.to_owned(),
        });
    }
    if elem.starts_with('.') && kind == PathKind::Module {
        return Err(PathErrorKind::LeadingDot);
    }
    if elem.ends_with('.') {
        return Err(PathErrorKind::TrailingDot);
    }
    if let Some(ch) = elem.chars().find(|&ch| !char_allowed(ch, kind)) {
        return Err(PathErrorKind::InvalidChar { ch });
    }
    let short = elem.split('.').next().unwrap_or(elem);
    if WINDOWS_RESERVED
        .iter()
        .any(|name| name.eq_ignore_ascii_case(short))
    {
        return Err(PathErrorKind::WindowsReservedName {
            name: short.to_owned(),
        });
    }
    if kind != PathKind::File && ends_in_tilde_digits(short) {
        return Err(PathErrorKind::TildeDigits);
    }
    Ok(())
}

/// Whether `short` ends in `~` followed by one or more ASCII digits.
fn ends_in_tilde_digits(short: &str) -> bool {
    match short.rfind('~') {
        Some(tilde) if tilde + 1 < short.len() => {
            short[tilde + 1..].bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Whether `ch` may appear in an element of this kind of path.
fn char_allowed(ch: char, kind: PathKind) -> bool {
    match kind {
        PathKind::Module => module_char(ch),
        PathKind::Import => module_char(ch) || ch == '+',
        PathKind::File if ch.is_ascii() => {
            ch.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(ch)
        }
        PathKind::File => is_go_letter(ch),
    }
}

/// ASCII letters, digits, `-`, `.`, `_` and `~`: the characters of module path elements.
fn module_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '-' | '.' | '_' | '~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_allow_plus_and_skip_module_only_rules() {
        for path in [
            "example.org/x++",
            "example/x",
            "Example.org/x",
            "example.org/x/v1",
            "x/.y",
        ] {
            assert!(check_import_path(path).is_ok(), "{path}");
        }
        for path in ["example.org/x~1", "example.org/x.", "-x", "a/nul", "a/b@v1"] {
            assert!(check_import_path(path).is_err(), "{path}");
        }
    }

    #[test]
    fn file_paths_allow_unicode_letters_and_punctuation() {
        for path in [
            "caf\u{e9}/\u{65e5}\u{672c}.go",
            "-leading/dash",
            ".github/workflows/ci.yml",
            "x~1/y",
            "a b/!#$%&()+,-.=@[]^_{}~",
            "LICENSE",
        ] {
            assert!(check_file_path(path).is_ok(), "{path}");
        }
        for path in [
            "a/../b", "a/./b", "a\\b", "a/b.", "a:b", "aux.go", "a//b", "/a", "a/", "\u{216b}",
        ] {
            assert!(check_file_path(path).is_err(), "{path}");
        }
    }

    #[test]
    fn raw_file_names_must_be_utf8() {
        assert_eq!(check_file_path_bytes(b"a/b.go").ok(), Some("a/b.go"));
        let err = check_file_path_bytes(b"a/\xff.go")
            .err()
            .map(|err| err.kind);
        assert_eq!(err, Some(PathErrorKind::InvalidUtf8));
    }
}
