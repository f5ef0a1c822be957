//! `list`, `@latest` and non-canonical `.info` queries, asked of the `--upstream` list (its
//! proxies over HTTP, `direct` through `go list`) and cached.
//!
//! - `list` = stored versions ∪ the upstream's tagged versions (a proxy's `@v/list`, or
//!   `go list -m -versions -retracted -json -e M`), pseudo-versions left out, retracted
//!   versions kept (the client applies retractions itself).
//! - a query (`master`, a hash prefix, `v1`, `v3.0.0`, `latest`) = a proxy's `@latest` or
//!   `@v/<query>.info`, or `go list -m -json -e M@Q`; the version it names is then filled as
//!   usual.
//! - answers, positive and "not found" (a path prefix that is no module), are cached for
//!   `list_ttl` and, once aged, served stale at once while one refresh runs behind them.
//! - `@latest` falls back to the highest stored version when the upstream cannot answer.
//! - with a pool attached, versions known only from records the trust policy accepts count as
//!   stored ones, so a node without VCS access still answers `list` and `@latest`; and when
//!   the upstream cannot answer, members this node trusts that fill for others are asked
//!   (their answers cached like the upstream's).

use std::sync::Arc;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::{Version, check_path_version};

use super::Inner;
use super::cached_query::CachedQuery;
use super::config::FetchConfig;
use super::error::{FetchError, one_line};
use super::foreground::Foreground;
use super::from_proxy::{proxy_list, proxy_resolve};
use super::go_command::GoRun;
use super::go_json::{ListedModule, parse_stream};
use futures::future::BoxFuture;

/// The query name of a module's `list`, in errors.
const LIST_KEY: &str = "list";

/// The cached upstream questions of a fetcher.
#[derive(Debug)]
pub(crate) struct Queries {
    lists: Arc<CachedQuery<ModulePath, Vec<Version>>>,
    resolved: Arc<CachedQuery<(ModulePath, String), Version>>,
}

impl Queries {
    /// Caches sized and timed as `config` says; refreshes of aged answers wait for a pause in
    /// `foreground`'s requests.
    pub(crate) fn new(config: &FetchConfig, capacity: usize, foreground: Arc<Foreground>) -> Self {
        let (ttl, pending) = (config.list_ttl, config.max_pending);
        Self {
            lists: Arc::new(CachedQuery::new(
                ttl,
                capacity,
                pending,
                Arc::clone(&foreground),
            )),
            resolved: Arc::new(CachedQuery::new(ttl, capacity, pending, foreground)),
        }
    }

    /// Upstream questions being asked now.
    pub(crate) fn pending(&self) -> usize {
        self.lists.pending() + self.resolved.pending()
    }

    /// A number that changes whenever a cached upstream answer may have changed.
    pub(crate) fn changes(&self) -> u64 {
        self.lists.answers_cached() + self.resolved.answers_cached()
    }
}

/// Stored ∪ pool-vouched ∪ upstream versions of `module`, in semver order.
pub(super) async fn list(
    inner: &Arc<Inner>,
    module: &ModulePath,
) -> Result<Vec<Version>, FetchError> {
    let mut versions = known_versions(inner, module).await?;
    versions.retain(|version| !version.is_pseudo());
    if inner.config.offline {
        return match versions.is_empty() {
            true => Err(offline(module, LIST_KEY)),
            false => Ok(versions),
        };
    }
    match upstream_versions(inner, module).await {
        Ok(upstream) => versions.extend(upstream),
        Err(err) => {
            learn_absent(inner, module, &err);
            if !err.is_not_found() || versions.is_empty() {
                return Err(err);
            }
        }
    }
    versions.sort();
    versions.dedup();
    Ok(versions)
}

/// The canonical version `query` resolves to (cached).
pub(super) async fn resolve_query(
    inner: &Arc<Inner>,
    module: &ModulePath,
    query: &str,
) -> Result<Version, FetchError> {
    if inner.config.offline {
        return Err(offline(module, query));
    }
    let key = (module.clone(), query.to_owned());
    let module_of_key = module.clone();
    let this = Arc::clone(inner);
    let (module, query) = (module.clone(), query.to_owned());
    let ask = move || async move {
        let (inner, module, query) = (&*this, &module, query.as_str());
        let proxy = |client, base| -> BoxFuture<'_, _> {
            Box::pin(proxy_resolve(client, base, module, query))
        };
        let go =
            |goproxy| -> BoxFuture<'_, _> { Box::pin(go_resolve(inner, module, query, goproxy)) };
        let upstream = match inner.absent.reason(module) {
            Some(reason) => Err(FetchError::not_found(module, query, reason)),
            None => inner.walk_upstream(module, query, proxy, go).await,
        };
        match (&upstream, inner.peers_for(module)) {
            (Err(_), Some(peers)) => match peers.resolve_through(module, query).await {
                Some(Ok(version)) => Ok(version),
                Some(Err(reason)) => Err(FetchError::not_found(module, query, member(&reason))),
                None => upstream,
            },
            _ => upstream,
        }
    };
    let resolved = inner.queries.resolved.get(key, &inner.counters, ask).await;
    if let Err(err) = &resolved {
        learn_absent(inner, &module_of_key, err);
    }
    resolved
}

/// Remembers `module`'s host when `err` says it does not resolve.
fn learn_absent(inner: &Inner, module: &ModulePath, err: &FetchError) {
    if let FetchError::NotFound { reason, .. } = err {
        inner.absent.learn(module, reason);
    }
}

