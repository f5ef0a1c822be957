//! What the node's checksum database answers: the latest signed head, lookups (appending a
//! version pinned whole first, when the log does not hold it yet) and tiles of the latest head.

use std::sync::Arc;

use axum::body::Bytes;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{Lookup, Tile};
use delos_pool_protocol::version::Version;
use delos_registry_index::LogError;

use super::{ChecksumDb, ChecksumDbError};

impl ChecksumDb {
    /// The signed head of the log as it is now (`/latest`).
    pub async fn latest(&self) -> Result<Vec<u8>, ChecksumDbError> {
        Ok(self.sign_latest().await?.1)
    }

    /// The lookup body of `module@version` already answered once, from memory.
    pub fn cached_lookup(&self, module: &ModulePath, version: &Version) -> Option<Bytes> {
        let key = (module.clone(), version.clone());
        self.inner.lookups.get(&key).map(|(body, _)| body)
    }

    /// The lookup body of `module@version` (`/lookup/…`): its record id, its record and a head
    /// that covers it. A version pinned whole but not logged yet is appended first. `None`:
    /// the version is not pinned whole (the caller fills it first, or answers 404).
    pub async fn lookup(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Option<Bytes>, ChecksumDbError> {
        let (index, m, v) = (Arc::clone(self.index()), module.clone(), version.clone());
        let logged = tokio::task::spawn_blocking(move || {
            let log = index.checksum_log();
            let id = match log.id_of(&m, &v)? {
                Some(id) => id,
                None => match log.append(&[(m.clone(), v.clone())]) {
                    // Appended now, or just before by the appender.
                    Ok(_) => match log.id_of(&m, &v)? {
                        Some(id) => id,
                        None => return Ok(None),
                    },
                    Err(LogError::NotPinned(_) | LogError::NoZip(_)) => return Ok(None),
                    Err(err) => return Err(err),
                },
            };
            Ok(log.record(id)?.map(|record| (id, record)))
        })
        .await
        .map_err(|_| ChecksumDbError::Task)??;
        let Some((id, record)) = logged else {
            return Ok(None);
        };
        let (_, head) = self.sign_latest().await?;
        let body = Bytes::from(Lookup::new(id, record, head).to_bytes());
        let key = (module.clone(), version.clone());
        self.inner.lookups.insert(key, body.clone());
        Ok(Some(body))
    }

    /// The bytes of `tile` in the tree of the latest head (`/tile/…`); `None` when it is not
    /// part of that tree.
    pub async fn tile(&self, tile: Tile) -> Result<Option<Vec<u8>>, ChecksumDbError> {
        let (size, _) = self.sign_latest().await?;
        let index = Arc::clone(self.index());
        tokio::task::spawn_blocking(move || index.checksum_log().tile(&tile, size))
            .await
            .map_err(|_| ChecksumDbError::Task)?
            .map_err(ChecksumDbError::from)
    }
}
