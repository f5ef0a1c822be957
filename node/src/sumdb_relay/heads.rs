//! Signed tree heads: accepting a head only when it extends (or is contained in) the newest one
//! verified, keeping forks as evidence, and `/latest`.

use axum::body::Bytes;
use delos_pool_protocol::sumdb::{
    ConsistencyError, GO_TILE_HEIGHT, SignedTreeHead, TilePlan, TreeHead, check_consistency,
    note::MAX_NOTE_BYTES,
};
use delos_registry_index::SumdbFork;

use super::{DbState, Head, LATEST_FRESH, Relay, RelayError};

impl Relay {
    /// `latest`: the database's newest signed head, verified and accepted; while the database
    /// is unreachable, the last one fetched or else the newest the relay verified.
    pub(super) async fn latest(&self, db: &DbState) -> Result<Bytes, RelayError> {
        let memo = self.inner.latest.get(&db.id);
        if let Some((body, age)) = &memo
            && *age < LATEST_FRESH
        {
            self.inner.stats.cache_hit();
            return Ok(body.clone());
        }
        match self
            .inner
            .upstream
            .get(&db.db, "latest", MAX_NOTE_BYTES)
            .await
        {
            Ok(body) => {
                let signed = SignedTreeHead::open(&body, &db.verifiers)
                    .map_err(|e| self.refuse(db, "tree head", e))?;
                self.accept_head(db, signed.head(), &body).await?;
                let body = self.cosigned(&body).map_or(body, Bytes::from);
                self.inner.latest.insert(db.id, body.clone());
                Ok(body)
            }
            Err(source) => {
                let stale = memo.map(|(body, _)| body);
                match stale.or_else(|| db.newest().map(|head| head.note)) {
                    Some(body) => {
                        self.inner.stats.stale_served();
                        Ok(body)
                    }
                    None => Err(RelayError::Unavailable {
                        database: db.name().to_owned(),
                        source,
                    }),
                }
            }
        }
    }

    /// Per relayed database, whether it answered a verifiable `latest` within the last
    /// few seconds, asking it now (at most `timeout`) when no fresh answer is at hand.
    pub async fn reachability(&self, timeout: std::time::Duration) -> Vec<(String, bool)> {
        let mut reachable = Vec::with_capacity(self.inner.databases.len());
        for db in &self.inner.databases {
            let is_fresh = || {
                self.inner
                    .latest
                    .get(&db.id)
                    .is_some_and(|(_, age)| age < LATEST_FRESH)
            };
            if !is_fresh() {
                let _ = tokio::time::timeout(timeout, self.latest(db)).await;
            }
            reachable.push((db.name().to_owned(), is_fresh()));
        }
        reachable
    }

    /// Accepts the verified signature `note` of `tree` into the database's timeline: it must
    /// equal, extend or be contained in the newest head verified, proved from tiles. A newer
    /// consistent head becomes the newest (durably). A contradiction is kept as a fork.
    pub(super) async fn accept_head(
        &self,
        db: &DbState,
        tree: TreeHead,
        note: &[u8],
    ) -> Result<(), RelayError> {
        if db.newest().is_some_and(|head| head.tree == tree) {
            return Ok(());
        }
        let _moving = db.advancing.lock().await;
        let Some(current) = db.newest() else {
            return self.set_newest(db, tree, note).await;
        };
        if current.tree == tree {
            return Ok(());
        }
        if current.tree.size() == tree.size() {
            return Err(self.fork(db, &current.note, note).await);
        }
        let growing = tree.size() > current.tree.size();
        let (older, newer) = if growing {
            (current.tree, tree)
        } else {
            (tree, current.tree)
        };
        let plan = TilePlan::for_tree_size(newer, GO_TILE_HEIGHT, older.size())
            .map_err(|e| self.refuse(db, "tree head", e))?;
        // Tiles of an unaccepted newer head are saved only once it is proved consistent.
        let tiles = self.checked_tiles(db, plan, !growing).await?;
        match check_consistency(&older, &newer, &tiles) {
            Ok(()) if growing => {
                self.save_tiles(db, &tiles).await?;
                self.set_newest(db, tree, note).await
            }
            Ok(()) => Ok(()),
            Err(ConsistencyError::Fork(_)) => Err(self.fork(db, &current.note, note).await),
            Err(err) => Err(self.refuse(db, "tree head", err)),
        }
    }

    async fn set_newest(
        &self,
        db: &DbState,
        tree: TreeHead,
        note: &[u8],
    ) -> Result<(), RelayError> {
        let (name, stored) = (db.name().to_owned(), note.to_vec());
        self.blocking(move |index| {
            let cache = index.sumdb_cache();
            let current = cache.newest_head(&name)?;
            cache.set_newest_head(&name, current.as_deref(), &stored)
        })
        .await?;
        db.set_newest(Head {
            tree,
            note: Bytes::copy_from_slice(note),
        });
        Ok(())
    }

    /// Keeps `older` (verified before) and `newer` (contradicting it) as evidence, warns
    /// once per pair, and returns the error to answer with.
    async fn fork(&self, db: &DbState, older: &[u8], newer: &[u8]) -> RelayError {
        let fork = SumdbFork {
            database: db.name().to_owned(),
            older: older.to_vec(),
            newer: newer.to_vec(),
        };
        let detail = format!("verified {}, then {}", describe(older), describe(newer));
        match self
            .blocking(move |index| index.sumdb_cache().add_fork(&fork))
            .await
        {
            Ok(true) => {
                self.inner.stats.fork_found();
                tracing::warn!(
                    database = db.name(),
                    older = %String::from_utf8_lossy(older),
                    newer = %String::from_utf8_lossy(newer),
                    "checksum database misbehavior: two signed trees that cannot both be true; \
                     both kept as evidence"
                );
            }
            Ok(false) => {}
            Err(err) => return err,
        }
        RelayError::Fork {
            database: db.name().to_owned(),
            detail,
        }
    }
}

/// `tree#<size> <hash>` from a signed note's text, for messages.
fn describe(note: &[u8]) -> String {
    let text = String::from_utf8_lossy(note);
    let mut lines = text.lines().skip(1);
    match (lines.next(), lines.next()) {
        (Some(size), Some(hash)) => format!("tree#{size} {hash}"),
        _ => "an unreadable tree".to_owned(),
    }
}
