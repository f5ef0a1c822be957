//! The one place signed records become bytes, and bytes become records again.
//!
//! Everything Delos signs goes through [`encode`] and [`decode`]: bincode `=2.0.1`, driven only
//! through its serde API, with one explicit configuration ([`config`]). Nothing else in the
//! workspace calls bincode, so a change of encoding is a change to this file alone.
//!
//! # The configuration, and why
//!
//! `bincode::config::standard()`: little endian, **variable-length integers**, plus a decode limit
//! of [`BINCODE_LIMIT_BYTES`]. Variable-length integers keep a typical VCS record under 400 bytes:
//! a record has about a dozen length prefixes and enum tags, which cost one byte each with varint
//! but eight (lengths) or four (tags) with fixint, about 90 bytes more. Varint's one weakness for
//! signed data is that bincode's decoder accepts non-minimal forms (the value 5 written as a
//! 3-byte `u16`), so the same record could travel as several byte strings. [`decode`] closes that
//! hole by re-encoding what it decoded and requiring the exact input bytes back.
//!
//! # What `decode` refuses, in order
//!
//! 1. input longer than the type's [`Canonical::MAX_BYTES`], before any decoding work;
//! 2. bytes bincode cannot decode into the type (including the type's own validation, which
//!    runs through `#[serde(try_from)]`), or that claim more than [`BINCODE_LIMIT_BYTES`];
//! 3. trailing bytes after the value;
//! 4. any encoding other than the one [`encode`] produces (non-minimal integers and the like).

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest encoded [`ProvenanceRecord`](crate::provenance::ProvenanceRecord) accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 4 * 1024;

/// Bincode's own decode limit: no value decoded here may claim more memory than this, whatever
/// its length prefixes say. A second guard behind [`Canonical::MAX_BYTES`].
pub const BINCODE_LIMIT_BYTES: usize = 16 * 1024;

/// The bincode configuration every Delos encoding uses (see the module docs for why varint).
pub type Config = Configuration<LittleEndian, Varint, Limit<BINCODE_LIMIT_BYTES>>;

/// The configuration value: standard (little endian, varint) with [`BINCODE_LIMIT_BYTES`].
pub const fn config() -> Config {
    bincode::config::standard().with_limit::<BINCODE_LIMIT_BYTES>()
}

/// A type with exactly one encoding, of bounded size, that [`encode`] and [`decode`] handle.
pub trait Canonical: Serialize + DeserializeOwned {
    /// The largest encoding of this type accepted by [`encode`] and [`decode`], in bytes.
    const MAX_BYTES: usize;
    /// A short name for the type, used in error messages.
    const NAME: &'static str;
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The input (or the encoding produced) is longer than the type allows.
    #[error("{what} is {len} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The type being encoded or decoded.
        what: &'static str,
        /// The length found.
        len: usize,
        /// The limit for this type.
        max: usize,
    },
    /// Bincode could not encode the value.
    #[error("cannot encode {what}")]
    Encode {
        /// The type being encoded.
        what: &'static str,
        /// Bincode's error.
        #[source]
        source: bincode::error::EncodeError,
    },
    /// The bytes are not a valid encoding of the type.
    #[error("cannot decode {what}")]
    Decode {
        /// The type being decoded.
        what: &'static str,
        /// Bincode's error (which carries the type's own validation error, if that failed).
        #[source]
        source: bincode::error::DecodeError,
    },
    /// The value ended before the input did.
    #[error("{what} has {trailing} trailing bytes after the value")]
    TrailingBytes {
        /// The type being decoded.
        what: &'static str,
        /// How many bytes were left over.
        trailing: usize,
    },
    /// The bytes decode, but are not the one encoding `encode` produces for that value.
    #[error("{what} is not canonically encoded (re-encoding gives different bytes)")]
    NotCanonical {
        /// The type being decoded.
        what: &'static str,
    },
}

/// Encodes `value` with the Delos configuration, refusing encodings over `T::MAX_BYTES`.
pub fn encode<T: Canonical>(value: &T) -> Result<Vec<u8>, CodecError> {
    let bytes =
        bincode::serde::encode_to_vec(value, config()).map_err(|source| CodecError::Encode {
            what: T::NAME,
            source,
        })?;
    check_size::<T>(bytes.len())?;
    Ok(bytes)
}

/// Decodes exactly one canonical `T` from all of `bytes` (see the module docs for the checks).
pub fn decode<T: Canonical>(bytes: &[u8]) -> Result<T, CodecError> {
    check_size::<T>(bytes.len())?;
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|source| {
            CodecError::Decode {
                what: T::NAME,
                source,
            }
        })?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes {
            what: T::NAME,
            trailing: bytes.len().saturating_sub(used),
        });
    }
    if encode(&value)? != bytes {
        return Err(CodecError::NotCanonical { what: T::NAME });
    }
    Ok(value)
}

fn check_size<T: Canonical>(len: usize) -> Result<(), CodecError> {
    if len > T::MAX_BYTES {
        return Err(CodecError::TooLarge {
            what: T::NAME,
            len,
            max: T::MAX_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// A small type exercising strings, integers, options and enums.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        count: u64,
        note: Option<String>,
    }

    impl Canonical for Sample {
        const MAX_BYTES: usize = 64;
        const NAME: &'static str = "sample";
    }

    fn sample() -> Sample {
        Sample {
            name: "delos".to_owned(),
            count: 5,
            note: None,
        }
    }

    #[test]
    fn round_trip_is_exact() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&sample()).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::TrailingBytes { trailing: 1, .. })
        ));
    }

    #[test]
    fn non_minimal_integer_is_refused() {
        // name "delos" = [5, d, e, l, o, s]; then count 5 as one byte; then None = 0.
        let bytes = encode(&sample()).unwrap();
        assert_eq!(bytes[6], 5);
        // The same value 5 written as a varint u16 (marker 251, then two little-endian bytes):
        // bincode itself decodes it, the canonical check must not.
        let mut long = bytes[..6].to_vec();
        long.extend_from_slice(&[251, 5, 0]);
        long.extend_from_slice(&bytes[7..]);
        let raw: (Sample, usize) = bincode::serde::decode_from_slice(&long, config()).unwrap();
        assert_eq!(raw.0, sample(), "bincode accepts the long form");
        assert!(matches!(
            decode::<Sample>(&long),
            Err(CodecError::NotCanonical { .. })
        ));
    }

    #[test]
    fn non_minimal_length_prefix_is_refused() {
        let bytes = encode(&sample()).unwrap();
        let mut long = vec![251, 5, 0];
        long.extend_from_slice(&bytes[1..]);
        assert!(matches!(
            decode::<Sample>(&long),
            Err(CodecError::NotCanonical { .. })
        ));
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        // Not a valid encoding at all: if decoding ran, the error would be Decode.
        let junk = vec![0xff; Sample::MAX_BYTES + 1];
        assert!(matches!(
            decode::<Sample>(&junk),
            Err(CodecError::TooLarge {
                len: 65,
                max: 64,
                ..
            })
        ));
    }

    #[test]
    fn oversized_value_is_not_encoded() {
        let big = Sample {
            name: "x".repeat(100),
            ..sample()
        };
        assert!(matches!(encode(&big), Err(CodecError::TooLarge { .. })));
    }

    #[test]
    fn truncated_input_is_refused() {
        let bytes = encode(&sample()).unwrap();
        for len in 0..bytes.len() {
            assert!(decode::<Sample>(&bytes[..len]).is_err(), "prefix of {len}");
        }
    }
}
