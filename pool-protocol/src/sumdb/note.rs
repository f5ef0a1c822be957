//! Signed notes (Go's `golang.org/x/mod/sumdb/note`): a text, a blank line, and signature lines
//! by named Ed25519 keys. A checksum database signs its tree heads this way.
//!
//! A note's message is valid UTF-8 without control characters other than newline. Its text
//! ends with a newline and is followed by a blank line and one or more lines
//! `— <name> <base64(key hash ‖ signature)>`, where the signature covers the text including
//! its final newline. [`Note::parse`] reads the format, [`Note::open`] checks the signatures
//! of known keys ([`Verifiers`]), [`Note::sign`] and [`VerifiedNote::cosign`] add one.
//!
//! Keys are written as strings: a verifier key `<name>+<hash>+<base64(0x01 ‖ public key)>`
//! ([`VerifierKey`]) and a signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`
//! ([`SignerKey`]), where the hash ([`KeyHash`]) tells keys of one name apart.
//!
//! Where this reads more strictly than Go: base64 must be canonical (Go also takes nonzero
//! padding bits, which Go never writes), public keys must be usable curve points, messages are
//! at most [`MAX_NOTE_BYTES`], and signatures are verified strictly. Notes a Go signer makes
//! all pass.

mod error;
mod name;
mod open;
mod signature;
mod signer;
#[cfg(test)]
mod tests;
mod verifier;

pub use error::{InvalidKeyName, InvalidSignerKey, InvalidVerifierKey, KeyProblem, NoteError};
pub use name::{KeyHash, KeyName};
pub use open::{VerifiedNote, Verifiers};
pub use signature::NoteSignature;
pub use signer::SignerKey;
pub use verifier::VerifierKey;

use super::text::{TextProblem, excerpt, plain_text};

/// The most signature lines a note may have (Go's limit), so that opening one is cheap.
pub const MAX_SIGNATURES: usize = 100;

/// The longest note message [`Note::parse`] reads. Go sets no limit; a tree head note is a few
/// hundred bytes, and Go refuses tree head texts over a million bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The longest text [`Note::new`] takes: room is left for the signature lines.
pub const MAX_TEXT_BYTES: usize = 1_000_000;

/// A note: a text and its signature lines, none of them checked (see [`Note::open`]).
///
/// A parsed note keeps its lines exactly, so [`to_bytes`](Self::to_bytes) gives back the
/// message it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note with `text`: valid for a note (no control characters but newline,
    /// ending in a newline, at most [`MAX_TEXT_BYTES`]).
    pub fn new(text: &str) -> Result<Note, NoteError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(TextProblem::TooLong {
                limit: MAX_TEXT_BYTES,
            }
            .into());
        }
        plain_text(text.as_bytes())?;
        if !text.ends_with('\n') {
            return Err(TextProblem::Unterminated.into());
        }
        Ok(Note::from_valid_text(text.to_owned()))
    }

    /// A note with a text this crate formatted and knows to be valid.
    pub(crate) fn from_valid_text(text: String) -> Note {
        Note::with_signatures(text, Vec::new())
    }

    fn with_signatures(text: String, signatures: Vec<NoteSignature>) -> Note {
        Note { text, signatures }
    }

    /// Reads a signed note's format (the first half of Go's `note.Open`); no signature is
    /// checked. The text ends at the last blank line; every line after it is a signature.
    pub fn parse(message: &[u8]) -> Result<Note, NoteError> {
        if message.len() > MAX_NOTE_BYTES {
            return Err(TextProblem::TooLong {
                limit: MAX_NOTE_BYTES,
            }
            .into());
        }
        let message = plain_text(message)?;
        let split = message.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&message[..=split], &message[split + 2..]);
        let lines = block
            .strip_suffix('\n')
            .filter(|lines| !lines.is_empty())
            .ok_or(NoteError::UnterminatedSignatures)?;
        let mut signatures = Vec::new();
        for line in lines.split('\n') {
            let signature =
                NoteSignature::parse_line(line).ok_or_else(|| NoteError::MalformedSignature {
                    line: excerpt(line.as_bytes()),
                })?;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    limit: MAX_SIGNATURES,
                });
            }
            signatures.push(signature);
        }
        Ok(Note::with_signatures(text.to_owned(), signatures))
    }

    /// The text (ending in a newline), which signatures cover.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note with `signer`'s signature of the text added after the others; an earlier
    /// signature by the same key is dropped (Go's `note.Sign`).
    pub fn sign(mut self, signer: &SignerKey) -> Note {
        self.signatures
            .retain(|old| !old.is_by(signer.name(), signer.key_hash()));
        self.signatures
            .push(NoteSignature::sign(signer, &self.text));
        self
    }

    /// The message: the text, a blank line and the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut message = self.text.clone();
        message.push('\n');
        for signature in &self.signatures {
            message.push_str(&signature.to_string());
            message.push('\n');
        }
        message.into_bytes()
    }
}
