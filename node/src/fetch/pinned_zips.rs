//! [`PinnedZips`]: where a fill from an upstream proxy or from pool peers hands the zip it
//! just pinned, mapped from the file it wrote, so that the first client to ask for it (`go`
//! asks for the zip after the `.info` and `.mod` that started the fill) is served without the
//! zip being hashed a third time. Its bytes were hashed for the blob's name (as they were
//! written, or read back at the pin) and again by the `h1:` check; a blob stored before this
//! process started is still checked when first mapped.

use axum::body::Bytes;
use delos_pool_protocol::hash::Sha256;
use delos_registry_index::{MappedBlob, StagedBlob};

/// Takes zips that fills pinned: the HTTP layer's zip maps.
pub(crate) trait PinnedZips: Send + Sync + std::fmt::Debug {
    /// Whether a zip of `size` bytes would be kept (else the fill does not map it).
    fn keeps(&self, size: u64) -> bool;

    /// `zip`, whose bytes hash to `sha256` as the fill wrote them, is pinned now.
    fn pinned(&self, sha256: Sha256, zip: Bytes);
}

/// `staged` mapped as it was written, to hand over once pinned; `None` when it cannot be
/// mapped (it is then mapped and checked when first served, like any stored zip).
pub(crate) fn mapped_as_written(staged: &StagedBlob) -> Option<MappedBlob> {
    staged
        .map_written()
        .inspect_err(|err| tracing::debug!(error = %err, "cannot map a pinned zip"))
        .ok()
}
