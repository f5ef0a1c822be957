//! Property tests: escape round trips, and the ordering laws of `Version` (a total order that
//! refines Go's `semver.Compare`).

use std::cmp::Ordering;

use proptest::prelude::*;

use super::{Version, unescape_version_query};

/// Small numbers, so that generated versions often share parts and ties get exercised.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[0-2]", 1 => "[1-9][0-9]{1,2}"]
}

fn prerelease() -> impl Strategy<Value = String> {
    let ident = prop_oneof![number(), "[A-Za-z-][0-9A-Za-z-]{0,3}"];
    prop::collection::vec(ident, 1..4).prop_map(|idents| format!("-{}", idents.join(".")))
}

fn build() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("+incompatible".to_owned()),
        "\\+[0-9A-Za-z-]{1,4}(\\.[0-9A-Za-z-]{1,3})?"
    ]
}

/// Valid Go semver strings in every shape: `vN`, `vN.N`, `vN.N.N[-pre][+build]`.
fn version() -> impl Strategy<Value = Version> {
    let full = (
        number(),
        number(),
        number(),
        prop::option::of(prerelease()),
        prop::option::of(build()),
    )
        .prop_map(|(major, minor, patch, pre, build)| {
            format!(
                "v{major}.{minor}.{patch}{}{}",
                pre.unwrap_or_default(),
                build.unwrap_or_default()
            )
        });
    let short = (number(), prop::option::of(number())).prop_map(|(major, minor)| {
        minor.map_or(format!("v{major}"), |minor| format!("v{major}.{minor}"))
    });
    prop_oneof![4 => full, 1 => short]
        .prop_filter_map("valid semver", |text| Version::parse(&text).ok())
}

proptest! {
    #[test]
    fn escape_then_unescape_is_identity(v in version()) {
        let escaped = v.escape();
        prop_assert!(!escaped.bytes().any(|b| b.is_ascii_uppercase()));
        prop_assert_eq!(Version::unescape(&escaped), Ok(v.clone()));
        prop_assert_eq!(unescape_version_query(&escaped), Ok(v.as_str().to_owned()));
    }

    #[test]
    fn ordering_is_antisymmetric_and_agrees_with_eq(a in version(), b in version()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.semver_cmp(&b), b.semver_cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
        // `Ord` only refines `semver.Compare`: it never contradicts it.
        if a.semver_cmp(&b) != Ordering::Equal {
            prop_assert_eq!(a.cmp(&b), a.semver_cmp(&b));
        }
    }

    #[test]
    fn ordering_is_transitive(mut vs in prop::collection::vec(version(), 3)) {
        vs.sort();
        prop_assert!(vs[0] <= vs[1] && vs[1] <= vs[2]);
        prop_assert!(vs[0] <= vs[2]);
        prop_assert!(vs[0].semver_cmp(&vs[2]) != Ordering::Greater);
    }

    #[test]
    fn canonical_compares_equal_and_is_idempotent(v in version()) {
        let canonical = v.canonical();
        prop_assert_eq!(v.semver_cmp(&canonical), Ordering::Equal);
        prop_assert!(canonical.is_canonical());
        prop_assert_eq!(canonical.canonical(), canonical.clone());
        prop_assert_eq!(canonical.is_incompatible(), v.is_incompatible());
        prop_assert_eq!(v.is_canonical(), v == canonical);
    }

    #[test]
    fn prerelease_sorts_before_its_release(v in version()) {
        if let Some(pre) = v.prerelease() {
            let release_text = v.canonical().as_str().replacen(pre, "", 1);
            let release = Version::parse(&release_text);
            prop_assert!(release.is_ok(), "{}", release_text);
            if let Ok(release) = release {
                prop_assert_eq!(v.semver_cmp(&release), Ordering::Less);
                prop_assert!(v < release);
            }
        }
    }
}
