//! The pool's part of `/status` (JSON) and `/metrics` (Prometheus text): connected peers,
//! records known, received, rejected and synced, announcements, bad peers, bytes from peers,
//! and gossipsub's own message counters (all of them in `/metrics`, a summary in `/status`).

use std::fmt::Write;
use std::sync::Arc;

use delos_registry_index::Index;
use serde_json::{Value, json};

use super::{Pool, PoolStatsSnapshot};
use crate::p2p::PoolStatus;

/// The `pool` object of `/status`: `{"enabled": false}` for a node without a pool.
pub async fn status_json(pool: Option<&Pool>, index: &Arc<Index>) -> Value {
    let Some(pool) = pool else {
        return json!({ "enabled": false });
    };
    let stats = pool.stats().snapshot();
    let gossip = pool.handle().gossip_metrics().summary();
    let swarm = pool.status().await;
    let peers: Vec<Value> = swarm
        .iter()
        .flat_map(|s| &s.connected_peers)
        .map(|peer| {
            json!({
                "peer_id": peer.peer_id.to_string(),
                "round_trip_ms": peer.round_trip.map(|rtt| rtt.as_secs_f64() * 1000.0),
            })
        })
        .collect();
    let addrs = |pick: fn(&PoolStatus) -> &Vec<libp2p::Multiaddr>| -> Vec<String> {
        swarm.iter().flat_map(pick).map(|a| a.to_string()).collect()
    };
    json!({
        "enabled": true,
        "peer_id": pool.handle().local_peer_id().to_string(),
        "listen_addrs": addrs(|s| &s.listen_addrs),
        "external_addrs": addrs(|s| &s.external_addrs),
        "connected_peers": peers.len(),
        "peers": peers,
        "gossip_mesh_peers": swarm.as_ref().map(|s| s.gossip_mesh_peers),
        "kad_server_mode": swarm.as_ref().map(|s| s.kad_server_mode),
        "mdns_peers": swarm.as_ref().map(|s| s.mdns_peers),
        "records_known": records_known(index).await,
        "records_received": stats.records_received,
        "records_new": stats.records_new,
        "records_rejected": stats.records_rejected,
        "records_over_cap": stats.records_over_cap,
        "records_synced": stats.records_synced,
        "sync_failures": stats.sync_failures,
        "records_announced": stats.records_announced,
        "announce_failures": stats.announce_failures,
        "bad_peers": stats.bad_peers,
        "bytes_from_peers": stats.bytes_from_peers,
        "gossip_messages_published": gossip.published,
        "gossip_messages_sent": gossip.sent,
        "gossip_messages_received": gossip.received,
        "gossip_duplicates_received": gossip.duplicates,
    })
}

/// The pool's Prometheus metrics, gossipsub's own after the node's (nothing for a node
/// without a pool).
pub async fn metrics_text(pool: Option<&Pool>, index: &Arc<Index>) -> String {
    let Some(pool) = pool else {
        return String::new();
    };
    let connected = pool.status().await.map_or(0, |s| s.connected_peers.len());
    let stats = pool.stats().snapshot();
    let mut text = String::new();
    let gauges = [
        (
            "pool_connected_peers",
            "Pool peers connected now.",
            connected as u64,
        ),
        (
            "pool_records_known",
            "Signed records stored, of every signer.",
            records_known(index).await,
        ),
    ];
    for (name, help, value) in gauges {
        metric(&mut text, name, "gauge", help, value);
    }
    for (name, help, value) in counters(&stats) {
        metric(&mut text, name, "counter", help, value);
    }
    text.push_str(&pool.handle().gossip_metrics().render());
    text
}

/// The counters with their names and help lines.
fn counters(stats: &PoolStatsSnapshot) -> [(&'static str, &'static str, u64); 10] {
    [
        (
            "pool_records_received_total",
            "Gossiped records that verified.",
            stats.records_received,
        ),
        (
            "pool_records_new_total",
            "Received or synced records new to this node.",
            stats.records_new,
        ),
        (
            "pool_records_rejected_total",
            "Gossiped records rejected (oversized, malformed, forged).",
            stats.records_rejected,
        ),
        (
            "pool_records_over_cap_total",
            "Valid records not stored: their untrusted signer or the store is at its cap.",
            stats.records_over_cap,
        ),
        (
            "pool_records_synced_total",
            "Records pulled from peers' feeds.",
            stats.records_synced,
        ),
        (
            "pool_sync_failures_total",
            "Feed sync pages that failed.",
            stats.sync_failures,
        ),
        (
            "pool_records_announced_total",
            "Own records published on the pool's topic.",
            stats.records_announced,
        ),
        (
            "pool_announce_failures_total",
            "Publications or Kademlia provides that failed.",
            stats.announce_failures,
        ),
        (
            "pool_bad_peers_total",
            "Times a peer sent bytes that did not match.",
            stats.bad_peers,
        ),
        (
            "pool_bytes_from_peers_total",
            "Bytes received from peers by transfers.",
            stats.bytes_from_peers,
        ),
    ]
}

fn metric(text: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = write!(
        text,
        "# HELP delos_{name} {help}\n# TYPE delos_{name} {kind}\ndelos_{name} {value}\n"
    );
}

/// Records stored, counted off the async threads (0 when the store cannot count them; logged).
async fn records_known(index: &Arc<Index>) -> u64 {
    let index = Arc::clone(index);
    match tokio::task::spawn_blocking(move || index.records().count()).await {
        Ok(Ok(count)) => count,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "counting records failed");
            0
        }
        Err(err) => {
            tracing::warn!(error = %err, "counting records ended abnormally");
            0
        }
    }
}
