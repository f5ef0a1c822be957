//! The per-name rules of Go's `zip.CheckZip`: prefix, `path.Clean`, `CheckFilePath`, and where
//! and how `go.mod` may appear.

use super::ZipError;
use crate::module_path::check_file_path_bytes;

/// An entry name that passed the per-name rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntryName<'a> {
    /// The full entry name, prefix included (what the `h1:` hash covers).
    pub(super) full: &'a str,
    /// The path after the prefix, without a directory's trailing `/`; empty for an entry that
    /// is exactly the prefix.
    pub(super) path: &'a str,
    /// Whether the entry names a directory (ends in `/`).
    pub(super) is_dir: bool,
}

/// Checks one raw entry name against `prefix` (`<path>@<version>/`).
pub(super) fn check_entry_name<'a>(raw: &'a [u8], prefix: &str) -> Result<EntryName<'a>, ZipError> {
    let lossy = || String::from_utf8_lossy(raw).into_owned();
    let Some(rest) = raw.strip_prefix(prefix.as_bytes()) else {
        return Err(ZipError::UnexpectedFile {
            module_version: prefix.trim_end_matches('/').to_owned(),
            entry: lossy(),
        });
    };
    let (rest, is_dir) = match rest.strip_suffix(b"/") {
        Some(dir) => (dir, true),
        None => (rest, false),
    };
    // Exactly the prefix: Go skips every check for it (it still counts in h1).
    let is_bare_prefix = rest.is_empty() && !is_dir;
    if !is_bare_prefix {
        check_path(rest).map_err(|refusal| refusal.into_error(lossy()))?;
    }
    // The prefix is UTF-8 and the rest passed `CheckFilePath`, which requires UTF-8.
    let full = std::str::from_utf8(raw).map_err(|_| ZipError::NotClean { entry: lossy() })?;
    let path = &full[prefix.len()..prefix.len() + rest.len()];
    let name = EntryName {
        full,
        path,
        is_dir: is_dir || is_bare_prefix,
    };
    Ok(name)
}

/// Why a path after the prefix was refused, before the entry name is attached.
enum PathRefusal {
    NotClean,
    Invalid(crate::module_path::InvalidFilePath),
}

impl PathRefusal {
    fn into_error(self, entry: String) -> ZipError {
        match self {
            PathRefusal::NotClean => ZipError::NotClean { entry },
            PathRefusal::Invalid(source) => ZipError::InvalidFilePath { entry, source },
        }
    }
}

/// `path.Clean` first, then `CheckFilePath`, in Go's order.
fn check_path(rest: &[u8]) -> Result<(), PathRefusal> {
    if !is_clean(rest) {
        return Err(PathRefusal::NotClean);
    }
    check_file_path_bytes(rest).map_err(PathRefusal::Invalid)?;
    Ok(())
}

/// `go.mod` may only be the root file, spelled in lowercase. (Go compares with
/// `strings.EqualFold`; no non-ASCII rune folds to a letter of `go.mod`, so ASCII case
/// folding is exact here.)
pub(super) fn check_go_mod(name: &EntryName<'_>) -> Result<(), ZipError> {
    let base = name.path.rsplit('/').next().unwrap_or(name.path);
    if !base.eq_ignore_ascii_case("go.mod") {
        return Ok(());
    }
    let entry = name.full.to_owned();
    if base.len() != name.path.len() {
        return Err(ZipError::GoModNotInRoot { entry });
    }
    if name.path != "go.mod" {
        return Err(ZipError::GoModNotLowercase { entry });
    }
    Ok(())
}

/// Whether Go's `path.Clean(p) == p`: no empty, `.` or inner `..` elements, no trailing
/// slash, and `..` only as leading elements of a relative path.
pub(super) fn is_clean(p: &[u8]) -> bool {
    if p == b"." || p == b"/" {
        return true;
    }
    let (rooted, rest) = match p.strip_prefix(b"/") {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    let mut only_dot_dots_so_far = !rooted;
    for element in rest.split(|&b| b == b'/') {
        match element {
            b"" | b"." => return false,
            b".." if only_dot_dots_so_far => {}
            b".." => return false,
            _ => only_dot_dots_so_far = false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "example.org/m@v1.0.0/";

    fn check(name: &str) -> Result<EntryName<'_>, ZipError> {
        let checked = check_entry_name(name.as_bytes(), PREFIX)?;
        if !checked.is_dir {
            check_go_mod(&checked)?;
        }
        Ok(checked)
    }

    #[test]
    fn clean_matches_go_path_clean() {
        for clean in [".", "/", "a", "a/b", "../a", "../../a/b", "/a/b", ".."] {
            assert!(is_clean(clean.as_bytes()), "{clean}");
        }
        for dirty in [
            "", "a/", "a//b", "./a", "a/.", "a/../b", "a/..", "/..", "/a/", "a/./b",
        ] {
            assert!(!is_clean(dirty.as_bytes()), "{dirty}");
        }
    }

    #[test]
    fn accepts_files_dirs_and_the_bare_prefix() {
        let file = check("example.org/m@v1.0.0/a/b.go").unwrap();
        assert_eq!((file.path, file.is_dir), ("a/b.go", false));
        let dir = check("example.org/m@v1.0.0/a/").unwrap();
        assert_eq!((dir.path, dir.is_dir), ("a", true));
        assert_eq!(dir.full, "example.org/m@v1.0.0/a/");
        assert_eq!(check(PREFIX).unwrap().path, "");
        assert!(check("example.org/m@v1.0.0/go.mod").is_ok());
    }

    #[test]
    fn refuses_by_rule() {
        type IsExpected = fn(&ZipError) -> bool;
        let cases: [(&str, IsExpected); 7] = [
            ("example.org/m@v1.0.1/a.go", |e| {
                matches!(e, ZipError::UnexpectedFile { .. })
            }),
            ("example.org/m@v1.0.0/x/../a.go", |e| {
                matches!(e, ZipError::NotClean { .. })
            }),
            ("example.org/m@v1.0.0/../a.go", |e| {
                matches!(e, ZipError::InvalidFilePath { .. })
            }),
            ("example.org/m@v1.0.0//a.go", |e| {
                matches!(e, ZipError::InvalidFilePath { .. })
            }),
            ("example.org/m@v1.0.0/a/go.mod", |e| {
                matches!(e, ZipError::GoModNotInRoot { .. })
            }),
            ("example.org/m@v1.0.0/a/Go.Mod", |e| {
                matches!(e, ZipError::GoModNotInRoot { .. })
            }),
            ("example.org/m@v1.0.0/GO.MOD", |e| {
                matches!(e, ZipError::GoModNotLowercase { .. })
            }),
        ];
        for (name, is_expected) in cases {
            let err = check(name).unwrap_err();
            assert!(is_expected(&err), "{name}: {err:?}");
        }
    }

    #[test]
    fn non_utf8_names_are_refused() {
        let raw = b"example.org/m@v1.0.0/\xff.go";
        let err = check_entry_name(raw, PREFIX).unwrap_err();
        assert!(matches!(err, ZipError::InvalidFilePath { .. }), "{err:?}");
    }
}
