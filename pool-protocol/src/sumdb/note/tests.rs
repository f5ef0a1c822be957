//! Known-answer tests from Go's `golang.org/x/mod/sumdb/note` (`note_test.go` and the package
//! documentation in `note.go`), and vectors generated with x/mod, as listed in
//! `docs/checksum-db.md` §2.

use super::*;

/// `note_test.go` TestNewVerifier, TestOpen; `note.go` doc.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// `note_test.go` TestNewSigner, TestSign.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
/// `note_test.go` TestVerifierList, TestOpen.
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
/// `note_test.go` TestSign, TestOpen.
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
/// `note_test.go` TestSign, TestOpen: PeterNeumann's signature of TEXT.
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
/// `note_test.go` TestOpen: EnochRoot's signature of TEXT.
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
/// `sumdb/client_test.go` and `cmd/go/proxy_test.go`: the test database's key pair.
const SUMDB_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const SUMDB_SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";
/// `cmd/go/internal/modfetch/key.go`: the key built into the go command.
const SUM_GOLANG_ORG: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

fn verifiers(keys: &[&str]) -> Verifiers {
    Verifiers::new(keys.iter().map(|key| VerifierKey::parse(key).unwrap())).unwrap()
}

fn message(signatures: &[&str]) -> Vec<u8> {
    format!("{TEXT}\n{}", signatures.concat()).into_bytes()
}

#[test]
fn verifier_keys_parse_with_their_hashes_and_print_back() {
    for (key, hash) in [
        (PETER_VKEY, 0xc74f20a3),
        (ENOCH_VKEY, 0xaf0cfe78),
        (SUMDB_VKEY, 0x00000c67),
        (SUM_GOLANG_ORG, 0x033de0ae),
    ] {
        let parsed = VerifierKey::parse(key).unwrap();
        assert_eq!(parsed.key_hash(), KeyHash(hash), "{key}");
        assert_eq!(parsed.to_string(), key);
    }
    assert_eq!(KeyHash(0x00000c67).to_string(), "00000c67");
}

/// Asserts that `parses` refuses every proper substring of `key` and every copy of it with one
/// byte increased (note_test.go TestNewVerifier and TestNewSigner).
fn assert_manglings_fail(key: &str, parses: impl Fn(&str) -> bool) {
    let bytes = key.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            let part = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!((i, j) == (0, bytes.len()) || !parses(part), "{part}");
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(!parses(&mangled), "{mangled}");
    }
}

#[test]
fn every_substring_and_mangling_of_a_key_fails() {
    assert_manglings_fail(PETER_VKEY, |key| VerifierKey::parse(key).is_ok());
    assert_manglings_fail(PETER_SKEY, |key| SignerKey::parse(key).is_ok());
}

#[test]
fn keys_of_the_wrong_length_or_algorithm_fail_even_with_the_right_hash() {
    // note_test.go TestNewVerifier: the key hashes were adjusted to match. The long key's
    // base64 ends in nonzero padding bits, which Go's decoder takes and this one refuses.
    let long = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
    assert_eq!(
        VerifierKey::parse(long).unwrap_err().problem,
        KeyProblem::Syntax
    );
    let algorithm = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let problem = VerifierKey::parse(algorithm).unwrap_err().problem;
    assert_eq!(problem, KeyProblem::UnknownAlgorithm { algorithm: 0x65 });
    // The length check itself, on canonical base64 with a matching hash.
    use base64::Engine;
    let name = KeyName::new("PeterNeumann").unwrap();
    let data = [1u8; 34];
    let long = format!(
        "{name}+{}+{}",
        KeyHash::of(&name, &data),
        base64::engine::general_purpose::STANDARD.encode(data)
    );
    let problem = VerifierKey::parse(&long).unwrap_err().problem;
    assert_eq!(problem, KeyProblem::WrongLength { len: 33 });
}

#[test]
fn a_wrong_key_hash_is_reported_with_the_right_one() {
    let wrong = PETER_VKEY.replace("c74f20a3", "c74f20a4");
    let problem = VerifierKey::parse(&wrong).unwrap_err().problem;
    assert_eq!(
        problem,
        KeyProblem::HashMismatch {
            stated: KeyHash(0xc74f20a4),
            computed: KeyHash(0xc74f20a3),
        }
    );
}

#[test]
fn signer_keys_parse_and_give_their_verifier_keys() {
    for (skey, vkey) in [(PETER_SKEY, PETER_VKEY), (SUMDB_SKEY, SUMDB_VKEY)] {
        let signer = SignerKey::parse(skey).unwrap();
        assert_eq!(signer.verifier_key().to_string(), vkey);
        assert_eq!(signer.to_secret_string(), skey);
    }
}

#[test]
fn signer_key_errors_and_debug_do_not_show_the_secret() {
    let signer = SignerKey::parse(PETER_SKEY).unwrap();
    let shown = format!("{signer:?}");
    assert!(!shown.contains("AYEKFALV"), "{shown}");
    let bad = PETER_SKEY.replace("c74f20a3", "c74f20a4");
    let error = SignerKey::parse(&bad).unwrap_err().to_string();
    assert!(!error.contains("AYEKFALV"), "{error}");
}

