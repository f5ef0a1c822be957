//! The Delos pool's vocabulary: the nouns every node speaks in, with Go's exact rules.
//!
//! Everything here is pure (no I/O, no async) and deterministic, so it can be checked against
//! vectors produced by the real `go` command.

pub mod codec;
pub mod gomod;
pub mod hash;
pub mod messages;
pub mod module_path;
pub mod private;
pub mod provenance;
pub mod signing;
pub mod sumdb;
pub mod trust;
pub mod version;
pub mod zip;

pub use codec::{Canonical, CodecError, MAX_RECORD_BYTES};
pub use gomod::{GoModError, declared_module_path};
pub use hash::{H1Builder, H1Hash, InvalidH1Hash, InvalidSha256, Sha256};
pub use messages::{BlobKind, InvalidPoolName, PoolName};
pub use module_path::{InvalidFilePath, InvalidModulePath, ModulePath};
pub use private::PrivatePatterns;
pub use provenance::{
    InfoTime, InvalidRecord, ProvenanceRecord, RecordFields, Source, VcsOrigin, ZipFacts,
};
pub use signing::{InvalidSignerId, NodeKey, SignedRecord, SignerId, SigningError, VerifiedRecord};
pub use trust::{AcceptReason, Claim, ClaimedHashes, TrustPolicy, Verdict};
pub use version::{
    IncompatibleVersion, InvalidVersion, PseudoVersion, Version, check_path_version,
};
pub use zip::{
    MAX_GO_MOD_BYTES, MAX_LICENSE_BYTES, MAX_ZIP_BYTES, ScannedEntries, VerifiedZip, ZipError,
    verify_module_zip, verify_module_zip_contents,
};
