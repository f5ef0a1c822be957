//! The node's own provenance: after every fill it signs a [`ProvenanceRecord`] for what it
//! pinned and stores it (with the feed and conflict checks of `delos_registry_index::records`);
//! operators can import records others signed ([`import_record`]).
//!
//! The record describes the *pinned* entry: its `h1:` hashes, the zip's sha256 and size
//! (absent for a `.mod`-only entry), the `.info` `Time`, and where the node got it: the VCS
//! `Origin` that `go mod download -json` reported (VCS, URL, subdir, commit hash, ref), or the
//! upstream `GOPROXY` value when `go` reported none. When a fill produced other hashes than the
//! ones already pinned (a moved tag), the node signs nothing: it never signs a statement that
//! contradicts the bytes it serves.
//!
//! A failure to sign or store a record is logged and does not fail the fill: the bytes are
//! pinned and served either way.

use std::sync::Arc;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::provenance::{
    InfoTime, InvalidRecord, ProvenanceRecord, RecordFields, Source, VcsOrigin, ZipFacts,
};
use delos_pool_protocol::signing::{NodeKey, SignedRecord, SignerId, SigningError, VerifiedRecord};
use delos_pool_protocol::version::Version;
use delos_registry_index::{
    ConflictEvidence, Index, RecordError, RecordStored, Sharing, VersionEntry,
};

impl From<InvalidRecord> for ProvenanceError {
    fn from(err: InvalidRecord) -> Self {
        Self::Invalid(Box::new(err))
    }
}

impl From<SigningError> for ProvenanceError {
    fn from(err: SigningError) -> Self {
        Self::Signing(Box::new(err))
    }
}

impl From<RecordError> for ProvenanceError {
    fn from(err: RecordError) -> Self {
        Self::Store(Box::new(err))
    }
}

/// Signs and stores the node's own records. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OwnRecords {
    key: Arc<NodeKey>,
    /// The `GOPROXY` value the fill workers use: the source named when `go` gives no origin.
    upstream: String,
}

