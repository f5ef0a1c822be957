//! Filling one module version from an upstream proxy over HTTP, without starting `go`: the
//! `.info` and `.mod` into memory, the zip straight into the store's temp area (named by its
//! sha256 only when it is pinned), then every check before anything is pinned:
//!
//! 1. the `.info` names the requested version; the `.mod` declares the module;
//! 2. the `.mod`'s `h1:` is the one the checksum database's verified record names (unless
//!    the check is off, see [`SumPolicy`]);
//! 3. the zip passes every module zip rule, its `h1:` is the record's, and the `.mod` is what
//!    the zip implies (its root `go.mod`, or the synthesized one).
//!
//! Only then is the zip linked under its name and the entry pinned ([`Index::store`]: the
//! first entry stays pinned). A failed check drops the staged bytes, is logged at warn and
//! counted (`upstream_mismatches`), and fails the fill with [`FetchError::Upstream`]: the
//! upstream misbehaved, which the GOPROXY list rules treat as an error, not as "not found".
//!
//! Clients do not wait for the disk where a check already vouches for the bytes: once step 1
//! passed, the `.info` is answerable (the database vouches for nothing in it), once step 2
//! passed, the `.mod` ([`LiveMetadata`]); once step 3 passed, the clients following the zip's
//! download get its last byte ([`Verdict`]), and every later client is served the checked
//! staged bytes. The durable half (fsync, link, the `.mod`'s blob, the index; then the
//! provenance record and the node's own log) then waits until the requests around it pause
//! ([`Foreground::settled`], at most a second): a build asks for its versions one after
//! another, and the disk work of the versions it already named would otherwise run on the
//! cores its `go` command is using. A crash in that window loses only the pin: the next
//! request fills the version again, and the checksum database holds the upstream to the same
//! hashes. With the checks off, every answer waits for the pin, which is made at once.

mod queries;
mod zip_download;

pub(crate) use queries::{proxy_list, proxy_resolve};

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use delos_pool_protocol::gomod::{check_mod_matches_zip, declared_module_path};
use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::messages::MAX_INFO_BYTES;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_pool_protocol::zip::{
    MAX_GO_MOD_BYTES, ScannedEntries, root_go_mod, verify_module_zip_contents,
};
use delos_registry_index::{
    HashedBlob, Index, IndexError, MappedBlob, Source, StagedBlob, UnhashedStaged, VersionEntry,
};

use super::error::FetchError;
use super::filled::{Filled, FilledFrom};
use super::foreground::Foreground;
use super::go_json::InfoJson;
use super::live_metadata::{EarlyMetadata, LiveMetadata};
use super::live_zip::{LiveZips, Verdict};
use super::pinned_zips::{PinnedZips, mapped_as_written};
use super::stats::Counters;
use super::sum_check::{RecordedSums, SumCheck};
use super::ttl_cache::TtlCache;
use crate::clock::now_unix_secs;
use crate::http_client::{HttpClient, HttpClientError};

/// How the hashes of an upstream's bytes are checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SumPolicy<'a> {
    /// Against this database's verified records.
    Check(&'a dyn SumCheck),
    /// Not at all (`--gosumdb off`).
    Off,
    /// They cannot be: `--gosumdb` names a database the node does not relay. Fails closed.
    Unverifiable,
}

/// What one fill from a proxy uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProxyFill<'a> {
    /// The node's HTTP client.
    pub(crate) client: &'a HttpClient,
    /// The store.
    pub(crate) index: &'a Arc<Index>,
    /// How hashes are checked.
    pub(crate) sums: SumPolicy<'a>,
    /// The most one whole zip download may take.
    pub(crate) zip_timeout: Duration,
    /// Where mismatches are counted.
    pub(crate) counters: &'a Counters,
    /// Where clients find the zip while it arrives.
    pub(crate) live: &'a LiveZips,
    /// Where clients find the `.info` (once checked) and the `.mod` (once the database proved
    /// it) while the fill goes on.
    pub(crate) metadata: &'a LiveMetadata,
    /// Versions whose fill failed a check a moment ago: their metadata is answered only after
    /// the whole fill.
    pub(crate) suspects: &'a TtlCache<(ModulePath, Version), ()>,
    /// Where the pinned zip goes, mapped as it was written (`None`: nowhere).
    pub(crate) pinned_zips: Option<&'a Arc<dyn PinnedZips>>,
    /// When clients last asked: the durable half of a fill the database vouched for waits
    /// for a pause.
    pub(crate) foreground: &'a Foreground,
}

