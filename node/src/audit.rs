//! `delos audit`: the node's own checksum log checked end to end, from its records up, against
//! the store's pins and every head the node signed or saw gossiped; and fork evidence files
//! checked offline.
//!
//! The log is rebuilt in memory from its record texts alone, and then every record must be
//! the `go.sum` lines of what the store pins for its module version, under the id the log's
//! index gives it; every hash tile and data tile the log serves must equal the rebuilt one;
//! every signed head the log keeps must open with the database's key and name the rebuilt
//! tree of its size (so every head handed out is consistent with every other); and the
//! newest head of this log that members gossiped must too.

use std::fmt;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{
    GO_TILE_HEIGHT, Hash, RecordText, SignedTreeHead, Tile, TileLevel, Verifiers, format_data_tile,
    new_tiles, read_tile_data, stored_hashes, tree_hash,
};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, LogError, SumdbCacheError};

/// Why the audit could not run (a disagreement is a [`Finding`], not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The store's log could not be read.
    #[error("reading the checksum log")]
    Log(#[from] LogError),
    /// The gossiped heads could not be read.
    #[error("reading the gossiped heads")]
    Heads(#[from] SumdbCacheError),
    /// The tree functions refused (a size beyond their range).
    #[error("rebuilding the tree: {0}")]
    Tree(String),
}

/// One disagreement the audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// A record id below the log's size has no text, or its text names no module version.
    BadRecord {
        /// The id.
        id: u64,
        /// What is wrong.
        problem: String,
    },
    /// The log's index gives the record's module version another id (or none).
    WrongId {
        /// The record's id.
        id: u64,
        /// The module version it names.
        version: String,
        /// The id the index gives.
        indexed: Option<u64>,
    },
    /// The record is not what the store pins for its module version.
    DisagreesWithPin {
        /// The record's id.
        id: u64,
        /// The module version.
        version: String,
        /// What the store pins (its `go.sum` lines), or why there is nothing to compare.
        pinned: String,
    },
    /// A tile the log serves differs from the one rebuilt from its records.
    Tile {
        /// The tile's path.
        path: String,
    },
    /// A kept signed head does not open with the database's key.
    UnsignedHead {
        /// Its size.
        size: u64,
    },
    /// A signed head names another tree than the log's records make at its size.
    HeadDisagrees {
        /// Whose head: `kept` (signed by this node) or `gossiped`.
        whose: &'static str,
        /// Its size.
        size: u64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::BadRecord { id, problem } => write!(f, "record {id}: {problem}"),
            Finding::WrongId {
                id,
                version,
                indexed,
            } => write!(
                f,
                "record {id} ({version}): the log's index gives {}",
                indexed.map_or(String::from("no id"), |i| format!("id {i}"))
            ),
            Finding::DisagreesWithPin {
                id,
                version,
                pinned,
            } => write!(
                f,
                "record {id} ({version}) is not what the store pins: {pinned}"
            ),
            Finding::Tile { path } => write!(f, "tile {path} differs from the records' tile"),
            Finding::UnsignedHead { size } => {
                write!(
                    f,
                    "the head kept for size {size} does not open with the key"
                )
            }
            Finding::HeadDisagrees { whose, size } => write!(
                f,
                "the {whose} head of size {size} names another tree than the log's records"
            ),
        }
    }
}

/// What [`audit_log`] checked and found.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuditReport {
    /// Records checked.
    pub records: u64,
    /// Tiles compared.
    pub tiles: u64,
    /// Signed heads checked (kept and gossiped).
    pub heads: u64,
    /// Every disagreement.
    pub findings: Vec<Finding>,
}