/// Why a record could not be made, signed, stored or imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// The pinned `.info` has no valid `Time`.
    #[error("the .info of {0} has no valid Time")]
    InfoTime(String),
    /// The record's fields break the record rules.
    #[error(transparent)]
    Invalid(Box<InvalidRecord>),
    /// Signing, or reading and verifying an imported record, failed.
    #[error("the record does not verify")]
    Signing(#[source] Box<SigningError>),
    /// The store failed.
    #[error("storing the record failed")]
    Store(#[source] Box<RecordError>),
}

impl OwnRecords {
    /// Records signed with `key`; `upstream` is the fill workers' `GOPROXY` value.
    pub fn new(key: NodeKey, upstream: impl Into<String>) -> OwnRecords {
        OwnRecords {
            key: Arc::new(key),
            upstream: upstream.into(),
        }
    }

    /// The signer these records name.
    pub fn signer(&self) -> SignerId {
        self.key.signer_id()
    }

    /// Signs the record of `entry`, pinned as `module@version`, and stores it; blocking.
    pub fn sign_and_store(
        &self,
        index: &Index,
        module: &ModulePath,
        version: &Version,
        entry: &VersionEntry,
        origin: Option<&VcsOrigin>,
        sharing: Sharing,
    ) -> Result<RecordStored, ProvenanceError> {
        let source = self.vcs_source(origin);
        let (_, stored) =
            self.sign_and_store_from(index, module, version, entry, source, sharing)?;
        Ok(stored)
    }

    /// [`Self::sign_and_store`] naming `source` as where the node got the version (a peer
    /// fill names [`Source::Peer`]); blocking. Returns the signed record with what the store
    /// did with it.
    pub fn sign_and_store_from(
        &self,
        index: &Index,
        module: &ModulePath,
        version: &Version,
        entry: &VersionEntry,
        source: Source,
        sharing: Sharing,
    ) -> Result<(VerifiedRecord, RecordStored), ProvenanceError> {
        let verified = self.sign(module, version, entry, source)?;
        let stored = index.records().insert(&verified, sharing)?;
        warn_conflicts(&stored.new_conflicts);
        Ok((verified, stored))
    }

    /// The node's signed record of `entry` as `module@version`, got from `source`; not stored.
    pub fn sign(
        &self,
        module: &ModulePath,
        version: &Version,
        entry: &VersionEntry,
        source: Source,
    ) -> Result<VerifiedRecord, ProvenanceError> {
        let record = ProvenanceRecord::new(RecordFields {
            module: module.clone(),
            version: version.clone(),
            go_mod_h1: *entry.go_mod().h1(),
            zip: entry.zip().map(|zip| ZipFacts {
                h1: *zip.h1(),
                sha256: *zip.blob().sha256(),
                size: zip.blob().size(),
            }),
            info_time: info_time(entry.info())
                .ok_or_else(|| ProvenanceError::InfoTime(format!("{module}@{version}")))?,
            source,
            obtained_at: entry.obtained_at_unix_secs(),
        })?;
        Ok(self.key.sign(&record)?.verify()?)
    }

    /// The source a VCS fill names: `go`'s origin, else the workers' `GOPROXY` value.
    pub fn vcs_source(&self, origin: Option<&VcsOrigin>) -> Source {
        match origin {
            Some(origin) => Source::Vcs(origin.clone()),
            None => Source::Upstream(self.upstream.clone()),
        }
    }
}

/// Verifies a signed record's wire bytes and stores it (shared with peers unless `private`
/// matches its module); blocking. Used by `delos import-record`.
pub fn import_record(
    index: &Index,
    wire: &[u8],
    private: &PrivatePatterns,
) -> Result<(VerifiedRecord, RecordStored), ProvenanceError> {
    let verified = SignedRecord::from_wire(wire)
        .map_err(SigningError::from)?
        .verify()?;
    let sharing = sharing_of(private, verified.record().module());
    let stored = index.records().insert(&verified, sharing)?;
    warn_conflicts(&stored.new_conflicts);
    Ok((verified, stored))
}

/// How records of `module` may be shared: never when it is private.
pub(crate) fn sharing_of(private: &PrivatePatterns, module: &ModulePath) -> Sharing {
    match private.matches(module.as_str()) {
        true => Sharing::Private,
        false => Sharing::Public,
    }
}

/// Logs each new piece of evidence once, at warn (it is created once, ever).
pub fn warn_conflicts(new: &[ConflictEvidence]) {
    for evidence in new {
        let counter = evidence.counter.as_ref().map(|c| c.signer().to_string());
        tracing::warn!(
            module = %evidence.module(),
            version = %evidence.version(),
            disputed_signer = %evidence.disputed.signer(),
            counter_signer = counter.as_deref().unwrap_or("none"),
            kind = ?evidence.kind(),
            "conflicting provenance records; the pinned hashes keep being served"
        );
    }
}

/// The `Time` of `.info` bytes.
fn info_time(info: &[u8]) -> Option<InfoTime> {
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(rename = "Time")]
        time: String,
    }
    let info: Info = serde_json::from_slice(info).ok()?;
    InfoTime::parse(&info.time).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use delos_pool_protocol::hash::H1Hash;
    use delos_registry_index::{HashedBlob, RecordChange};

    fn mod_only_entry(index: &Index) -> VersionEntry {
        let go_mod = b"module example.org/m\n";
        let blob = index.blobs().write(&go_mod[..]).unwrap();
        VersionEntry::new(
            br#"{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}"#.to_vec(),
            HashedBlob::new(blob, H1Hash::of_go_mod(go_mod)),
            1_767_225_600,
            delos_registry_index::Source::Vcs,
        )
    }

    #[test]
    fn a_mod_only_fill_is_signed_without_zip_facts_and_named_by_upstream() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let (module, version) = (
            ModulePath::parse("example.org/m").unwrap(),
            Version::parse("v1.0.0").unwrap(),
        );
        let entry = mod_only_entry(&index);
        index.store(&module, &version, entry.clone()).unwrap();
        let own = OwnRecords::new(NodeKey::from_secret_bytes([9; 32]), "https://proxy.example");
        let stored = own
            .sign_and_store(&index, &module, &version, &entry, None, Sharing::Private)
            .unwrap();
        assert_eq!((stored.change, stored.seq), (RecordChange::Inserted, None));
        let record = index
            .records()
            .get(&module, &version, &own.signer())
            .unwrap()
            .unwrap();
        let record = record.record();
        assert!(record.zip().is_none());
        assert_eq!(record.go_mod_h1(), entry.go_mod().h1());
        assert_eq!(record.fields().info_time.as_str(), "2026-01-01T00:00:00Z");
        assert_eq!(record.fields().obtained_at, 1_767_225_600);
        assert_eq!(
            record.source(),
            &Source::Upstream("https://proxy.example".into())
        );
        assert_eq!(index.feed().last_seq(), 0, "private: not in the feed");
    }

    #[test]
    fn info_time_is_read_from_go_info_bytes() {
        let info = br#"{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z","Origin":{"VCS":"git"}}"#;
        assert_eq!(info_time(info).unwrap().as_str(), "2026-01-01T00:00:00Z");
        assert!(info_time(br#"{"Version":"v1.0.0"}"#).is_none());
        assert!(info_time(br#"{"Time":"yesterday"}"#).is_none());
    }
}
