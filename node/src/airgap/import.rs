//! `delos import`: loads the versions of a module cache or GOPROXY file tree into the store,
//! each checked as a fill from a peer is, before anything of it is stored:
//!
//! 1. the version is canonical and its `.info` (when there is one) names it;
//! 2. the zip passes every module zip rule, and its `h1:` is the `.ziphash` the `go` command
//!    wrote beside it, when there is one;
//! 3. the `.mod` is what the zip implies (its root `go.mod`, or the synthesized one);
//! 4. the store pins it by the first-write-wins rules: a version pinned with other hashes is
//!    refused, never replaced.
//!
//! Each imported version gets the node's signed record with source `import` (private modules'
//! records stay out of the pool's feed). A `.mod` without its zip (the `go` command fetches
//! only the `.mod` of versions in the module graph that it does not build) is pinned
//! `.mod`-only. A version without a `.info` gets one naming the version and, for want of the
//! commit time, the `.mod` file's modification time.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use delos_pool_protocol::gomod::{ModZipMismatch, check_mod_matches_zip};
use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::messages::MAX_INFO_BYTES;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::provenance::Source;
use delos_pool_protocol::zip::{
    MAX_GO_MOD_BYTES, MAX_ZIP_BYTES, ZipError, root_go_mod, verify_module_zip,
};
use delos_registry_index::{
    BlobError, Change, HashedBlob, Index, IndexError, Source as StoreSource, VersionEntry,
};

use super::{FoundVersion, Progress, SourceTreeError, find_versions};
use crate::clock::now_unix_secs;
use crate::provenance::{OwnRecords, sharing_of};

/// What importing one version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Pinned now (or its `.mod`-only pin gained its zip).
    Imported,
    /// The store already pins the same hashes.
    AlreadyPresent,
}

