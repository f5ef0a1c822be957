//! Module zip validation: every check of Go's `golang.org/x/mod/zip.CheckZip`, plus the reads
//! Go's `dirhash.HashZip` does, in one streaming pass that yields a [`VerifiedZip`].
//!
//! The steps, in order (see `docs/goproxy-protocol.md` §3–4):
//!
//! 1. The expected version must be canonical and fit the path (`module.Check`).
//! 2. The zip file may be at most [`MAX_ZIP_BYTES`].
//! 3. From the central directory alone, before anything is inflated: every entry starts with
//!    `<path>@<version>/`; the rest is `path.Clean`-clean and passes `CheckFilePath`; no two
//!    paths are equal under case folding; no path is both a file and a directory; no file
//!    repeats; `go.mod` appears only at the root and in lowercase; the declared sizes of the
//!    files add up to at most [`MAX_ZIP_BYTES`]; a root `go.mod` or `LICENSE` declares at most
//!    16 MiB; only store and deflate are used; the files' compressed data fits in the file
//!    (entries that share data, a zip bomb shape Go does not refuse, are refused here).
//! 4. Each file is inflated through fixed buffers while its SHA-256 and CRC-32 are computed;
//!    its real size must equal the declared one (reading stops one byte past it). Directory
//!    entries count in the `h1:` hash as empty files, as in Go.
//! 5. A second pass over the raw bytes gives the SHA-256 and size of the whole file
//!    ([`verify_module_zip_contents`] skips it, for callers that hashed the bytes as they came).
//!
//! Memory does not grow with the zip's size: it holds the central directory's entry list and
//! two 128 KiB buffers. Nothing is written to disk.

mod collisions;
mod duplicates;
mod entry_data;
mod entry_name;
mod error;
mod plan;
mod root_go_mod;
mod scan;

use std::io::{BufReader, Read, Seek, SeekFrom};

use sha2::Digest as _;
use zip::ZipArchive;

pub use error::ZipError;
pub use root_go_mod::root_go_mod;
pub use scan::ScannedEntries;

use crate::hash::{H1Builder, H1Hash, Sha256};
use crate::module_path::ModulePath;
use crate::version::{Version, check_path_version};
use duplicates::RepeatedNames;
use entry_data::{Buffers, Declared, digest_entry};
use plan::{PlannedEntry, plan_entries};

/// Largest module zip file, and largest total declared uncompressed size of its files
/// (Go's `MaxZipFile`): 500 MiB.
pub const MAX_ZIP_BYTES: u64 = 500 << 20;

/// Largest root `go.mod` in a module zip (Go's `MaxGoMod`): 16 MiB.
pub const MAX_GO_MOD_BYTES: u64 = 16 << 20;

/// Largest root `LICENSE` in a module zip (Go's `MaxLICENSE`): 16 MiB.
pub const MAX_LICENSE_BYTES: u64 = 16 << 20;

/// A module zip that passed every check, with its hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedZip {
    /// The `h1:` hash over its entries, as in `go.sum`.
    pub h1: H1Hash,
    /// The SHA-256 of the zip file's bytes (its content address).
    pub sha256: Sha256,
    /// The zip file's size in bytes.
    pub size: u64,
}

/// Checks that `zip` is a valid module zip for `path@version` and computes its hashes.
///
/// The reader is read from its start; it is only read, never written, and is consumed.
pub fn verify_module_zip<R: Read + Seek>(
    zip: R,
    path: &ModulePath,
    version: &Version,
) -> Result<VerifiedZip, ZipError> {
    let none = ScannedEntries::default();
    let (h1, file, mut buffers) = check_and_hash_entries(zip, path, version, &none)?;
    let (sha256, size) = sha256_of_file(file, buffers.scratch())?;
    Ok(VerifiedZip { h1, sha256, size })
}

/// Every check of [`verify_module_zip`] and the `h1:` hash, without the pass over the raw
/// bytes (steps 1–4): for a caller that hashed the file's bytes as it wrote them. An entry's
/// digest from `scanned` (made while the zip arrived) is used instead of inflating it again
/// when the central directory agrees with it in every respect; see [`ScannedEntries`].
pub fn verify_module_zip_contents<R: Read + Seek>(
    zip: R,
    path: &ModulePath,
    version: &Version,
    scanned: &ScannedEntries,
) -> Result<H1Hash, ZipError> {
    check_and_hash_entries(zip, path, version, scanned).map(|(h1, _, _)| h1)
}

