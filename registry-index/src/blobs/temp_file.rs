//! A temp file that deletes itself when dropped, so no error path can leave half a blob behind.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Suffix every temp file carries; `BlobStore::open` sweeps files with it.
pub(crate) const TEMP_SUFFIX: &str = ".part";

/// How many names to try before giving up on finding a free one.
const NAME_ATTEMPTS: u32 = 16;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A freshly created file under the store's temp directory, removed on drop.
///
/// The blob survives the drop because it is hard-linked to its final name first; dropping then
/// only removes the temp name. On any error before that, the drop removes the only name and the
/// partial content with it.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    file: File,
}

impl TempFile {
    /// Creates a new, empty temp file with a name no other writer uses.
    pub(crate) fn create_in(dir: &Path) -> io::Result<Self> {
        let mut last_err = None;
        for _ in 0..NAME_ATTEMPTS {
            let path = dir.join(unique_name());
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(Self { path, file }),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_err = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no free temp file name")))
    }

    /// The open file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The open file, for writing.
    pub(crate) fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// The temp file's own path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Best effort: a name left behind is swept by the next `BlobStore::open`.
        let _ = fs::remove_file(&self.path);
    }
}

/// `<pid>-<counter>-<random>.part`: the pid and counter keep names unique within a machine, the
/// random part keeps a reused pid from meeting a stale file of a crashed process.
fn unique_name() -> String {
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(count);
    let random = hasher.finish();
    format!("{}-{count}-{random:016x}{TEMP_SUFFIX}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let temp = TempFile::create_in(dir.path()).unwrap();
        let path = temp.path().to_path_buf();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());
    }

    #[test]
    fn names_do_not_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let a = TempFile::create_in(dir.path()).unwrap();
        let b = TempFile::create_in(dir.path()).unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a.path().to_string_lossy().ends_with(TEMP_SUFFIX));
    }
}
