//! Walking the `--upstream` list as `go` walks GOPROXY: each proxy over HTTP, `direct` (and
//! what follows) through `go`, `off` stops; after `,` the next entry only on "not found", after
//! `|` on any error. Fills and queries both walk it.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use futures::future::BoxFuture;

use super::from_proxy::{ProxyFill, SumPolicy};
use super::from_vcs::{self, Request};
use super::goproxy_list::Entry;
use super::{FetchError, Filled, Inner};
use crate::http_client::HttpClient;

impl Inner {
    /// The fill from the `--upstream` list (see [`Self::walk_upstream`]).
    pub(super) async fn fill_from_upstream<'a>(
        &'a self,
        request: &'a Request,
    ) -> Result<Filled, FetchError> {
        let version = Version::parse(&request.query)
            .ok()
            .filter(Version::is_canonical);
        let go = |goproxy: Option<&'a str>| -> BoxFuture<'a, _> {
            Box::pin(from_vcs::fill(
                &self.go,
                &self.index,
                request.clone(),
                goproxy,
            ))
        };
        let Some(version) = version else {
            return go(None).await;
        };
        let proxy = |client: &'a HttpClient, base: &'a str| -> BoxFuture<'a, _> {
            let version = version.clone();
            let fill = ProxyFill {
                client,
                index: &self.index,
                sums: self.sum_policy(),
                zip_timeout: self.config.timeout,
                counters: &self.counters,
                live: &self.live,
                metadata: &self.metadata,
                suspects: &self.suspects,
                pinned_zips: self.pinned_zips.get(),
                foreground: &self.foreground,
            };
            Box::pin(async move { fill.fill(base, &request.module, &version).await })
        };
        self.walk_upstream(&request.module, &request.query, proxy, go)
            .await
    }

    /// Asks the `--upstream` list about `module@query`, with `go`'s GOPROXY rules: each proxy
    /// over HTTP with `proxy` (after `,` the next entry only on "not found", after `|` on any
    /// error), `direct` (and what follows) with `go`, `off` stops. Private modules, and a node
    /// without an HTTP client attached, leave the whole list to `go`.
    pub(super) async fn walk_upstream<'a, T>(
        &'a self,
        module: &ModulePath,
        query: &str,
        proxy: impl Fn(&'a HttpClient, &'a str) -> BoxFuture<'a, Result<T, FetchError>>,
        go: impl FnOnce(Option<&'a str>) -> BoxFuture<'a, Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        let client = self
            .http
            .get()
            .filter(|_| self.upstream.has_proxies())
            .filter(|_| !self.private.matches(module.as_str()));
        let Some(client) = client else {
            return go(None).await;
        };
        let mut failure = None;
        for step in self.upstream.steps() {
            let tried = match &step.entry {
                Entry::Proxy(base) => proxy(client, base).await,
                Entry::Go(rest) => return go(Some(rest)).await,
                Entry::Off => return Err(lookup_disabled(module, query)),
            };
            match tried {
                Ok(answer) => return Ok(answer),
                Err(err) if err.is_not_found() || step.on_any_error => failure = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(failure.unwrap_or_else(|| lookup_disabled(module, query)))
    }

    /// How an upstream proxy's hashes are checked: not with `--gosumdb off`, else against
    /// the attached database, else not at all possible (fail closed).
    pub(super) fn sum_policy(&self) -> SumPolicy<'_> {
        if self.config.gosumdb.trim() == "off" {
            return SumPolicy::Off;
        }
        match self.sums.get() {
            Some(sums) => SumPolicy::Check(sums.as_ref()),
            None => SumPolicy::Unverifiable,
        }
    }
}

/// What `go` says when the GOPROXY list ends in `off` (or is empty).
fn lookup_disabled(module: &ModulePath, query: &str) -> FetchError {
    let reason = "module lookup disabled by GOPROXY=off";
    FetchError::not_found(module, query, reason)
}
