//! Filling one module version from version control: `go mod download -json M@Q`, the result
//! checked against Go's rules and our own hashes, then stored through the index.
//!
//! Nothing is pinned that `go` could have read from a damaged VCS clone: the `.mod` must be
//! what the zip implies ([`check_mod_matches_zip`]), and a version without a zip is pinned
//! `.mod`-only only when `go`'s error is a fact about the version ([`classify_zip_failure`]).
//!
//! The order follows `registry-index`: blobs first, then [`Index::store`], which pins the first
//! entry forever (a moved tag later yields a [`Conflict`](delos_registry_index::Conflict), and
//! the first bytes keep being served). The run's module cache is removed afterwards.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use delos_pool_protocol::gomod::{check_mod_matches_zip, declared_module_path, go_directive};
use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::messages::MAX_INFO_BYTES;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::VcsOrigin;
use delos_pool_protocol::version::{Version, check_path_version};
use delos_pool_protocol::zip::{
    MAX_GO_MOD_BYTES, MAX_ZIP_BYTES, VerifiedZip, root_go_mod, verify_module_zip,
};
use delos_registry_index::{HashedBlob, Index, IndexError, Source, VersionEntry};

use super::error::{FetchError, one_line};
use super::filled::{Filled, FilledFrom};
use super::go_command::{GoCommand, GoRun};
use super::go_json::{Download, InfoJson, parse_stream};
use super::zip_failure::{ZipFailure, classify_zip_failure};
use crate::clock::now_unix_secs;

/// What a fill is about: the module, and the version or query as requested.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) module: ModulePath,
    pub(crate) query: String,
    /// Asked by a pool member (`delos/<pool>/fill/1`): the fill does not ask members in turn.
    pub(crate) for_peer: bool,
}

impl Request {
    fn not_found(&self, reason: impl AsRef<str>) -> FetchError {
        FetchError::not_found(&self.module, &self.query, reason)
    }
}

/// Runs `go mod download -json module@query` (with `GOPROXY=goproxy` when given, else the
/// configured upstream), validates and stores what it produced.
pub(crate) async fn fill(
    go: &GoCommand,
    index: &Arc<Index>,
    request: Request,
    goproxy: Option<&str>,
) -> Result<Filled, FetchError> {
    let produced = produce(go, index, request, goproxy).await?;
    let index = Arc::clone(index);
    tokio::task::spawn_blocking(move || pin_produced(&index, produced))
        .await
        .map_err(|_| FetchError::TaskFailed)?
}

/// What a fresh `go mod download` yields for a version: checked like a fill, its blobs
/// written, nothing pinned (the blobs are content-addressed, so this changes no answer).
#[derive(Debug, Clone)]
pub(crate) struct Produced {
    /// The request it answers.
    pub(crate) request: Request,
    /// The canonical version.
    pub(crate) version: Version,
    /// The entry, blobs stored, not pinned.
    pub(crate) entry: VersionEntry,
    /// Why the zip cannot exist, for a `.mod`-only entry.
    pub(crate) zip_problem: Option<String>,
    /// Where `go` got it.
    pub(crate) origin: Option<VcsOrigin>,
}

/// Runs `go mod download -json` for `request` (see [`fill`] for `goproxy`) and checks and
/// writes what it produced, without pinning it.
pub(crate) async fn produce(
    go: &GoCommand,
    index: &Arc<Index>,
    request: Request,
    goproxy: Option<&str>,
) -> Result<Produced, FetchError> {
    let arg = format!("{}@{}", request.module, request.query);
    let args = ["mod", "download", "-json", &arg];
    let (output, cache) = match go.run_with_goproxy(&args, goproxy).await {
        Ok(GoRun::Finished(output, cache)) => (output, cache),
        Ok(GoRun::TimedOut(timeout)) => {
            return Err(FetchError::TimedOut {
                module: request.module,
                query: request.query,
                timeout,
            });
        }
        Err(err) => return Err(err),
    };
    let download = first_download(&request, &output.stdout, &output.stderr)?;
    let index = Arc::clone(index);
    tokio::task::spawn_blocking(move || {
        let produced = check_and_write(&index, request, &download);
        cache.remove();
        produced
    })
    .await
    .map_err(|_| FetchError::TaskFailed)?
}

