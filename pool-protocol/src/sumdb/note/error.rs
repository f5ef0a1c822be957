//! The note module's errors: `NoteError` for notes, `InvalidVerifierKey` and `InvalidSignerKey`
//! for key strings, `InvalidKeyName` for names.

use super::{KeyHash, NoteSignature};
use crate::sumdb::text::TextProblem;

/// Why a signed note was refused, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note (or a text to sign) breaks the text rules: valid UTF-8, no control characters
    /// but newline, a text ending in a newline, at most [`MAX_NOTE_BYTES`](super::MAX_NOTE_BYTES).
    #[error("malformed note: {0}")]
    Text(#[from] TextProblem),
    /// No blank line separates the text from signatures.
    #[error("malformed note: no blank line before the signatures")]
    NoSignatureBlock,
    /// The signature block is empty or does not end in a newline.
    #[error("malformed note: the signature block is empty or unterminated")]
    UnterminatedSignatures,
    /// A line of the signature block is not `— <name> <base64 of key hash and signature>`.
    #[error("malformed note: bad signature line {line:?}")]
    MalformedSignature {
        /// The line.
        line: String,
    },
    /// More signature lines than [`MAX_SIGNATURES`](super::MAX_SIGNATURES).
    #[error("malformed note: more than {limit} signatures")]
    TooManySignatures {
        /// The limit.
        limit: usize,
    },
    /// A known key's signature does not verify.
    #[error("invalid signature for key {name}+{key_hash}")]
    InvalidSignature {
        /// The key's name.
        name: String,
        /// The key's hash.
        key_hash: KeyHash,
    },
    /// No signature is by a known key. The signatures found are kept, as Go's
    /// `UnverifiedNoteError` keeps the note.
    #[error("note has no verifiable signatures")]
    NoVerifiableSignatures {
        /// The signatures, none of them by a known key.
        unverified: Vec<NoteSignature>,
    },
    /// Two different verifier keys with the same name and key hash, so a signature could be
    /// checked against either.
    #[error("ambiguous key {name}+{key_hash}")]
    AmbiguousVerifier {
        /// The name.
        name: String,
        /// The key hash.
        key_hash: KeyHash,
    },
}

/// What is wrong with a key string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Not `<name>+<8 hex digits>+<base64>` (with `PRIVATE+KEY+` first for a signer key), or an
    /// invalid name, or no key data.
    #[error("malformed verifier id")]
    Syntax,
    /// The key hash in the string is not the hash of the name and key.
    #[error("invalid verifier hash: the key hashes to {computed}, not {stated}")]
    HashMismatch {
        /// The hash the string gives.
        stated: KeyHash,
        /// The hash of its name and key.
        computed: KeyHash,
    },
    /// An algorithm other than Ed25519 (1).
    #[error("unknown verifier algorithm {algorithm}")]
    UnknownAlgorithm {
        /// The algorithm byte.
        algorithm: u8,
    },
    /// Ed25519 key data that is not 32 bytes.
    #[error("malformed verifier id: {len}-byte ed25519 key")]
    WrongLength {
        /// The key's length.
        len: usize,
    },
    /// 32 bytes that are not a usable ed25519 public key: not a curve point, or a weak
    /// (small-order) key that would verify many signatures. Go checks neither.
    #[error("not a usable ed25519 public key")]
    NotAKey,
}

/// A verifier key string that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid verifier key {key:?}: {problem}")]
#[non_exhaustive]
pub struct InvalidVerifierKey {
    /// The rejected key string.
    pub key: String,
    /// What is wrong with it.
    pub problem: KeyProblem,
}

/// A signer key string that could not be used. The string is secret, so it is not repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid signer key: {problem}")]
#[non_exhaustive]
pub struct InvalidSignerKey {
    /// What is wrong with it.
    pub problem: KeyProblem,
}

/// A key name that is empty or holds a space or a `+`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key name {name:?}: it must be non-empty, without spaces or '+'")]
#[non_exhaustive]
pub struct InvalidKeyName {
    /// The rejected name.
    pub name: String,
}
