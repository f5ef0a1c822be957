//! A 100 MiB zip is stored and read back with flat memory.
//!
//! Peak RSS is process-wide, so the measurement runs in a child process (this test binary
//! re-executed for one test) where nothing else allocates; the parent reads its report.

use std::io::{self, Read};
use std::process::Command;

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::{HashedBlob, Index, Source, VersionEntry};

/// Tells the re-executed child where to store; without it the child test does nothing.
const CHILD_DIR_VAR: &str = "DELOS_LARGE_BLOB_CHILD_DIR";
const CHILD_TEST: &str = "large_blob::child_stores_100_mib_zip";
const ZIP_BYTES: u64 = 100 * 1024 * 1024;
/// Well below the 100 MiB that buffering the zip would cost.
const MAX_PEAK_RSS_KIB: u64 = 40 * 1024;
/// What storing and reading the zip may add to the opened index: buffers, not the zip.
const MAX_GROWTH_KIB: u64 = 8 * 1024;

/// Yields `len` deterministic, non-repeating-looking bytes without holding them.
struct Pattern {
    left: u64,
    state: u64,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for byte in &mut buf[..n] {
            self.state = self
                .state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *byte = (self.state >> 56) as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Peak resident set size of this process so far, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn child_stores_100_mib_zip() {
    let Ok(dir) = std::env::var(CHILD_DIR_VAR) else {
        return; // Only meaningful when re-executed by `hundred_mib_zip_is_stored_with_flat_memory`.
    };
    let before = peak_rss_kib();
    let index = Index::open(&dir).unwrap();
    let opened = peak_rss_kib();
    let go_mod = b"module example.com/big\n";
    let go_mod_blob = index.blobs().write(&go_mod[..]).unwrap();
    let pattern = Pattern {
        left: ZIP_BYTES,
        state: 1,
    };
    let zip_blob = index.blobs().write_limited(pattern, ZIP_BYTES).unwrap();
    let entry = VersionEntry::new(
        Vec::new(),
        HashedBlob::new(go_mod_blob, H1Hash::of_go_mod(go_mod)),
        0,
        Source::Import,
    )
    .with_zip(HashedBlob::new(zip_blob, H1Hash::from_bytes([7; 32])));
    let (m, v) = (
        ModulePath::parse("example.com/big").unwrap(),
        Version::parse("v1.0.0").unwrap(),
    );
    index.store(&m, &v, entry).unwrap();
    let mut reader = index.blobs().open_verified(zip_blob.sha256()).unwrap();
    let copied = io::copy(&mut reader, &mut io::sink()).unwrap();
    assert_eq!(copied, ZIP_BYTES);
    // On a line of its own: libtest has already printed the test name without a newline.
    println!(
        "\nPEAK_RSS_KIB before={before} opened={opened} after={}",
        peak_rss_kib()
    );
}

#[test]
fn hundred_mib_zip_is_stored_with_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB "))
        .expect("child reported no RSS");
    let field = |name: &str| -> u64 {
        let value = report.split(&format!("{name}=")).nth(1).unwrap();
        value.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (opened, after) = (field("opened"), field("after"));
    println!("100 MiB zip stored and verified; peak RSS {report} (KiB)");
    assert!(
        after < MAX_PEAK_RSS_KIB,
        "peak RSS {after} KiB is not flat ({report})"
    );
    let growth = after - opened;
    assert!(
        growth < MAX_GROWTH_KIB,
        "storing grew peak RSS by {growth} KiB ({report})"
    );
}
