//! Good paths exactly as the real `go` client sends them (goproxy-protocol.md §1.2, §8), and
//! every hostile path of issue 5's "Done when".

use super::*;

fn module(path: &str) -> ModulePath {
    ModulePath::parse(path).unwrap()
}

fn version(text: &str) -> Version {
    Version::parse(text).unwrap()
}

fn parse(raw: &str) -> ProxyPath {
    ProxyPath::parse(raw).unwrap_or_else(|err| panic!("{raw:?} refused: {err}"))
}

#[test]
fn list_of_a_plain_module() {
    let parsed = parse("/example.org/hello.git/@v/list");
    assert_eq!(parsed.module, module("example.org/hello.git"));
    assert_eq!(parsed.request, ProxyRequest::List);
}

#[test]
fn percent_encoded_bang_is_unescaped_to_capitals() {
    let parsed = parse("/example.org/%21mixed%21case.git/@v/v1.0.0.zip");
    assert_eq!(parsed.module, module("example.org/MixedCase.git"));
    assert_eq!(parsed.request, ProxyRequest::Zip(version("v1.0.0")));
}

#[test]
fn literal_bang_is_unescaped_too() {
    let parsed = parse("/example.org/!mixed!case.git/@v/list");
    assert_eq!(parsed.module, module("example.org/MixedCase.git"));
}

#[test]
fn escaped_capitals_in_a_version() {
    let parsed = parse("/example.org/hello.git/@v/v1.0.0-%21r%21c1.info");
    let expected = InfoQuery::Version(version("v1.0.0-RC1"));
    assert_eq!(parsed.request, ProxyRequest::Info(expected));
}

#[test]
fn literal_plus_is_never_a_space() {
    let parsed = parse("/example.org/legacy.git/@v/v3.0.0+incompatible.zip");
    assert_eq!(parsed.module, module("example.org/legacy.git"));
    assert_eq!(
        parsed.request,
        ProxyRequest::Zip(version("v3.0.0+incompatible"))
    );
    let encoded = parse("/example.org/legacy.git/@v/v3.0.0%2Bincompatible.mod");
    assert_eq!(
        encoded.request,
        ProxyRequest::Mod(version("v3.0.0+incompatible"))
    );
}

#[test]
fn major_suffix_module_and_latest() {
    let parsed = parse("/example.org/multi.git/v2/@latest");
    assert_eq!(parsed.module, module("example.org/multi.git/v2"));
    assert_eq!(parsed.request, ProxyRequest::Latest);
}

#[test]
fn info_queries_that_are_not_canonical_versions() {
    for (raw, query) in [
        ("/example.org/hello.git/@v/master.info", "master"),
        ("/example.org/hello.git/@v/%21main.info", "Main"),
        (
            "/example.org/hello.git/@v/e6fe82be54cb.info",
            "e6fe82be54cb",
        ),
        ("/example.org/hello.git/@v/v1.info", "v1"),
        ("/example.org/hello.git/@v/v1.0.0+meta.info", "v1.0.0+meta"),
        // v3.0.0 of a module without /v3: resolved to v3.0.0+incompatible by the fetcher.
        ("/example.org/legacy.git/@v/v3.0.0.info", "v3.0.0"),
    ] {
        let expected = ProxyRequest::Info(InfoQuery::Query(query.to_owned()));
        assert_eq!(parse(raw).request, expected, "{raw}");
    }
}

#[test]
fn canonical_info_is_a_version() {
    let parsed = parse("/example.org/hello.git/@v/v1.1.0.info");
    let expected = InfoQuery::Version(version("v1.1.0"));
    assert_eq!(parsed.request, ProxyRequest::Info(expected));
}

#[test]
fn pseudo_version_zip() {
    let raw = "/example.org/pseudo.git/@v/v0.0.0-20240101000000-0123456789ab.zip";
    let expected = version("v0.0.0-20240101000000-0123456789ab");
    assert_eq!(parse(raw).request, ProxyRequest::Zip(expected));
}

#[test]
fn mod_and_zip_need_canonical_versions_that_fit_the_path() {
    for raw in [
        "/example.org/hello.git/@v/v1.0.mod",
        "/example.org/hello.git/@v/v1.0.0+meta.zip",
        "/example.org/hello.git/@v/master.mod",
        "/example.org/multi.git/@v/v2.0.0.zip",
        "/example.org/multi.git/v2/@v/v1.5.0.mod",
        "/example.org/legacy.git/@v/v3.0.0.zip",
    ] {
        let err = ProxyPath::parse(raw).unwrap_err();
        assert!(!err.is_undecodable(), "{raw}: {err}");
    }
}