/// Steps 1–4: returns the `h1:`, the reader, and the buffers for a raw pass.
fn check_and_hash_entries<R: Read + Seek>(
    mut zip: R,
    path: &ModulePath,
    version: &Version,
    scanned: &ScannedEntries,
) -> Result<(H1Hash, BufReader<R>, Buffers), ZipError> {
    if !version.is_canonical() {
        return Err(ZipError::VersionNotCanonical {
            version: version.as_str().to_owned(),
        });
    }
    check_path_version(path, version)?;
    let size = zip.seek(SeekFrom::End(0))?;
    if size > MAX_ZIP_BYTES {
        return Err(ZipError::ZipTooLarge {
            size,
            limit: MAX_ZIP_BYTES,
        });
    }
    zip.seek(SeekFrom::Start(0))?;
    let prefix = format!("{}@{}/", path.as_str(), version.as_str());
    let (mut archive, repeated) = open_archive(BufReader::with_capacity(64 << 10, zip))?;
    let planned = plan_entries(&archive, &prefix, &repeated)?;
    check_no_overlap(&planned, size)?;
    let mut buffers = Buffers::new();
    let none = ScannedEntries::default();
    // Offsets are the file's own; a zip behind prepended bytes is simply inflated again.
    let scanned = match archive.offset() {
        0 => scanned,
        _ => &none,
    };
    let h1 = hash_entries(&mut archive, planned, &mut buffers, scanned)?;
    Ok((h1, archive.into_inner(), buffers))
}

/// Reads the central directory, and counts repeated names if the `zip` crate merged any.
fn open_archive<R: Read + Seek>(reader: R) -> Result<(ZipArchive<R>, RepeatedNames), ZipError> {
    let archive = ZipArchive::new(reader).map_err(ZipError::Malformed)?;
    if !archive.has_duplicate_names() {
        return Ok((archive, RepeatedNames::new()));
    }
    let start = archive.central_directory_start();
    let mut reader = archive.into_inner();
    let repeated = duplicates::repeated_names(&mut reader, start)?;
    reader.seek(SeekFrom::Start(0))?;
    let archive = ZipArchive::new(reader).map_err(ZipError::Malformed)?;
    Ok((archive, repeated))
}

/// Refuses files whose compressed data adds up to more than the zip: every byte read while
/// inflating then comes from a distinct part of the file, so the work is bounded by its size.
fn check_no_overlap(planned: &[PlannedEntry], file_size: u64) -> Result<(), ZipError> {
    let compressed_total = planned
        .iter()
        .filter(|entry| !entry.is_dir)
        .fold(0u64, |sum, entry| sum.saturating_add(entry.compressed_size));
    if compressed_total > file_size {
        return Err(ZipError::OverlappingEntries {
            compressed_total,
            file_size,
        });
    }
    Ok(())
}

/// Reads every planned entry in file order and computes the `h1:` hash over all of them.
fn hash_entries<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    mut planned: Vec<PlannedEntry>,
    buffers: &mut Buffers,
    scanned: &ScannedEntries,
) -> Result<H1Hash, ZipError> {
    planned.sort_unstable_by_key(|entry| entry.offset);
    let empty = Sha256::digest(b"");
    let mut h1 = H1Builder::new();
    for entry in planned {
        let content = match entry.is_dir {
            true => empty,
            false => match scanned_digest(scanned, &entry) {
                Some(digest) => digest,
                None => digest_planned(archive, &entry, buffers)?,
            },
        };
        for _ in 1..entry.copies {
            h1.push(entry.name.clone(), content);
        }
        h1.push(entry.name, content);
    }
    Ok(h1.finish())
}

/// The scan's digest of `entry`, when what the scan found at its local header agrees with the
/// central directory on the method, the compressed size, the size and (where Go's reader
/// checks it) the CRC-32: then the scan hashed exactly the bytes Go would read.
fn scanned_digest(scanned: &ScannedEntries, entry: &PlannedEntry) -> Option<Sha256> {
    let data = scanned.at(entry.offset)?;
    let method = match entry.method {
        zip::CompressionMethod::Stored => scan::STORED,
        zip::CompressionMethod::Deflated => scan::DEFLATED,
        _ => return None,
    };
    let agrees = data.method == method
        && data.compressed_size == entry.compressed_size
        && data.size == entry.size
        && (!entry.check_crc32 || data.crc32 == entry.crc32);
    agrees.then_some(data.sha256)
}

/// Opens one file entry's raw data and digests it.
fn digest_planned<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &PlannedEntry,
    buffers: &mut Buffers,
) -> Result<Sha256, ZipError> {
    let raw = archive
        .by_index_raw(entry.index)
        .map_err(|source| ZipError::MalformedEntry {
            entry: entry.name.clone(),
            source,
        })?;
    let declared = Declared {
        entry: &entry.name,
        method: entry.method,
        size: entry.size,
        crc32: entry.crc32,
        check_crc32: entry.check_crc32,
    };
    digest_entry(raw, &declared, buffers)
}

/// One pass over the raw bytes from the start: the SHA-256 and size of the whole file.
fn sha256_of_file<R: Read + Seek>(
    mut file: R,
    buffer: &mut [u8],
) -> Result<(Sha256, u64), ZipError> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    loop {
        let n = match file.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((Sha256::from_bytes(hasher.finalize().into()), size))
}

#[cfg(test)]
mod tests;
