//! The pool's network layer: one libp2p swarm (TCP with TLS or noise, QUIC, yamux, identify, ping,
//! Kademlia, gossipsub, mDNS, connection limits, and streams for transfer and sync), driven
//! the rust-libp2p "client + event loop" way.
//!
//! [`spawn`] builds the swarm and returns three things: a cloneable [`PoolHandle`] (commands
//! over a bounded channel, each with a oneshot reply; transfers and sync open their own
//! streams), a bounded receiver of [`PoolEvent`]s, and the [`EventLoop`], which the caller
//! runs in a task of its own. The event loop stops when every handle is dropped.
//!
//! ```text
//!  node ──PoolHandle──▶ Command (bounded mpsc) ──▶ EventLoop ◀──▶ Swarm ◀──▶ peers
//!   ▲                                                 │
//!   └──────── PoolEvent (bounded mpsc) ◀──────────────┘
//!  node ──PoolHandle::fetch / sync_page──▶ libp2p-stream Control ──▶ peer's transfer/sync server
//! ```
//!
//! Incoming gossip is checked here first (size, decode, signature: [`gossip::check_record`]);
//! forged or malformed records are rejected at once and their sender penalised, valid ones go
//! to the node as [`PoolEvent::RecordReceived`], and the node answers with
//! [`PoolHandle::report_validation`] after storing them. Everything is namespaced by the pool
//! name, so two pools never exchange records or files.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # async fn run(
//! #     keypair: libp2p::identity::Keypair,
//! #     blobs: Arc<dyn delos_node::p2p::BlobSource>,
//! #     feed: Arc<dyn delos_node::p2p::FeedSource>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use delos_node::p2p::{P2pConfig, PoolEvent, spawn};
//! use libp2p::gossipsub::MessageAcceptance;
//!
//! let (pool, mut events, event_loop) = spawn(&keypair, &P2pConfig::default(), blobs, feed)?;
//! tokio::spawn(event_loop.run());
//! while let Some(event) = events.recv().await {
//!     if let PoolEvent::RecordReceived { message_id, propagation_source, record, .. } = event {
//!         // Store `record` first (a conflict is evidence to keep, not a reason to reject);
//!         // answer Ignore for a record already known, Accept for a new one.
//!         let verdict = MessageAcceptance::Accept;
//!         pool.report_validation(message_id, propagation_source, verdict).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod accept;
mod behaviour;
pub mod config;
mod discovery;
mod event_loop;
mod expiring_peers;
pub mod fill_requests;
mod frame;
pub mod gossip;
mod handle;
mod handshake;
pub mod logs;
pub mod pieces;
mod retry;
pub mod sync;
mod tls;
pub mod transfer;

#[cfg(test)]
mod tests;

pub use config::P2pConfig;
pub use discovery::provider_key;
pub use event_loop::EventLoop;
pub(crate) use expiring_peers::ExpiringPeers;
pub use fill_requests::{FillAskError, FillService};
pub use frame::FrameError;
pub use handle::{HandleError, PoolHandle};
pub use logs::LogSource;
pub use pieces::{Piece, PieceSink};
pub(crate) use retry::with_retries;
pub use sync::{FeedPage, FeedSource, SyncError, SyncedPage, UnverifiedPage};
pub use tls::{TlsHandshakeError, TlsSetupError, TlsUpgrade};
pub use transfer::{Blob, BlobSource, FetchRequest, TransferError};

/// How long a peer that answered sync version 1 only is asked over version 1 at once, before
/// version 2 is tried again (it may have been upgraded).
const SYNC_V1_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);
/// The most version 1 peers remembered.
const SYNC_V1_PEERS: usize = 4096;

use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::signing::VerifiedRecord;
use either::Either;
use libp2p::gossipsub::{MessageId, SubscriptionError};
use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId, SwarmBuilder, noise, tcp, yamux};
use prometheus_client::registry::Registry;
use tokio::sync::{Semaphore, mpsc};

use behaviour::Behaviour;
use delos_pool_protocol::messages::HeadGossip;
use event_loop::Servers;
use gossip::{HeadRejection, RecordRejection};

