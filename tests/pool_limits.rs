//! The cap on records from peers: a peer nobody trusts can sign as many made-up records as it
//! likes, but the node keeps at most `--max-records-per-signer` of them, whether they come by
//! sync or by gossip; the rest are not stored, gossiped ones are ignored (not forwarded, the
//! sender not penalised), and the refusals are counted in `/status` and `/metrics`. A trusted
//! signer's records are not capped.
//!
//! U (untrusted) serves a feed of 8 records and then gossips 4 more; T (trusted) serves a feed
//! of 7. V caps signers at 5.
//!
//! The store's total cap (`--max-records`) bounds a party that mints many keys: W holds at most
//! 6 records in all, T's 4 trusted ones first; two more untrusted signers then get 2 stored
//! between them.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use delos_pool_protocol::signing::{NodeKey, SignedRecord};

use crate::pool_hostile::fake_record;
use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::liar::{Files, Liar};
use crate::support::pool::{PoolNode, PoolOptions, Transport, wait_until};

const JUNK: &str = "example.org/junk.git";
const CAP: u64 = 5;
const REACT_TIMEOUT: Duration = Duration::from_secs(30);

/// Records of [`JUNK`] at `v1.0.<n>` for every `n` in `range`, signed by `key`.
fn junk(key: &NodeKey, range: std::ops::Range<u32>) -> Result<Vec<SignedRecord>> {
    range
        .map(|n| fake_record(key, JUNK, &format!("v1.0.{n}")))
        .collect()
}

/// Which of `v1.0.0 … v1.0.<count - 1>` `node` holds a record of by `signer`.
fn held(node: &PoolNode, signer: &str, count: u32) -> Result<Vec<u32>> {
    let mut held = Vec::new();
    for n in 0..count {
        if node.has_record(JUNK, &format!("v1.0.{n}"), signer)? {
            held.push(n);
        }
    }
    Ok(held)
}

#[test]
fn an_untrusted_signer_gets_at_most_its_cap_stored() -> Result<()> {
    let untrusted_key = NodeKey::generate()?;
    let feed = junk(&untrusted_key, 0..8)?;
    let untrusted = Liar::start_with_key(untrusted_key, Files::new(), feed)?;
    let trusted_key = NodeKey::generate()?;
    let trusted_feed = junk(&trusted_key, 0..7)?;
    let trusted = Liar::start_with_key(trusted_key, Files::new(), trusted_feed)?;
    let nothing = GitWorld::new()?;
    let v = PoolOptions::new(app::node_options(&nothing))
        .arg("--max-records-per-signer")
        .arg(&CAP.to_string())
        .arg("--trusted-signer")
        .arg(&trusted.signer())
        .arg("--bootstrap")
        .arg(&untrusted.addr()?)
        .arg("--bootstrap")
        .arg(&trusted.addr()?)
        .start()?;

    wait_until(REACT_TIMEOUT, "V synced both feeds", || {
        Ok(v.pool_stat("records_over_cap")? >= 3 && held(&v, &trusted.signer(), 7)?.len() == 7)
    })
    .with_context(|| v.log())?;
    ensure!(
        held(&v, &untrusted.signer(), 8)? == [0, 1, 2, 3, 4],
        "the first 5 of the feed"
    );

    for record in junk(untrusted.key(), 8..12)? {
        let wire = record.to_wire()?;
        wait_until(REACT_TIMEOUT, "the gossip is published", || {
            Ok(untrusted.publish(wire.clone()))
        })?;
    }
    wait_until(REACT_TIMEOUT, "V refused the gossiped records", || {
        Ok(v.pool_stat("records_over_cap")? >= 7)
    })
    .with_context(|| v.log())?;
    ensure!(held(&v, &untrusted.signer(), 12)?.len() as u64 == CAP);
    ensure!(
        v.pool_stat("records_known")? == CAP + 7,
        "5 untrusted + 7 trusted"
    );
    ensure!(
        v.pool_stat("records_rejected")? == 0,
        "valid records are not rejected"
    );
    let penalised = format!("peer={}", untrusted.peer_id());
    ensure!(
        !v.log()
            .lines()
            .any(|l| l.contains("rejecting") && l.contains(&penalised)),
        "the sender was penalised:\n{}",
        v.log()
    );
    let metrics = v.http().get("/metrics")?.text();
    ensure!(
        metrics.contains("delos_pool_records_over_cap_total 7"),
        "no over-cap counter in /metrics:\n{metrics}"
    );
    ensure!(v.http().get("/healthz")?.status == 200, "V keeps serving");
    Ok(())
}

#[test]
fn untrusted_signers_together_get_at_most_the_store_cap() -> Result<()> {
    const TOTAL: u64 = 6;
    let trusted_key = NodeKey::generate()?;
    let trusted =
        Liar::start_with_key(trusted_key.clone(), Files::new(), junk(&trusted_key, 0..4)?)?;
    let nothing = GitWorld::new()?;
    let w = PoolOptions::new(app::node_options(&nothing))
        .arg("--max-records")
        .arg(&TOTAL.to_string())
        .arg("--trusted-signer")
        .arg(&trusted.signer())
        .arg("--bootstrap")
        .arg(&trusted.addr()?)
        .start()?;
    wait_until(REACT_TIMEOUT, "W synced the trusted feed", || {
        Ok(held(&w, &trusted.signer(), 4)?.len() == 4)
    })
    .with_context(|| w.log())?;

    let mut strangers = Vec::new();
    for _ in 0..2 {
        let key = NodeKey::generate()?;
        let feed = junk(&key, 0..4)?;
        let stranger = Liar::start_with_key(key, Files::new(), feed)?;
        stranger.dial(&w.addr(Transport::Tcp)?)?;
        strangers.push(stranger);
    }
    wait_until(REACT_TIMEOUT, "W synced both strangers' feeds", || {
        Ok(w.pool_stat("records_over_cap")? >= 6)
    })
    .with_context(|| w.log())?;
    let mut stored = 0;
    for stranger in &strangers {
        stored += held(&w, &stranger.signer(), 4)?.len() as u64;
    }
    ensure!(
        stored == TOTAL - 4,
        "{stored} untrusted records stored, want 2"
    );
    ensure!(w.pool_stat("records_known")? == TOTAL);
    ensure!(w.pool_stat("records_over_cap")? == 6);
    ensure!(w.http().get("/healthz")?.status == 200, "W keeps serving");
    Ok(())
}
