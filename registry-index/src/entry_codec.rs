//! The on-disk encoding of a [`VersionEntry`]: a small explicit binary format with a version
//! byte, so every stored byte has a documented meaning.
//!
//! Format 1 (integers big-endian; `str` = u32 length + UTF-8 bytes; `blob` = 32-byte sha256,
//! u64 size, 32-byte `h1:` digest):
//!
//! ```text
//! u8 format (= 1) | u64 obtained_at_unix_secs | u8 source (0 vcs, 1 peer + str,
//! 2 upstream + str, 3 import) | blob go.mod | u8 has_zip (0/1) [+ blob zip] | u32 len + .info
//! ```

use delos_pool_protocol::hash::{H1Hash, Sha256};

use crate::blobs::StoredBlob;
use crate::entry::{HashedBlob, Source, VersionEntry};

const FORMAT_V1: u8 = 1;

/// Why stored entry bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the record does.
    #[error("entry record is truncated")]
    Truncated,
    /// The format byte is not one this build knows.
    #[error("entry record has unknown format {0}")]
    UnknownFormat(u8),
    /// A tag byte (source, zip flag) has no meaning.
    #[error("entry record has invalid tag {0}")]
    InvalidTag(u8),
    /// A text field is not UTF-8.
    #[error("entry record has a text field that is not UTF-8")]
    NotUtf8,
    /// Bytes follow the end of the record.
    #[error("entry record has {0} trailing bytes")]
    TrailingBytes(usize),
}

/// Encodes an entry in the current format.
pub(crate) fn encode(entry: &VersionEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + entry.info().len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&entry.obtained_at_unix_secs().to_be_bytes());
    match entry.source() {
        Source::Vcs => out.push(0),
        Source::Peer(peer) => put_str(&mut out, 1, peer),
        Source::Upstream(url) => put_str(&mut out, 2, url),
        Source::Import => out.push(3),
    }
    put_blob(&mut out, entry.go_mod());
    match entry.zip() {
        None => out.push(0),
        Some(zip) => {
            out.push(1);
            put_blob(&mut out, zip);
        }
    }
    put_bytes(&mut out, entry.info());
    out
}

fn put_str(out: &mut Vec<u8>, tag: u8, text: &str) {
    out.push(tag);
    put_bytes(out, text.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths come from `.info` JSON and peer ids, far below 4 GiB; saturating keeps the
    // encoder total, and such a record would then fail to decode instead of misreading.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_blob(out: &mut Vec<u8>, blob: &HashedBlob) {
    out.extend_from_slice(blob.blob().sha256().as_bytes());
    out.extend_from_slice(&blob.blob().size().to_be_bytes());
    out.extend_from_slice(blob.h1().as_bytes());
}

/// Decodes an entry written by [`encode`] (any format this build knows).
pub(crate) fn decode(bytes: &[u8]) -> Result<VersionEntry, DecodeError> {
    let mut input = Reader(bytes);
    let format = input.u8()?;
    if format != FORMAT_V1 {
        return Err(DecodeError::UnknownFormat(format));
    }
    let obtained_at = input.u64()?;
    let source = match input.u8()? {
        0 => Source::Vcs,
        1 => Source::Peer(input.string()?),
        2 => Source::Upstream(input.string()?),
        3 => Source::Import,
        tag => return Err(DecodeError::InvalidTag(tag)),
    };
    let go_mod = input.blob()?;
    let zip = match input.u8()? {
        0 => None,
        1 => Some(input.blob()?),
        tag => return Err(DecodeError::InvalidTag(tag)),
    };
    let info = input.bytes()?.to_vec();
    if !input.0.is_empty() {
        return Err(DecodeError::TrailingBytes(input.0.len()));
    }
    let entry = VersionEntry::new(info, go_mod, obtained_at, source);
    Ok(match zip {
        Some(zip) => entry.with_zip(zip),
        None => entry,
    })
}

/// A cursor over the record's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?.try_into().map_err(|_| DecodeError::Truncated)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_be_bytes(self.array()?);
        self.take(len as usize)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::NotUtf8)
    }

    fn blob(&mut self) -> Result<HashedBlob, DecodeError> {
        let sha256 = Sha256::from_bytes(self.array()?);
        let size = self.u64()?;
        let h1 = H1Hash::from_bytes(self.array()?);
        Ok(HashedBlob::new(StoredBlob::new(sha256, size), h1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(seed: u8, size: u64) -> HashedBlob {
        let blob = StoredBlob::new(Sha256::from_bytes([seed; 32]), size);
        HashedBlob::new(blob, H1Hash::from_bytes([seed.wrapping_add(1); 32]))
    }

    fn samples() -> Vec<VersionEntry> {
        let info = br#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#.to_vec();
        vec![
            VersionEntry::new(info.clone(), hashed(1, 20), 1_700_000_000, Source::Vcs),
            VersionEntry::new(Vec::new(), hashed(2, 0), 0, Source::Import)
                .with_zip(hashed(3, 1 << 40)),
            VersionEntry::new(
                info.clone(),
                hashed(4, 7),
                u64::MAX,
                Source::Peer("12D3KooW".into()),
            )
            .with_zip(hashed(5, 9)),
            VersionEntry::new(
                info,
                hashed(6, 7),
                5,
                Source::Upstream("https://proxy.example/".into()),
            ),
        ]
    }

    #[test]
    fn every_shape_round_trips() {
        for entry in samples() {
            assert_eq!(decode(&encode(&entry)).unwrap(), entry);
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        for entry in samples() {
            let bytes = encode(&entry);
            for len in 0..bytes.len() {
                assert!(
                    decode(&bytes[..len]).is_err(),
                    "prefix of {len} bytes decoded"
                );
            }
        }
    }

    #[test]
    fn unknown_format_tags_and_trailing_bytes_are_refused() {
        let mut bytes = encode(&samples()[0]);
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes(1)));
        bytes[0] = 2;
        assert_eq!(decode(&bytes), Err(DecodeError::UnknownFormat(2)));
        let mut bad_source = encode(&samples()[0]);
        bad_source[9] = 9;
        assert_eq!(decode(&bad_source), Err(DecodeError::InvalidTag(9)));
    }
}
