//! Mirrors of pool members' logs (`--mirror-log`): a relayed database read over the pool, whose
//! every full tile, and the widest partial tile of each position, is kept in the store and
//! whose records are indexed, so the node answers `go` clients' lookups and tiles from its copy
//! while the log's writer is down, and answers other members asking for the log over the pool. A mirror serves the writer's
//! signed heads; it never signs one as the writer (its witness cosignature is its own key).

use std::sync::Arc;

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{
    GO_TILE_HEIGHT, Lookup, SignedTreeHead, Tile, TileLevel, new_tiles, parse_data_tile,
};
use delos_pool_protocol::version::Version;

use super::request::{Endpoint, RelayRequest};
use super::upstream::PoolLogs;
use super::{DbState, Relay, RelayError};

/// What one sync of a mirrored log did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorSync {
    /// The size of the newest verified head after the sync.
    pub size: u64,
    /// Records indexed by this sync.
    pub indexed: u64,
}

impl Relay {
    /// Reads mirrored logs (`Database::pool_mirror`) over `pool`. Call before the relay is
    /// cloned; a shared relay is left as it is.
    pub fn with_pool_logs(mut self, pool: Arc<dyn PoolLogs>) -> Relay {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.upstream.set_pool(pool);
        }
        self
    }

    /// The verifier keys (`name+hash+key`) of the logs this node mirrors.
    pub fn mirrored_logs(&self) -> Vec<String> {
        self.inner
            .databases
            .iter()
            .filter(|db| db.db.is_pool_mirror())
            .map(|db| db.verifier_text.clone())
            .collect()
    }

    /// Brings the copy of the mirrored log `verifier` up to its newest head: `offered` (a
    /// signed head gossiped in the pool) or else the one members answer for `latest`, accepted
    /// only once proved consistent with the newest one verified; then every tile up to it,
    /// each checked against it and kept, and its records indexed for lookups.
    pub async fn sync_mirror(
        &self,
        verifier: &str,
        offered: Option<&[u8]>,
    ) -> Result<MirrorSync, RelayError> {
        let db = self
            .inner
            .databases
            .iter()
            .find(|db| db.db.is_pool_mirror() && db.verifier_text == verifier)
            .ok_or_else(|| super::RequestError::UnknownDatabase {
                path: verifier.chars().take(200).collect(),
            })?;
        self.believed(db)?;
        match offered.map(|note| (note, SignedTreeHead::open(note, &db.verifiers))) {
            Some((note, Ok(signed))) => self.accept_head(db, signed.head(), note).await?,
            Some((_, Err(err))) => return Err(self.refuse(db, "tree head", err)),
            None => {
                self.latest(db).await?;
            }
        }
        let Some(head) = db.newest() else {
            return Ok(MirrorSync {
                size: 0,
                indexed: 0,
            });
        };
        let size = head.tree.size();
        let name = db.name().to_owned();
        let synced = self
            .blocking(move |index| index.sumdb_cache().mirror_synced(&name))
            .await?;
        if synced >= size {
            return Ok(MirrorSync { size, indexed: 0 });
        }
        // Every hash tile that is new or wider since the indexed size, and its data tile.
        for tile in new_tiles(GO_TILE_HEIGHT, synced, size) {
            self.tile(db, tile).await?;
            if let Some(data) = tile.data_tile() {
                self.tile(db, data).await?;
            }
        }
        let indexed = self.index_records(db, synced, size).await?;
        Ok(MirrorSync { size, indexed })
    }

    /// Indexes records `from..size` of a mirrored log from its kept data tiles.
    async fn index_records(&self, db: &DbState, from: u64, size: u64) -> Result<u64, RelayError> {
        let width = 1u64 << GO_TILE_HEIGHT;
        let mut at = from;
        while at < size {
            let tile_index = at / width;
            let tile_width = (size - tile_index * width).min(width);
            let tile = data_tile(db, self, tile_index, tile_width)?;
            let Some(bytes) = self.cached_tile(db, &tile).await? else {
                return Err(db.refused("tile", format!("{} was not kept", tile.path())));
            };
            let records = parse_data_tile(&tile, &bytes).map_err(|e| self.refuse(db, "tile", e))?;
            let skip = (at - tile_index * width) as usize;
            let names: Vec<(String, String)> = records
                .iter()
                .skip(skip)
                .map(|record| module_version(record.as_str()))
                .collect();
            let (name, first) = (db.name().to_owned(), at);
            let moved = self
                .blocking(move |index| {
                    index
                        .sumdb_cache()
                        .index_mirror_records(&name, first, &names)
                })
                .await?;
            if !moved {
                // Another sync indexed these meanwhile.
                break;
            }
            at = tile_index * width + tile_width;
        }
        Ok(at.saturating_sub(from))
    }

    /// A lookup answered from the copy of a mirrored log: the record's id, the record from its
    /// kept data tile, and the newest verified head (which contains it). `None` when the copy
    /// does not hold the version.
    pub(super) async fn mirror_lookup(
        &self,
        db: &DbState,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Option<Bytes>, RelayError> {
        let Some(head) = db.newest() else {
            return Ok(None);
        };
        let (name, m, v) = (
            db.name().to_owned(),
            module.as_str().to_owned(),
            version.as_str().to_owned(),
        );
        let id = self
            .blocking(move |index| index.sumdb_cache().mirror_record_id(&name, &m, &v))
            .await?;
        let Some(id) = id.filter(|&id| id < head.tree.size()) else {
            return Ok(None);
        };
        let width = 1u64 << GO_TILE_HEIGHT;
        let tile_index = id / width;
        let tile_width = (head.tree.size() - tile_index * width).min(width);
        let tile = data_tile(db, self, tile_index, tile_width)?;
        let Some(bytes) = self.cached_tile(db, &tile).await? else {
            return Ok(None);
        };
        let records = parse_data_tile(&tile, &bytes).map_err(|e| self.refuse(db, "tile", e))?;
        let Some(record) = records.into_iter().nth((id - tile_index * width) as usize) else {
            return Ok(None);
        };
        Ok(Some(Bytes::from(
            Lookup::new(id, record, head.note.to_vec()).to_bytes(),
        )))
    }

    /// Answers a pool member's request for `path` of the log named `log`, when this node
    /// mirrors it, from what it holds (nothing is fetched). `None`: not mirrored here, or not
    /// held; private modules' lookups are never answered.
    pub async fn answer_member(
        &self,
        log: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, RelayError> {
        let Some(db) = self
            .inner
            .databases
            .iter()
            .find(|db| db.db.is_pool_mirror() && db.name() == log)
        else {
            return Ok(None);
        };
        if self.believed(db).is_err() {
            return Ok(None);
        }
        let full = format!("{log}/{path}");
        let Ok(request) = RelayRequest::parse(&full, [log]) else {
            return Ok(None);
        };
        match request.endpoint {
            Endpoint::Supported => Ok(None),
            Endpoint::Latest => Ok(db.newest().map(|head| head.note.to_vec())),
            Endpoint::Tile(tile) => Ok(self.cached_tile(db, &tile).await?.map(|b| b.to_vec())),
            Endpoint::Lookup {
                module, version, ..
            } => {
                if self.inner.private.matches(module.as_str()) {
                    return Ok(None);
                }
                Ok(self
                    .mirror_lookup(db, &module, &version)
                    .await?
                    .map(|b| b.to_vec()))
            }
        }
    }
}

/// The data tile `index` of `width` records.
fn data_tile(db: &DbState, relay: &Relay, index: u64, width: u64) -> Result<Tile, RelayError> {
    Tile::new(GO_TILE_HEIGHT, TileLevel::Data, index, width as u32)
        .map_err(|e| relay.refuse(db, "tile", e))
}

/// The module path and version a record is of: the first two fields of its first line (a
/// `/go.mod` suffix dropped).
fn module_version(record: &str) -> (String, String) {
    let mut fields = record.lines().next().unwrap_or_default().split(' ');
    let module = fields.next().unwrap_or_default().to_owned();
    let version = fields.next().unwrap_or_default();
    let version = version
        .strip_suffix("/go.mod")
        .unwrap_or(version)
        .to_owned();
    (module, version)
}

#[cfg(test)]
mod tests {
    use super::module_version;

    #[test]
    fn a_records_module_and_version_come_from_its_first_line() {
        let record = "example.org/m v1.0.0 h1:x=\nexample.org/m v1.0.0/go.mod h1:y=\n";
        assert_eq!(
            module_version(record),
            ("example.org/m".to_owned(), "v1.0.0".to_owned())
        );
        let mod_only = "example.org/m v1.0.0/go.mod h1:y=\n";
        assert_eq!(module_version(mod_only).1, "v1.0.0");
    }
}
