//! Tests for signing and verifying records.

use super::*;
use crate::provenance::tests::vcs_record;

fn key_a() -> NodeKey {
    NodeKey::from_secret_bytes([0xa1; 32])
}

fn key_b() -> NodeKey {
    NodeKey::from_secret_bytes([0xb2; 32])
}

#[test]
fn sign_then_verify_round_trips() {
    let signed = key_a().sign(&vcs_record()).unwrap();
    let verified = signed.verify().unwrap();
    assert_eq!(verified.record(), &vcs_record());
    assert_eq!(verified.signer(), key_a().signer_id());
    assert_eq!(verified.signed(), &signed);
}

#[test]
fn wire_form_round_trips_and_still_verifies() {
    let signed = key_a().sign(&vcs_record()).unwrap();
    let wire = signed.to_wire().unwrap();
    let back = SignedRecord::from_wire(&wire).unwrap();
    assert_eq!(back, signed);
    assert!(back.verify().is_ok());
}

#[test]
fn every_flipped_bit_in_the_bytes_fails() {
    let signed = key_a().sign(&vcs_record()).unwrap();
    for bit in 0..signed.bytes.len() * 8 {
        let mut bad = signed.clone();
        bad.bytes[bit / 8] ^= 1 << (bit % 8);
        assert!(
            bad.verify().is_err(),
            "flipped bit {bit} of the record bytes"
        );
    }
}

#[test]
fn every_flipped_bit_in_the_signature_fails() {
    let signed = key_a().sign(&vcs_record()).unwrap();
    for bit in 0..64 * 8 {
        let mut signature = signed.signature();
        signature[bit / 8] ^= 1 << (bit % 8);
        let bad = SignedRecord::from_parts(signed.bytes.clone(), signature, signed.signer);
        let err = bad.verify().unwrap_err();
        assert!(
            matches!(err, SigningError::BadSignature { .. }),
            "flipped bit {bit} of the signature: {err:?}"
        );
    }
}

#[test]
fn every_flipped_bit_in_the_signer_fails() {
    let signed = key_a().sign(&vcs_record()).unwrap();
    for bit in 0..32 * 8 {
        let mut signer = *signed.signer.as_bytes();
        signer[bit / 8] ^= 1 << (bit % 8);
        let bad = SignedRecord {
            signer: SignerId::from_bytes(signer),
            ..signed.clone()
        };
        assert!(bad.verify().is_err(), "flipped bit {bit} of the signer");
    }
}

#[test]
fn signed_by_a_but_claiming_b_fails() {
    let signed = key_a().sign(&vcs_record()).unwrap();
    let forged = SignedRecord::from_parts(
        signed.bytes.clone(),
        signed.signature(),
        key_b().signer_id(),
    );
    let err = forged.verify().unwrap_err();
    assert!(
        matches!(err, SigningError::BadSignature { signer, .. } if signer == key_b().signer_id())
    );
}

#[test]
fn signature_without_the_domain_prefix_fails() {
    use ed25519_dalek::{Signer, SigningKey};
    let bytes = codec::encode(&vcs_record()).unwrap();
    let raw = SigningKey::from_bytes(&[0xa1; 32]).sign(&bytes);
    let signed = SignedRecord::from_parts(bytes, raw.to_bytes(), key_a().signer_id());
    assert!(matches!(
        signed.verify(),
        Err(SigningError::BadSignature { .. })
    ));
}

#[test]
fn validly_signed_non_canonical_bytes_are_refused() {
    // A signer who signs a malleated encoding still gets refused: one record, one byte string.
    // Byte 0 is the format (a u8, written raw); byte 1 is the module path's length as a
    // one-byte varint. Write that length as a 3-byte varint instead.
    let canonical = codec::encode(&vcs_record()).unwrap();
    assert_eq!(canonical[0], FORMAT_BYTE);
    let module_len = vcs_record().module().as_str().len();
    assert_eq!(usize::from(canonical[1]), module_len);
    let mut long = vec![FORMAT_BYTE, 251, canonical[1], 0];
    long.extend_from_slice(&canonical[2..]);
    let signature = sign_raw(&long);
    let signed = SignedRecord::from_parts(long, signature, key_a().signer_id());
    assert!(matches!(
        signed.verify(),
        Err(SigningError::Codec(CodecError::NotCanonical { .. }))
    ));
}

#[test]
fn validly_signed_trailing_bytes_are_refused() {
    let mut bytes = codec::encode(&vcs_record()).unwrap();
    bytes.push(0);
    let signature = sign_raw(&bytes);
    let signed = SignedRecord::from_parts(bytes, signature, key_a().signer_id());
    assert!(matches!(
        signed.verify(),
        Err(SigningError::Codec(CodecError::TrailingBytes { .. }))
    ));
}

#[test]
fn oversized_record_is_refused_before_decoding() {
    // Garbage that bincode would reject; the size check must come first.
    let bytes = vec![0xff; MAX_RECORD_BYTES + 1];
    let signature = sign_raw(&bytes);
    let signed = SignedRecord::from_parts(bytes, signature, key_a().signer_id());
    assert!(matches!(
        signed.verify(),
        Err(SigningError::Codec(CodecError::TooLarge { .. }))
    ));
    let wire = vec![0u8; SignedRecord::MAX_BYTES + 1];
    assert!(matches!(
        SignedRecord::from_wire(&wire),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn wire_form_with_trailing_bytes_is_refused() {
    let mut wire = key_a().sign(&vcs_record()).unwrap().to_wire().unwrap();
    wire.push(0);
    assert!(matches!(
        SignedRecord::from_wire(&wire),
        Err(CodecError::TrailingBytes { .. })
    ));
}

/// The record format version, which is the first byte of an encoded record.
const FORMAT_BYTE: u8 = crate::provenance::FORMAT_VERSION;

/// Signs arbitrary bytes the way `NodeKey::sign` signs an encoded record.
fn sign_raw(bytes: &[u8]) -> [u8; 64] {
    use ed25519_dalek::{Signer, SigningKey};
    SigningKey::from_bytes(&[0xa1; 32])
        .sign(&signed_message(bytes))
        .to_bytes()
}