/// The small files' time limit.
const SMALL_FILE_TIMEOUT: Duration = Duration::from_secs(30);

impl ProxyFill<'_> {
    /// Fills `module@version` (canonical) from the proxy at `base`.
    pub(crate) async fn fill(
        &self,
        base: &str,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Filled, FetchError> {
        let fail = Failure {
            base,
            module,
            query: version.as_str(),
        };
        let url = format!("{base}/{}/@v/{}", module.escape(), version.escape());
        // The two small files at once; the checksum database is asked only once the proxy has
        // the version (so probes of absent modules never reach it).
        let (info_url, mod_url) = (format!("{url}.info"), format!("{url}.mod"));
        let (info, go_mod) = tokio::join!(
            get_small(self.client, &fail, &info_url, MAX_INFO_BYTES),
            get_small(self.client, &fail, &mod_url, MAX_GO_MOD_BYTES),
        );
        let (info, go_mod) = (info?, go_mod?);
        let parsed: InfoJson = serde_json::from_slice(&info)
            .map_err(|err| fail.upstream(format!("unreadable .info: {err}")))?;
        if parsed.version != version.as_str() {
            return Err(fail.upstream(format!(".info names {}", parsed.version)));
        }
        let declared =
            declared_module_path(&go_mod).map_err(|err| fail.upstream(err.to_string()))?;
        if declared != module.as_str() {
            return Err(fail.upstream(format!("the .mod declares module {declared}")));
        }
        let go_mod_h1 = H1Hash::of_go_mod(&go_mod);
        // Where the database will be asked (and this version did not fail a check a moment
        // ago), the `.info` is answerable now: the database vouches for nothing in it.
        let suspect = (module.clone(), version.clone());
        let early =
            matches!(self.sums, SumPolicy::Check(_)) && self.suspects.get_fresh(&suspect).is_none();
        let info = Bytes::from(info);
        let _info_answerable = early.then(|| {
            let metadata = EarlyMetadata {
                info: info.clone(),
                proved_go_mod: None,
            };
            self.metadata.register(module, version, Arc::new(metadata))
        });
        let recorded = self.recorded(&fail, version).await?;
        if let Some(recorded) = &recorded
            && recorded.go_mod != go_mod_h1
        {
            return Err(self.mismatch(
                &fail,
                version,
                format!(
                    "the .mod hashes to {go_mod_h1}, the checksum database says {}",
                    recorded.go_mod
                ),
            ));
        }
        // The database proved the `.mod`: clients asking for it need not wait for the zip.
        let _proved = (early && recorded.is_some()).then(|| {
            let metadata = EarlyMetadata {
                info: info.clone(),
                proved_go_mod: Some(Bytes::copy_from_slice(&go_mod)),
            };
            self.metadata.register(module, version, Arc::new(metadata))
        });
        let target = zip_download::Target {
            index: self.index,
            live: self.live,
            module,
            version,
        };
        let zip_url = format!("{url}.zip");
        let zip_download::Downloaded {
            staged,
            scanned,
            live,
        } = zip_download::download(self.client, &zip_url, target, self.zip_timeout)
            .await
            .map_err(|err| fail.download_error(err))?;
        let staged_size = staged.size();
        // With a record to check against, the readers finish once the checks pass.
        let release = recorded.is_some().then(|| live.verdict());
        let checked = Checked {
            info: info.to_vec(),
            go_mod,
            go_mod_h1,
            zip_h1: recorded.map(|r| r.zip),
            scanned,
        };
        let owned = OwnedTarget {
            base: base.to_owned(),
            module: module.clone(),
            version: version.clone(),
        };
        let index = Arc::clone(self.index);
        let map = self.pinned_zips.is_some_and(|zips| zips.keeps(staged_size));
        let stored = match release {
            // The record vouched for the zip: once the checks pass, clients have every byte,
            // and the disk waits for the requests around it to pause.
            Some(release) => match blocking(move || owned.check(checked, staged, release)).await? {
                Ok(ready) => {
                    // A stopping node pins at once (and waits for the pin: `Inner::shared_fill`).
                    self.foreground.settled().await;
                    blocking(move || ready.pin(&index, map)).await?
                }
                Err(refused) => Err(refused),
            },
            None => blocking(move || owned.check_and_pin(&index, checked, staged, map)).await?,
        };
        match stored {
            Err(refused) => {
                let err = self.refused(&fail, version, refused);
                // The clients following the download learn why.
                live.fail(&failure_reason(&err));
                Err(err)
            }
            Ok(Pinned {
                filled,
                mapped,
                zip_sha256,
            }) => {
                // Without a record, readers that followed the download get its last byte only
                // when these very bytes are pinned (else they are cut, and a retry gets the
                // pinned ones); with one, they had it once the checks passed.
                let pinned = filled.entry.zip().map(|zip| *zip.blob().sha256());
                if pinned == Some(zip_sha256) {
                    live.verified(staged_size);
                    if let (Some(zips), Some(mapped)) = (self.pinned_zips, mapped) {
                        zips.pinned(zip_sha256, Bytes::from_owner(mapped));
                    }
                }
                Ok(filled)
            }
        }
    }

    /// The record's hashes, or `None` when checks are off.
    async fn recorded(
        &self,
        fail: &Failure<'_>,
        version: &Version,
    ) -> Result<Option<RecordedSums>, FetchError> {
        let check = match self.sums {
            SumPolicy::Off => return Ok(None),
            SumPolicy::Unverifiable => {
                return Err(fail.upstream(
                    "--gosumdb names a checksum database this node does not relay (--sumdb), \
                     so nothing from a proxy can be checked",
                ));
            }
            SumPolicy::Check(check) => check,
        };
        let record = check
            .record(fail.module, version)
            .await
            .map_err(|err| fail.upstream(err.to_string()))?;
        RecordedSums::of(&record, fail.module, version)
            .map(Some)
            .map_err(|err| fail.upstream(err.to_string()))
    }

    /// The error to fail the fill with when the blocking half refused to pin.
    fn refused(&self, fail: &Failure<'_>, version: &Version, refused: Refused) -> FetchError {
        match refused {
            Refused::Mismatch(reason) => self.mismatch(fail, version, reason),
            Refused::Local(err) => err,
        }
    }

    /// Logs and counts bytes that failed a check, and marks the version a suspect for a
    /// while; the error to fail the fill with.
    fn mismatch(&self, fail: &Failure<'_>, version: &Version, reason: String) -> FetchError {
        Counters::bump(&self.counters.upstream_mismatches);
        self.suspects
            .put((fail.module.clone(), version.clone()), ());
        tracing::warn!(
            module = %fail.module,
            version = fail.query,
            upstream = fail.base,
            %reason,
            "the upstream proxy sent bytes that fail a check; nothing pinned"
        );
        fail.upstream(reason)
    }
}

