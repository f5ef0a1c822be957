//! What a fill pins from the files `go` wrote: never a `.mod` the zip contradicts, never a
//! `.mod`-only entry for a zip that failed for a reason that may pass.

#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::path::PathBuf;

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::*;

const MODULE: &str = "example.org/big.git";
const REAL_GO_MOD: &[u8] = b"module example.org/big.git\n\ngo 1.21\n";
const SYNTHESIZED: &[u8] = b"module example.org/big.git\n";
const INFO: &[u8] = b"{\"Version\":\"v1.0.0\",\"Time\":\"2026-01-01T00:00:00Z\"}";

/// [`check_and_write`] then [`pin_produced`], as a fill does after `go` ran.
fn check_and_store(
    index: &Index,
    request: &Request,
    download: &Download,
) -> Result<Filled, FetchError> {
    pin_produced(index, check_and_write(index, request.clone(), download)?)
}

/// A store and the files of one `go mod download` in a temp dir.
struct Setup {
    _dir: tempfile::TempDir,
    index: Index,
    files: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path().join("store")).unwrap();
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        Self {
            _dir: dir,
            index,
            files,
        }
    }

    /// What `go` would print after writing `.info`, `.mod` (and the zip, unless `error`).
    fn download(&self, go_mod: &[u8], zip_go_mod: Option<&[u8]>, error: Option<&str>) -> Download {
        let write = |name: &str, bytes: &[u8]| {
            let path = self.files.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let mut download = Download {
            path: MODULE.to_owned(),
            version: "v1.0.0".to_owned(),
            error: error.map(str::to_owned),
            info: Some(write("v1.0.0.info", INFO)),
            go_mod: Some(write("v1.0.0.mod", go_mod)),
            go_mod_sum: Some(H1Hash::of_go_mod(go_mod).to_string()),
            ..Download::default()
        };
        if error.is_none() {
            let zip = module_zip(zip_go_mod);
            let (path, version) = module_version();
            let verified = verify_module_zip(Cursor::new(&zip), &path, &version).unwrap();
            download.zip = Some(write("v1.0.0.zip", &zip));
            download.sum = Some(verified.h1.to_string());
        }
        download
    }
}

fn module_version() -> (ModulePath, Version) {
    (
        ModulePath::parse(MODULE).unwrap(),
        Version::parse("v1.0.0").unwrap(),
    )
}

fn request() -> Request {
    Request {
        module: module_version().0,
        query: "v1.0.0".to_owned(),
        for_peer: false,
    }
}

fn module_zip(go_mod: Option<&[u8]>) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    let prefix = format!("{MODULE}@v1.0.0/");
    if let Some(go_mod) = go_mod {
        writer
            .start_file(format!("{prefix}go.mod"), options)
            .unwrap();
        writer.write_all(go_mod).unwrap();
    }
    writer
        .start_file(format!("{prefix}big.go"), options)
        .unwrap();
    writer.write_all(b"package big\n").unwrap();
    writer.finish().unwrap().into_inner()
}

fn pinned(setup: &Setup) -> Option<VersionEntry> {
    let (path, version) = module_version();
    setup.index.get(&path, &version).unwrap()
}

#[test]
fn a_mod_that_the_zip_contradicts_is_never_pinned() {
    let setup = Setup::new();
    // What a damaged clone can yield: go.mod read as absent beside a zip that has one.
    let download = setup.download(SYNTHESIZED, Some(REAL_GO_MOD), None);
    let err = check_and_store(&setup.index, &request(), &download).unwrap_err();
    assert!(
        err.to_string()
            .contains("differs from the go.mod in the zip"),
        "{err}"
    );
    assert!(pinned(&setup).is_none());
    // And a real go.mod beside a zip without one.
    let download = setup.download(REAL_GO_MOD, None, None);
    let err = check_and_store(&setup.index, &request(), &download).unwrap_err();
    assert!(err.to_string().contains("synthesized"), "{err}");
    assert!(pinned(&setup).is_none());
}

#[test]
fn a_consistent_version_is_pinned_whole() {
    let setup = Setup::new();
    let download = setup.download(REAL_GO_MOD, Some(REAL_GO_MOD), None);
    let filled = check_and_store(&setup.index, &request(), &download).unwrap();
    assert!(filled.entry.is_full());
    assert_eq!(pinned(&setup).unwrap(), filled.entry);
}

#[test]
fn a_zip_that_failed_for_a_passing_reason_pins_nothing() {
    let setup = Setup::new();
    let error = "git -c core.autocrlf=input archive --format=zip 9a6c in /x/vcs/85d2: exit \
                 status 255:\n\terror: invalid object 100644 6227 for 'go.mod'";
    let download = setup.download(SYNTHESIZED, None, Some(error));
    let err = check_and_store(&setup.index, &request(), &download).unwrap_err();
    assert!(err.is_not_found(), "a failed fill answers 404: {err}");
    assert!(pinned(&setup).is_none());
}

#[test]
fn a_version_that_needs_a_newer_go_is_pinned_mod_only() {
    let setup = Setup::new();
    let go_mod = b"module example.org/big.git\n\ngo 1.999\n";
    let error = "example.org/big.git@v1.0.0 requires go >= 1.999 (running go 1.26.8; \
                 GOTOOLCHAIN=local)";
    let download = setup.download(go_mod, None, Some(error));
    let filled = check_and_store(&setup.index, &request(), &download).unwrap();
    assert!(!filled.entry.is_full());
    assert_eq!(filled.zip_problem.as_deref(), Some(error));
    assert!(pinned(&setup).is_some());
}

#[test]
fn a_newer_go_error_that_the_mod_does_not_back_pins_nothing() {
    let setup = Setup::new();
    let error = "example.org/big.git@v1.0.0 requires go >= 1.999 (running go 1.26.8; \
                 GOTOOLCHAIN=local)";
    let download = setup.download(SYNTHESIZED, None, Some(error));
    assert!(check_and_store(&setup.index, &request(), &download).is_err());
    assert!(pinned(&setup).is_none());
}
