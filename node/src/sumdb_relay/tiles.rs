//! Tiles: fetching what a [`TilePlan`] lists (memory, then store, then the database), checking
//! it against a tree, keeping what checked, and serving `tile/…` requests.

use axum::body::Bytes;
use delos_pool_protocol::sumdb::{CheckedTiles, GO_TILE_HEIGHT, Hash, Tile, TileLevel, TilePlan};

use delos_registry_index::TilePosition;

use super::{Answer, BINARY_CONTENT_TYPE, DbState, Relay, RelayError, TEXT_CONTENT_TYPE};

/// The most bytes of a data tile fetched (256 records).
const MAX_DATA_TILE_BYTES: usize = 8 << 20;

impl Relay {
    /// `tile/…`: a hash tile is read from checked tiles of a verified tree that contains it; a
    /// data tile is fetched and its records checked against that tree's leaves.
    pub(super) async fn tile(&self, db: &DbState, tile: Tile) -> Result<Answer, RelayError> {
        let content_type = match tile.level() {
            TileLevel::Data => TEXT_CONTENT_TYPE,
            TileLevel::Hashes(_) => BINARY_CONTENT_TYPE,
        };
        let answer = |body| Answer { body, content_type };
        if let Some(body) = self.cached_tile(db, &tile).await? {
            self.inner.stats.cache_hit();
            return Ok(answer(body));
        }
        if tile.height() != GO_TILE_HEIGHT {
            return Err(not_found(db, &tile));
        }
        let tree = self.tree_with(db, &tile).await?;
        let plan = TilePlan::for_tile(tree, &tile).map_err(|e| self.refuse(db, "tile", e))?;
        let checked = self.checked_tiles(db, plan, true).await?;
        let body = match tile.level() {
            TileLevel::Data => {
                let data = self.fetch_tile(db, &tile).await?;
                checked
                    .check_tile(&tile, &data)
                    .map_err(|e| self.refuse(db, "tile", e))?;
                self.keep_tile(db, &tile, data.clone()).await?;
                data
            }
            TileLevel::Hashes(_) => hash_tile_from(&checked, &tile)
                .ok_or_else(|| self.refuse(db, "tile", "the checked tiles do not cover it"))?,
        };
        Ok(answer(body))
    }

    /// A verified tree of the database that contains `tile`: the newest, or a fresh one.
    async fn tree_with(
        &self,
        db: &DbState,
        tile: &Tile,
    ) -> Result<delos_pool_protocol::sumdb::TreeHead, RelayError> {
        if let Some(head) = db.newest()
            && tile.is_in_tree(head.tree.size())
        {
            return Ok(head.tree);
        }
        self.latest(db).await?;
        match db.newest() {
            Some(head) if tile.is_in_tree(head.tree.size()) => Ok(head.tree),
            _ => Err(not_found(db, tile)),
        }
    }

    /// Fetches the plan's tiles and checks them against its tree; with `save`, keeps them.
    pub(super) async fn checked_tiles(
        &self,
        db: &DbState,
        plan: TilePlan,
        save: bool,
    ) -> Result<CheckedTiles, RelayError> {
        // Fetched at once: a cold relay pays one round trip for all of a plan's tiles.
        let fetches = plan.tiles().iter().map(|tile| async move {
            match self.cached_tile(db, tile).await? {
                Some(bytes) => Ok::<_, RelayError>(bytes.to_vec()),
                None => Ok(self.fetch_tile(db, tile).await?.to_vec()),
            }
        });
        let data = futures::future::try_join_all(fetches).await?;
        let checked = plan.check(data).map_err(|e| self.refuse(db, "tile", e))?;
        if save {
            self.save_tiles(db, &checked).await?;
        }
        Ok(checked)
    }

    /// Keeps every tile of `checked`.
    pub(super) async fn save_tiles(
        &self,
        db: &DbState,
        checked: &CheckedTiles,
    ) -> Result<(), RelayError> {
        for (tile, data) in checked.tiles() {
            let path = tile.path();
            if self.inner.tiles.get(&(db.id, path)).is_none() {
                self.keep_tile(db, tile, Bytes::copy_from_slice(data))
                    .await?;
            }
        }
        Ok(())
    }

    /// Keeps a verified tile: in memory, and a full one in the store for good. A mirror keeps
    /// the widest partial tile of each position too (it serves them while the log's writer is
    /// down), one per position: a narrower one is its prefix.
    async fn keep_tile(&self, db: &DbState, tile: &Tile, data: Bytes) -> Result<(), RelayError> {
        let path = tile.path();
        let name = db.name().to_owned();
        if tile.is_full() {
            let (path, bytes) = (path.clone(), data.clone());
            self.blocking(move |index| {
                let cache = index.sumdb_cache();
                match cache.has_tile(&name, &path)? {
                    true => Ok(()),
                    false => cache.put_tile(&name, &path, &bytes),
                }
            })
            .await?;
        } else if db.db.is_pool_mirror() {
            let (position, width, bytes) = (position_of(tile), tile.width(), data.clone());
            self.blocking(move |index| {
                let cache = index.sumdb_cache();
                cache.put_mirror_partial_tile(&name, position, width, &bytes)
            })
            .await?;
        }
        self.inner.tiles.insert((db.id, path), data);
        Ok(())
    }