/// The `@latest` version: the upstream's answer, else the highest stored version.
pub(super) async fn latest(inner: &Arc<Inner>, module: &ModulePath) -> Result<Version, FetchError> {
    let failure = match inner.config.offline {
        true => offline(module, "latest"),
        false => match resolve_query(inner, module, "latest").await {
            Ok(version) => return Ok(version),
            Err(err) if err.is_not_found() => err,
            Err(err) => return Err(err),
        },
    };
    let stored = known_versions(inner, module).await?;
    let release = stored.iter().filter(|v| v.prerelease().is_none()).max();
    release.or(stored.iter().max()).cloned().ok_or(failure)
}

/// The versions of `module` in the store or vouched for by the pool, sorted, no repeats.
async fn known_versions(inner: &Inner, module: &ModulePath) -> Result<Vec<Version>, FetchError> {
    let mut versions = stored_versions(inner, module).await?;
    let vouched = inner.peer_versions(module, &versions).await;
    if !vouched.is_empty() {
        versions.extend(vouched);
        versions.sort();
        versions.dedup();
    }
    Ok(versions)
}

/// The versions of `module` in the store, in semver order.
async fn stored_versions(inner: &Inner, module: &ModulePath) -> Result<Vec<Version>, FetchError> {
    let (index, module) = (Arc::clone(&inner.index), module.clone());
    tokio::task::spawn_blocking(move || index.list_versions(&module))
        .await
        .map_err(|_| FetchError::TaskFailed)?
        .map_err(FetchError::from)
}

/// The upstream's tagged versions of `module` (cached).
async fn upstream_versions(
    inner: &Arc<Inner>,
    module: &ModulePath,
) -> Result<Vec<Version>, FetchError> {
    let this = Arc::clone(inner);
    let owned = module.clone();
    let ask = move || async move {
        let (inner, module) = (&*this, &owned);
        let proxy =
            |client, base| -> BoxFuture<'_, _> { Box::pin(proxy_list(client, base, module)) };
        let go =
            |goproxy| -> BoxFuture<'_, _> { Box::pin(go_list_versions(inner, module, goproxy)) };
        let upstream = match inner.absent.reason(module) {
            Some(reason) => Err(FetchError::not_found(module, LIST_KEY, reason)),
            None => inner.walk_upstream(module, LIST_KEY, proxy, go).await,
        };
        match (&upstream, inner.peers_for(module)) {
            (Err(_), Some(peers)) => match peers.list_through(module).await {
                Some(Ok(versions)) => Ok(versions),
                Some(Err(reason)) => Err(FetchError::not_found(module, LIST_KEY, member(&reason))),
                None => upstream,
            },
            _ => upstream,
        }
    };
    inner
        .queries
        .lists
        .get(module.clone(), &inner.counters, ask)
        .await
}

/// `go list -m -versions -retracted -json -e module`.
async fn go_list_versions(
    inner: &Inner,
    module: &ModulePath,
    goproxy: Option<&str>,
) -> Result<Vec<Version>, FetchError> {
    let args = [
        "list",
        "-m",
        "-versions",
        "-retracted",
        "-json",
        "-e",
        module.as_str(),
    ];
    let listed = go_list(inner, module, LIST_KEY, &args, goproxy).await?;
    let mut versions: Vec<Version> = listed
        .versions
        .iter()
        .filter_map(|text| Version::parse(text).ok())
        .filter(|v| v.is_canonical() && !v.is_pseudo())
        .filter(|v| check_path_version(module, v).is_ok())
        .collect();
    versions.sort();
    Ok(versions)
}

/// `go list -m -json -e module@query`: the canonical version it names.
async fn go_resolve(
    inner: &Inner,
    module: &ModulePath,
    query: &str,
    goproxy: Option<&str>,
) -> Result<Version, FetchError> {
    let arg = format!("{module}@{query}");
    let args = ["list", "-m", "-json", "-e", &arg];
    let listed = go_list(inner, module, query, &args, goproxy).await?;
    let version = Version::parse(&listed.version)
        .ok()
        .filter(Version::is_canonical)
        .ok_or_else(|| {
            let reason = format!("go resolved to {:?}", listed.version);
            FetchError::not_found(module, query, reason)
        })?;
    check_path_version(module, &version)
        .map_err(|err| FetchError::not_found(module, query, err.to_string()))?;
    Ok(version)
}

/// Runs one `go list -m -json -e` and returns its object for `module`; a reported error
/// is a "not found".
async fn go_list(
    inner: &Inner,
    module: &ModulePath,
    query: &str,
    args: &[&str],
    goproxy: Option<&str>,
) -> Result<ListedModule, FetchError> {
    let run = inner.go.run_with_goproxy(args, goproxy).await;
    let output = match run? {
        GoRun::Finished(output, _cache) => output,
        GoRun::TimedOut(timeout) => {
            return Err(FetchError::TimedOut {
                module: module.clone(),
                query: query.to_owned(),
                timeout,
            });
        }
    };
    let stderr = one_line(&String::from_utf8_lossy(&output.stderr));
    let listed = parse_stream::<ListedModule>(&output.stdout)
        .ok()
        .and_then(|mut objects| (!objects.is_empty()).then(|| objects.swap_remove(0)));
    let missing = |reason: String| FetchError::not_found(module, query, reason);
    match listed {
        Some(listed) if listed.path != module.as_str() => {
            Err(missing(format!("go answered for {}", listed.path)))
        }
        Some(ListedModule {
            error: Some(error), ..
        }) => Err(missing(error.err)),
        Some(listed) => Ok(listed),
        None => Err(missing(stderr)),
    }
}

/// A trusted member's "not found", as the node says it.
fn member(reason: &str) -> String {
    format!("{reason} (answered by a trusted pool member)")
}

fn offline(module: &ModulePath, query: &str) -> FetchError {
    FetchError::Offline {
        module: module.clone(),
        query: query.to_owned(),
    }
}
