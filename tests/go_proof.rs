//! Proof against the real `go` command: for git repositories of every module shape, the `.mod`
//! and `.zip` files that `go mod download -json` (GOPROXY=direct) produces must pass our checks,
//! and our `h1:` hashes, escaping, version rules and ordering must agree with what `go` printed
//! in the same run. Where `go` refuses a path/version pair, `check_path_version` must refuse it
//! too. The expected values come from `go`, except the worked example vectors documented in
//! `goproxy-protocol.md` §4, which `go` must reproduce here as well.
mod big_zip;
mod doc_vectors;
mod every_shape;
mod major_versions;
mod version_list;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, ensure};
use delos_pool_protocol::gomod::declared_module_path;
use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::{Version, check_path_version};
use delos_pool_protocol::zip::{ScannedEntries, verify_module_zip, verify_module_zip_contents};

use crate::support::go::GoEnv;
use crate::support::go_json::ModDownload;

/// Everything we can check about one download `go` made, against what `go` printed.
fn check_download(go: &GoEnv, d: &ModDownload) -> Result<()> {
    let path = ModulePath::parse(&d.path)?;
    let version = Version::parse(&d.version)?;
    ensure!(
        version.is_canonical() && version.canonical() == version,
        "{version} is not canonical"
    );
    check_path_version(&path, &version)?;
    let stem = check_cache_names(go, d, &path, &version)?;
    check_mod(d, &with_ext(&stem, "mod"))?;
    check_zip(d, &with_ext(&stem, "zip"), &path, &version)
}

/// go names its cache files with its own `!`-escaping: a vector for ours. Returns the path of
/// the cache files without their extension.
fn check_cache_names(
    go: &GoEnv,
    d: &ModDownload,
    path: &ModulePath,
    version: &Version,
) -> Result<PathBuf> {
    ensure!(
        ModulePath::unescape(&path.escape())? == *path,
        "path escape round trip"
    );
    ensure!(
        Version::unescape(&version.escape())? == *version,
        "version escape round trip"
    );
    let download = go.gomodcache().join("cache/download");
    let stem = download
        .join(path.escape())
        .join("@v")
        .join(version.escape());
    for (file, ext) in [(&d.info, "info"), (&d.go_mod, "mod"), (&d.zip, "zip")] {
        let ours = with_ext(&stem, ext);
        ensure!(
            file.as_deref() == Some(ours.as_path()),
            "go's .{ext} is {file:?}, ours {ours:?}"
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&fs::read(with_ext(&stem, "info"))?)?;
    ensure!(
        info["Version"] == d.version.as_str(),
        ".info says {}",
        info["Version"]
    );
    Ok(stem)
}

/// Our `h1:` of go's `.mod` file is its GoModSum, and it declares the module's path.
fn check_mod(d: &ModDownload, file: &Path) -> Result<()> {
    let go_mod = fs::read(file)?;
    ensure_same("GoModSum", H1Hash::of_go_mod(&go_mod), &d.go_mod_sum)?;
    let declared = declared_module_path(&go_mod)?;
    ensure!(declared == d.path, "the .mod declares {declared}");
    Ok(())
}

/// Our validator accepts go's zip; its `h1:` is go's Sum, its sha256 and size the file's.
fn check_zip(d: &ModDownload, file: &Path, path: &ModulePath, version: &Version) -> Result<()> {
    let verified = verify_module_zip(File::open(file)?, path, version)
        .with_context(|| format!("our validator refused go's zip {}", file.display()))?;
    ensure_same("Sum", verified.h1, &d.sum)?;
    let bytes = fs::read(file)?;
    // A peer fill scans a zip while it arrives (go writes data descriptors) and reuses those
    // digests: the scan must follow go's zips and come to go's Sum.
    let scanned = ScannedEntries::scan(bytes.as_slice());
    ensure!(
        !scanned.is_empty(),
        "the scan followed no entry of go's zip"
    );
    let h1 = verify_module_zip_contents(File::open(file)?, path, version, &scanned)?;
    ensure_same("Sum (scanned)", h1, &d.sum)?;
    ensure!(
        verified.size == bytes.len() as u64,
        "size {} is not {}",
        verified.size,
        bytes.len()
    );
    ensure!(
        verified.sha256 == Sha256::digest(&bytes),
        "sha256 differs from the file's"
    );
    Ok(())
}

/// Our hash, printed, equals what go printed, and go's text parses back to it.
fn ensure_same(field: &str, ours: H1Hash, go: &Option<String>) -> Result<()> {
    let go = go
        .as_deref()
        .ok_or_else(|| anyhow!("go printed no {field}"))?;
    ensure!(ours.to_string() == go, "{field}: ours {ours}, go {go}");
    ensure!(
        H1Hash::parse(go)? == ours,
        "{field}: {go} does not parse back"
    );
    Ok(())
}

/// `stem` plus `.ext` (`Path::with_extension` would cut `v1.0.0` at its last dot).
fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    name.into()
}

/// A path go printed (`field` is `Dir`, `GoMod`, `Zip`, …), which must be there.
fn printed<'a>(field: &str, path: &'a Option<PathBuf>) -> Result<&'a Path> {
    path.as_deref()
        .ok_or_else(|| anyhow!("go printed no {field}"))
}
