//! `delos export`: writes the store as a GOPROXY file tree, `<escaped module>/@v/list` and
//! `<escaped version>.info`, `.mod` and (when pinned whole) `.zip`, which `delos import` loads
//! and `GOPROXY=file:///…` (or any static file server) serves. Every blob is re-hashed as it
//! is read, so a corrupt one is moved aside and left out, never exported. Private modules are
//! left out unless asked for.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::version::Version;
use delos_registry_index::{BlobError, Index, IndexError, Listed, VersionEntry};

use super::Progress;

/// Why the export failed, or one version could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the store failed.
    #[error("reading the store failed")]
    Store(#[from] IndexError),
    /// A blob is missing or corrupt (moved aside).
    #[error("a blob of the version is unreadable")]
    Blob(#[from] BlobError),
    /// Writing the tree failed.
    #[error("writing {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// What an export did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Versions written.
    pub exported: usize,
    /// Private versions left out.
    pub private_skipped: usize,
    /// Versions that could not be written, each with why.
    pub failed: Vec<(String, String)>,
}

/// Writes every stored version (private ones only with `include_private`) under `out`;
/// blocking.
pub fn export_tree(
    index: &Index,
    private: &PrivatePatterns,
    include_private: bool,
    out: &Path,
) -> Result<Summary, ExportError> {
    let listed: Vec<Listed> = index.iter()?.collect::<Result<_, _>>()?;
    let mut summary = Summary::default();
    let mut progress = Progress::new(listed.len() as u64);
    let mut lists: Vec<(ModulePath, Vec<Version>)> = Vec::new();
    for (module, version, entry) in listed {
        let what = format!("{module}@{version}");
        if !include_private && private.matches(module.as_str()) {
            summary.private_skipped += 1;
            progress.step(&what, "private, left out");
            continue;
        }
        match write_version(index, out, &module, &version, &entry) {
            Ok(()) => {
                summary.exported += 1;
                progress.step(&what, "exported");
                match lists.last_mut() {
                    Some((last, versions)) if *last == module => versions.push(version),
                    _ => lists.push((module, vec![version])),
                }
            }
            Err(err) => {
                let why = crate::error_chain::error_chain(&err);
                progress.step(&what, &format!("failed: {why}"));
                summary.failed.push((what, why));
            }
        }
    }
    progress.finish();
    for (module, versions) in lists {
        write_list(out, &module, versions)?;
    }
    Ok(summary)
}

/// `<out>/<escaped module>/@v/`.
fn version_dir(out: &Path, module: &ModulePath) -> PathBuf {
    out.join(module.escape()).join("@v")
}

fn write_version(
    index: &Index,
    out: &Path,
    module: &ModulePath,
    version: &Version,
    entry: &VersionEntry,
) -> Result<(), ExportError> {
    let dir = version_dir(out, module);
    fs::create_dir_all(&dir).map_err(write_error(&dir))?;
    let stem = dir.join(version.escape());
    // Appended, not `with_extension`: a version's dots are not an extension.
    let with = |ext: &str| with_suffix(&stem, ext);
    write_file(&with("info"), |file| file.write_all(entry.info()))?;
    let mut go_mod = index
        .blobs()
        .open_verified(entry.go_mod().blob().sha256())?;
    write_file(&with("mod"), |file| io::copy(&mut go_mod, file).map(drop))?;
    if let Some(zip) = entry.zip() {
        let mut zip = index.blobs().open_verified(zip.blob().sha256())?;
        write_file(&with("zip"), |file| io::copy(&mut zip, file).map(drop))?;
    }
    Ok(())
}

/// `@v/list`: the versions, one a line, pseudo-versions left out (as proxies list them).
fn write_list(
    out: &Path,
    module: &ModulePath,
    mut versions: Vec<Version>,
) -> Result<(), ExportError> {
    versions.retain(|version| !version.is_pseudo());
    versions.sort_by(Version::semver_cmp);
    let text: String = versions.iter().map(|v| format!("{v}\n")).collect();
    let path = version_dir(out, module).join("list");
    write_file(&path, |file| file.write_all(text.as_bytes()))
}

/// Writes a file whole: to a temp name first, renamed into place once written.
fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), ExportError> {
    let temp = with_suffix(path, "partial");
    let mut file = File::create(&temp).map_err(write_error(&temp))?;
    fill(&mut file).map_err(write_error(&temp))?;
    drop(file);
    fs::rename(&temp, path).map_err(write_error(path))
}

/// `path` with `.suffix` appended.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn write_error(path: &Path) -> impl Fn(io::Error) -> ExportError + '_ {
    move |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    }
}
