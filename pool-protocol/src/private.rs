//! [`PrivatePatterns`]: GOPRIVATE-style lists of module path prefix globs, with the exact
//! semantics of Go's `module.MatchPrefixPatterns` (`go help module-private`).
//!
//! A list is comma-separated; empty entries and a trailing `/` on an entry are ignored. An entry
//! with N slashes is matched, as a `path.Match` glob, against the first N+1 elements of the
//! module path (so `corp.example` covers `corp.example/x/y`, and `*.corp.example` covers
//! `git.corp.example/x`). A malformed glob (an unclosed `[`, a trailing `\`) never matches, as in
//! Go; [`PrivatePatterns::malformed`] lists them so a node can warn about them.
//!
//! Private modules are served by the node that holds them and never leave it: a node passes the
//! list to `go` as `GOPRIVATE`/`GONOSUMDB` and keeps matching modules out of the pool.

mod glob;

use std::fmt;

use glob::Glob;

/// A parsed GOPRIVATE-style pattern list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrivatePatterns {
    list: String,
    globs: Vec<Glob>,
    malformed: Vec<String>,
}

impl PrivatePatterns {
    /// Parses a comma-separated list, as found in `GOPRIVATE`. Never fails: like Go, empty and
    /// malformed entries are skipped (see [`Self::malformed`]).
    pub fn parse(list: &str) -> PrivatePatterns {
        let mut globs = Vec::new();
        let mut malformed = Vec::new();
        for entry in list.split(',') {
            let entry = entry.strip_suffix('/').unwrap_or(entry);
            if entry.is_empty() {
                continue;
            }
            match Glob::parse(entry) {
                Some(glob) => globs.push(glob),
                None => malformed.push(entry.to_owned()),
            }
        }
        PrivatePatterns {
            list: list.to_owned(),
            globs,
            malformed,
        }
    }

    /// Parses several lists (or single patterns) as one list joined with `,`.
    pub fn from_patterns<I, S>(patterns: I) -> PrivatePatterns
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = patterns
            .into_iter()
            .map(|p| p.as_ref().to_owned())
            .collect();
        Self::parse(&joined.join(","))
    }

    /// Whether `module_path` (or one of its prefixes) matches a pattern: Go's
    /// `module.MatchPrefixPatterns(list, module_path)`.
    pub fn matches(&self, module_path: &str) -> bool {
        self.globs
            .iter()
            .any(|glob| glob.matches_prefix(module_path))
    }

    /// The list as given, for `GOPRIVATE` and `GONOSUMDB`.
    pub fn as_str(&self) -> &str {
        &self.list
    }

    /// Whether no usable pattern is in the list.
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// The entries that are not valid globs and therefore never match.
    pub fn malformed(&self) -> &[String] {
        &self.malformed
    }
}

impl fmt::Display for PrivatePatterns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_split_trimmed_and_counted_by_elements() {
        let patterns = PrivatePatterns::parse("*.corp.example,,rsc.io/private/,[bad");
        assert_eq!(patterns.malformed(), ["[bad"]);
        assert!(!patterns.is_empty());
        assert!(patterns.matches("git.corp.example/team/repo"));
        assert!(
            !patterns.matches("corp.example/x"),
            "* needs a non-empty match before .corp"
        );
        assert!(patterns.matches("rsc.io/private"));
        assert!(patterns.matches("rsc.io/private/quux/v2"));
        assert!(!patterns.matches("rsc.io/privatequux"));
        assert!(
            !patterns.matches("rsc.io"),
            "fewer elements than the pattern"
        );
        assert!(!PrivatePatterns::parse("").matches("anything"));
        assert_eq!(
            PrivatePatterns::from_patterns(["a", "b/c"]).as_str(),
            "a,b/c"
        );
    }
}