/// Why a version was refused (nothing of it was pinned).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file could not be read, or is larger than the protocol allows.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Only canonical versions are pinned.
    #[error("{0} is not a canonical version")]
    NotCanonical(String),
    /// The `.info` is not JSON naming this version.
    #[error("the .info does not name version {0}")]
    InfoVersion(String),
    /// The zip breaks a module zip rule.
    #[error("invalid module zip")]
    Zip(#[source] ZipError),
    /// The zip's `h1:` is not the one the `.ziphash` beside it says.
    #[error("the zip hashes to {got}, its .ziphash says {want}")]
    ZipHash {
        /// The zip's hash.
        got: H1Hash,
        /// The `.ziphash` text.
        want: String,
    },
    /// The `.mod` is not what the zip implies.
    #[error(transparent)]
    ModZip(#[from] ModZipMismatch),
    /// The store pins this version with other hashes.
    #[error("the store pins other hashes for it (go.mod {0})")]
    PinnedOtherwise(H1Hash),
    /// The store failed.
    #[error("the store failed")]
    Store(#[from] IndexError),
    /// Writing a blob failed.
    #[error("writing a blob failed")]
    Blob(#[from] BlobError),
}

/// What an import did, in all.
#[derive(Debug, Default)]
pub struct Summary {
    /// Versions pinned now.
    pub imported: usize,
    /// Versions the store already pinned with the same hashes.
    pub already_present: usize,
    /// Versions (or names) refused, each with why.
    pub refused: Vec<(String, String)>,
}

/// Imports every version under `root` into `index`; blocking.
pub fn import_tree(
    index: &Index,
    records: &OwnRecords,
    private: &PrivatePatterns,
    root: &Path,
) -> Result<Summary, SourceTreeError> {
    let (found, bad) = find_versions(root)?;
    let mut summary = Summary::default();
    for err in bad {
        summary
            .refused
            .push((err.to_string(), "not a module version".into()));
    }
    let mut progress = Progress::new(found.len() as u64);
    for version in &found {
        let what = format!("{}@{}", version.module, version.version);
        let how = match import_version(index, records, private, version) {
            Ok(Outcome::Imported) => {
                summary.imported += 1;
                "imported".to_owned()
            }
            Ok(Outcome::AlreadyPresent) => {
                summary.already_present += 1;
                "already present".to_owned()
            }
            Err(err) => {
                let why = crate::error_chain::error_chain(&err);
                summary.refused.push((what.clone(), why.clone()));
                format!("refused: {why}")
            }
        };
        progress.step(&what, &how);
    }
    progress.finish();
    Ok(summary)
}

/// Checks and pins one version, and signs its record; blocking.
pub fn import_version(
    index: &Index,
    records: &OwnRecords,
    private: &PrivatePatterns,
    found: &FoundVersion,
) -> Result<Outcome, ImportError> {
    let (module, version) = (&found.module, &found.version);
    if !version.is_canonical() {
        return Err(ImportError::NotCanonical(version.to_string()));
    }
    let go_mod = read_limited(&found.file("mod"), MAX_GO_MOD_BYTES)?;
    let info = info_of(found)?;
    let go_mod_blob = index.blobs().write(&go_mod[..])?;
    let mut entry = VersionEntry::new(
        info,
        HashedBlob::new(go_mod_blob, H1Hash::of_go_mod(&go_mod)),
        now_unix_secs(),
        StoreSource::Import,
    );
    if let Some(zip) = checked_zip(index, found, &go_mod)? {
        entry = entry.with_zip(zip);
    }
    let stored = match index.store(module, version, entry) {
        Ok(stored) => stored,
        Err(IndexError::Conflict(conflict)) => {
            return Err(ImportError::PinnedOtherwise(
                *conflict.existing.go_mod().h1(),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    if matches!(stored.change, Change::AlreadyPresent) {
        return Ok(Outcome::AlreadyPresent);
    }
    let sharing = sharing_of(private, module);
    if let Err(err) = records.sign_and_store_from(
        index,
        module,
        version,
        &stored.entry,
        Source::Import,
        sharing,
    ) {
        tracing::warn!(error = %err, "{module}@{version}: pinned, but its record was not stored");
    }
    Ok(Outcome::Imported)
}

/// The verified zip of `found`, stored as a blob; `None` when the tree has no zip for it.
fn checked_zip(
    index: &Index,
    found: &FoundVersion,
    go_mod: &[u8],
) -> Result<Option<HashedBlob>, ImportError> {
    let path = found.file("zip");
    let open = || File::open(&path).map_err(read_error(&path));
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(read_error(&path)(err)),
    };
    let verified =
        verify_module_zip(file, &found.module, &found.version).map_err(ImportError::Zip)?;
    if let Ok(text) = fs::read_to_string(found.file("ziphash"))
        && text.trim() != verified.h1.to_string()
    {
        return Err(ImportError::ZipHash {
            got: verified.h1,
            want: text.trim().to_owned(),
        });
    }
    let in_zip = root_go_mod(open()?, &found.module, &found.version).map_err(ImportError::Zip)?;
    check_mod_matches_zip(&found.module, go_mod, in_zip.as_deref())?;
    let blob = index.blobs().write_limited(open()?, MAX_ZIP_BYTES)?;
    if blob.sha256() != &verified.sha256 {
        let changed = io::Error::other("the zip changed while it was being stored");
        return Err(read_error(&path)(changed));
    }
    Ok(Some(HashedBlob::new(blob, verified.h1)))
}

/// The `.info` of `found` (checked to name its version), or one made for it.
fn info_of(found: &FoundVersion) -> Result<Vec<u8>, ImportError> {
    let path = found.file("info");
    let info = match read_limited(&path, MAX_INFO_BYTES) {
        Ok(info) => info,
        Err(ImportError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return made_info(found);
        }
        Err(err) => return Err(err),
    };
    let named = serde_json::from_slice::<serde_json::Value>(&info)
        .ok()
        .and_then(|value| value["Version"].as_str().map(str::to_owned));
    match named.as_deref() == Some(found.version.as_str()) {
        true => Ok(info),
        false => Err(ImportError::InfoVersion(found.version.to_string())),
    }
}

/// A `.info` for a version the tree has none for: its version, and the `.mod`'s mtime.
fn made_info(found: &FoundVersion) -> Result<Vec<u8>, ImportError> {
    let path = found.file("mod");
    let modified = fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .map_err(read_error(&path))?;
    let info = serde_json::json!({
        "Version": found.version.as_str(),
        "Time": humantime::format_rfc3339_seconds(modified).to_string(),
    });
    Ok(info.to_string().into_bytes())
}

fn read_limited(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ImportError> {
    let file = File::open(path).map_err(read_error(path))?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error(path))?;
    if bytes.len() as u64 > max_bytes {
        let too_large = io::Error::other(format!("larger than {max_bytes} bytes"));
        return Err(read_error(path)(too_large));
    }
    Ok(bytes)
}

fn read_error(path: &Path) -> impl Fn(io::Error) -> ImportError + '_ {
    move |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    }
}
