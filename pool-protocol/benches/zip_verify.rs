//! Module zip validation + `h1:` throughput, next to `sha256sum` of the same file measured in
//! the same run.
//!
//! Run with `cargo bench -p delos-pool-protocol --bench zip_verify`. It writes a ~10 MiB and a
//! ~100 MiB module zip (random, incompressible files plus compressible Go-like text, deflated)
//! into a temporary directory, then alternates `verify_module_zip` and a spawned `sha256sum`
//! over each file, several rounds, and prints the median throughput of both and their ratio.
//! Goal (issue 3): validation + h1 at no less than 0.5x the throughput of `sha256sum`.
//! The file is in the page cache for both (each is run once untimed first).
//!
//! Without `--bench` (as under `cargo test --benches`) it runs one round over a ~1 MiB zip, as
//! a smoke test.

// A benchmark's report is its standard output.
#![allow(clippy::print_stdout)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_pool_protocol::zip::{VerifiedZip, verify_module_zip};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const MIB: u64 = 1 << 20;

fn main() -> BenchResult {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (sizes, rounds): (&[u64], usize) = match full {
        true => (&[10 * MIB, 100 * MIB], 7),
        false => (&[MIB], 1),
    };
    print_machine();
    let dir = tempfile::tempdir()?;
    let path = ModulePath::parse("example.org/bench")?;
    let version = Version::parse("v1.0.0")?;
    for &target in sizes {
        let zip_path = dir.path().join(format!("bench-{}MiB.zip", target / MIB));
        write_module_zip(&zip_path, target)?;
        measure(&zip_path, &path, &version, rounds)?;
    }
    Ok(())
}

/// Prints the CPU model and core count, so the numbers can be read against the machine.
fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']))
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {model}, {cores} cores");
}

/// Times `rounds` alternating runs of both contenders and prints medians and their ratio.
fn measure(zip: &Path, path: &ModulePath, version: &Version, rounds: usize) -> BenchResult {
    let size = std::fs::metadata(zip)?.len();
    // Untimed first runs: page cache, and a cross-check of the two sha256 values.
    let verified = verify(zip, path, version)?;
    let sha256sum_hex = sha256sum(zip)?;
    if verified.sha256.to_hex() != sha256sum_hex {
        return Err(format!(
            "sha256 mismatch: ours {}, sha256sum {sha256sum_hex}",
            verified.sha256
        )
        .into());
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(timed(|| verify(zip, path, version).map(drop))?);
        theirs.push(timed(|| sha256sum(zip).map(drop))?);
    }
    let ours = throughput(size, median(&mut ours));
    let theirs = throughput(size, median(&mut theirs));
    println!("{} ({size} bytes, {})", zip.display(), verified.h1);
    println!("  verify_module_zip (checks + h1 + sha256): {ours:>7.0} MiB/s");
    println!("  sha256sum (spawned process):              {theirs:>7.0} MiB/s");
    println!(
        "  ratio: {:.2}x (goal >= 0.5x), median of {rounds} rounds",
        ours / theirs
    );
    Ok(())
}

fn verify(zip: &Path, path: &ModulePath, version: &Version) -> BenchResult<VerifiedZip> {
    Ok(verify_module_zip(File::open(zip)?, path, version)?)
}

/// Runs `sha256sum FILE` and returns the hex digest it printed.
fn sha256sum(zip: &Path) -> BenchResult<String> {
    let output = Command::new("sha256sum").arg(zip).output()?;
    if !output.status.success() {
        return Err(format!("sha256sum failed: {}", output.status).into());
    }
    let stdout = String::from_utf8(output.stdout)?;
    Ok(stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

fn timed(op: impl FnOnce() -> BenchResult) -> BenchResult<Duration> {
    let start = Instant::now();
    op()?;
    Ok(start.elapsed())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn throughput(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MIB as f64 / took.as_secs_f64()
}

/// Writes a module zip of about `target` bytes: a go.mod, 1 MiB files of random bytes (about
/// 80% of the zip) and 64 KiB Go-like text files, all deflated.
fn write_module_zip(dest: &Path, target: u64) -> BenchResult {
    let mut zip = ZipWriter::new(BufWriter::new(File::create(dest)?));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let prefix = "example.org/bench@v1.0.0/";
    zip.start_file(format!("{prefix}go.mod"), options)?;
    zip.write_all(b"module example.org/bench\n\ngo 1.22\n")?;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let random_files = (target * 8 / 10).div_ceil(MIB);
    for i in 0..random_files {
        zip.start_file(format!("{prefix}testdata/random{i:03}.bin"), options)?;
        zip.write_all(&rng.bytes(MIB as usize))?;
    }
    // Generated text compresses about 5x: 0.2 * target of zip takes about target of text.
    let text_files = target.div_ceil(64 << 10);
    for i in 0..text_files {
        zip.start_file(format!("{prefix}pkg{:02}/file{i:04}.go", i % 16), options)?;
        zip.write_all(&go_text(i, &mut rng, 64 << 10))?;
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// About `len` bytes of Go-looking source: repetitive keywords, varying identifiers.
fn go_text(file: u64, rng: &mut XorShift, len: usize) -> Vec<u8> {
    let mut text = format!("package pkg{}\n\n", file % 16).into_bytes();
    while text.len() < len {
        let n = rng.next() % 1000;
        let line =
            format!("func f{file}_{n}(x int) int {{\n\treturn x*{n} + len(\"v{n}\")\n}}\n\n");
        text.extend_from_slice(line.as_bytes());
    }
    text
}

/// A small deterministic PRNG, so every run hashes the same bytes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}