/// Every hostile request named in issue 5, with a label for the failure message.
const HOSTILE: &[(&str, &str)] = &[
    ("dot-dot", "/example.org/../etc/passwd/@v/list"),
    ("dot-dot version", "/example.org/hello.git/@v/...info"),
    ("dot-dot file", "/example.org/hello.git/@v/../../x.zip"),
    ("leading dot", "/example.org/.x/@v/list"),
    ("trailing dot", "/example.org/x./@v/list"),
    ("double slash", "/example.org//hello.git/@v/list"),
    ("leading double slash", "//example.org/hello.git/@v/list"),
    ("trailing slash", "/example.org/hello.git//@v/list"),
    ("trailing slash latest", "/example.org/hello.git/@latest/"),
    ("raw capitals", "/example.org/MixedCase.git/@v/list"),
    (
        "raw capital version",
        "/example.org/hello.git/@v/v1.0.0-RC1.info",
    ),
    ("bang before digit", "/example.org/!1x/@v/list"),
    ("bang before capital", "/example.org/%21Mixed/@v/list"),
    ("trailing bang", "/example.org/x%21/@v/list"),
    (
        "bang in version",
        "/example.org/hello.git/@v/v1.0.0-!1.info",
    ),
    ("escaped slash", "/example.org%2Fhello.git/@v/list"),
    (
        "escaped slash version",
        "/example.org/hello.git/@v/feature%2Fx.info",
    ),
    ("escaped slash lower", "/example.org/a%2fb/@v/list"),
    ("at in path", "/example.org/a@b/@v/list"),
    ("escaped at", "/example.org/a%40v1/@v/list"),
    ("short name", "/example.org/x~1/@v/list"),
    ("device name", "/example.org/con/@v/list"),
    ("device name ext", "/example.org/con.txt/@v/list"),
    ("non-ascii", "/example.org/h%C3%A9llo/@v/list"),
    (
        "non-ascii version",
        "/example.org/hello.git/@v/v1.0.0-%C3%A9.info",
    ),
    ("empty version info", "/example.org/hello.git/@v/.info"),
    ("empty version mod", "/example.org/hello.git/@v/.mod"),
    ("empty version zip", "/example.org/hello.git/@v/.zip"),
    ("empty module", "/@v/list"),
    ("no proxy suffix", "/example.org/hello.git"),
    ("unknown file", "/example.org/hello.git/@v/v1.0.0.tar"),
    ("no host dot", "/localhost/x/@v/list"),
    ("bad escape", "/example.org/%zz/@v/list"),
    ("truncated escape", "/example.org/x%2/@v/list"),
    ("invalid utf-8", "/example.org/x%ff/@v/list"),
    ("nul byte", "/example.org/x%00/@v/list"),
    ("newline", "/example.org/x%0A/@v/list"),
    ("space", "/example.org/x%20y/@v/list"),
    ("root", "/"),
    (
        "file with a slash",
        "/example.org/hello.git/@v/v1/v1.0.0.info",
    ),
    ("list with a slash", "/example.org/hello.git/@v/list/"),
];

#[test]
fn hostile_paths_are_refused() {
    for (label, raw) in HOSTILE {
        assert!(ProxyPath::parse(raw).is_err(), "{label}: {raw:?} accepted");
    }
}

#[test]
fn only_undecodable_escapes_are_bad_requests() {
    for (label, raw) in HOSTILE {
        let err = ProxyPath::parse(raw).unwrap_err();
        let expect = matches!(*label, "bad escape" | "truncated escape" | "invalid utf-8");
        assert_eq!(err.is_undecodable(), expect, "{label}: {err}");
    }
}

#[test]
fn an_8_kib_path_is_refused_before_decoding() {
    let raw = format!("/example.org/{}/@v/list", "a".repeat(8 << 10));
    let err = ProxyPath::parse(&raw).unwrap_err();
    assert!(matches!(err, RequestPathError::TooLong { .. }), "{err}");
    let at_limit = format!("/example.org/{}/@v/list", "a".repeat(MAX_PATH_BYTES - 21));
    assert_eq!(at_limit.len(), MAX_PATH_BYTES);
    assert!(ProxyPath::parse(&at_limit).is_ok());
}

#[test]
fn error_messages_name_the_input() {
    let err = ProxyPath::parse("/example.org/MixedCase.git/@v/list").unwrap_err();
    assert!(err.to_string().contains("MixedCase"), "{err}");
    let err = ProxyPath::parse("/example.org/hello.git/@v/v1.0.mod").unwrap_err();
    assert!(err.to_string().contains("v1.0"), "{err}");
}