/// What a failed fill tells the clients that followed its zip: an upstream's failure is
/// already named by its module and version, so only the reason.
fn failure_reason(err: &FetchError) -> String {
    match err {
        FetchError::Upstream { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| FetchError::TaskFailed)
}

/// GETs a small file from a proxy, at most `max_bytes`.
async fn get_small(
    client: &HttpClient,
    fail: &Failure<'_>,
    url: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    let mut body = client
        .get_stream(url, max_bytes, SMALL_FILE_TIMEOUT)
        .await
        .map_err(|err| fail.http_error(&err))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = body
        .next_chunk()
        .await
        .map_err(|err| fail.http_error(&err))?
    {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The module and version (or query) asked of a proxy, to name in errors.
#[derive(Debug, Clone, Copy)]
struct Failure<'a> {
    base: &'a str,
    module: &'a ModulePath,
    query: &'a str,
}

impl Failure<'_> {
    fn upstream(&self, reason: impl std::fmt::Display) -> FetchError {
        FetchError::Upstream {
            module: self.module.clone(),
            query: self.query.to_owned(),
            reason: format!("proxy {}: {reason}", self.base),
        }
    }

    /// 404 and 410 are "not found"; everything else is the upstream's error.
    fn http_error(&self, err: &HttpClientError) -> FetchError {
        let reason = crate::error_chain::error_chain(err);
        match err.is_not_found() {
            true => FetchError::not_found(self.module, self.query, reason),
            false => self.upstream(reason),
        }
    }

    fn download_error(&self, err: zip_download::DownloadError) -> FetchError {
        match err {
            zip_download::DownloadError::Http(err) => self.http_error(&err),
            zip_download::DownloadError::Local(err) => err,
        }
    }
}

/// The small files, checked, and the zip hash the record names (`None`: checks are off).
struct Checked {
    info: Vec<u8>,
    go_mod: Vec<u8>,
    go_mod_h1: H1Hash,
    zip_h1: Option<H1Hash>,
    /// The zip's entries as scanned while it arrived.
    scanned: ScannedEntries,
}

/// Why the blocking half refused to pin.
enum Refused {
    /// The zip failed a check.
    Mismatch(String),
    /// This node failed (store, disk).
    Local(FetchError),
}

/// Checks the staged zip on this thread while another makes it durable: every zip rule
/// (reusing the entries scanned while it arrived), its `h1:`, and the `.mod` against what the
/// zip implies (see [`OwnedTarget::check_zip`]). Returns the zip's `h1:` once the file is
/// durable too.
fn check_while_syncing(
    staged: &StagedBlob,
    target: &OwnedTarget,
    checked: &Checked,
) -> Result<H1Hash, Refused> {
    let reopen = || staged.reopen().map_err(|err| Refused::Local(err.into()));
    let (file, again) = (reopen()?, reopen()?);
    std::thread::scope(|scope| {
        let synced = scope.spawn(|| staged.sync());
        let checked = target.check_zip(file, again, checked);
        let synced = synced.join();
        let h1 = checked?;
        match synced {
            Ok(Ok(())) => Ok(h1),
            Ok(Err(err)) => Err(Refused::Local(err.into())),
            Err(_) => Err(Refused::Local(FetchError::TaskFailed)),
        }
    })
}

/// The proxy and module version, owned, for the blocking half.
struct OwnedTarget {
    base: String,
    module: ModulePath,
    version: Version,
}

/// A fill whose zip passed every check, waiting to be named, made durable and pinned.
struct ReadyToPin {
    target: OwnedTarget,
    checked: Checked,
    staged: UnhashedStaged,
    h1: H1Hash,
}

impl ReadyToPin {
    /// Names the zip by its bytes, read back from its file (the sha256 pass it was spared
    /// while it arrived), then [`pin_zip`]; blocking.
    fn pin(self, index: &Index, map: bool) -> Result<Pinned, Refused> {
        let staged = self
            .staged
            .hash()
            .map_err(|err| Refused::Local(err.into()))?;
        pin_zip(index, self.target, self.checked, staged, self.h1, map)
    }
}

/// What a pin left: the version as pinned (this fill's, or an entry pinned before), the zip
/// mapped as it was written when asked for, and the sha256 of the zip this fill wrote.
struct Pinned {
    filled: Filled,
    mapped: Option<MappedBlob>,
    zip_sha256: Sha256,
}

/// Makes the checked zip durable, links it, stores the `.mod` and pins the entry; blocking.
/// With `map`, also the zip mapped as it was written (`None` if it could not be mapped: it
/// is mapped and checked when first served instead).
fn pin_zip(
    index: &Index,
    target: OwnedTarget,
    checked: Checked,
    staged: StagedBlob,
    h1: H1Hash,
    map: bool,
) -> Result<Pinned, Refused> {
    let local = |err: FetchError| Refused::Local(err);
    let zip_sha256 = staged.sha256();
    let mapped = map.then(|| mapped_as_written(&staged)).flatten();
    let zip = staged.commit().map_err(|err| local(err.into()))?;
    let go_mod = index
        .blobs()
        .write(&checked.go_mod[..])
        .map_err(|err| local(err.into()))?;
    let entry = VersionEntry::new(
        checked.info,
        HashedBlob::new(go_mod, checked.go_mod_h1),
        now_unix_secs(),
        Source::Upstream(target.base.clone()),
    )
    .with_zip(HashedBlob::new(zip, h1));
    let produced = entry.claimed_hashes();
    let pinned = match index.store(&target.module, &target.version, entry) {
        Ok(stored) => stored.entry,
        Err(IndexError::Conflict(conflict)) => conflict.existing,
        Err(err) => return Err(local(err.into())),
    };
    let filled = Filled {
        version: target.version,
        pinned_is_ours: !pinned.claimed_hashes().conflicts(&produced),
        entry: pinned,
        zip_problem: None,
        from: FilledFrom::Upstream(target.base),
    };
    Ok(Pinned {
        filled,
        mapped,
        zip_sha256,
    })
}

impl OwnedTarget {
    /// Checks the staged zip (see [`Self::check_zip`]); when it passes, `release` lets the
    /// clients following the download have its last byte, and the fill is ready to pin.
    /// Blocking.
    fn check(
        self,
        checked: Checked,
        staged: UnhashedStaged,
        release: Verdict,
    ) -> Result<ReadyToPin, Refused> {
        let reopen = || staged.reopen().map_err(|err| Refused::Local(err.into()));
        let h1 = self.check_zip(reopen()?, reopen()?, &checked)?;
        release.verified(staged.size());
        Ok(ReadyToPin {
            target: self,
            checked,
            staged,
            h1,
        })
    }

    /// The zip's checks, on two handles of its file: every zip rule (reusing the entries
    /// scanned while it arrived), its `h1:` against the record's, and the `.mod` against what
    /// the zip implies; its `h1:` when they pass.
    fn check_zip(
        &self,
        file: std::fs::File,
        again: std::fs::File,
        checked: &Checked,
    ) -> Result<H1Hash, Refused> {
        let h1 = verify_module_zip_contents(file, &self.module, &self.version, &checked.scanned)
            .map_err(|err| Refused::Mismatch(format!("invalid module zip: {err}")))?;
        if let Some(want) = checked.zip_h1
            && want != h1
        {
            return Err(Refused::Mismatch(format!(
                "the zip hashes to {h1}, the checksum database says {want}"
            )));
        }
        let in_zip = root_go_mod(again, &self.module, &self.version)
            .map_err(|err| Refused::Mismatch(format!("invalid module zip: {err}")))?;
        check_mod_matches_zip(&self.module, &checked.go_mod, in_zip.as_deref())
            .map_err(|err| Refused::Mismatch(err.to_string()))?;
        Ok(h1)
    }

    /// Checks the staged zip while it is made durable, then links it and pins the entry;
    /// blocking. For fills no record vouched for: their clients wait for the pin.
    fn check_and_pin(
        self,
        index: &Index,
        checked: Checked,
        staged: UnhashedStaged,
        map: bool,
    ) -> Result<Pinned, Refused> {
        let staged = staged.hash().map_err(|err| Refused::Local(err.into()))?;
        let h1 = check_while_syncing(&staged, &self, &checked)?;
        pin_zip(index, self, checked, staged, h1, map)
    }
}