    /// A verified tile from memory or (full tiles) the store.
    pub(super) async fn cached_tile(
        &self,
        db: &DbState,
        tile: &Tile,
    ) -> Result<Option<Bytes>, RelayError> {
        let key = (db.id, tile.path());
        if let Some((bytes, _)) = self.inner.tiles.get(&key) {
            return Ok(Some(bytes));
        }
        let (name, path) = (db.name().to_owned(), key.1.clone());
        let stored = match (tile.is_full(), db.db.is_pool_mirror()) {
            (true, _) => self
                .blocking(move |index| index.sumdb_cache().tile(&name, &path))
                .await?
                .map(Bytes::from),
            (false, true) => {
                let position = position_of(tile);
                let kept = self
                    .blocking(move |index| index.sumdb_cache().mirror_partial_tile(&name, position))
                    .await?;
                kept.filter(|(width, _)| *width >= tile.width())
                    .and_then(|(_, bytes)| truncate(tile, Bytes::from(bytes)))
            }
            (false, false) => return Ok(None),
        };
        if let Some(bytes) = &stored {
            self.inner.tiles.insert(key, bytes.clone());
        }
        Ok(stored)
    }

    /// A tile's bytes from the database (unchecked). A partial tile the database no longer
    /// has is cut from the full one, as Go's client does.
    async fn fetch_tile(&self, db: &DbState, tile: &Tile) -> Result<Bytes, RelayError> {
        let upstream = &self.inner.upstream;
        let fetched = upstream.get(&db.db, &tile.path(), max_bytes(tile)).await;
        let unavailable = |source| RelayError::Unavailable {
            database: db.name().to_owned(),
            source,
        };
        match fetched {
            Ok(bytes) => Ok(bytes),
            Err(err) if err.is_not_found() && !tile.is_full() => {
                let full = Tile::new(
                    tile.height(),
                    tile.level(),
                    tile.index(),
                    1 << tile.height(),
                )
                .map_err(|e| self.refuse(db, "tile", e))?;
                let bytes = upstream
                    .get(&db.db, &full.path(), max_bytes(&full))
                    .await
                    .map_err(|err| match err.is_not_found() {
                        true => not_found(db, tile),
                        false => unavailable(err),
                    })?;
                truncate(tile, bytes).ok_or_else(|| self.refuse(db, "tile", "short full tile"))
            }
            Err(err) if err.is_not_found() => Err(not_found(db, tile)),
            Err(err) => Err(unavailable(err)),
        }
    }
}

/// Where `tile` sits in its log.
fn position_of(tile: &Tile) -> TilePosition {
    TilePosition {
        height: tile.height(),
        level: match tile.level() {
            TileLevel::Hashes(level) => Some(level),
            TileLevel::Data => None,
        },
        index: tile.index(),
    }
}

/// The first `tile.width()` hashes (or records) of a wider tile's bytes.
fn truncate(tile: &Tile, bytes: Bytes) -> Option<Bytes> {
    let width = tile.width() as usize;
    let end = match tile.level() {
        TileLevel::Hashes(_) => width * Hash::SIZE,
        // Records end with a blank line: the end of the `width`-th "\n\n".
        TileLevel::Data => {
            let mut seen = 0;
            let at = bytes.windows(2).position(|pair| {
                seen += usize::from(pair == b"\n\n");
                seen == width
            })?;
            at + 2
        }
    };
    (bytes.len() >= end).then(|| bytes.slice(..end))
}

/// The bytes of hash tile `tile` from checked tiles holding it at least as wide.
fn hash_tile_from(checked: &CheckedTiles, tile: &Tile) -> Option<Bytes> {
    let (_, data) = checked.tiles().find(|(t, _)| {
        t.level() == tile.level() && t.index() == tile.index() && t.width() >= tile.width()
    })?;
    data.get(..tile.width() as usize * Hash::SIZE)
        .map(Bytes::copy_from_slice)
}

fn max_bytes(tile: &Tile) -> usize {
    match tile.level() {
        TileLevel::Hashes(_) => tile.width() as usize * Hash::SIZE,
        TileLevel::Data => MAX_DATA_TILE_BYTES,
    }
}

fn not_found(db: &DbState, tile: &Tile) -> RelayError {
    RelayError::NotFound {
        database: db.name().to_owned(),
        what: format!("{} (beyond its newest verified tree)", tile.path()),
    }
}
