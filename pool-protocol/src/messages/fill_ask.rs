//! The fill-request protocol (`/delos/<pool>/fill/1`): a member that cannot fill a version (or
//! answer a query) itself asks a member it trusts to do it, as for that member's own clients.
//! The asker sends one [`FillAsk`] frame and reads one [`FillAnswer`] frame.
//!
//! Nothing in an answer is believed for being sent: a filled version comes with the asked
//! member's signed record, which the asker verifies and weighs with its trust policy before it
//! fetches the bytes over the transfer protocol and checks every one of them.

use serde::{Deserialize, Serialize};

use crate::codec::Canonical;
use crate::module_path::ModulePath;
use crate::signing::SignedRecord;
use crate::version::Version;

/// The longest query (`latest`, a branch, a commit prefix, `v1`) a request may carry.
pub const MAX_FILL_QUERY_BYTES: usize = 256;
/// The most versions a list answer carries.
pub const MAX_LISTED_VERSIONS: usize = 8192;
/// The longest reason an answer carries.
pub const MAX_FILL_REASON_BYTES: usize = 1024;

/// What a member asks another to do for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FillAsk {
    /// Fill `module@version` (a canonical version) and say how it went.
    Version {
        /// The module path.
        module: ModulePath,
        /// The version.
        version: Version,
    },
    /// The module's versions, as its `@v/list` would answer.
    List {
        /// The module path.
        module: ModulePath,
    },
    /// The canonical version a query (`latest`, a branch, `v1`, …) resolves to.
    Resolve {
        /// The module path.
        module: ModulePath,
        /// The query, at most [`MAX_FILL_QUERY_BYTES`].
        query: String,
    },
}

impl FillAsk {
    /// The module asked about.
    pub fn module(&self) -> &ModulePath {
        match self {
            FillAsk::Version { module, .. }
            | FillAsk::List { module }
            | FillAsk::Resolve { module, .. } => module,
        }
    }
}

impl Canonical for FillAsk {
    /// A module path (512 bytes at most), a version or query, with room for the encoding.
    const MAX_BYTES: usize = 1024;
    const NAME: &'static str = "fill request";
}

/// How the asked member answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FillAnswer {
    /// The version is filled whole: the asked member's signed record of it.
    Filled {
        /// The record's wire form ([`SignedRecord::to_wire`]).
        record: Vec<u8>,
    },
    /// Only the `.mod` (and `.info`) could be had: the record, without a zip hash.
    ModOnly {
        /// The record's wire form.
        record: Vec<u8>,
    },
    /// The module's versions.
    Versions {
        /// At most [`MAX_LISTED_VERSIONS`], in semver order.
        versions: Vec<Version>,
    },
    /// The version the query resolves to.
    Resolved {
        /// The canonical version.
        version: Version,
    },
    /// No such module, version or query: the asker answers its client "not found".
    NotFound {
        /// Why, at most [`MAX_FILL_REASON_BYTES`].
        reason: String,
    },
    /// The asked member will not (it does not trust the asker, the module is private to it,
    /// it does not fill for peers, the asker is over its rate) or could not now.
    Refused {
        /// Why.
        reason: String,
    },
}

impl FillAnswer {
    /// `reason` cut to [`MAX_FILL_REASON_BYTES`] (on a character boundary).
    pub fn reason(reason: &str) -> String {
        let mut end = reason.len().min(MAX_FILL_REASON_BYTES);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason[..end].to_owned()
    }
}

impl Canonical for FillAnswer {
    /// A signed record, or a list of versions (about 64 bytes each), with room to spare.
    const MAX_BYTES: usize = SignedRecord::MAX_BYTES + MAX_LISTED_VERSIONS * 64;
    const NAME: &'static str = "fill answer";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn fill_asks_and_answers_round_trip() {
        let module = ModulePath::parse("example.org/m").unwrap();
        let asks = [
            FillAsk::Version {
                module: module.clone(),
                version: Version::parse("v1.2.3").unwrap(),
            },
            FillAsk::List {
                module: module.clone(),
            },
            FillAsk::Resolve {
                module,
                query: String::from("latest"),
            },
        ];
        for ask in asks {
            let wire = codec::encode(&ask).unwrap();
            assert_eq!(codec::decode::<FillAsk>(&wire).unwrap(), ask);
        }
        let answer = FillAnswer::NotFound {
            reason: FillAnswer::reason(&"é".repeat(MAX_FILL_REASON_BYTES)),
        };
        let wire = codec::encode(&answer).unwrap();
        assert_eq!(codec::decode::<FillAnswer>(&wire).unwrap(), answer);
    }
}