/// What the pool tells the node.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolEvent {
    /// A gossiped record that decodes and verifies. The node stores it (detecting conflicts)
    /// and must then call [`PoolHandle::report_validation`] with `message_id` and
    /// `propagation_source`: `Accept` to forward it, `Reject` if it is bad, `Ignore` if it is
    /// known already.
    RecordReceived {
        /// Gossipsub's id for the message (a hash of `wire_bytes`).
        message_id: MessageId,
        /// The peer that sent it to this node (not necessarily its signer).
        propagation_source: PeerId,
        /// The verified record.
        record: Box<VerifiedRecord>,
        /// The signed record's wire form, exactly as received.
        wire_bytes: Vec<u8>,
    },
    /// A heads-topic message that decodes, within its size limits. The node checks its
    /// signatures and answers with [`PoolHandle::report_validation`] like for a record.
    HeadReceived {
        /// Gossipsub's id for the message.
        message_id: MessageId,
        /// The peer that sent it to this node.
        propagation_source: PeerId,
        /// The message.
        gossip: Box<HeadGossip>,
    },
    /// A heads-topic message failed the first checks; it was rejected and `source` penalised.
    HeadRejected {
        /// The peer that sent it.
        source: PeerId,
        /// What was wrong.
        reason: HeadRejection,
    },
    /// A peer of this pool connected and identified itself (its protocols match this pool's).
    /// A good moment to sync its feed. May repeat for one peer (identify runs again later).
    PeerIdentified {
        /// The peer.
        peer_id: PeerId,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer_id: PeerId,
    },
    /// A gossiped record failed the first checks; it was rejected and `source` penalised.
    /// For metrics; nothing to answer.
    RecordRejected {
        /// The peer that sent it.
        source: PeerId,
        /// What was wrong.
        reason: RecordRejection,
    },
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectedPeer {
    /// Its PeerId.
    pub peer_id: PeerId,
    /// The last ping round trip, if one was measured yet.
    pub round_trip: Option<Duration>,
}

/// A snapshot of the swarm, for status pages and tests.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolStatus {
    /// This node's PeerId.
    pub peer_id: PeerId,
    /// The addresses it listens on now.
    pub listen_addrs: Vec<Multiaddr>,
    /// Its confirmed external addresses.
    pub external_addrs: Vec<Multiaddr>,
    /// Peers connected now.
    pub connected_peers: Vec<ConnectedPeer>,
    /// Peers in this node's gossip mesh for the records topic.
    pub gossip_mesh_peers: usize,
    /// Whether Kademlia answers queries (server mode) or only asks (client mode).
    pub kad_server_mode: bool,
    /// Peers mDNS has found on the local network and not yet expired (0 with mDNS off).
    pub mdns_peers: usize,
}

