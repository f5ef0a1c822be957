//! Tests for provenance records, and sample records for the other modules' tests.

use super::*;
use crate::codec::{self, CodecError};

/// The worked example of goproxy-protocol.md §4 (`example.org/hello.git@v1.0.0`), with the
/// `Origin` Go reported for it.
pub(crate) fn vcs_fields() -> RecordFields {
    RecordFields {
        module: ModulePath::parse("example.org/hello.git").unwrap(),
        version: Version::parse("v1.0.0").unwrap(),
        go_mod_h1: H1Hash::parse("h1:QJ+/gTmvQBuUneasCzJSE+xoq4qt4XbqZ6dJE1/ib7w=").unwrap(),
        zip: Some(ZipFacts {
            h1: H1Hash::parse("h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo=").unwrap(),
            sha256: Sha256::digest(b"the zip bytes"),
            size: 512,
        }),
        info_time: InfoTime::parse("2026-01-01T00:00:00Z").unwrap(),
        source: Source::Vcs(VcsOrigin {
            vcs: "git".to_owned(),
            url: "https://example.org/hello".to_owned(),
            subdir: None,
            hash: "83a110c266fc6a649c2a99492bde257705ee8a7c".to_owned(),
            ref_name: Some("refs/tags/v1.0.0".to_owned()),
        }),
        obtained_at: 1_790_000_000,
    }
}

/// A record from [`vcs_fields`].
pub(crate) fn vcs_record() -> ProvenanceRecord {
    ProvenanceRecord::new(vcs_fields()).unwrap()
}

fn problem(fields: RecordFields) -> RecordProblem {
    ProvenanceRecord::new(fields).unwrap_err().problem
}

#[test]
fn encodes_and_decodes_to_the_same_record() {
    let bytes = codec::encode(&vcs_record()).unwrap();
    assert_eq!(
        codec::decode::<ProvenanceRecord>(&bytes).unwrap(),
        vcs_record()
    );
}

#[test]
fn every_source_and_a_mod_only_record_round_trip() {
    let sources = [
        Source::Peer(crate::signing::NodeKey::from_secret_bytes([3; 32]).signer_id()),
        Source::Upstream("https://proxy.golang.org".to_owned()),
        Source::Import,
    ];
    for source in sources {
        let record = ProvenanceRecord::new(RecordFields {
            source,
            zip: None,
            ..vcs_fields()
        })
        .unwrap();
        let bytes = codec::encode(&record).unwrap();
        assert_eq!(codec::decode::<ProvenanceRecord>(&bytes).unwrap(), record);
    }
}

#[test]
fn typical_vcs_record_is_at_most_400_bytes() {
    let mut fields = vcs_fields();
    fields.module = ModulePath::parse("github.com/example-org/example-module").unwrap();
    fields.version = Version::parse("v0.0.0-20260101000000-83a110c266fc").unwrap();
    let len = codec::encode(&ProvenanceRecord::new(fields).unwrap())
        .unwrap()
        .len();
    assert!(len <= 400, "{len} bytes");
}

#[test]
fn non_canonical_version_is_refused() {
    for version in ["v1.0", "v1.0.0+meta"] {
        let fields = RecordFields {
            version: Version::parse(version).unwrap(),
            ..vcs_fields()
        };
        assert_eq!(problem(fields), RecordProblem::NonCanonicalVersion);
    }
}

#[test]
fn checks_also_run_when_decoding() {
    // Bypass `new` (this module can) to encode records that break each rule.
    let bad = [
        ProvenanceRecord {
            format: 2,
            fields: vcs_fields(),
        },
        ProvenanceRecord {
            format: FORMAT_VERSION,
            fields: RecordFields {
                version: Version::parse("v1.0").unwrap(),
                ..vcs_fields()
            },
        },
        ProvenanceRecord {
            format: FORMAT_VERSION,
            fields: RecordFields {
                source: Source::Upstream(String::new()),
                ..vcs_fields()
            },
        },
    ];
    for record in bad {
        let bytes = codec::encode(&record).unwrap();
        let err = codec::decode::<ProvenanceRecord>(&bytes).unwrap_err();
        assert!(matches!(err, CodecError::Decode { .. }), "{err:?}");
    }
}

#[test]
fn text_fields_are_bounded() {
    let origin = |url: String, hash: &str| {
        Source::Vcs(VcsOrigin {
            vcs: "git".to_owned(),
            url,
            subdir: Some("sub".to_owned()),
            hash: hash.to_owned(),
            ref_name: None,
        })
    };
    let long = RecordFields {
        source: origin("u".repeat(513), "abc"),
        ..vcs_fields()
    };
    let control = RecordFields {
        source: origin("https://x\n".to_owned(), "abc"),
        ..vcs_fields()
    };
    let empty = RecordFields {
        source: origin("https://x".to_owned(), ""),
        ..vcs_fields()
    };
    assert!(matches!(
        problem(long),
        RecordProblem::TextTooLong {
            field: "url",
            len: 513,
            ..
        }
    ));
    assert_eq!(
        problem(control),
        RecordProblem::ControlCharacter { field: "url" }
    );
    assert_eq!(problem(empty), RecordProblem::EmptyText { field: "hash" });
}

#[test]
fn largest_allowed_record_fits_the_codec_limit() {
    let fields = RecordFields {
        module: ModulePath::parse(&format!("example.org/{}", "m".repeat(500))).unwrap(),
        source: Source::Vcs(VcsOrigin {
            vcs: "v".repeat(16),
            url: "u".repeat(512),
            subdir: Some("s".repeat(256)),
            hash: "h".repeat(128),
            ref_name: Some("r".repeat(256)),
        }),
        ..vcs_fields()
    };
    let record = ProvenanceRecord::new(fields).unwrap();
    assert!(codec::encode(&record).unwrap().len() < MAX_RECORD_BYTES / 2);
}

#[test]
fn empty_zip_is_refused() {
    let mut fields = vcs_fields();
    if let Some(zip) = fields.zip.as_mut() {
        zip.size = 0;
    }
    assert_eq!(problem(fields), RecordProblem::EmptyZip);
}
