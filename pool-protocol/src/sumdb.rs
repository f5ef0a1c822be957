//! The Go checksum database's vocabulary (`golang.org/x/mod/sumdb`): signed notes, and the text
//! rules they share with the log's records. Pure: callers fetch and store; this module
//! formats, parses and checks.

pub mod note;
pub mod text;

pub use note::{
    InvalidKeyName, InvalidSignerKey, InvalidVerifierKey, KeyHash, KeyName, KeyProblem, Note,
    NoteError, NoteSignature, SignerKey, VerifiedNote, VerifierKey, Verifiers,
};
pub use text::TextProblem;
