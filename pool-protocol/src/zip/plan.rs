//! The central-directory pass: every rule of Go's `zip.CheckZip` that needs no entry data,
//! including the size limits, checked before a single byte is inflated.

use std::io::{Read, Seek};

use zip::{CompressionMethod, ZipArchive};

use super::collisions::CollisionChecker;
use super::duplicates::RepeatedNames;
use super::entry_name::{EntryName, check_entry_name, check_go_mod};
use super::{MAX_GO_MOD_BYTES, MAX_LICENSE_BYTES, MAX_ZIP_BYTES, ZipError};

/// An entry that passed every central-directory rule, with what is needed to hash it.
#[derive(Debug, Clone)]
pub(super) struct PlannedEntry {
    /// Index in the `zip` crate's archive.
    pub(super) index: usize,
    /// The full entry name.
    pub(super) name: String,
    /// Whether it is a directory entry (hashed as an empty file, never read).
    pub(super) is_dir: bool,
    /// Declared uncompressed size.
    pub(super) size: u64,
    /// Size of its stored (compressed) data.
    pub(super) compressed_size: u64,
    /// Declared CRC-32.
    pub(super) crc32: u32,
    /// Whether the CRC-32 must match (see `entry_data::Declared::check_crc32`).
    pub(super) check_crc32: bool,
    /// Store or deflate.
    pub(super) method: CompressionMethod,
    /// Where its local header starts, to read entries in file order.
    pub(super) offset: u64,
    /// How many central directory entries carry this name (more than one only for
    /// directories, which Go allows to repeat and hashes once per entry).
    pub(super) copies: usize,
}

/// Applies the central-directory rules to every entry. `repeated` counts names that occur
/// more than once (see `duplicates`). As in Go, the size limit wins over a bad entry found
/// earlier; otherwise the first bad entry is reported.
pub(super) fn plan_entries<R: Read + Seek>(
    archive: &ZipArchive<R>,
    prefix: &str,
    repeated: &RepeatedNames,
) -> Result<Vec<PlannedEntry>, ZipError> {
    let mut planned = Vec::with_capacity(archive.len());
    let mut collisions = CollisionChecker::default();
    let mut first_error = None;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(ZipError::Malformed)?;
        let copies = repeated.get(entry.name_raw()).copied().unwrap_or(1);
        let checked = check_entry_name(entry.name_raw(), prefix)
            .and_then(|name| check_placement(&mut collisions, &name).map(|()| name));
        let planned_entry = checked.and_then(|name| {
            if !name.is_dir {
                total = add_to_total(total, entry.size())?;
            }
            check_data(&name, &entry, copies, index)
        });
        match planned_entry {
            Ok(entry) => planned.push(entry),
            Err(e @ ZipError::ContentTooLarge { .. }) => return Err(e),
            Err(e) => _ = first_error.get_or_insert(e),
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(planned),
    }
}

/// Collisions, then the `go.mod` placement rules (Go's order). The bare prefix entry skips
/// both.
fn check_placement(
    collisions: &mut CollisionChecker,
    name: &EntryName<'_>,
) -> Result<(), ZipError> {
    if name.path.is_empty() {
        return Ok(());
    }
    collisions.check(name.full, name.path, name.is_dir)?;
    if !name.is_dir {
        check_go_mod(name)?;
    }
    Ok(())
}

/// Adds a file's declared size to the running total, refusing a total over the limit.
fn add_to_total(total: u64, declared: u64) -> Result<u64, ZipError> {
    match total.checked_add(declared) {
        Some(sum) if sum <= MAX_ZIP_BYTES => Ok(sum),
        _ => Err(ZipError::ContentTooLarge {
            limit: MAX_ZIP_BYTES,
        }),
    }
}

/// The per-file limits, repetition, and whether Go's reader could read the data at all.
fn check_data(
    name: &EntryName<'_>,
    entry: &zip::read::ZipFileEntry<'_>,
    copies: usize,
    index: usize,
) -> Result<PlannedEntry, ZipError> {
    check_file_limit(name, entry.size())?;
    let full = || name.full.to_owned();
    if copies > 1 && !name.is_dir {
        return Err(ZipError::DuplicateFile { entry: full() });
    }
    match name.is_dir {
        true => check_directory(name, entry)?,
        false => check_readable(name, entry)?,
    }
    Ok(PlannedEntry {
        index,
        name: full(),
        is_dir: name.is_dir,
        size: entry.size(),
        compressed_size: entry.compressed_size(),
        crc32: entry.crc32(),
        check_crc32: entry.crc32() != 0 || entry.flags().is_using_data_descriptor(),
        method: entry.compression(),
        offset: entry.header_start(),
        copies,
    })
}

/// The 16 MiB limits on a root `go.mod` and `LICENSE`.
fn check_file_limit(name: &EntryName<'_>, declared: u64) -> Result<(), ZipError> {
    let limit = match name.path {
        "go.mod" if !name.is_dir => MAX_GO_MOD_BYTES,
        "LICENSE" if !name.is_dir => MAX_LICENSE_BYTES,
        _ => return Ok(()),
    };
    if declared > limit {
        return Err(ZipError::FileTooLarge {
            entry: name.full.to_owned(),
            declared,
            limit,
        });
    }
    Ok(())
}

/// Go's reader opens a directory entry as empty data, and refuses one that declares data.
fn check_directory(
    name: &EntryName<'_>,
    entry: &zip::read::ZipFileEntry<'_>,
) -> Result<(), ZipError> {
    if entry.size() != 0 {
        return Err(ZipError::DirectoryWithData {
            entry: name.full.to_owned(),
            declared: entry.size(),
        });
    }
    Ok(())
}

/// Go's reader knows only store and deflate, and no encryption.
fn check_readable(
    name: &EntryName<'_>,
    entry: &zip::read::ZipFileEntry<'_>,
) -> Result<(), ZipError> {
    let method = entry.compression();
    if !matches!(
        method,
        CompressionMethod::Stored | CompressionMethod::Deflated
    ) {
        return Err(ZipError::UnsupportedCompression {
            entry: name.full.to_owned(),
            method,
        });
    }
    if entry.encrypted() {
        return Err(ZipError::Encrypted {
            entry: name.full.to_owned(),
        });
    }
    Ok(())
}
