//! Checking a peer's files against what trusted records vouch for: the `.mod`'s `h1:`, the
//! `.info`'s `Version` and `Time`, and the zip (every module zip rule, then its `h1:`).
//! Nothing a peer sends is stored or served before it passes here.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::{SignerId, VerifiedRecord};
use delos_pool_protocol::trust::ClaimedHashes;
use delos_pool_protocol::version::Version;
use delos_pool_protocol::zip::{ScannedEntries, ZipError, verify_module_zip_contents};

/// What the files of one module version must be, from the records the trust policy accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The module.
    pub(crate) module: ModulePath,
    /// The canonical version.
    pub(crate) version: Version,
    /// The accepted hashes (a `None` zip: only the `.mod` is vouched for).
    pub(crate) hashes: ClaimedHashes,
    /// The `.info` `Time` values named by records that agree with `hashes`.
    pub(crate) info_times: BTreeSet<String>,
}

/// Why a peer's file was refused: the peer sent something other than what was vouched for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Mismatch {
    /// The `.mod` has another `h1:`.
    #[error("the .mod hashes to {got}, the trusted records say {want}")]
    GoMod {
        /// The hash of the bytes received.
        got: H1Hash,
        /// The accepted hash.
        want: H1Hash,
    },
    /// The `.info` is not JSON with string `Version` and `Time`.
    #[error("the .info is unreadable")]
    InfoUnreadable(#[source] serde_json::Error),
    /// The `.info` names another version.
    #[error("the .info names version {got:?}")]
    InfoVersion {
        /// The version it names.
        got: String,
    },
    /// The `.info` `Time` is not the one the trusted records name.
    #[error("the .info Time {got:?} is not the one the trusted records name")]
    InfoTime {
        /// The time it names.
        got: String,
    },
    /// The zip breaks a module zip rule (or could not be read).
    #[error("invalid module zip")]
    Zip(#[source] ZipError),
    /// The zip has another `h1:`.
    #[error("the zip hashes to {got}, the trusted records say {want}")]
    ZipHash {
        /// The hash of the zip received.
        got: H1Hash,
        /// The accepted hash.
        want: H1Hash,
    },
}

/// The `.info` fields that are checked.
#[derive(serde::Deserialize)]
struct Info {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Time")]
    time: String,
}

impl Expected {
    /// The expectation for `hashes`, with the `.info` times of the `records` (about this module
    /// version) whose signers are in `vouched_by` and whose claims agree with `hashes`.
    pub(crate) fn new(
        module: ModulePath,
        version: Version,
        hashes: ClaimedHashes,
        vouched_by: &BTreeSet<SignerId>,
        records: &[VerifiedRecord],
    ) -> Expected {
        let info_times = records
            .iter()
            .filter(|r| r.record().module() == &module && r.record().version() == &version)
            .filter(|r| vouched_by.contains(&r.signer()))
            .filter(|r| !ClaimedHashes::of(r.record()).conflicts(&hashes))
            .map(|r| r.record().fields().info_time.as_str().to_owned())
            .collect();
        Expected {
            module,
            version,
            hashes,
            info_times,
        }
    }

    /// Checks the `.mod` bytes; returns their `h1:`.
    pub(crate) fn check_go_mod(&self, go_mod: &[u8]) -> Result<H1Hash, Mismatch> {
        let got = H1Hash::of_go_mod(go_mod);
        match got == self.hashes.go_mod_h1 {
            true => Ok(got),
            false => Err(Mismatch::GoMod {
                got,
                want: self.hashes.go_mod_h1,
            }),
        }
    }

    /// Checks the `.info` bytes: this version, and a `Time` a vouching record names.
    pub(crate) fn check_info(&self, info: &[u8]) -> Result<(), Mismatch> {
        let parsed: Info = serde_json::from_slice(info).map_err(Mismatch::InfoUnreadable)?;
        if parsed.version != self.version.as_str() {
            return Err(Mismatch::InfoVersion {
                got: parsed.version,
            });
        }
        match self.info_times.contains(&parsed.time) {
            true => Ok(()),
            false => Err(Mismatch::InfoTime { got: parsed.time }),
        }
    }

    /// Checks the zip at `path` (blocking): a valid module zip for this module version whose
    /// `h1:` is `want` (the accepted zip hash). Returns that `h1:`. The file's own SHA-256 is
    /// not computed here: the store hashed the bytes as they arrived; entry digests `scanned`
    /// while they arrived are reused where the central directory agrees with them.
    pub(crate) fn check_zip(
        &self,
        path: &Path,
        want: H1Hash,
        scanned: &ScannedEntries,
    ) -> Result<H1Hash, Mismatch> {
        let file = File::open(path).map_err(|err| Mismatch::Zip(ZipError::from(err)))?;
        let got = verify_module_zip_contents(file, &self.module, &self.version, scanned)
            .map_err(Mismatch::Zip)?;
        match got == want {
            true => Ok(got),
            false => Err(Mismatch::ZipHash { got, want }),
        }
    }
}
