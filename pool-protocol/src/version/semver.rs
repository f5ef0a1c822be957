//! Go's flavour of semantic versioning (`golang.org/x/mod/semver`): parsing into a layout of
//! byte ranges, and `Compare`.
//!
//! Go semver differs from semver.org in two ways that matter here: the leading `v` is required,
//! and `vMAJOR` and `vMAJOR.MINOR` are accepted as shorthands for `.0` (without prerelease or
//! build). Numbers have no leading zeros, and neither do numeric prerelease identifiers.

use std::cmp::Ordering;

/// Where each part of a valid version lies in its text. Ranges exclude separators, except that
/// the prerelease keeps its leading `-` and the build its leading `+`, as Go returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Layout {
    /// End of the major digits (they start at byte 1, after `v`).
    pub(crate) major_end: usize,
    /// The minor digits, absent in the `vMAJOR` shorthand.
    pub(crate) minor: Option<(usize, usize)>,
    /// The patch digits, absent in both shorthands.
    pub(crate) patch: Option<(usize, usize)>,
    /// The prerelease with its `-`.
    pub(crate) prerelease: Option<(usize, usize)>,
    /// Start of the build metadata (its `+`); it runs to the end.
    pub(crate) build_start: Option<usize>,
}

/// Parses `v` as Go semver, returning where its parts are, or `None` if it is not valid.
pub(crate) fn parse(v: &str) -> Option<Layout> {
    let rest = v.strip_prefix('v')?;
    let major_end = 1 + number_len(rest)?;
    let mut layout = Layout {
        major_end,
        minor: None,
        patch: None,
        prerelease: None,
        build_start: None,
    };
    if major_end == v.len() {
        return Some(layout);
    }
    let minor = dotted_number(v, major_end)?;
    layout.minor = Some(minor);
    if minor.1 == v.len() {
        return Some(layout);
    }
    let patch = dotted_number(v, minor.1)?;
    layout.patch = Some(patch);
    let mut at = patch.1;
    if v[at..].starts_with('-') {
        let end = at + identifiers_len(&v[at + 1..], true)? + 1;
        layout.prerelease = Some((at, end));
        at = end;
    }
    if v[at..].starts_with('+') {
        identifiers_len(&v[at + 1..], false).filter(|len| at + 1 + len == v.len())?;
        layout.build_start = Some(at);
        at = v.len();
    }
    (at == v.len()).then_some(layout)
}

/// The range of a number that follows a `.` at byte `dot`.
fn dotted_number(v: &str, dot: usize) -> Option<(usize, usize)> {
    let after = v[dot..].strip_prefix('.')?;
    let len = number_len(after)?;
    Some((dot + 1, dot + 1 + len))
}

/// Length of the decimal number at the start of `s`; `None` if absent or with a leading zero.
fn number_len(s: &str) -> Option<usize> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    match len {
        0 => None,
        1 => Some(1),
        _ if s.starts_with('0') => None,
        _ => Some(len),
    }
}

/// Length of the dot-separated identifiers at the start of `s` (a prerelease stops at `+`).
/// Identifiers are non-empty `[0-9A-Za-z-]`; prerelease numbers may not have leading zeros.
fn identifiers_len(s: &str, prerelease: bool) -> Option<usize> {
    let len = if prerelease {
        s.find('+').unwrap_or(s.len())
    } else {
        s.len()
    };
    let ok = s[..len].split('.').all(|ident| {
        let chars_ok = ident
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        !ident.is_empty() && chars_ok && !(prerelease && is_bad_number(ident))
    });
    ok.then_some(len)
}

/// A numeric identifier with a leading zero, such as `01`.
fn is_bad_number(ident: &str) -> bool {
    ident.len() > 1 && ident.starts_with('0') && ident.bytes().all(|b| b.is_ascii_digit())
}

/// Compares two decimal numbers without leading zeros: longer is larger, else bytewise.
pub(crate) fn compare_numbers(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// Go's `comparePrerelease`; each argument is empty (a release) or starts with `-`.
pub(crate) fn compare_prerelease(x: &str, y: &str) -> Ordering {
    match (x.is_empty(), y.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut xs = x[1..].split('.');
    let mut ys = y[1..].split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) => match compare_identifiers(a, b) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// One prerelease identifier against another: numbers sort before words, numbers by value.
fn compare_identifiers(a: &str, b: &str) -> Ordering {
    let a_num = a.bytes().all(|c| c.is_ascii_digit());
    let b_num = b.bytes().all(|c| c.is_ascii_digit());
    match (a_num, b_num) {
        (true, true) => compare_numbers(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_go_semver() {
        for v in [
            "v0",
            "v1",
            "v1.2",
            "v1.2.3",
            "v10.20.30",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-0.3.7",
            "v1.0.0-x.7.z.92",
            "v1.0.0+meta",
            "v1.0.0-rc.1+build.1",
            "v1.0.0+incompatible",
            "v1.0.0-a-b--c",
            "v1.0.0+001",
        ] {
            assert!(parse(v).is_some(), "{v}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for v in [
            "",
            "v",
            "1.0.0",
            "v01",
            "v1.01",
            "v1.0.01",
            "v1.0.0-",
            "v1.0.0-01",
            "v1.0.0-a..b",
            "v1.0.0+",
            "v1.0.0+a..b",
            "v1.0.0-a_b",
            "v1-pre",
            "v1.2-pre",
            "v1+meta",
            "v1.2+meta",
            "v1.0.0.0",
            "v1.0.0 ",
            "V1.0.0",
            "v1.0.0-\u{e9}",
            "v-1",
        ] {
            assert!(parse(v).is_none(), "{v:?}");
        }
    }

    #[test]
    fn layout_points_at_the_parts() {
        let v = "v12.3.45-rc.1+b.2";
        let layout = parse(v);
        assert_eq!(
            layout,
            Some(Layout {
                major_end: 3,
                minor: Some((4, 5)),
                patch: Some((6, 8)),
                prerelease: Some((8, 13)),
                build_start: Some(13),
            })
        );
    }

    #[test]
    fn prerelease_order() {
        assert_eq!(compare_prerelease("-alpha", "-alpha.1"), Ordering::Less);
        assert_eq!(
            compare_prerelease("-alpha.1", "-alpha.beta"),
            Ordering::Less
        );
        assert_eq!(compare_prerelease("-beta.2", "-beta.11"), Ordering::Less);
        assert_eq!(compare_prerelease("-rc.1", ""), Ordering::Less);
        assert_eq!(compare_prerelease("-1", "-a"), Ordering::Less);
        assert_eq!(compare_prerelease("-a", "-a"), Ordering::Equal);
    }
}
