//! [`ZipMaps`]: stored zips kept mapped read-only, each checked against its sha256 once, when
//! it is mapped, then handed to response bodies as they are (no read, no copy in the node).
//! A zip a fill from an upstream proxy or from peers just pinned comes mapped from the fill,
//! which hashed its bytes for the blob's name as it wrote or pinned them ([`PinnedZips`]),
//! and is not hashed again.
//!
//! Checking at the first serve (and again after an eviction) rather than on every read is what
//! makes a warm zip cost no more than the socket's own copy; a blob that was corrupted on disk
//! is caught the first time it is served after a start, moved aside and answered 500, never
//! sent. A blob changed in place while mapped is outside the store's contract (blobs are never
//! written after they are renamed into place); `delos verify` finds it.

use std::sync::Arc;

use bytes::Bytes;
use delos_pool_protocol::hash::Sha256;
use delos_registry_index::{BlobError, Index};
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};

use crate::fetch::PinnedZips;
use crate::http::error::ApiError;
use crate::telemetry::HttpMetrics;

/// What a map costs beyond its bytes, so many tiny zips cannot exhaust the process's map
/// count (`vm.max_map_count`, 65,530 by default): at most one map per 256 KiB of budget.
const MAP_OVERHEAD_BYTES: u64 = 256 << 10;

#[derive(Debug, Clone)]
struct ByLength;

impl Weighter<Sha256, Bytes> for ByLength {
    fn weight(&self, _: &Sha256, map: &Bytes) -> u64 {
        map.len() as u64 + MAP_OVERHEAD_BYTES
    }
}

/// Zips kept mapped, by blob sha256, within a budget of bytes.
#[derive(Debug)]
pub(crate) struct ZipMaps {
    /// `None` when `--mapped-zips-mib` is 0.
    maps: Option<Cache<Sha256, Bytes, ByLength>>,
    index: Arc<Index>,
    metrics: HttpMetrics,
}

impl ZipMaps {
    /// Maps within `capacity` bytes of `index`'s blobs.
    pub(crate) fn new(capacity: u64, index: Arc<Index>, metrics: HttpMetrics) -> ZipMaps {
        let items = usize::try_from(capacity / MAP_OVERHEAD_BYTES)
            .unwrap_or(usize::MAX)
            .max(1);
        // One shard: its whole budget is open to one large zip (Go allows 500 MiB).
        let options = OptionsBuilder::new()
            .estimated_items_capacity(items)
            .weight_capacity(capacity)
            .shards(1)
            .build();
        let maps = options.ok().filter(|_| capacity > 0).map(|options| {
            Cache::with_options(options, ByLength, Default::default(), Default::default())
        });
        ZipMaps {
            maps,
            index,
            metrics,
        }
    }

    /// Whether a zip of `size` bytes can be kept at all (maps are on and it fits their budget).
    fn fits(&self, size: u64) -> Option<&Cache<Sha256, Bytes, ByLength>> {
        let maps = self.maps.as_ref()?;
        (size.saturating_add(MAP_OVERHEAD_BYTES) <= maps.capacity()).then_some(maps)
    }

    /// The bytes of the stored zip `sha256` of `size` bytes, mapped (and checked when first
    /// mapped); `None` when maps are off or the zip is larger than their whole budget.
    pub(crate) async fn get(&self, sha256: &Sha256, size: u64) -> Result<Option<Bytes>, ApiError> {
        let Some(maps) = self.fits(size) else {
            return Ok(None);
        };
        if let Some(bytes) = maps.get(sha256) {
            return Ok(Some(bytes));
        }
        let map = async {
            let (index, sha256) = (Arc::clone(&self.index), *sha256);
            let mapped = tokio::task::spawn_blocking(move || index.blobs().map_verified(&sha256))
                .await?
                .inspect_err(|err| {
                    if matches!(err, BlobError::CorruptBlob(_)) {
                        self.metrics.corrupt_blob_found();
                    }
                })?;
            self.metrics.zip_mapped();
            Ok::<_, ApiError>(Bytes::from_owner(mapped))
        };
        maps.get_or_insert_async(sha256, map).await.map(Some)
    }
}

impl PinnedZips for ZipMaps {
    fn keeps(&self, size: u64) -> bool {
        self.fits(size).is_some()
    }

    fn pinned(&self, sha256: Sha256, zip: Bytes) {
        if let Some(maps) = self.fits(zip.len() as u64) {
            maps.insert(sha256, zip);
            self.metrics.zip_mapped_by_fill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_zip_a_fill_hands_over_is_served_from_its_map_and_only_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(Index::open(dir.path()).unwrap());
        let zip = Bytes::from_static(b"PK\x03\x04 the bytes a fill wrote and hashed");
        let sha256 = Sha256::digest(&zip);
        let size = zip.len() as u64;

        let metrics = HttpMetrics::default();
        let maps = ZipMaps::new(1 << 20, Arc::clone(&index), metrics.clone());
        maps.pinned(sha256, zip.clone());
        // Not in the store: only the map handed over can answer.
        assert_eq!(maps.get(&sha256, size).await.unwrap(), Some(zip.clone()));

        assert!(maps.keeps(size));

        // A fill maps nothing for maps that would not keep it, and such maps serve none.
        let off = ZipMaps::new(0, Arc::clone(&index), metrics.clone());
        assert!(!off.keeps(size), "maps off");
        off.pinned(sha256, zip.clone());
        assert_eq!(off.get(&sha256, size).await.unwrap(), None, "maps off");

        let small = ZipMaps::new(MAP_OVERHEAD_BYTES, index, metrics);
        assert!(!small.keeps(size), "over the budget");
        small.pinned(sha256, zip);
        assert!(
            small.get(&sha256, size).await.unwrap().is_none(),
            "over the budget: streamed from the store, where it is not"
        );
    }
}
