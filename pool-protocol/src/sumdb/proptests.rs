//! Property tests for the parsers: arbitrary input never panics, and what this crate writes
//! parses back to the same value (signed notes, tree heads, lookups).

use proptest::prelude::*;

use super::note::{KeyName, Note, SignerKey, VerifierKey, Verifiers};
use super::record::RecordText;
use super::tlog::Hash;
use super::{Lookup, SignedTreeHead, TreeHead};

/// Bytes that look a little like the formats: their separators, an em dash, base64, digits.
fn noisy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\n".to_vec()),
        Just("— ".as_bytes().to_vec()),
        Just(b"go.sum database tree\n".to_vec()),
        Just(b"+".to_vec()),
        "[A-Za-z0-9+/=. ]{1,12}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Record texts: a few lines of printable text.
fn record_text() -> impl Strategy<Value = RecordText> {
    prop::collection::vec("[ -~\u{e9}\u{2014}]{0,20}", 1..4)
        .prop_filter_map("blank line", |lines| {
            RecordText::parse(format!("{}\n", lines.join("\n")).as_bytes()).ok()
        })
}

fn signer(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

proptest! {
    #[test]
    fn parsers_take_any_bytes_without_panicking(bytes in noisy_bytes()) {
        let verifiers = Verifiers::new([signer("a", 1).verifier_key()]).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let _ = Note::parse(&bytes).map(|note| note.open(&verifiers));
        let _ = TreeHead::parse_text(&bytes);
        let _ = Lookup::parse(&bytes).map(|lookup| lookup.open(&verifiers));
        let _ = VerifierKey::parse(&text);
        let _ = SignerKey::parse(&text);
        let _ = super::Tile::parse_path(&text);
        if let Ok(note) = Note::parse(&bytes) {
            prop_assert_eq!(note.to_bytes(), bytes);
        }
    }
}

proptest! {
    // Ed25519 signing and verifying are slow in debug builds: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn signed_notes_round_trip(
        lines in prop::collection::vec("[ -~\u{e9}]{0,30}", 1..5),
        seeds in prop::collection::vec(1..=255u8, 1..4),
    ) {
        let text = format!("{}\n", lines.join("\n"));
        let mut note = Note::new(&text).unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            note = note.sign(&signer(&format!("k{i}"), *seed));
        }
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &note);
        let last = signer(&format!("k{}", seeds.len() - 1), seeds[seeds.len() - 1]);
        let opened = parsed.open(&Verifiers::new([last.verifier_key()]).unwrap()).unwrap();
        prop_assert_eq!(opened.text(), text.as_str());
        prop_assert_eq!(opened.unverified_signatures().len(), seeds.len() - 1);
    }

    #[test]
    fn signed_heads_and_lookups_round_trip(size in 1..=i64::MAX as u64, id in any::<u64>(), record in record_text(), hash in any::<[u8; 32]>()) {
        let key = signer("sum.example.org/db", 9);
        let head = TreeHead::new(size, Hash::from_bytes(hash)).unwrap();
        prop_assert_eq!(TreeHead::parse_text(head.to_text().as_bytes()), Ok(head));
        let signed = head.sign(&key).to_bytes();
        let verifiers = Verifiers::new([key.verifier_key()]).unwrap();
        prop_assert_eq!(SignedTreeHead::open(&signed, &verifiers).unwrap().head(), head);
        let lookup = Lookup::new(id % size, record, signed);
        let parsed = Lookup::parse(&lookup.to_bytes()).unwrap();
        prop_assert_eq!(&parsed, &lookup);
        prop_assert_eq!(parsed.open(&verifiers).unwrap().head(), head);
    }
}
