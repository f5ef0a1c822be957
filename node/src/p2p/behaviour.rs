//! The swarm's composed `NetworkBehaviour`: connection limits, identify, ping, Kademlia,
//! gossipsub, mDNS (optional) and the generic stream behaviour that transfer and sync run on.

use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{connection_limits, gossipsub, identify, kad, mdns, ping};
use prometheus_client::registry::Registry;

use super::{P2pConfig, SpawnError, discovery, gossip};

/// Everything the pool's swarm runs. Field order is poll order: limits first, so a connection
/// over the limit is refused before any protocol sees it.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(crate) stream: libp2p_stream::Behaviour,
}

impl Behaviour {
    /// Builds every part from `config`, with `keypair` as the node's identity; gossipsub
    /// counts its traffic in `registry`.
    pub(crate) fn new(
        keypair: &Keypair,
        config: &P2pConfig,
        registry: &mut Registry,
    ) -> Result<Behaviour, SpawnError> {
        let peer_id = keypair.public().to_peer_id();
        Ok(Behaviour {
            limits: connection_limits::Behaviour::new(limits(config)),
            identify: discovery::identify(keypair, config),
            ping: ping::Behaviour::new(ping::Config::new()),
            kad: discovery::kademlia(peer_id, config)?,
            gossipsub: gossip::behaviour(keypair, config, registry)?,
            mdns: discovery::mdns(peer_id, config)?,
            stream: libp2p_stream::Behaviour::new(),
        })
    }
}

/// The connection limits from `config`.
fn limits(config: &P2pConfig) -> connection_limits::ConnectionLimits {
    connection_limits::ConnectionLimits::default()
        .with_max_established(Some(config.max_connections))
        .with_max_established_per_peer(Some(config.max_connections_per_peer))
        .with_max_pending_incoming(Some(config.max_pending_connections))
        .with_max_pending_outgoing(Some(config.max_pending_connections))
}