/// Audits the checksum log in `index`, whose heads open with `verifiers` (the database's key,
/// whose text is `verifier`); blocking.
pub fn audit_log(
    index: &Index,
    verifiers: &Verifiers,
    verifier: &str,
) -> Result<AuditReport, AuditError> {
    let log = index.checksum_log();
    let size = log.size()?;
    let mut report = AuditReport::default();
    let mut hashes: Vec<Hash> = Vec::new();
    let mut records: Vec<RecordText> = Vec::new();
    for id in 0..size {
        let Some(record) = log.record(id)? else {
            report.findings.push(Finding::BadRecord {
                id,
                problem: String::from("missing"),
            });
            records.push(RecordText::parse(b"\n").map_err(|e| AuditError::Tree(e.to_string()))?);
            continue;
        };
        check_record(index, id, &record, &mut report)?;
        let added = stored_hashes(id, record.hash(), &hashes)
            .map_err(|e| AuditError::Tree(e.to_string()))?;
        hashes.extend(added);
        records.push(record);
        report.records += 1;
    }
    for tile in new_tiles(GO_TILE_HEIGHT, 0, size) {
        let rebuilt =
            read_tile_data(&tile, &hashes).map_err(|e| AuditError::Tree(e.to_string()))?;
        compare_tile(&log, &tile, size, &rebuilt, &mut report)?;
        if tile.level() == TileLevel::Hashes(0) {
            let data = Tile::new(tile.height(), TileLevel::Data, tile.index(), tile.width())
                .map_err(|e| AuditError::Tree(e.to_string()))?;
            let first = (data.index() << data.height()) as usize;
            let texts = &records[first..first + data.width() as usize];
            compare_tile(&log, &data, size, &format_data_tile(texts), &mut report)?;
        }
    }
    let tree = |n: u64| tree_hash(n, &hashes).map_err(|e| AuditError::Tree(e.to_string()));
    for (kept_size, note) in log.heads()? {
        report.heads += 1;
        match SignedTreeHead::open(&note, verifiers) {
            Err(_) => report
                .findings
                .push(Finding::UnsignedHead { size: kept_size }),
            Ok(signed) => {
                let head = signed.head();
                if head.size() != kept_size
                    || head.size() > size
                    || tree(head.size())? != head.hash()
                {
                    report.findings.push(Finding::HeadDisagrees {
                        whose: "kept",
                        size: kept_size,
                    });
                }
            }
        }
    }
    if let Some(note) = index.pool_log_heads().newest_head(verifier)? {
        report.heads += 1;
        if let Ok(signed) = SignedTreeHead::open(&note, verifiers) {
            let head = signed.head();
            if head.size() > size || tree(head.size())? != head.hash() {
                report.findings.push(Finding::HeadDisagrees {
                    whose: "gossiped",
                    size: head.size(),
                });
            }
        }
    }
    Ok(report)
}

/// Checks record `id` against the log's index and the store's pin.
fn check_record(
    index: &Index,
    id: u64,
    record: &RecordText,
    report: &mut AuditReport,
) -> Result<(), AuditError> {
    let Some((module, version)) = names(record) else {
        report.findings.push(Finding::BadRecord {
            id,
            problem: String::from("names no module version"),
        });
        return Ok(());
    };
    let log = index.checksum_log();
    let shown = format!("{module}@{version}");
    let indexed = log.id_of(&module, &version)?;
    if indexed != Some(id) {
        report.findings.push(Finding::WrongId {
            id,
            version: shown.clone(),
            indexed,
        });
    }
    let pinned = match log.pinned_record(&module, &version) {
        Ok(pinned) if &pinned == record => return Ok(()),
        Ok(pinned) => pinned.as_str().trim_end().replace('\n', "; "),
        Err(LogError::NotPinned(_)) => String::from("nothing"),
        Err(LogError::NoZip(_)) => String::from("no zip"),
        Err(err) => return Err(err.into()),
    };
    report.findings.push(Finding::DisagreesWithPin {
        id,
        version: shown,
        pinned,
    });
    Ok(())
}

/// The module version a record's first line names (`M V h1:…`).
fn names(record: &RecordText) -> Option<(ModulePath, Version)> {
    let mut fields = record.as_str().lines().next()?.split(' ');
    let module = ModulePath::parse(fields.next()?).ok()?;
    let version = Version::parse(fields.next()?.trim_end_matches("/go.mod")).ok()?;
    Some((module, version))
}

fn compare_tile(
    log: &delos_registry_index::ChecksumLog<'_>,
    tile: &Tile,
    size: u64,
    rebuilt: &[u8],
    report: &mut AuditReport,
) -> Result<(), AuditError> {
    report.tiles += 1;
    if log.tile(tile, size)?.as_deref() != Some(rebuilt) {
        report.findings.push(Finding::Tile { path: tile.path() });
    }
    Ok(())
}
