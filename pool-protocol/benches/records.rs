//! Provenance records: encoded size, and records signed and verified per second on one core.
//!
//! Run with `cargo bench -p delos-pool-protocol --bench records`. Goals (issue 6): at least
//! 20,000 verifications per second on one core, and at most 400 bytes for a typical VCS record.
//! The baseline, measured in the same run, is a bare `verify_strict` over the same message: the
//! floor that decoding and the canonical-encoding check add to.
//!
//! Without `--bench` (as under `cargo test --benches`) every measurement runs briefly, as a
//! smoke test.

// A benchmark's report is its standard output.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use delos_pool_protocol::codec;
use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::{
    InfoTime, ProvenanceRecord, RecordFields, Source, VcsOrigin, ZipFacts,
};
use delos_pool_protocol::signing::{DOMAIN, NodeKey, SignedRecord};
use delos_pool_protocol::version::Version;
use ed25519_dalek::{Signature, VerifyingKey};

type BenchResult = Result<(), Box<dyn std::error::Error>>;

fn main() -> BenchResult {
    let full = std::env::args().any(|arg| arg == "--bench");
    let budget = if full {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(20)
    };
    let record = typical_vcs_record()?;
    let key = NodeKey::from_secret_bytes([0x5e; 32]);
    let signed = key.sign(&record)?;
    let encoded = codec::encode(&record)?.len();
    let wire = signed.to_wire()?.len();
    println!("typical VCS record: {encoded} bytes encoded, {wire} bytes signed (wire form)");

    let sign = per_second(budget, || key.sign(black_box(&record)).map(drop))?;
    let verify = per_second(budget, || black_box(&signed).verify().map(drop))?;
    let from_wire = {
        let wire = signed.to_wire()?;
        per_second(budget, || {
            SignedRecord::from_wire(black_box(&wire))?.verify()?;
            Ok::<(), Box<dyn std::error::Error>>(())
        })?
    };
    let baseline = bare_verify_strict(&signed, budget)?;
    println!("sign (encode + ed25519):              {sign:>9.0} records/s");
    println!("verify (decode + canonical + strict): {verify:>9.0} records/s");
    println!("from wire, then verify:               {from_wire:>9.0} records/s");
    println!("baseline: bare verify_strict:         {baseline:>9.0} signatures/s");
    Ok(())
}

/// Runs `op` repeatedly for about `budget` on this thread and returns operations per second.
fn per_second<E>(budget: Duration, mut op: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    // Warm up caches and the branch predictor before timing.
    for _ in 0..50 {
        op()?;
    }
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            op()?;
        }
        done += 100;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// Signatures per second for `verify_strict` alone over the same message as `signed`.
fn bare_verify_strict(
    signed: &SignedRecord,
    budget: Duration,
) -> Result<f64, Box<dyn std::error::Error>> {
    let key = VerifyingKey::from_bytes(signed.signer().as_bytes())?;
    let signature = Signature::from_bytes(&signed.signature());
    let message = [DOMAIN, signed.bytes()].concat();
    let rate = per_second(budget, || {
        key.verify_strict(black_box(&message), &signature)
    })?;
    Ok(rate)
}

/// A record as a node would sign it after `go mod download` of a pseudo-version from GitHub.
fn typical_vcs_record() -> Result<ProvenanceRecord, Box<dyn std::error::Error>> {
    let fields = RecordFields {
        module: ModulePath::parse("github.com/example-org/example-module")?,
        version: Version::parse("v0.0.0-20260101000000-83a110c266fc")?,
        go_mod_h1: H1Hash::parse("h1:QJ+/gTmvQBuUneasCzJSE+xoq4qt4XbqZ6dJE1/ib7w=")?,
        zip: Some(ZipFacts {
            h1: H1Hash::parse("h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo=")?,
            sha256: Sha256::digest(b"zip bytes"),
            size: 48_213,
        }),
        info_time: InfoTime::parse("2026-01-01T00:00:00Z")?,
        source: Source::Vcs(VcsOrigin {
            vcs: "git".to_owned(),
            url: "https://github.com/example-org/example-module".to_owned(),
            subdir: None,
            hash: "83a110c266fc6a649c2a99492bde257705ee8a7c".to_owned(),
            ref_name: Some("refs/tags/v1.4.2".to_owned()),
        }),
        obtained_at: 1_790_000_000,
    };
    Ok(ProvenanceRecord::new(fields)?)
}
