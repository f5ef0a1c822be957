//! `Verifiers`, the keys a reader trusts, and `VerifiedNote`, a note opened with them.

use super::{KeyHash, KeyName, Note, NoteError, NoteSignature, SignerKey, VerifierKey};

/// The verifier keys a reader knows. An empty set verifies nothing, so every note fails to
/// open: trust fails closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verifiers {
    keys: Vec<VerifierKey>,
}

/// A note with at least one signature by a known key, all of the known keys' signatures
/// verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<NoteSignature>,
    unverified: Vec<NoteSignature>,
}

impl Verifiers {
    /// A set of keys. Two different keys with one name and key hash are refused: a signature
    /// could not say which of them it claims.
    pub fn new(keys: impl IntoIterator<Item = VerifierKey>) -> Result<Verifiers, NoteError> {
        let mut set = Verifiers::default();
        for key in keys {
            match set.get(key.name(), key.key_hash()) {
                Some(known) if *known == key => {}
                Some(_) => {
                    return Err(NoteError::AmbiguousVerifier {
                        name: key.name().to_string(),
                        key_hash: key.key_hash(),
                    });
                }
                None => set.keys.push(key),
            }
        }
        Ok(set)
    }

    /// The key named `name` with hash `key_hash`, if known.
    pub fn get(&self, name: &KeyName, key_hash: KeyHash) -> Option<&VerifierKey> {
        self.keys
            .iter()
            .find(|key| key.name() == name && key.key_hash() == key_hash)
    }

    /// The known keys.
    pub fn iter(&self) -> impl Iterator<Item = &VerifierKey> {
        self.keys.iter()
    }
}

impl Note {
    /// Checks the signatures by known keys (Go's `note.Open`, after [`Note::parse`]):
    /// 1. a signature by an unknown key is kept as unverified, not an error (so a witness's
    ///    cosignature does not bother a reader that does not know the witness);
    /// 2. a known key's signature must verify over the text, else the note is refused;
    /// 3. repeated signatures are kept once (a known key's repeats are not checked again);
    /// 4. at least one signature must be by a known key.
    pub fn open(&self, verifiers: &Verifiers) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<NoteSignature> = Vec::new();
        let mut unverified: Vec<NoteSignature> = Vec::new();
        for signature in self.signatures() {
            let (name, key_hash) = (signature.name(), signature.key_hash());
            match verifiers.get(name, key_hash) {
                None if unverified.contains(signature) => {}
                None => unverified.push(signature.clone()),
                Some(_) if verified.iter().any(|seen| seen.is_by(name, key_hash)) => {}
                Some(key) if key.verify(self.text().as_bytes(), signature.signature()) => {
                    verified.push(signature.clone());
                }
                Some(_) => {
                    return Err(NoteError::InvalidSignature {
                        name: name.to_string(),
                        key_hash,
                    });
                }
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiableSignatures { unverified });
        }
        Ok(VerifiedNote {
            note: self.clone(),
            verified,
            unverified,
        })
    }
}

impl VerifiedNote {
    /// The text, which the verified signatures vouch for.
    pub fn text(&self) -> &str {
        self.note.text()
    }

    /// The note as received, every signature line included.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The signatures by known keys, each verified (each key once).
    pub fn verified_signatures(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// The signatures by unknown keys, not checked (each line once).
    pub fn unverified_signatures(&self) -> &[NoteSignature] {
        &self.unverified
    }

    /// The note with `signer`'s signature added, as a witness cosigns a log's tree head (Go's
    /// `note.Sign` of an opened note): the verified signatures, then the unverified ones, then
    /// the new one; an earlier signature by the same key is replaced.
    pub fn cosign(&self, signer: &SignerKey) -> Note {
        let signatures = self.verified.iter().chain(&self.unverified).cloned();
        Note::with_signatures(self.note.text().to_owned(), signatures.collect()).sign(signer)
    }
}