/// A [`BlobSource`] or [`FeedSource`] failed (an I/O or store error on the serving node).
#[derive(Debug, thiserror::Error)]
#[error("the node's store could not serve the request")]
pub struct SourceError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Why the pool could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// A protocol name derived from the pool name is not a valid libp2p protocol name.
    #[error("invalid protocol name {name:?}")]
    ProtocolName {
        /// The name.
        name: String,
        /// libp2p's error.
        #[source]
        source: libp2p::swarm::InvalidProtocol,
    },
    /// The gossipsub configuration is inconsistent.
    #[error("invalid gossipsub configuration")]
    GossipConfig(#[source] libp2p::gossipsub::ConfigBuilderError),
    /// Gossipsub refused its setup.
    #[error("cannot set up gossipsub: {reason}")]
    Gossip {
        /// Gossipsub's reason.
        reason: String,
    },
    /// The records topic could not be subscribed to.
    #[error("cannot subscribe to the records topic")]
    Subscribe(#[source] SubscriptionError),
    /// mDNS could not start.
    #[error("cannot start mDNS")]
    Mdns(#[source] std::io::Error),
    /// TLS could not be set up for TCP.
    #[error("cannot set up TLS for the TCP transport")]
    Tls(#[source] TlsSetupError),
    /// The noise handshake could not be set up for TCP.
    #[error("cannot set up noise for the TCP transport")]
    Noise(#[source] noise::Error),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// libp2p's error.
        #[source]
        source: libp2p::TransportError<std::io::Error>,
    },
    /// A bootstrap address does not end in `/p2p/<PeerId>`.
    #[error("bootstrap address {addr} does not end in /p2p/<PeerId>")]
    BootstrapWithoutPeerId {
        /// The address.
        addr: Multiaddr,
    },
    /// A stream protocol was registered twice.
    #[error("stream protocol registered twice")]
    AlreadyRegistered(#[source] libp2p_stream::AlreadyRegistered),
}

/// The bounds shared by the transfer and sync servers.
#[derive(Debug, Clone)]
pub(crate) struct ServeLimits {
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) timeout: Duration,
}

/// Builds the swarm for `keypair` (the node's identity) from `config`, binds its listeners and
/// dials its bootstrap peers; `blobs` and `feed` answer peers' transfer and sync requests.
/// Must be called within a Tokio runtime; run the returned [`EventLoop`] in a task.
/// Gossipsub's metrics are not kept ([`spawn_with_metrics`] keeps them).
pub fn spawn(
    keypair: &Keypair,
    config: &P2pConfig,
    blobs: Arc<dyn BlobSource>,
    feed: Arc<dyn FeedSource>,
) -> Result<Spawned, SpawnError> {
    spawn_with_metrics(keypair, config, blobs, feed, &mut Registry::default())
}

/// What [`spawn`] returns: the handle, the node's events, and the event loop to run.
pub type Spawned = (PoolHandle, mpsc::Receiver<PoolEvent>, EventLoop);

/// [`spawn`], with gossipsub counting its traffic in `registry` (the node registers it as
/// `delos_gossipsub_*`). Gossipsub updates those metrics through handles it keeps; the
/// registry is only read afterwards.
pub fn spawn_with_metrics(
    keypair: &Keypair,
    config: &P2pConfig,
    blobs: Arc<dyn BlobSource>,
    feed: Arc<dyn FeedSource>,
    registry: &mut Registry,
) -> Result<Spawned, SpawnError> {
    for addr in &config.bootstrap {
        discovery::bootstrap_peer(addr)?;
    }
    let behaviour = Behaviour::new(keypair, config, registry)?;
    let mut swarm = build_swarm(keypair, config, behaviour)?;
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|source| SpawnError::Listen {
                addr: addr.clone(),
                source,
            })?;
    }
    tracing::info!(peer_id = %swarm.local_peer_id(), pool = %config.pool, "pool starting");
    let transfer_protocol = discovery::protocol(config.pool.transfer_protocol())?;
    let sync_protocol = discovery::protocol(config.pool.sync_protocol())?;
    let sync_protocol_v1 = discovery::protocol(config.pool.sync_protocol_v1())?;
    let log_protocol = discovery::protocol(config.pool.log_protocol())?;
    let fill_protocol = discovery::protocol(config.pool.fill_protocol())?;
    let mut control = swarm.behaviour().stream.new_control();
    let servers = Servers {
        transfers: control
            .accept(transfer_protocol.clone())
            .map_err(SpawnError::AlreadyRegistered)?,
        syncs: control
            .accept(sync_protocol.clone())
            .map_err(SpawnError::AlreadyRegistered)?,
        syncs_v1: control
            .accept(sync_protocol_v1.clone())
            .map_err(SpawnError::AlreadyRegistered)?,
        blobs,
        feed,
        limits: ServeLimits {
            permits: Arc::new(Semaphore::new(config.max_concurrent_serves)),
            timeout: config.serve_timeout,
        },
    };
    for addr in &config.external_addrs {
        swarm.add_external_address(addr.clone());
    }
    discovery::dial_bootstrap(&mut swarm, &config.bootstrap)?;
    let (commands, command_rx) = mpsc::channel(config.command_capacity.max(1));
    let (event_tx, events) = mpsc::channel(config.event_capacity.max(1));
    let handle = PoolHandle {
        commands,
        control,
        gates: Default::default(),
        local_peer_id: *swarm.local_peer_id(),
        transfer_protocol,
        sync_protocol,
        sync_protocol_v1,
        log_protocol,
        fill_protocol,
        sync_v1_peers: Arc::new(ExpiringPeers::new(SYNC_V1_MEMORY, SYNC_V1_PEERS)),
    };
    let event_loop = EventLoop::new(swarm, command_rx, event_tx, config, servers);
    Ok((handle, events, event_loop))
}

/// TCP (TLS or noise, then yamux) and QUIC around `behaviour`. TLS is offered first on TCP:
/// with AES-GCM it costs a fraction of noise's ChaCha20 (see `tls`); noise stays for peers
/// that speak only noise.
fn build_swarm(
    keypair: &Keypair,
    config: &P2pConfig,
    behaviour: Behaviour,
) -> Result<libp2p::Swarm<Behaviour>, SpawnError> {
    let swarm = SwarmBuilder::with_existing_identity(keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            (TlsUpgrade::new, noise::Config::new),
            yamux::Config::default,
        )
        .map_err(|error| match error {
            Either::Left(tls) => SpawnError::Tls(tls),
            Either::Right(noise) => SpawnError::Noise(noise),
        })?
        .with_quic()
        .with_behaviour(|_| behaviour)
        .map_err(|never| match never {})?
        .with_swarm_config(|swarm_config| {
            swarm_config.with_idle_connection_timeout(config.idle_connection_timeout)
        })
        .build();
    Ok(swarm)
}