/// The one object `go` printed; an error when it printed none or failed before the `.mod`.
fn first_download(request: &Request, stdout: &[u8], stderr: &[u8]) -> Result<Download, FetchError> {
    let stderr_line = || one_line(&String::from_utf8_lossy(stderr));
    let mut objects: Vec<Download> = parse_stream(stdout).map_err(|err| {
        request.not_found(format!("unreadable go output ({err}): {}", stderr_line()))
    })?;
    if objects.is_empty() {
        return Err(request.not_found(stderr_line()));
    }
    let download = objects.swap_remove(0);
    let usable =
        download.info.is_some() && download.go_mod.is_some() && !download.version.is_empty();
    match (&download.error, usable) {
        (Some(error), false) => Err(request.not_found(error)),
        _ => Ok(download),
    }
}

/// Checks everything `go` produced and writes its blobs; blocking. Pins nothing.
fn check_and_write(
    index: &Index,
    request: Request,
    download: &Download,
) -> Result<Produced, FetchError> {
    let version = checked_version(&request, download)?;
    let info = read_info(&request, download, &version)?;
    let (go_mod, go_mod_h1) = read_go_mod(&request, download)?;
    let zip = match &download.error {
        Some(error) => {
            check_no_zip_can_exist(&request, error, &go_mod)?;
            None
        }
        None => Some(checked_zip(&request, download, &version, &go_mod)?),
    };
    let go_mod_blob = index.blobs().write(&go_mod[..])?;
    let mut entry = VersionEntry::new(
        info,
        HashedBlob::new(go_mod_blob, go_mod_h1),
        now_unix_secs(),
        Source::Vcs,
    );
    let zip_problem = match zip {
        Some((path, verified)) => {
            entry = entry.with_zip(store_zip(index, &request, path, &verified)?);
            None
        }
        None => download.error.as_deref().map(one_line),
    };
    Ok(Produced {
        request,
        version,
        entry,
        zip_problem,
        origin: download.origin.as_ref().and_then(|o| o.to_vcs_origin()),
    })
}

/// Pins what a fill produced (the first entry stays pinned; see [`pin`]); blocking.
fn pin_produced(index: &Index, produced: Produced) -> Result<Filled, FetchError> {
    let Produced {
        request,
        version,
        entry,
        zip_problem,
        origin,
    } = produced;
    let produced = entry.claimed_hashes();
    let entry = pin(index, &request.module, &version, entry)?;
    let zip_problem = zip_problem.filter(|_| !entry.is_full());
    Ok(Filled {
        version,
        pinned_is_ours: !entry.claimed_hashes().conflicts(&produced),
        entry,
        zip_problem,
        from: FilledFrom::Vcs(origin),
    })
}

/// The version `go` resolved to: canonical, fitting the path, and the requested one when the
/// request named a canonical version.
fn checked_version(request: &Request, download: &Download) -> Result<Version, FetchError> {
    if download.path != request.module.as_str() {
        return Err(request.not_found(format!("go answered for module {}", download.path)));
    }
    let version = Version::parse(&download.version)
        .map_err(|err| request.not_found(format!("go resolved to an invalid version: {err}")))?;
    if !version.is_canonical() {
        return Err(request.not_found(format!("go resolved to non-canonical {version}")));
    }
    let requested = Version::parse(&request.query)
        .ok()
        .filter(Version::is_canonical);
    if requested.is_some_and(|requested| requested != version) {
        return Err(request.not_found(format!("go resolved to {version} instead")));
    }
    check_path_version(&request.module, &version)
        .map_err(|err| request.not_found(err.to_string()))?;
    Ok(version)
}

/// The `.info` bytes, which must name `version`.
fn read_info(
    request: &Request,
    download: &Download,
    version: &Version,
) -> Result<Vec<u8>, FetchError> {
    let path = download
        .info
        .as_deref()
        .ok_or_else(|| request.not_found("go wrote no .info"))?;
    let info = read_limited(path, MAX_INFO_BYTES)?;
    let parsed: InfoJson = serde_json::from_slice(&info)
        .map_err(|err| request.not_found(format!("go wrote an unreadable .info: {err}")))?;
    if parsed.version != version.as_str() {
        return Err(request.not_found(format!(".info names {} instead", parsed.version)));
    }
    Ok(info)
}

/// The go.mod bytes and their `h1:`, which must equal `GoModSum`; the file must declare the
/// requested module path.
fn read_go_mod(request: &Request, download: &Download) -> Result<(Vec<u8>, H1Hash), FetchError> {
    let path = download
        .go_mod
        .as_deref()
        .ok_or_else(|| request.not_found("go wrote no .mod"))?;
    let go_mod = read_limited(path, MAX_GO_MOD_BYTES)?;
    let h1 = H1Hash::of_go_mod(&go_mod);
    if let Some(claimed) = &download.go_mod_sum
        && claimed != &h1.to_string()
    {
        return Err(request.not_found(format!("go.mod hashes to {h1}, go said {claimed}")));
    }
    let declared =
        declared_module_path(&go_mod).map_err(|err| request.not_found(err.to_string()))?;
    if declared != request.module.as_str() {
        return Err(request.not_found(format!("go.mod declares module {declared}")));
    }
    Ok((go_mod, h1))
}

