//! Property tests: every accepted path survives `!`-case escaping unchanged, and escaping is the
//! only encoding `unescape` accepts.

use proptest::prelude::*;

use super::{ModulePath, check_file_path, check_import_path};

/// Paths built to pass `CheckPath` most of the time: a lowercase host with a dot, mixed-case
/// elements with `-._~`, sometimes a `/vN` or a `gopkg.in` `.vN` suffix.
fn plausible_path() -> impl Strategy<Value = String> {
    let host = "[a-z0-9][a-z0-9-]{0,6}\\.[a-z]{2,3}";
    let elems = prop::collection::vec("[A-Za-z0-9][A-Za-z0-9._~-]{0,6}[A-Za-z0-9_~-]", 0..4);
    let suffix = prop_oneof![Just(String::new()), "/v[2-9][0-9]?", Just("/v1".to_owned())];
    let gopkg = ("[a-z]{1,6}", "\\.v[0-9]{1,2}(-unstable)?")
        .prop_map(|(name, major)| format!("gopkg.in/{name}{major}"));
    let general = (host, elems, suffix).prop_map(|(host, mut elems, suffix)| {
        elems.insert(0, host);
        elems.join("/") + &suffix
    });
    prop_oneof![4 => general, 1 => gopkg]
}

/// Arbitrary short strings over the characters that matter to the checks and the encoding.
fn noisy_text() -> impl Strategy<Value = String> {
    "[a-cA-CvV0-2./~_+! \u{e9}-]{0,16}"
}

proptest! {
    #[test]
    fn accepted_paths_survive_escape_then_unescape(text in prop_oneof![plausible_path(), noisy_text()]) {
        if let Ok(path) = ModulePath::parse(&text) {
            let escaped = path.escape();
            prop_assert!(!escaped.bytes().any(|b| b.is_ascii_uppercase()), "{}", escaped);
            prop_assert_eq!(ModulePath::unescape(&escaped), Ok(path.clone()));
            prop_assert_eq!(path.as_str(), text.as_str());
            prop_assert!(check_import_path(&text).is_ok());
            prop_assert!(check_file_path(&text).is_ok());
        }
    }

    #[test]
    fn refusals_name_the_input(text in prop_oneof![plausible_path(), noisy_text()]) {
        if let Err(err) = ModulePath::parse(&text) {
            let quoted = format!("{text:?}");
            prop_assert!(err.to_string().contains(&quoted));
        }
    }

    #[test]
    fn unescape_accepts_only_the_canonical_encoding(escaped in noisy_text()) {
        if let Ok(path) = ModulePath::unescape(&escaped) {
            prop_assert_eq!(path.escape(), escaped);
        }
    }

    #[test]
    fn parse_agrees_with_from_str_and_try_from(text in noisy_text()) {
        let parsed = ModulePath::parse(&text);
        prop_assert_eq!(&text.parse::<ModulePath>(), &parsed);
        prop_assert_eq!(&ModulePath::try_from(text.clone()), &parsed);
    }
}

/// The generator must mostly produce accepted paths, or the round-trip property above would
/// test little; this runs it on a fixed seed and counts.
#[test]
fn plausible_paths_are_mostly_accepted() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = plausible_path();
    let accepted = (0..1000)
        .filter_map(|_| strategy.new_tree(&mut runner).ok())
        .filter(|tree| ModulePath::parse(&tree.current()).is_ok())
        .count();
    assert!(
        accepted > 500,
        "only {accepted} of 1000 generated paths were accepted"
    );
}
