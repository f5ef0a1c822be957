//! `ZipError`: why a module zip was refused, naming the offending entry.

use crate::module_path::InvalidFilePath;
use crate::version::IncompatibleVersion;

/// Why a module zip was refused. Variants that concern one entry name it by its full entry
/// name (prefix included, lossily decoded if it is not UTF-8).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZipError {
    /// The expected version is not canonical, so no zip can be valid for it.
    #[error("version {version:?} is not canonical")]
    VersionNotCanonical {
        /// The version that was asked for.
        version: String,
    },
    /// The expected module path and version do not fit together (Go's `module.Check`).
    #[error(transparent)]
    IncompatibleVersion(#[from] IncompatibleVersion),
    /// The zip file itself is larger than [`MAX_ZIP_BYTES`](super::MAX_ZIP_BYTES).
    #[error("module zip file is too large ({size} bytes; limit is {limit} bytes)")]
    ZipTooLarge {
        /// The size of the zip file in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The sizes the central directory declares for the files add up to more than
    /// [`MAX_ZIP_BYTES`](super::MAX_ZIP_BYTES). Checked before anything is inflated.
    #[error("total uncompressed size of module contents too large (max size is {limit} bytes)")]
    ContentTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The files' compressed data adds up to more than the zip file holds, so entries share
    /// (overlap) their data: a zip bomb shape that would make every entry re-read the same
    /// bytes. Go's own writer never produces it.
    #[error(
        "module zip entries overlap: {compressed_total} bytes of compressed data in a {file_size}-byte file"
    )]
    OverlappingEntries {
        /// The sum of the files' compressed sizes.
        compressed_total: u64,
        /// The size of the zip file.
        file_size: u64,
    },
    /// A root `go.mod` or `LICENSE` declares more than its 16 MiB limit.
    #[error("{entry}: file too large ({declared} bytes; max size is {limit} bytes)")]
    FileTooLarge {
        /// The entry.
        entry: String,
        /// Its declared uncompressed size.
        declared: u64,
        /// The limit for this file.
        limit: u64,
    },
    /// An entry does not start with `<path>@<version>/` (the `go` command's "zip for M@V has
    /// unexpected file").
    #[error("zip for {module_version} has unexpected file {entry}")]
    UnexpectedFile {
        /// `<path>@<version>` the zip was expected to hold.
        module_version: String,
        /// The entry.
        entry: String,
    },
    /// The name after the prefix is not what Go's `path.Clean` would make of it.
    #[error("{entry}: file path is not clean")]
    NotClean {
        /// The entry.
        entry: String,
    },
    /// The name after the prefix fails Go's `module.CheckFilePath`.
    #[error("{entry}: {source}")]
    InvalidFilePath {
        /// The entry.
        entry: String,
        /// Which rule the name broke.
        source: InvalidFilePath,
    },
    /// Two entries differ only in case (under Unicode case folding).
    #[error("case-insensitive file name collision: {first:?} and {second:?}")]
    CaseCollision {
        /// The path (after the prefix) seen first.
        first: String,
        /// The colliding path (after the prefix) seen later.
        second: String,
    },
    /// A path is both a file and a directory (a file `a` and an entry `a/b` or `a/`).
    #[error("{entry}: entry {path:?} is both a file and a directory")]
    FileAndDirectory {
        /// The entry whose check found the conflict.
        entry: String,
        /// The path (after the prefix) that is both.
        path: String,
    },
    /// The same file appears more than once.
    #[error("{entry}: multiple entries for file")]
    DuplicateFile {
        /// The entry.
        entry: String,
    },
    /// A `go.mod` (in any case) below the module root.
    #[error("{entry}: go.mod file not in module root directory")]
    GoModNotInRoot {
        /// The entry.
        entry: String,
    },
    /// A root `go.mod` spelled with upper-case letters (`GO.MOD`).
    #[error("{entry}: go.mod files must have lowercase names")]
    GoModNotLowercase {
        /// The entry.
        entry: String,
    },
    /// A directory entry that declares uncompressed data (Go's reader refuses to open it).
    #[error("{entry}: directory entry declares {declared} bytes of data")]
    DirectoryWithData {
        /// The entry.
        entry: String,
        /// Its declared uncompressed size.
        declared: u64,
    },
    /// An entry's real uncompressed size differs from its declared size. Reading stops one
    /// byte past the declared size, so for a longer entry `actual` is `declared + 1`.
    #[error("{entry}: uncompressed size {actual} does not match declared size {declared}")]
    SizeMismatch {
        /// The entry.
        entry: String,
        /// The uncompressed size its header declares.
        declared: u64,
        /// The bytes actually produced (at most `declared + 1`).
        actual: u64,
    },
    /// An entry's CRC-32 differs from the one its header declares.
    #[error("{entry}: checksum error (crc32 {actual:08x}, header says {declared:08x})")]
    ChecksumMismatch {
        /// The entry.
        entry: String,
        /// The CRC-32 in the central directory.
        declared: u32,
        /// The CRC-32 of the data.
        actual: u32,
    },
    /// An entry uses a compression method other than store or deflate (Go reads only those).
    #[error("{entry}: unsupported compression method {method:?}")]
    UnsupportedCompression {
        /// The entry.
        entry: String,
        /// The method its header names.
        method: zip::CompressionMethod,
    },
    /// An entry is encrypted.
    #[error("{entry}: encrypted entries are not allowed")]
    Encrypted {
        /// The entry.
        entry: String,
    },
    /// An entry's deflate stream is corrupt.
    #[error("{entry}: corrupt deflate data")]
    Inflate {
        /// The entry.
        entry: String,
        /// What the inflater reported.
        source: flate2::DecompressError,
    },
    /// An entry's deflate stream ends before its final block.
    #[error("{entry}: deflate data is truncated")]
    TruncatedDeflate {
        /// The entry.
        entry: String,
    },
    /// The bytes are not a zip archive the `zip` crate can read.
    #[error("malformed module zip")]
    Malformed(#[source] zip::result::ZipError),
    /// An entry's local header cannot be read.
    #[error("{entry}: malformed local header")]
    MalformedEntry {
        /// The entry.
        entry: String,
        /// What the `zip` crate reported.
        source: zip::result::ZipError,
    },
    /// Reading or seeking the zip failed.
    #[error("reading module zip")]
    Io(#[from] std::io::Error),
}
