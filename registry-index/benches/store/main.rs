//! Store and read throughput of the registry index next to `cp` and `cat` of the same bytes,
//! and lookups per second over 100,000 stored versions.
//!
//! Run with `cargo bench -p delos-registry-index`; set `DELOS_BENCH_DIR` to measure on a
//! particular disk (default: the system temp dir). Prints a Markdown table.

// A benchmark's report is its standard output, and a failed step ends it with the error.
#![allow(clippy::print_stdout)]

mod lookups;
mod throughput;

use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use delos_pool_protocol::hash::H1Hash;
use delos_registry_index::{HashedBlob, Index, StoredBlob};

type BenchResult<T> = Result<T, Box<dyn Error>>;

fn main() -> BenchResult<()> {
    let base = std::env::var_os("DELOS_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let root = tempfile::tempdir_in(base)?;
    println!("| case | what | ops | bytes | seconds | MiB/s | ops/s |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (label, size, count) in throughput::CASES {
        throughput::run(root.path(), label, *size, *count)?;
    }
    lookups::run(root.path())?;
    Ok(())
}

/// One measured row.
struct Row<'a> {
    case: &'a str,
    what: &'a str,
    ops: u64,
    bytes: u64,
    elapsed: Duration,
}

impl Row<'_> {
    fn print(&self) {
        let secs = self.elapsed.as_secs_f64();
        let mib_s = self.bytes as f64 / (1024.0 * 1024.0) / secs;
        let ops_s = self.ops as f64 / secs;
        let mib = if self.bytes == 0 {
            "".to_owned()
        } else {
            format!("{mib_s:.1}")
        };
        println!(
            "| {} | {} | {} | {} | {secs:.3} | {mib} | {ops_s:.0} |",
            self.case, self.what, self.ops, self.bytes
        );
    }
}

/// Times `f`.
fn timed<T>(f: impl FnOnce() -> BenchResult<T>) -> BenchResult<(T, Duration)> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}

/// Runs a shell command line, failing on a non-zero exit.
fn shell(script: &str, args: &[&Path]) -> BenchResult<()> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .status()?;
    if !status.success() {
        return Err(format!("`{script}` failed: {status}").into());
    }
    Ok(())
}

/// One go.mod blob shared by every benchmark version, so rows measure the zip and the record.
fn shared_go_mod(index: &Index) -> BenchResult<HashedBlob> {
    let go_mod = b"module example.com/bench\n";
    let blob: StoredBlob = index.blobs().write(&go_mod[..])?;
    Ok(HashedBlob::new(blob, H1Hash::of_go_mod(go_mod)))
}

/// Deterministic bytes for file `n`, different for every `n`.
fn content(n: u64, size: usize) -> Vec<u8> {
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