#[test]
fn signing_reproduces_go_signatures() {
    // note_test.go TestSign (ed25519 is deterministic).
    let signer = SignerKey::parse(PETER_SKEY).unwrap();
    let signed = Note::new(TEXT).unwrap().sign(&signer);
    assert_eq!(signed.to_bytes(), message(&[PETER_SIG]));
}

#[test]
fn signing_tree_heads_reproduces_x_mod() {
    // docs/checksum-db.md §2, generated with x/mod: the tree of "leaf 0".."leaf 7".
    let text = "go.sum database tree\n8\nxcLIIO00L92ozolra5z1uMAKIcxLIHFMxuXTwFw1JAs=\n";
    let cases = [
        (
            PETER_SKEY,
            "— PeterNeumann x08go6sHsTd/yFEKMujR7gpdO6wZOmER/lvwRgbDGLOeXGKUR7qnIgC2w4GLgfyBjgdFx5wD7Z1BsVp9u7bKMiu/DgQ=",
        ),
        (
            SUMDB_SKEY,
            "— localhost.localdev/sumdb AAAMZ0H1pAO++MppvahvBqmITmyQZuvZue83tXwlMMPcChyHWmPtMEDvqYfQAosb+hrKXS3pIOqzEc6U4vE8+aFnKA8=",
        ),
    ];
    for (skey, line) in cases {
        let signed = Note::new(text)
            .unwrap()
            .sign(&SignerKey::parse(skey).unwrap());
        assert_eq!(signed.to_bytes(), format!("{text}\n{line}\n").into_bytes());
    }
}

#[test]
fn signing_again_replaces_the_keys_old_signature() {
    // note_test.go TestSign: an existing signature by the signing key is replaced.
    let signer = SignerKey::parse(PETER_SKEY).unwrap();
    let note = Note::parse(&message(&[PETER_SIG, ENOCH_SIG])).unwrap();
    let signed = note.sign(&signer);
    assert_eq!(signed.to_bytes(), message(&[ENOCH_SIG, PETER_SIG]));
}

#[test]
fn open_verifies_known_keys_and_keeps_unknown_ones() {
    // note_test.go TestOpen: one verified, one not; both verified.
    let both = message(&[PETER_SIG, ENOCH_SIG]);
    let note = Note::parse(&both).unwrap();
    let opened = note.open(&verifiers(&[PETER_VKEY])).unwrap();
    assert_eq!(opened.text(), TEXT);
    assert_eq!(opened.verified_signatures().len(), 1);
    assert_eq!(
        opened.verified_signatures()[0].name().as_str(),
        "PeterNeumann"
    );
    assert_eq!(
        opened.verified_signatures()[0].key_hash(),
        KeyHash(0xc74f20a3)
    );
    assert_eq!(opened.unverified_signatures().len(), 1);
    assert_eq!(
        opened.unverified_signatures()[0].key_hash(),
        KeyHash(0xaf0cfe78)
    );
    let opened = note.open(&verifiers(&[PETER_VKEY, ENOCH_VKEY])).unwrap();
    assert_eq!(opened.verified_signatures().len(), 2);
    assert!(opened.unverified_signatures().is_empty());
    assert_eq!(opened.note().to_bytes(), both);
}

#[test]
fn a_note_without_known_signatures_does_not_open() {
    // note_test.go TestOpen: both unverified, and an empty verifier list.
    let note = Note::parse(&message(&[PETER_SIG, ENOCH_SIG])).unwrap();
    match note.open(&Verifiers::default()) {
        Err(NoteError::NoVerifiableSignatures { unverified }) => assert_eq!(unverified.len(), 2),
        other => panic!("{other:?}"),
    }
    let error = note.open(&Verifiers::default()).unwrap_err();
    assert_eq!(error.to_string(), "note has no verifiable signatures");
}

#[test]
fn a_bad_signature_by_a_known_key_is_refused() {
    // note_test.go TestOpen: "ABCD" inserted at byte 60 of Peter's signature line.
    let bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let note = Note::parse(&message(&[&bad])).unwrap();
    let error = note.open(&verifiers(&[PETER_VKEY])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid signature for key PeterNeumann+c74f20a3"
    );
}

#[test]
fn repeated_signatures_count_once() {
    // note_test.go TestOpen: duplicated verified and unverified signatures.
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let msg = message(&[PETER_SIG, PETER_SIG, ENOCH_SIG, ENOCH_SIG, &enoch_abcd]);
    let opened = Note::parse(&msg)
        .unwrap()
        .open(&verifiers(&[PETER_VKEY]))
        .unwrap();
    assert_eq!(opened.verified_signatures().len(), 1);
    let unverified: Vec<String> = opened
        .unverified_signatures()
        .iter()
        .map(|s| format!("{s}\n"))
        .collect();
    assert_eq!(unverified, [ENOCH_SIG.to_owned(), enoch_abcd]);
}

