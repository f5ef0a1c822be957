//! [`SumCheck`]: the checksum database as the fill path sees it. An upstream proxy's bytes are
//! pinned only when their `h1:` hashes are the ones the database's record names, proved a leaf
//! of its log. `fetch` defines the trait; `crate::sumdb_relay` implements it (through its
//! verified lookups) and is attached with
//! [`Fetcher::attach_sum_check`](super::Fetcher::attach_sum_check).

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::RecordText;
use delos_pool_protocol::version::Version;
use futures::future::BoxFuture;

/// Gives the checksum database's verified record of a module version.
pub(crate) trait SumCheck: std::fmt::Debug + Send + Sync + 'static {
    /// The record of `module@version`, verified (signed head, inclusion proof).
    fn record<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<RecordText, SumCheckError>>;
}

/// Why the database gave no verified record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SumCheckError {
    /// The database has no record of the version.
    #[error("the checksum database has no record of it: {0}")]
    Absent(String),
    /// The database could not be asked, or what it sent failed verification.
    #[error("the checksum database could not vouch for it: {0}")]
    Failed(String),
    /// The record lacks a line, or a line's hash does not parse.
    #[error("the checksum database's record has no usable {0} line")]
    Incomplete(&'static str),
}

/// The hashes a record names for a version: the zip's and the go.mod's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordedSums {
    /// The `h1:` of the zip.
    pub(crate) zip: H1Hash,
    /// The `h1:` of the go.mod.
    pub(crate) go_mod: H1Hash,
}

impl RecordedSums {
    /// The two hashes `record` names for `module@version`.
    pub(crate) fn of(
        record: &RecordText,
        module: &ModulePath,
        version: &Version,
    ) -> Result<RecordedSums, SumCheckError> {
        let go_mod_version = format!("{}/go.mod", version.as_str());
        let hash = |version: &str, what: &'static str| {
            record
                .lines_for(module.as_str(), version)
                .find_map(|line| {
                    let h1 = line.rsplit(' ').next()?;
                    h1.starts_with("h1:").then(|| H1Hash::parse(h1).ok())?
                })
                .ok_or(SumCheckError::Incomplete(what))
        };
        Ok(RecordedSums {
            zip: hash(version.as_str(), "zip")?,
            go_mod: hash(&go_mod_version, "go.mod")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lines_are_read_and_a_missing_one_is_named() -> Result<(), Box<dyn std::error::Error>> {
        let module = ModulePath::parse("example.org/pub")?;
        let version: Version = "v1.0.0".parse()?;
        let zip = H1Hash::parse("h1:hroKYilh4yBYM8F6DNstA12PipYTgkhweLckqChDvsU=")?;
        let go_mod = H1Hash::parse("h1:Zo7xw5WturV+2MJbeVMYSEESKORXHhxjGmu3QDYx0WY=")?;
        let record = RecordText::go_sum(&module, &version, &zip, &go_mod);
        assert_eq!(
            RecordedSums::of(&record, &module, &version),
            Ok(RecordedSums { zip, go_mod })
        );
        let only_mod = RecordText::parse(
            b"example.org/pub v1.0.0/go.mod h1:Zo7xw5WturV+2MJbeVMYSEESKORXHhxjGmu3QDYx0WY=\n",
        )?;
        assert_eq!(
            RecordedSums::of(&only_mod, &module, &version),
            Err(SumCheckError::Incomplete("zip"))
        );
        Ok(())
    }
}