/// Accepts `go`'s zip error only when it is a fact about the version (see
/// [`classify_zip_failure`]); a newer-Go error also needs the `.mod` to declare that Go.
/// Anything else is a failed fill: nothing is pinned and a later request tries again.
fn check_no_zip_can_exist(request: &Request, error: &str, go_mod: &[u8]) -> Result<(), FetchError> {
    let refuse = |why: &str| {
        tracing::warn!(
            "{}@{}: not pinned: {why}: {}",
            request.module,
            request.query,
            one_line(error)
        );
        Err(request.not_found(format!("the zip could not be built: {}", one_line(error))))
    };
    match classify_zip_failure(error) {
        ZipFailure::BreaksZipRules => Ok(()),
        ZipFailure::NeedsNewerGo { required } if go_directive(go_mod) == Some(&*required) => Ok(()),
        ZipFailure::NeedsNewerGo { .. } => refuse("go asks for a newer Go than the .mod declares"),
        _ => refuse("the zip failed for a reason that may pass"),
    }
}

/// Verifies the zip (every `CheckZip` rule, `h1:` equal to `Sum`) and that `go_mod` is what
/// the zip implies: its root `go.mod`, or the synthesized one when it has none. Returns the
/// zip's path and hashes, for [`store_zip`].
fn checked_zip<'a>(
    request: &Request,
    download: &'a Download,
    version: &Version,
    go_mod: &[u8],
) -> Result<(&'a Path, VerifiedZip), FetchError> {
    let (Some(path), Some(sum)) = (download.zip.as_deref(), download.sum.as_deref()) else {
        return Err(request.not_found("go reported no zip and no error"));
    };
    let file = File::open(path).map_err(FetchError::WorkArea)?;
    let verified = verify_module_zip(file, &request.module, version)
        .map_err(|err| request.not_found(format!("invalid module zip: {err}")))?;
    if verified.h1.to_string() != sum {
        return Err(request.not_found(format!("zip hashes to {}, go said {sum}", verified.h1)));
    }
    let file = File::open(path).map_err(FetchError::WorkArea)?;
    let in_zip = root_go_mod(file, &request.module, version)
        .map_err(|err| request.not_found(format!("invalid module zip: {err}")))?;
    if let Err(mismatch) = check_mod_matches_zip(&request.module, go_mod, in_zip.as_deref()) {
        tracing::warn!(
            "{}@{version}: not pinned: {mismatch} (a damaged VCS clone?)",
            request.module
        );
        return Err(request.not_found(mismatch.to_string()));
    }
    Ok((path, verified))
}

/// Stores the verified zip at `path` as a blob.
fn store_zip(
    index: &Index,
    request: &Request,
    path: &Path,
    verified: &VerifiedZip,
) -> Result<HashedBlob, FetchError> {
    let file = File::open(path).map_err(FetchError::WorkArea)?;
    let blob = index.blobs().write_limited(file, MAX_ZIP_BYTES)?;
    if blob.sha256() != &verified.sha256 {
        return Err(request.not_found("the zip changed while it was being stored"));
    }
    Ok(HashedBlob::new(blob, verified.h1))
}

/// Stores `entry`; when another entry is pinned already, that one wins and is returned.
fn pin(
    index: &Index,
    module: &ModulePath,
    version: &Version,
    entry: VersionEntry,
) -> Result<VersionEntry, FetchError> {
    match index.store(module, version, entry) {
        Ok(stored) => Ok(stored.entry),
        Err(IndexError::Conflict(conflict)) => {
            tracing::warn!(
                "{module}@{version}: the VCS now yields other hashes; serving the pinned ones"
            );
            Ok(conflict.existing)
        }
        Err(err) => Err(err.into()),
    }
}

/// Reads a whole file `go` wrote, refusing more than `limit` bytes.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, FetchError> {
    let file = File::open(path).map_err(FetchError::WorkArea)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(FetchError::WorkArea)?;
    if bytes.len() as u64 > limit {
        let too_big = std::io::Error::other(format!("{} exceeds {limit} bytes", path.display()));
        return Err(FetchError::WorkArea(too_big));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