#[test]
fn more_than_a_hundred_signatures_are_refused() {
    // note_test.go TestOpen: 101 copies of a signature.
    let many = message(&vec![PETER_SIG; 101]);
    assert_eq!(
        Note::parse(&many).unwrap_err(),
        NoteError::TooManySignatures { limit: 100 }
    );
    assert!(Note::parse(&message(&vec![PETER_SIG; 100])).is_ok());
}

#[test]
fn malformed_messages_are_refused() {
    // note_test.go TestOpen's badMsgs.
    let no_newline = &PETER_SIG[..PETER_SIG.len() - 1];
    let bad_name = "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
    let cases: Vec<Vec<u8>> = vec![
        TEXT.into(),
        format!("{TEXT}\n").into(),
        format!("{TEXT}\n{no_newline}").into(),
        format!("\x01{TEXT}\n{PETER_SIG}").into(),
        [b"\xff".as_slice(), &message(&[PETER_SIG])].concat(),
        format!("{TEXT}\n{bad_name}").into(),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n").into(),
    ];
    for case in cases {
        let error = Note::parse(&case).unwrap_err();
        assert!(error.to_string().starts_with("malformed note"), "{error}");
    }
}

#[test]
fn note_texts_must_follow_the_rules() {
    // note_test.go TestSign: a text without a final newline.
    assert_eq!(
        Note::new("abc").unwrap_err(),
        NoteError::Text(TextProblem::Unterminated)
    );
    assert_eq!(
        Note::new("a\tb\n").unwrap_err(),
        NoteError::Text(TextProblem::ControlCharacter {
            offset: 1,
            byte: b'\t'
        })
    );
    assert!(Note::new("\n").is_ok());
}

#[test]
fn key_names_follow_go() {
    for good in ["PeterNeumann", "localhost.localdev/sumdb", "a\u{1}b"] {
        assert!(KeyName::new(good).is_ok(), "{good:?}");
    }
    for bad in ["", "a b", "a+b", "a\u{2003}b", "a\u{85}b", "a\nb"] {
        assert!(KeyName::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn generated_keys_sign_what_their_verifier_keys_check() {
    // note_test.go TestGenerateKey.
    let signer = SignerKey::generate(KeyName::new("EnochRoot").unwrap()).unwrap();
    let again = SignerKey::parse(&signer.to_secret_string()).unwrap();
    let verifier = VerifierKey::parse(&again.verifier_key().to_string()).unwrap();
    assert_eq!(verifier.key_hash(), signer.key_hash());
    let mut signature = signer.sign(b"hi");
    assert!(verifier.verify(b"hi", &signature));
    assert!(!verifier.verify(b"ho", &signature));
    signature[0] ^= 1;
    assert!(!verifier.verify(b"hi", &signature));
}

#[test]
fn a_witness_cosignature_keeps_the_log_signature() {
    let log = SignerKey::parse(SUMDB_SKEY).unwrap();
    let witness = SignerKey::parse(PETER_SKEY).unwrap();
    let signed = Note::new(TEXT).unwrap().sign(&log);
    let opened = signed.open(&verifiers(&[SUMDB_VKEY])).unwrap();
    let cosigned = opened.cosign(&witness).to_bytes();
    let expected = [signed.to_bytes(), PETER_SIG.as_bytes().to_vec()].concat();
    assert_eq!(cosigned, expected);
    // A reader that knows only the log still opens it; one that knows only the witness too.
    let reopened = Note::parse(&cosigned).unwrap();
    let by_log = reopened.open(&verifiers(&[SUMDB_VKEY])).unwrap();
    assert_eq!(by_log.unverified_signatures().len(), 1);
    let by_witness = reopened.open(&verifiers(&[PETER_VKEY])).unwrap();
    assert_eq!(
        by_witness.verified_signatures()[0].name().as_str(),
        "PeterNeumann"
    );
}

#[test]
fn two_keys_with_one_name_and_hash_are_ambiguous() {
    // Found by a birthday search (Go, crypto/ed25519): seeds 0x12a8 and 0x19cfa, as big-endian
    // numbers, give keys named "x" that both hash to cb82066a.
    let seed = |n: u64| {
        let mut seed = [0u8; 32];
        seed[24..].copy_from_slice(&n.to_be_bytes());
        SignerKey::from_seed(KeyName::new("x").unwrap(), seed).verifier_key()
    };
    let (a, b) = (seed(0x12a8), seed(0x19cfa));
    assert_eq!(a.key_hash(), KeyHash(0xcb82066a));
    assert_eq!(b.key_hash(), KeyHash(0xcb82066a));
    assert!(Verifiers::new([a.clone(), a.clone()]).is_ok());
    let error = Verifiers::new([a, b]).unwrap_err();
    assert_eq!(error.to_string(), "ambiguous key x+cb82066a");
}
