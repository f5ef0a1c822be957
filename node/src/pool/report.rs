//! What `/status` says of the node in its swarm besides its metrics (PeerId, addresses, peers
//! with their round trips, mesh and Kademlia state), and the two pool gauges read before each
//! report: peers connected now and signed records stored.

use std::sync::Arc;

use delos_registry_index::Index;
use serde_json::{Value, json};

use super::Pool;
use crate::p2p::PoolStatus;

/// The swarm as `/status` shows it (a JSON object), and the number of peers connected now.
pub async fn swarm_status(pool: &Pool) -> (Value, u64) {
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
    let connected = peers.len() as u64;
    let status = json!({
        "name": pool.name().to_string(),
        "peer_id": pool.handle().local_peer_id().to_string(),
        "listen_addrs": addrs(|s| &s.listen_addrs),
        "external_addrs": addrs(|s| &s.external_addrs),
        "peers": peers,
        "gossip_mesh_peers": swarm.as_ref().map(|s| s.gossip_mesh_peers),
        "kad_server_mode": swarm.as_ref().map(|s| s.kad_server_mode),
        "mdns_peers": swarm.as_ref().map(|s| s.mdns_peers),
    });
    (status, connected)
}

/// Records stored, counted off the async threads (0 when the store cannot count them; logged).
pub async fn records_known(index: &Arc<Index>) -> u64 {
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
