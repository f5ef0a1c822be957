//! The Go checksum database's vocabulary (`golang.org/x/mod/sumdb`): signed notes, the tiled
//! transparency log's hashes, tree heads, record texts, lookup bodies, and inclusion and
//! consistency proofs. Pure: callers fetch and store; this module formats, parses and checks.

pub mod lookup;
pub mod note;
pub mod proof;
pub mod record;
#[cfg(test)]
mod test_log;
pub mod text;
pub mod tlog;
pub mod tree_head;

pub use lookup::{Lookup, LookupError};
pub use note::{
    InvalidKeyName, InvalidSignerKey, InvalidVerifierKey, KeyHash, KeyName, KeyProblem, Note,
    NoteError, NoteSignature, SignerKey, VerifiedNote, VerifierKey, Verifiers,
};
pub use proof::{
    ConsistencyError, Fork, InvalidProof, RecordProof, TreeProof, check_consistency, check_record,
    check_tree, prove_record, prove_tree,
};
pub use record::{InvalidRecordText, RecordText};
pub use text::TextProblem;
pub use tlog::{
    Hash, HashReader, HashReaderFn, IndexNotStored, InvalidHash, MAX_TREE_SIZE, SizeError,
    TlogError, split_stored_hash_index, stored_hash_count, stored_hash_index, stored_hashes,
    tree_hash,
};
pub use tree_head::{SignedTreeHead, TreeHead, TreeHeadError};
