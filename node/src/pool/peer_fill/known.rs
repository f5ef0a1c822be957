//! Pool knowledge in queries: the versions of a module that stored records vouch for under the
//! trust policy, so `list` and `@latest` answer on a node without VCS access.

use std::collections::BTreeMap;
use std::sync::Arc;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::{TrustPolicy, Verdict};
use delos_pool_protocol::version::Version;
use delos_registry_index::Index;

/// The versions of `module` not among `pinned` (the versions the store holds, as listed by the
/// caller) whose stored records the trust policy accepts, in semver order; empty when the
/// records cannot be read. (The fill path asks only
/// for public modules, and lists these together with the pinned ones.)
///
/// The records of pinned versions are not read: they could only name a version the list has
/// already, and verifying each record's signature again is what a `list` of a module with
/// thousands of pinned versions would otherwise spend its time on.
pub(super) async fn versions(
    index: &Arc<Index>,
    trust: &TrustPolicy,
    module: &ModulePath,
    pinned: &[Version],
) -> Vec<Version> {
    let (index, owned, pinned) = (Arc::clone(index), module.clone(), pinned.to_vec());
    let read = tokio::task::spawn_blocking(move || {
        index
            .records()
            .for_module_except(&owned, &pinned)
            .map_err(|err| err.to_string())
    })
    .await;
    match read {
        Ok(Ok(records)) => accepted_versions(trust, module, &records),
        Ok(Err(err)) => {
            tracing::warn!(%module, error = %err, "cannot read the pool's records");
            Vec::new()
        }
        Err(_) => Vec::new(),
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
