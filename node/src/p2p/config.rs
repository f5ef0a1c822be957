//! `P2pConfig`: what the pool layer listens on, whom it dials first, and every bound it keeps.

use std::time::Duration;

use delos_pool_protocol::messages::PoolName;
use libp2p::Multiaddr;

/// The pool layer's settings. `Default` is a node that joins the default pool on all
/// interfaces (TCP and QUIC, OS-chosen ports) with mDNS on and no bootstrap peers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct P2pConfig {
    /// The pool to join; namespaces the gossip topic and every protocol name.
    pub pool: PoolName,
    /// Addresses to listen on (`--p2p-listen`), e.g. `/ip4/0.0.0.0/tcp/4001` and
    /// `/ip4/0.0.0.0/udp/4001/quic-v1`. Empty: the node only dials out.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial on start (`--bootstrap`); each must end in `/p2p/<PeerId>`.
    pub bootstrap: Vec<Multiaddr>,
    /// How often bootstrap peers that are not connected are dialled again (after a restart or
    /// a partition).
    pub bootstrap_redial_interval: Duration,
    /// Find peers on the local network with mDNS (`--mdns` / `--no-mdns`).
    pub mdns: bool,
    /// Addresses other nodes can reach this node at (`--p2p-external`), taken as confirmed
    /// external addresses at start: they are announced to peers and switch Kademlia to server
    /// mode. Empty: Kademlia stays a client unless `listen_addrs_are_external` is set (there is
    /// no AutoNAT probing yet).
    pub external_addrs: Vec<Multiaddr>,
    /// Treat the node's own listen addresses as confirmed external addresses, so Kademlia runs
    /// in server mode at once. Meant for loopback tests and flat LANs; on the internet leave it
    /// off and let confirmed observed addresses switch Kademlia to server mode.
    pub listen_addrs_are_external: bool,
    /// How often to run a Kademlia random walk (a bootstrap query) to find more peers; `None`
    /// runs one only after the bootstrap peers connect.
    pub random_walk_interval: Option<Duration>,
    /// Gossipsub's heartbeat: how often meshes are repaired and gossip is emitted.
    pub gossip_heartbeat: Duration,
    /// The most established connections in total.
    pub max_connections: u32,
    /// The most established connections to one peer.
    pub max_connections_per_peer: u32,
    /// The most connections being set up at once (incoming and outgoing each).
    pub max_pending_connections: u32,
    /// How long a connection with no open stream or pending request stays open.
    pub idle_connection_timeout: Duration,
    /// Capacity of the command channel from [`PoolHandle`](super::PoolHandle)s to the event loop.
    pub command_capacity: usize,
    /// Capacity of the [`PoolEvent`](super::PoolEvent) channel to the node. When it is full,
    /// incoming records are answered "ignore" instead of queued.
    pub event_capacity: usize,
    /// The most transfer and sync streams served at once; more are answered "busy".
    pub max_concurrent_serves: usize,
    /// The longest one served transfer or sync stream may take, start to end.
    pub serve_timeout: Duration,
    /// How long a [`find_providers`](super::PoolHandle::find_providers) query may run.
    pub query_timeout: Duration,
}

impl Default for P2pConfig {
    fn default() -> P2pConfig {
        P2pConfig {
            pool: PoolName::default(),
            listen: vec![
                wildcard("/ip4/0.0.0.0/tcp/0"),
                wildcard("/ip4/0.0.0.0/udp/0/quic-v1"),
            ],
            bootstrap: Vec::new(),
            external_addrs: Vec::new(),
            bootstrap_redial_interval: Duration::from_secs(30),
            mdns: true,
            listen_addrs_are_external: false,
            random_walk_interval: Some(Duration::from_secs(300)),
            gossip_heartbeat: Duration::from_secs(1),
            max_connections: 256,
            max_connections_per_peer: 2,
            max_pending_connections: 64,
            idle_connection_timeout: Duration::from_secs(120),
            command_capacity: 256,
            event_capacity: 1024,
            max_concurrent_serves: 32,
            serve_timeout: Duration::from_secs(600),
            query_timeout: Duration::from_secs(30),
        }
    }
}

impl P2pConfig {
    /// A node of `pool` on 127.0.0.1 only (TCP and QUIC, OS-chosen ports), mDNS off, its
    /// listen addresses taken as external: the setup of in-process and loopback tests.
    pub fn loopback(pool: PoolName) -> P2pConfig {
        P2pConfig {
            pool,
            listen: vec![
                wildcard("/ip4/127.0.0.1/tcp/0"),
                wildcard("/ip4/127.0.0.1/udp/0/quic-v1"),
            ],
            mdns: false,
            listen_addrs_are_external: true,
            random_walk_interval: None,
            gossip_heartbeat: Duration::from_millis(200),
            ..P2pConfig::default()
        }
    }
}

/// Parses one of the fixed addresses above.
fn wildcard(text: &str) -> Multiaddr {
    match text.parse() {
        Ok(addr) => addr,
        Err(err) => unreachable!("fixed multiaddr {text} does not parse: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_tcp_and_quic() {
        let config = P2pConfig::default();
        assert_eq!(config.listen.len(), 2);
        assert!(config.listen[1].to_string().ends_with("/quic-v1"));
        assert!(config.mdns);
    }
}
