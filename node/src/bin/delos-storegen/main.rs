//! `delos-storegen`: writes a synthetic store of valid module versions for benchmarks.
//!
//! Every version is real: a module zip made by Go's rules with its `h1:` computed by
//! `pool-protocol`'s zip check, its `.mod` and `.info`, pinned through `registry-index`'s own
//! API, with a provenance record signed by one of a few fixed ed25519 signers and stored (with
//! its feed item) as a fill stores it. Shape: one module (`gen.example/big`) with
//! `--big-versions` versions, then modules `gen.example/m0000000`, … with `--per-module` each.
//!
//! Makers (`--threads`) build and sign versions in parallel; the main thread writes them in
//! batches of `--batch`, each batch durable (one filesystem sync for its blobs, one flush each
//! for its pins and its records) before the next. The store goes to `DATA_DIR/store`, where
//! `delos serve --data-dir DATA_DIR` opens it; a second run over the same store adds nothing
//! twice (stores are idempotent).

mod make;
mod record;
mod shape;
mod write;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use delos_pool_protocol::signing::NodeKey;
use delos_registry_index::Index;

use crate::shape::Shape;
use crate::write::{Added, Prepared, write_batch};

/// Writes a synthetic store of valid module versions (real zips, real `h1:` hashes, real
/// signed provenance records) for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "delos-storegen", version)]
struct Args {
    /// The node data directory: the store is written to DATA_DIR/store, where
    /// `delos serve --data-dir DATA_DIR` opens it.
    #[arg(long)]
    data_dir: PathBuf,
    /// Module versions in all.
    #[arg(long, default_value_t = 1_000_000)]
    versions: u64,
    /// Versions of the one big module, gen.example/big (made first).
    #[arg(long, default_value_t = 10_000)]
    big_versions: u64,
    /// Versions of each other module (gen.example/m0000000, …).
    #[arg(long, default_value_t = 5)]
    per_module: u64,
    /// Distinct signers of the records (version n is signed by signer n mod SIGNERS).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    signers: u64,
    /// Versions made durable together.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    /// Threads making and signing versions (the main thread writes).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    threads: u64,
}

fn main() {
    if let Err(err) = run(Args::parse()) {
        eprintln!("delos-storegen: {err:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = args.data_dir.join("store");
    let index = Index::open(&store).with_context(|| format!("opening {}", store.display()))?;
    let shape = Shape {
        total: args.versions,
        big_versions: args.big_versions,
        per_module: args.per_module,
    };
    let keys = record::signers(args.signers);
    let added = generate(&index, &shape, &keys, &args)?;
    drop(index);
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(out, "versions: {} ({} new)", args.versions, added.versions)?;
    writeln!(out, "records: {} new", added.records)?;
    writeln!(out, "seconds: {seconds:.1}")?;
    writeln!(
        out,
        "versions-per-second: {:.0}",
        args.versions as f64 / seconds
    )?;
    for key in &keys {
        writeln!(out, "signer: {}", key.signer_id())?;
    }
    Ok(())
}

/// Makes the versions on `args.threads` threads and writes them, batch by batch, here.
fn generate(index: &Index, shape: &Shape, keys: &[NodeKey], args: &Args) -> anyhow::Result<Added> {
    let batches = shape.total.div_ceil(args.batch);
    // Two batches in flight per maker: enough to keep the writer busy, and bounded.
    let (sender, receiver) = mpsc::sync_channel::<anyhow::Result<Vec<Prepared>>>(2);
    std::thread::scope(|scope| {
        for maker in 0..args.threads {
            let sender = sender.clone();
            scope.spawn(move || {
                for b in (maker..batches).step_by(args.threads as usize) {
                    let batch = prepare(shape, keys, b * args.batch, args.batch);
                    let failed = batch.is_err();
                    if sender.send(batch).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let mut added = Added::default();
        let mut progress = Progress::new(shape.total);
        for batch in receiver {
            let batch = batch?;
            let done = write_batch(index, &batch)?;
            added.versions += done.versions;
            added.records += done.records;
            progress.advance(batch.len() as u64);
        }
        Ok(added)
    })
}

/// Makes and signs versions `first..first + count` (clipped to the shape's total).
fn prepare(
    shape: &Shape,
    keys: &[NodeKey],
    first: u64,
    count: u64,
) -> anyhow::Result<Vec<Prepared>> {
    (first..(first + count).min(shape.total))
        .map(|n| {
            let made = make::make(shape.slot(n)?)?;
            let key = &keys[(n % keys.len() as u64) as usize];
            let record = record::sign(&made, key)?;
            Ok(Prepared { made, record })
        })
        .collect()
}

/// A line on stderr every 5% of the way.
struct Progress {
    total: u64,
    done: u64,
    next_report: u64,
    started: Instant,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            total,
            done: 0,
            next_report: total / 20,
            started: Instant::now(),
        }
    }

    fn advance(&mut self, by: u64) {
        self.done += by;
        if self.done >= self.next_report {
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            eprintln!("{}/{} versions, {rate:.0}/s", self.done, self.total);
            self.next_report = self.done + (self.total / 20).max(1);
        }
    }
}
