//! Which of `go mod download`'s zip errors mean "no zip can exist for this version".
//!
//! `go mod download -json` may report a version's `.info` and `.mod` together with an `Error`:
//! it found the version but could not produce its zip. Only two kinds of such errors are facts
//! about the version itself, and only they may pin a `.mod`-only entry (pinned forever, signed,
//! announced):
//!
//! - **A newer Go is required** (`gover.TooNewError`): `M@V requires go >= X (running go Y;
//!   GOTOOLCHAIN=local)`. The `.mod` declares `go X`; every node running Go ≥ X builds the zip.
//! - **The tree breaks a module zip rule** (`golang.org/x/mod/zip.Create`): `create zip: ` then
//!   one `<file>: <rule>` line per offending file (a case-insensitive name collision, a malformed
//!   or unclean file path, an upper-case or too large `go.mod`, a too large `LICENSE`), or `module
//!   source tree too large`. The same commit always breaks the same rule.
//!
//! Everything else is a failed fill, never pinned: a `git` that failed or was killed, a damaged
//! VCS clone (which is exactly how a killed `git fetch` makes `go` read `go.mod` as absent and
//! then fail to archive the tree), network and I/O errors (also those wrapped in `create zip:`,
//! such as a full disk), timeouts. Unknown messages fail closed: a failed fill is retried later,
//! a wrong pin would be served forever.

/// What a zip error reported by `go mod download` says about the version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZipFailure {
    /// The version needs a newer Go than the node's: the `.mod` must declare `go <required>`.
    NeedsNewerGo {
        /// The Go version `go` said is required (`1.999`).
        required: String,
    },
    /// The version's files break a module zip rule: no zip can ever be built from them.
    BreaksZipRules,
    /// Anything else: the fill failed and may succeed later; nothing may be pinned.
    FillFailed,
}

/// Module zip rule violations as `golang.org/x/mod/zip` words them, after `<file>: `.
const FILE_RULES: [&str; 7] = [
    "case-insensitive file name collision",
    "malformed file path",
    "file path is not clean",
    "file path is not relative",
    "go.mod files must have lowercase names",
    "go.mod file too large",
    "LICENSE file too large",
];

/// The whole-tree rule violation of `zip.Create`.
const TREE_TOO_LARGE: &str = "module source tree too large";

/// Classifies the `Error` that `go mod download -json` printed beside a `.info` and `.mod`.
pub fn classify_zip_failure(error: &str) -> ZipFailure {
    if let Some(required) = needs_newer_go(error) {
        return ZipFailure::NeedsNewerGo { required };
    }
    match error.strip_prefix("create zip: ") {
        Some(rest) if breaks_zip_rules(rest) => ZipFailure::BreaksZipRules,
        _ => ZipFailure::FillFailed,
    }
}

/// The required version of a one-line `<what> requires go >= <v> (running go <v>…)`.
fn needs_newer_go(error: &str) -> Option<String> {
    if error.contains('\n') {
        return None;
    }
    let (_, rest) = error.split_once(" requires go >= ")?;
    let (required, rest) = rest.split_once(' ')?;
    let well_formed = rest.starts_with("(running go ") && rest.ends_with(')');
    let is_version = !required.is_empty()
        && required
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.');
    (well_formed && is_version).then(|| required.to_owned())
}

/// Whether every line after `create zip: ` names a rule the files break.
fn breaks_zip_rules(rest: &str) -> bool {
    if rest.starts_with(TREE_TOO_LARGE) && !rest.contains('\n') {
        return true;
    }
    !rest.is_empty()
        && rest.lines().all(|line| {
            FILE_RULES
                .iter()
                .any(|rule| line.contains(&format!(": {rule}")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `Error` fields printed by the real `go mod download -json` (go1.26.8, GOTOOLCHAIN=local)
    // for git repositories made as the end-to-end tests make them; the e2e test
    // `fill_crash::go_errors_are_classified` captures them afresh with whatever `go` it finds.

    /// `go.mod` says `go 1.999`.
    const TOO_NEW: &str = "example.org/toonew.git@v1.0.0 requires go >= 1.999 (running go \
                           1.26.8; GOTOOLCHAIN=local)";
    /// `a.go` and `A.go`, and a file named `bad/x:y.txt`.
    const COLLISION_AND_BAD_PATH: &str = "create zip: a.go: case-insensitive file name collision: \
                                          \"A.go\" and \"a.go\"\nbad/x:y.txt: malformed file \
                                          path \"bad/x:y.txt\": invalid char ':'";
    /// The VCS clone lost the `go.mod` blob (a `git fetch` killed in the middle).
    const DAMAGED_CLONE: &str = "git -c core.autocrlf=input -c core.eol=lf archive --format=zip \
                                 --prefix=prefix/ --end-of-options \
                                 9a6ce6cac001a1271f7135a6980ae920a5101f1f in \
                                 /tmp/gp/pkg/mod/cache/vcs/85d22cc: exit status 255:\n\terror: \
                                 invalid object 100644 6227949d78c7bcf09891113afc4ad16c277b70b4 \
                                 for 'go.mod'\n\terror: cannot read \
                                 '6227949d78c7bcf09891113afc4ad16c277b70b4'";

    #[test]
    fn a_newer_go_is_a_fact_about_the_version() {
        assert_eq!(
            classify_zip_failure(TOO_NEW),
            ZipFailure::NeedsNewerGo {
                required: String::from("1.999")
            }
        );
        // Without GOTOOLCHAIN in the message, as go words it under GOTOOLCHAIN=auto.
        assert_eq!(
            classify_zip_failure("m@v1.0.0 requires go >= 1.30rc1 (running go 1.26.8)"),
            ZipFailure::NeedsNewerGo {
                required: String::from("1.30rc1")
            }
        );
    }

    #[test]
    fn zip_rule_violations_are_facts_about_the_version() {
        assert_eq!(
            classify_zip_failure(COLLISION_AND_BAD_PATH),
            ZipFailure::BreaksZipRules
        );
        assert_eq!(
            classify_zip_failure(
                "create zip: module source tree too large (max size is 524288000 bytes)"
            ),
            ZipFailure::BreaksZipRules
        );
    }

    #[test]
    fn vcs_io_and_unknown_errors_fail_the_fill() {
        for error in [
            DAMAGED_CLONE,
            "create zip: write /data/fetch/x.zip: no space left on device",
            // One rule violation beside an I/O error is still an I/O error.
            "create zip: a.go: malformed file path \"a:b\": invalid char ':'\nread x: EOF",
            "create zip: ",
            "signal: killed",
            "git fetch -f origin refs/tags/v1.0.0: exit status 128",
            "example.org/m@v1.0.0 requires go >= 1.999 (running go 1.26.8)\nand more",
            "requires go >= ; rm -rf (running go 1)",
            "",
        ] {
            assert_eq!(
                classify_zip_failure(error),
                ZipFailure::FillFailed,
                "{error:?}"
            );
        }
    }
}
