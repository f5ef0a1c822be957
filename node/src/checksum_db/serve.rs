//! What the node's checksum database answers: the latest signed head, lookups (checking and
//! appending a version pinned whole first, when the log does not hold it yet) and tiles of
//! the latest head.

use std::sync::Arc;

use axum::body::Bytes;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{Lookup, RecordText, Tile};
use delos_pool_protocol::version::Version;
use delos_registry_index::{LogError, PublicConflict};

use super::{ChecksumDb, ChecksumDbError, appender};

/// What the database answers for a lookup.
#[derive(Debug)]
pub enum OwnLookup {
    /// The lookup body: the record's id, the record, a signed head that covers it.
    Found(Bytes),
    /// The version is not pinned whole (the caller fills it first, or answers 404).
    NotFound,
    /// The public database records other hashes: the version stays out of the log.
    Contradicted(Box<PublicConflict>),
    /// The version could not be checked against the public database yet (why).
    Unchecked(String),
}

/// Where a version stands with the log.
enum LogState {
    Logged(u64, RecordText),
    Contradicted(Box<PublicConflict>),
    /// Pinned whole, not in the log.
    Out,
    /// Not pinned, or pinned without its zip.
    NotWhole,
}

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

    /// The lookup of `module@version` (`/lookup/…`): its record id, its record and a head
    /// that covers it. A version pinned whole but not logged yet is checked (with a public
    /// check) and appended first.
    pub async fn lookup(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<OwnLookup, ChecksumDbError> {
        let state = self.log_state(module, version).await?;
        let (id, record) = match state {
            LogState::Logged(id, record) => (id, record),
            LogState::Contradicted(conflict) => return Ok(OwnLookup::Contradicted(conflict)),
            LogState::NotWhole => return Ok(OwnLookup::NotFound),
            LogState::Out => {
                let wanted = vec![(module.clone(), version.clone())];
                let admitted = appender::admit(&self.inner, wanted).await?;
                if admitted.is_empty() {
                    return Ok(match self.log_state(module, version).await? {
                        LogState::Contradicted(conflict) => OwnLookup::Contradicted(conflict),
                        _ => OwnLookup::Unchecked(self.unchecked_reason(module, version)),
                    });
                }
                let index = Arc::clone(self.index());
                tokio::task::spawn_blocking(move || index.checksum_log().append(&admitted))
                    .await
                    .map_err(|_| ChecksumDbError::Task)??;
                match self.log_state(module, version).await? {
                    LogState::Logged(id, record) => (id, record),
                    _ => return Ok(OwnLookup::NotFound),
                }
            }
        };
        let (_, head) = self.sign_latest().await?;
        let body = Bytes::from(Lookup::new(id, record, head).to_bytes());
        let key = (module.clone(), version.clone());
        self.inner.lookups.insert(key, body.clone());
        Ok(OwnLookup::Found(body))
    }

    /// Where `module@version` stands with the log.
    async fn log_state(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<LogState, ChecksumDbError> {
        let (index, m, v) = (Arc::clone(self.index()), module.clone(), version.clone());
        tokio::task::spawn_blocking(move || {
            let log = index.checksum_log();
            if let Some(id) = log.id_of(&m, &v)? {
                return match log.record(id)? {
                    Some(record) => Ok(LogState::Logged(id, record)),
                    None => Ok(LogState::NotWhole),
                };
            }
            if let Some(conflict) = log.public_conflict(&m, &v)? {
                return Ok(LogState::Contradicted(Box::new(conflict)));
            }
            match log.pinned_record(&m, &v) {
                Ok(_) => Ok(LogState::Out),
                Err(LogError::NotPinned(_) | LogError::NoZip(_)) => Ok(LogState::NotWhole),
                Err(err) => Err(err),
            }
        })
        .await
        .map_err(|_| ChecksumDbError::Task)?
        .map_err(ChecksumDbError::from)
    }

    fn unchecked_reason(&self, module: &ModulePath, version: &Version) -> String {
        self.inner
            .unchecked()
            .get(&(module.clone(), version.clone()))
            .cloned()
            .unwrap_or_else(|| String::from("not checked yet"))
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
