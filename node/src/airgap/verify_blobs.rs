//! `delos verify`'s store check: re-hashes every blob every pinned version references against
//! the SHA-256 the index names it by. A blob that fails is moved aside (`<hex>.corrupt`, see
//! `BlobStore::open_verified`), so the node hides its version on its next start and answers
//! 404 for it (it is stored again whole by the next fill of the same bytes), never bad bytes.

use delos_registry_index::{BlobError, Index, IndexError};

use super::Progress;

/// One blob that failed its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadBlob {
    /// `module@version` and which file (`.mod` or `.zip`).
    pub what: String,
    /// Why: corrupt (moved aside), missing, or unreadable.
    pub why: String,
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Blobs re-hashed (a blob two versions share counts twice).
    pub checked: usize,
    /// Blobs that failed.
    pub bad: Vec<BadBlob>,
}

/// Re-hashes every blob of every pinned version; blocking.
pub fn verify_blobs(index: &Index) -> Result<Report, IndexError> {
    let listed: Vec<_> = index.iter()?.collect::<Result<_, _>>()?;
    let mut report = Report::default();
    let mut progress = Progress::new(listed.len() as u64);
    for (module, version, entry) in &listed {
        let at = format!("{module}@{version}");
        let mut state = "ok";
        let files = [(".mod", Some(entry.go_mod())), (".zip", entry.zip())];
        for (suffix, blob) in files {
            let Some(blob) = blob else { continue };
            report.checked += 1;
            if let Err(why) = rehash(index, blob.blob().sha256()) {
                state = "BAD";
                report.bad.push(BadBlob {
                    what: format!("{at}{suffix}"),
                    why,
                });
            }
        }
        progress.step(&at, state);
    }
    progress.finish();
    Ok(report)
}

/// Reads the blob through `open_verified`, which re-hashes it and moves it aside on a mismatch.
fn rehash(index: &Index, sha256: &delos_pool_protocol::hash::Sha256) -> Result<(), String> {
    match index.blobs().open_verified(sha256) {
        Ok(_) => Ok(()),
        Err(BlobError::CorruptBlob(_)) => Err(format!(
            "corrupt: its bytes no longer hash to sha256:{}; moved aside as .corrupt",
            sha256.to_hex()
        )),
        Err(BlobError::MissingBlob(_)) => Err("missing".to_owned()),
        Err(err) => Err(format!(
            "unreadable: {}",
            crate::error_chain::error_chain(&err)
        )),
    }
}
