//! Finding peers: bootstrap addresses, identify (which also tells pools apart), Kademlia
//! (routing, random walks, provider records) and mDNS on the local network.

use delos_pool_protocol::messages::PoolName;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use libp2p::identity::Keypair;
use libp2p::kad::store::{MemoryStore, MemoryStoreConfig};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, kad, mdns};

use super::behaviour::Behaviour;
use super::{P2pConfig, SpawnError};

/// The most module versions one node provides in Kademlia (each is re-announced periodically).
const MAX_PROVIDED_KEYS: usize = 100_000;

/// The Kademlia key under which holders of a module version are found: `module@version`.
pub fn provider_key(module: &ModulePath, version: &Version) -> kad::RecordKey {
    kad::RecordKey::new(&format!("{module}@{version}"))
}

/// A stream protocol name from one of the pool's names.
pub(crate) fn protocol(name: String) -> Result<StreamProtocol, SpawnError> {
    StreamProtocol::try_from_owned(name.clone())
        .map_err(|source| SpawnError::ProtocolName { name, source })
}

/// Kademlia on the pool's own protocol name. Its mode follows the confirmed external
/// addresses: client until one is confirmed, then server.
pub(crate) fn kademlia(
    peer_id: PeerId,
    config: &P2pConfig,
) -> Result<kad::Behaviour<MemoryStore>, SpawnError> {
    let mut kad_config = kad::Config::new(protocol(config.pool.kad_protocol())?);
    kad_config
        .set_query_timeout(config.query_timeout)
        .set_periodic_bootstrap_interval(config.random_walk_interval);
    let store_config = MemoryStoreConfig {
        max_provided_keys: MAX_PROVIDED_KEYS,
        max_providers_per_key: 64,
        ..MemoryStoreConfig::default()
    };
    let store = MemoryStore::with_config(peer_id, store_config);
    Ok(kad::Behaviour::with_config(peer_id, store, kad_config))
}

/// Identify, announcing the pool in its protocol version.
pub(crate) fn identify(keypair: &Keypair, config: &P2pConfig) -> identify::Behaviour {
    let identify_config =
        identify::Config::new(config.pool.identify_protocol_version(), keypair.public())
            .with_agent_version(format!("delos/{}", env!("CARGO_PKG_VERSION")));
    identify::Behaviour::new(identify_config)
}

/// mDNS when `config.mdns` is on.
pub(crate) fn mdns(
    peer_id: PeerId,
    config: &P2pConfig,
) -> Result<Toggle<mdns::tokio::Behaviour>, SpawnError> {
    if !config.mdns {
        return Ok(Toggle::from(None));
    }
    let behaviour =
        mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id).map_err(SpawnError::Mdns)?;
    Ok(Toggle::from(Some(behaviour)))
}

/// The PeerId a bootstrap address ends with (`/p2p/<PeerId>`), which it must.
pub(crate) fn bootstrap_peer(addr: &Multiaddr) -> Result<PeerId, SpawnError> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Ok(peer),
        _ => Err(SpawnError::BootstrapWithoutPeerId { addr: addr.clone() }),
    }
}

/// Adds every bootstrap peer to Kademlia and dials it. Kademlia then bootstraps on its own
/// once the routing table gains peers.
pub(crate) fn dial_bootstrap(
    swarm: &mut Swarm<Behaviour>,
    bootstrap: &[Multiaddr],
) -> Result<(), SpawnError> {
    for addr in bootstrap {
        let peer = bootstrap_peer(addr)?;
        let mut transport_addr = addr.clone();
        transport_addr.pop();
        swarm.behaviour_mut().kad.add_address(&peer, transport_addr);
        if let Err(err) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, error = %err, "cannot dial bootstrap peer");
        }
    }
    Ok(())
}

/// What identify told about `peer`: a peer of another pool is disconnected; a peer of this
/// pool that serves Kademlia has its listen addresses added to the routing table. Returns
/// whether `peer` belongs to this pool.
pub(crate) fn on_identify(
    swarm: &mut Swarm<Behaviour>,
    pool: &PoolName,
    peer: PeerId,
    info: identify::Info,
) -> bool {
    if info.protocol_version != pool.identify_protocol_version() {
        tracing::debug!(%peer, theirs = %info.protocol_version, "peer of another pool; disconnecting");
        let _ = swarm.disconnect_peer_id(peer);
        return false;
    }
    let serves_kad = info
        .protocols
        .iter()
        .any(|p| p.as_ref() == pool.kad_protocol());
    if serves_kad {
        for addr in info.listen_addrs {
            swarm.behaviour_mut().kad.add_address(&peer, addr);
        }
    }
    true
}

/// Dials peers mDNS found on the local network (identify then decides whether they are of this
/// pool).
pub(crate) fn on_mdns(swarm: &mut Swarm<Behaviour>, event: mdns::Event) {
    let mdns::Event::Discovered(found) = event else {
        return;
    };
    for (peer, addr) in found {
        if swarm.is_connected(&peer) {
            continue;
        }
        tracing::debug!(%peer, %addr, "found by mDNS; dialing");
        // Two nodes find each other by mDNS at the same moment and dial at once. From their
        // listen ports (libp2p's default) the two SYNs can meet as one TCP simultaneous open,
        // where both sides act as the dialer and every security handshake fails ("got
        // ClientHello when expecting ServerHello"). A fresh port gives two connections
        // instead, and the swarm keeps one.
        let dial = DialOpts::peer_id(peer)
            .addresses(vec![addr])
            .allocate_new_port()
            .build();
        if let Err(err) = swarm.dial(dial) {
            tracing::debug!(%peer, error = %err, "cannot dial mDNS peer");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_addresses_need_a_peer_id() {
        let peer = PeerId::random();
        let good: Multiaddr = format!("/ip4/127.0.0.1/tcp/1/p2p/{peer}").parse().unwrap();
        assert_eq!(bootstrap_peer(&good).unwrap(), peer);
        let bad: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        assert!(matches!(
            bootstrap_peer(&bad),
            Err(SpawnError::BootstrapWithoutPeerId { .. })
        ));
    }

    #[test]
    fn provider_keys_name_module_and_version() {
        let key = provider_key(
            &ModulePath::parse("example.com/m").unwrap(),
            &Version::parse("v1.0.0").unwrap(),
        );
        assert_eq!(key.as_ref(), b"example.com/m@v1.0.0");
    }
}
