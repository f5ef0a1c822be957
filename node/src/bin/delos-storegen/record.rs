//! The signers of a generated store and the provenance record each signs: the record a VCS
//! fill signs (a git origin with commit and tag), signed with the signer's ed25519 key and
//! verified, as every record the store accepts must be.

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::provenance::{
    InfoTime, InvalidInfoTime, InvalidRecord, ProvenanceRecord, RecordFields, Source, VcsOrigin,
    ZipFacts,
};
use delos_pool_protocol::signing::{NodeKey, SigningError, VerifiedRecord};

use crate::make::Made;

/// Why a record could not be made or signed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error(transparent)]
    Time(#[from] InvalidInfoTime),
    #[error(transparent)]
    Invalid(#[from] Box<InvalidRecord>),
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// The `count` signer keys, the same in every run (their secret is the SHA-256 of their
/// number), so a benchmark can trust them by id and a second run adds to the same store.
pub(crate) fn signers(count: u64) -> Vec<NodeKey> {
    (0..count)
        .map(|i| {
            let seed = Sha256::digest(format!("delos-storegen signer {i}").as_bytes());
            NodeKey::from_secret_bytes(*seed.as_bytes())
        })
        .collect()
}

/// Signs the record of `made` with `key`.
pub(crate) fn sign(made: &Made, key: &NodeKey) -> Result<VerifiedRecord, RecordError> {
    let (slot, zip_sha256) = (&made.slot, made.zip_sha256);
    let commit = hex_commit(&zip_sha256);
    let record = ProvenanceRecord::new(RecordFields {
        module: slot.module.clone(),
        version: slot.version.clone(),
        go_mod_h1: H1Hash::of_go_mod(&made.go_mod),
        zip: Some(ZipFacts {
            h1: made.zip_h1,
            sha256: zip_sha256,
            size: made.zip.len() as u64,
        }),
        info_time: InfoTime::parse(&made.time)?,
        source: Source::Vcs(VcsOrigin {
            vcs: "git".into(),
            url: format!("https://{}", slot.module),
            subdir: None,
            hash: commit,
            ref_name: Some(format!("refs/tags/{}", slot.version)),
        }),
        obtained_at: made.obtained_at,
    })
    .map_err(Box::new)?;
    Ok(key.sign(&record)?.verify()?)
}

/// A 40-digit commit hash, made from the zip's hash so each version has its own.
fn hex_commit(zip_sha256: &Sha256) -> String {
    zip_sha256.to_hex()[..40].to_owned()
}
