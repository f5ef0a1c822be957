//! Major-version suffixes of module paths: `/vN` in general, `.vN` (optionally `-unstable`) for
//! `gopkg.in`. Mirrors Go's `module.SplitPathVersion`.

/// The result of splitting a module path into its prefix and major-version suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    /// The path without its suffix (the whole path when there is none).
    pub(crate) prefix: &'a str,
    /// The suffix including its separator (`/v2`, `.v1`, `.v1-unstable`), if any.
    pub(crate) major: Option<&'a str>,
}

/// Splits `path` like Go's `SplitPathVersion`; `None` when the suffix is malformed
/// (`/v0`, `/v1`, `/v02`, `/v2.1`, `gopkg.in/x` without `.vN`, `gopkg.in/x.v01`).
pub(crate) fn split(path: &str) -> Option<Split<'_>> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let whole = Split {
        prefix: path,
        major: None,
    };
    let bytes = path.as_bytes();
    let tail = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    let start = bytes.len() - tail;
    if start <= 1 || tail == 0 || bytes[start - 1] != b'v' || bytes[start - 2] != b'/' {
        return Some(whole);
    }
    let (prefix, major) = path.split_at(start - 2);
    let digits = &major[2..];
    if digits.contains('.') || digits.starts_with('0') || major == "/v1" {
        return None;
    }
    Some(Split {
        prefix,
        major: Some(major),
    })
}

/// The `gopkg.in/x.vN[-unstable]` form, where the suffix is required and `.v0` is allowed.
fn split_gopkg_in(path: &str) -> Option<Split<'_>> {
    let body = path.strip_suffix("-unstable").unwrap_or(path);
    let bytes = body.as_bytes();
    let digits = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let start = bytes.len() - digits;
    if start <= 1 || bytes[start - 1] != b'v' || bytes[start - 2] != b'.' {
        return None;
    }
    let (prefix, major) = path.split_at(start - 2);
    // Go tests the suffix with `-unstable` still attached, so `.v0-unstable` is refused while
    // `.v-unstable` passes; keep that quirk rather than second-guess it.
    if major.len() <= 2 || (major.as_bytes()[2] == b'0' && major != ".v0") {
        return None;
    }
    Some(Split {
        prefix,
        major: Some(major),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> Option<(&str, Option<&str>)> {
        split(path).map(|s| (s.prefix, s.major))
    }

    #[test]
    fn slash_suffixes() {
        assert_eq!(parts("example.org/x"), Some(("example.org/x", None)));
        assert_eq!(
            parts("example.org/x/v2"),
            Some(("example.org/x", Some("/v2")))
        );
        assert_eq!(
            parts("example.org/x/v10"),
            Some(("example.org/x", Some("/v10")))
        );
        assert_eq!(parts("example.org/x/v"), Some(("example.org/x/v", None)));
        assert_eq!(parts("example.org/xv2"), Some(("example.org/xv2", None)));
        assert_eq!(parts("example.org/x/2"), Some(("example.org/x/2", None)));
        for bad in [
            "example.org/x/v0",
            "example.org/x/v1",
            "example.org/x/v02",
            "example.org/x/v2.1",
        ] {
            assert_eq!(parts(bad), None, "{bad}");
        }
    }

    #[test]
    fn gopkg_in_suffixes() {
        assert_eq!(
            parts("gopkg.in/yaml.v2"),
            Some(("gopkg.in/yaml", Some(".v2")))
        );
        assert_eq!(
            parts("gopkg.in/yaml.v0"),
            Some(("gopkg.in/yaml", Some(".v0")))
        );
        assert_eq!(
            parts("gopkg.in/yaml.v1-unstable"),
            Some(("gopkg.in/yaml", Some(".v1-unstable")))
        );
        assert_eq!(
            parts("gopkg.in/user/pkg.v3"),
            Some(("gopkg.in/user/pkg", Some(".v3")))
        );
        // Go's quirks: the suffix is judged with `-unstable` attached.
        assert_eq!(
            parts("gopkg.in/yaml.v-unstable"),
            Some(("gopkg.in/yaml", Some(".v-unstable")))
        );
        let bad = [
            "gopkg.in/yaml",
            "gopkg.in/check.v01",
            "gopkg.in/yaml.v",
            "gopkg.in/yaml-unstable",
        ];
        for bad in bad.into_iter().chain(["gopkg.in/yaml.v0-unstable"]) {
            assert_eq!(parts(bad), None, "{bad}");
        }
    }
}
