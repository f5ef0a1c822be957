//! Pool knowledge in queries: the versions of a module that stored records vouch for under the
//! trust policy, so `list` and `@latest` answer on a node without VCS access.

use std::collections::BTreeMap;
use std::sync::Arc;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::{TrustPolicy, Verdict};
use delos_pool_protocol::version::Version;

impl crate::fetch::Inner {
    /// The versions of `module` whose records the trust policy accepts, in semver order;
    /// empty without a pool, for private modules, or when the records cannot be read.
    pub(in crate::fetch) async fn pool_versions(&self, module: &ModulePath) -> Vec<Version> {
        let Some(link) = self.pool.get() else {
            return Vec::new();
        };
        if self.private.matches(module.as_str()) {
            return Vec::new();
        }
        let (index, owned) = (Arc::clone(&self.index), module.clone());
        let read = tokio::task::spawn_blocking(move || index.records().for_module(&owned)).await;
        match read {
            Ok(Ok(records)) => accepted_versions(link.trust(), module, &records),
            Ok(Err(err)) => {
                tracing::warn!(%module, error = %err, "cannot read the pool's records");
                Vec::new()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// The versions among `records` (all about `module`) for which `trust` accepts some hashes.
pub(super) fn accepted_versions(
    trust: &TrustPolicy,
    module: &ModulePath,
    records: &[VerifiedRecord],
) -> Vec<Version> {
    let mut by_version: BTreeMap<Version, Vec<VerifiedRecord>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.record().module() == module) {
        let version = record.record().version().clone();
        by_version.entry(version).or_default().push(record.clone());
    }
    by_version
        .into_iter()
        .filter(|(version, records)| {
            matches!(
                trust.verdict(module, version, records),
                Verdict::Accepted { .. }
            )
        })
        .map(|(version, _)| version)
        .collect()
}
