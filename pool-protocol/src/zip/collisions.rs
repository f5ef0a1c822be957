//! Case-insensitive collisions, paths that are both file and directory, and duplicate files,
//! as Go's `zip.CheckZip` finds them (its `collisionChecker`).
//!
//! Go folds each rune to the smallest rune of its `unicode.SimpleFold` orbit (ASCII to lower
//! case). Rust has no simple-fold table, so [`fold`] maps each character to the lower case of
//! its upper case, using only single-character mappings, with one exception (dotless `ı`).
//!
//! Compared exhaustively with Go 1.26 over every Unicode scalar value, the two keys put
//! characters into the same classes except for 110 characters whose case pairs were added in
//! Unicode 16 (Rust's tables are newer than Go's 15.0): `ƛ`/`Ƛ` (U+019B/U+A7DC), `ɤ`/`Ɤ`,
//! U+1C89/U+1C8A, U+A7CC–U+A7DB, Garay (U+10D50–U+10D85) and Beria Erfe (U+16EA0–U+16EDB).
//! For those we see a collision Go does not, so we may refuse such a zip; no pair that Go
//! treats as colliding is missed.

use std::collections::HashMap;

use super::ZipError;

/// Every path seen so far (files and, implicitly, their parent directories), keyed by its
/// case-folded form.
#[derive(Debug, Default)]
pub(super) struct CollisionChecker {
    seen: HashMap<String, Seen>,
}

/// The original spelling of a folded path and whether it is a directory.
#[derive(Debug)]
struct Seen {
    path: String,
    is_dir: bool,
}

impl CollisionChecker {
    /// Records `path` (after the prefix, no trailing slash) and all its parent directories,
    /// refusing a case-only difference, a file/directory clash or a repeated file. `entry` is
    /// the full entry name used in errors.
    pub(super) fn check(&mut self, entry: &str, path: &str, is_dir: bool) -> Result<(), ZipError> {
        let (mut path, mut is_dir) = (path, is_dir);
        loop {
            let key = fold(path);
            if let Some(seen) = self.seen.get(key.as_ref()) {
                return seen.conflict(entry, path, is_dir);
            }
            let seen = Seen {
                path: path.to_owned(),
                is_dir,
            };
            self.seen.insert(key.into_owned(), seen);
            match path.rfind('/') {
                Some(slash) => (path, is_dir) = (&path[..slash], true),
                None => return Ok(()),
            }
        }
    }
}

impl Seen {
    /// What it means to meet `path` again. A directory seen again is fine, and its parents
    /// were recorded when it was first seen, so the walk can stop.
    fn conflict(&self, entry: &str, path: &str, is_dir: bool) -> Result<(), ZipError> {
        if self.path != path {
            return Err(ZipError::CaseCollision {
                first: self.path.clone(),
                second: path.to_owned(),
            });
        }
        if self.is_dir != is_dir {
            return Err(ZipError::FileAndDirectory {
                entry: entry.to_owned(),
                path: path.to_owned(),
            });
        }
        if !is_dir {
            return Err(ZipError::DuplicateFile {
                entry: entry.to_owned(),
            });
        }
        Ok(())
    }
}

/// The case-folded key of `s`; borrowed when `s` is ASCII without upper case (most paths).
///
/// Each character becomes `lower(upper(c))`, where a mapping to several characters (`ß` →
/// `SS`) is not applied, matching the one-rune-to-one-rune nature of Go's `SimpleFold`. This
/// puts `K`/`k`/`K` (Kelvin), `S`/`s`/`ſ`, `Σ`/`σ`/`ς` and the like in one class, as Go does.
pub(super) fn fold(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().map(fold_char).collect())
}

/// One character's fold key (see [`fold`]).
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    // Dotless `ı` upper-cases to ASCII `I`, but Go's simple folding keeps it alone (its
    // `I`/`ı` pairing is a Turkish-only rule).
    if c == '\u{131}' {
        return c;
    }
    let upper = single(c.to_uppercase()).unwrap_or(c);
    single(upper.to_lowercase()).unwrap_or(upper)
}

/// The only character of a case mapping, or `None` if it maps to several.
fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_groups_like_go() {
        assert_eq!(fold("Hello/WORLD.go"), "hello/world.go");
        assert_eq!(fold("\u{212A}elvin"), fold("kelvin"));
        assert_eq!(fold("\u{17F}"), fold("S"));
        assert_eq!(fold("ς"), fold("Σ"));
        assert_eq!(fold("Ω"), fold("\u{2126}"));
        assert_ne!(fold("ß"), fold("ss"));
        assert_ne!(fold("\u{131}"), fold("i"));
        assert_ne!(fold("\u{130}"), fold("i"));
    }

    #[test]
    fn case_collision_names_both_paths() {
        let mut checker = CollisionChecker::default();
        checker.check("m@v1/a/B.go", "a/B.go", false).unwrap();
        let err = checker.check("m@v1/A/c.go", "A/c.go", false).unwrap_err();
        match err {
            ZipError::CaseCollision { first, second } => {
                assert_eq!((&*first, &*second), ("a", "A"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_then_directory_and_back() {
        let mut checker = CollisionChecker::default();
        checker.check("m@v1/a", "a", false).unwrap();
        let err = checker.check("m@v1/a/b.go", "a/b.go", false).unwrap_err();
        assert!(matches!(err, ZipError::FileAndDirectory { ref path, .. } if path == "a"));

        let mut checker = CollisionChecker::default();
        checker.check("m@v1/a/b.go", "a/b.go", false).unwrap();
        let err = checker.check("m@v1/a", "a", false).unwrap_err();
        assert!(matches!(err, ZipError::FileAndDirectory { ref entry, .. } if entry == "m@v1/a"));
    }

    #[test]
    fn repeated_directory_is_fine_repeated_file_is_not() {
        let mut checker = CollisionChecker::default();
        checker.check("m@v1/a/", "a", true).unwrap();
        checker.check("m@v1/a/b.go", "a/b.go", false).unwrap();
        checker.check("m@v1/a/", "a", true).unwrap();
        let err = checker.check("m@v1/a/b.go", "a/b.go", false).unwrap_err();
        assert!(matches!(err, ZipError::DuplicateFile { .. }));
    }
}
