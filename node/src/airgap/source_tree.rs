//! Finding the module versions in a Go module cache or a GOPROXY file tree: both keep
//! `<escaped module path>/@v/<escaped version>.{info,mod,zip}`, the cache under
//! `cache/download/`, so a directory named `@v` is a module and each `.mod` in it a version.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

/// How deep a module path may nest below the tree's root (Go allows far fewer elements).
const MAX_DEPTH: usize = 64;

/// One version found in the tree: where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVersion {
    /// The module.
    pub module: ModulePath,
    /// The version.
    pub version: Version,
    /// `<dir>/@v/<escaped version>` without an extension; the files add `.info`, `.mod`, ….
    pub stem: PathBuf,
}

impl FoundVersion {
    /// The path of this version's file with `extension` (`info`, `mod`, `zip`, `ziphash`).
    pub fn file(&self, extension: &str) -> PathBuf {
        let mut name = self.stem.as_os_str().to_owned();
        name.push(".");
        name.push(extension);
        PathBuf::from(name)
    }
}

/// Why the tree could not be read, or a name in it is no module version.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceTreeError {
    /// A directory could not be listed.
    #[error("reading {path}")]
    Read {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A `@v` directory's path is no valid (escaped) module path, or a `.mod` name no version.
    #[error("{path} names no module version")]
    NotAVersion {
        /// The file or directory.
        path: PathBuf,
    },
}

/// Every version under `root` (a module cache root, its `cache/download`, or a GOPROXY tree),
/// sorted by module and version; names that are no module version are returned as errors
/// beside them.
pub fn find_versions(
    root: &Path,
) -> Result<(Vec<FoundVersion>, Vec<SourceTreeError>), SourceTreeError> {
    let download = root.join("cache").join("download");
    let base = if download.is_dir() {
        download
    } else {
        root.to_path_buf()
    };
    let (mut found, mut bad) = (Vec::new(), Vec::new());
    walk(&base, &base, 0, &mut found, &mut bad)?;
    found.sort_by(|a, b| (&a.module, &a.version).cmp(&(&b.module, &b.version)));
    Ok((found, bad))
}

fn walk(
    base: &Path,
    dir: &Path,
    depth: usize,
    found: &mut Vec<FoundVersion>,
    bad: &mut Vec<SourceTreeError>,
) -> Result<(), SourceTreeError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let read = |source| SourceTreeError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        if !entry.file_type().map_err(read)?.is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.file_name() == "@v" {
            versions_in(base, &path, found, bad)?;
        } else {
            walk(base, &path, depth + 1, found, bad)?;
        }
    }
    Ok(())
}

/// The versions of one `@v` directory: one per `.mod` file.
fn versions_in(
    base: &Path,
    at_v: &Path,
    found: &mut Vec<FoundVersion>,
    bad: &mut Vec<SourceTreeError>,
) -> Result<(), SourceTreeError> {
    let module_dir = at_v.parent().unwrap_or(base);
    let escaped = module_dir
        .strip_prefix(base)
        .ok()
        .and_then(Path::to_str)
        .map(|path| path.replace(std::path::MAIN_SEPARATOR, "/"));
    let Some(module) = escaped.and_then(|path| ModulePath::unescape(&path).ok()) else {
        bad.push(SourceTreeError::NotAVersion {
            path: module_dir.to_path_buf(),
        });
        return Ok(());
    };
    let read = |source| SourceTreeError::Read {
        path: at_v.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(at_v).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.extension().is_none_or(|ext| ext != "mod") {
            continue;
        }
        let version = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(|stem| Version::unescape(stem).ok());
        match version {
            Some(version) => found.push(FoundVersion {
                module: module.clone(),
                version,
                stem: path.with_extension(""),
            }),
            None => bad.push(SourceTreeError::NotAVersion { path }),
        }
    }
    Ok(())
}
