//! `EventLoop`: the one task that owns the `Swarm`. It `select!`s over swarm events and
//! handle commands, keeps replies in maps keyed by query or connection id, and logs and
//! ignores anything unexpected instead of panicking.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, DialError, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, kad, ping};
use libp2p_stream::IncomingStreams;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::behaviour::{Behaviour, BehaviourEvent};
use super::handle::{Command, Topic};
use super::sync::SyncVersion;
use super::{BlobSource, ConnectedPeer, FeedSource, P2pConfig, PoolEvent, PoolStatus, ServeLimits};
use super::{discovery, gossip, sync, transfer};
use delos_pool_protocol::messages::PoolName;

/// The servers the event loop starts when it runs, and stops when it ends.
pub(crate) struct Servers {
    pub(crate) transfers: IncomingStreams,
    pub(crate) syncs: IncomingStreams,
    pub(crate) syncs_v1: IncomingStreams,
    pub(crate) blobs: Arc<dyn BlobSource>,
    pub(crate) feed: Arc<dyn FeedSource>,
    pub(crate) limits: ServeLimits,
}

/// Owns the swarm; run it with [`EventLoop::run`] (typically in its own task). It stops when
/// every [`PoolHandle`](super::PoolHandle) is dropped.
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<PoolEvent>,
    pool: PoolName,
    topic: IdentTopic,
    heads_topic: IdentTopic,
    listen_addrs_are_external: bool,
    bootstrap: Vec<(PeerId, Multiaddr)>,
    redial_interval: Duration,
    servers: Option<Servers>,
    pending_dials: HashMap<ConnectionId, oneshot::Sender<Result<PeerId, DialError>>>,
    pending_providers: HashMap<kad::QueryId, (HashSet<PeerId>, oneshot::Sender<HashSet<PeerId>>)>,
    round_trips: HashMap<PeerId, Duration>,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("peer_id", self.swarm.local_peer_id())
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl EventLoop {
    /// Wraps a built swarm (see [`spawn`](super::spawn)).
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<PoolEvent>,
        config: &P2pConfig,
        servers: Servers,
    ) -> EventLoop {
        let bootstrap = config
            .bootstrap
            .iter()
            .filter_map(|addr| Some((discovery::bootstrap_peer(addr).ok()?, addr.clone())))
            .collect();
        EventLoop {
            swarm,
            commands,
            events,
            topic: gossip::records_topic(&config.pool),
            heads_topic: gossip::heads_topic(&config.pool),
            pool: config.pool.clone(),
            listen_addrs_are_external: config.listen_addrs_are_external,
            bootstrap,
            redial_interval: config.bootstrap_redial_interval,
            servers: Some(servers),
            pending_dials: HashMap::new(),
            pending_providers: HashMap::new(),
            round_trips: HashMap::new(),
        }
    }

    /// Runs the swarm and the transfer and sync servers until every handle is dropped.
    pub async fn run(mut self) {
        // Dropped (and so aborted) when this function returns.
        let mut servers = JoinSet::new();
        if let Some(s) = self.servers.take() {
            servers.spawn(transfer::serve(s.transfers, s.blobs, s.limits.clone()));
            let (feed, limits) = (Arc::clone(&s.feed), s.limits.clone());
            servers.spawn(sync::serve(s.syncs_v1, feed, limits, SyncVersion::V1));
            servers.spawn(sync::serve(s.syncs, s.feed, s.limits, SyncVersion::V2));
        }
        let mut shutdown_reply = None;
        let period = self.redial_interval.max(Duration::from_millis(100));
        let mut redial = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                _ = redial.tick() => self.redial_bootstrap(),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        shutdown_reply = Some(reply);
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
            }
        }
        tracing::info!(peer_id = %self.swarm.local_peer_id(), "pool event loop stopped");
        // Close every connection and server before saying so.
        servers.shutdown().await;
        drop(self);
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, wire, reply } => {
                let topic = match topic {
                    Topic::Records => self.topic.clone(),
                    Topic::Heads => self.heads_topic.clone(),
                };
                let result = self.swarm.behaviour_mut().gossipsub.publish(topic, wire);
                let _ = reply.send(result);
            }
            Command::ReportValidation {
                message_id,
                source,
                acceptance,
            } => {
                self.report(&message_id, &source, acceptance);
            }
            Command::Provide { key, reply } => {
                let result = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .start_providing(key)
                    .map(|_| ());
                let _ = reply.send(result);
            }
            Command::FindProviders { key, reply } => {
                let id = self.swarm.behaviour_mut().kad.get_providers(key);
                self.pending_providers.insert(id, (HashSet::new(), reply));
            }
            Command::Dial { addr, reply } => self.dial(addr, reply),
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            // Handled by `run`, which stops the loop.
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
        }
    }

    /// Dials every bootstrap peer that is not connected now.
    fn redial_bootstrap(&mut self) {
        for (peer, addr) in &self.bootstrap {
            if self.swarm.is_connected(peer) {
                continue;
            }
            tracing::debug!(%peer, %addr, "dialling bootstrap peer again");
            if let Err(err) = self.swarm.dial(addr.clone()) {
                tracing::debug!(%peer, error = %err, "cannot dial bootstrap peer");
            }
        }
    }

    fn dial(&mut self, addr: Multiaddr, reply: oneshot::Sender<Result<PeerId, DialError>>) {
        let opts = DialOpts::from(addr);
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.pending_dials.insert(id, reply);
            }
            Err(err) => {
                let _ = reply.send(Err(err));
            }
        }
    }

    fn status(&self) -> PoolStatus {
        let connected_peers = self
            .swarm
            .connected_peers()
            .map(|peer| ConnectedPeer {
                peer_id: *peer,
                round_trip: self.round_trips.get(peer).copied(),
            })
            .collect();
        let gossip = &self.swarm.behaviour().gossipsub;
        PoolStatus {
            peer_id: *self.swarm.local_peer_id(),
            listen_addrs: self.swarm.listeners().cloned().collect(),
            external_addrs: self.swarm.external_addresses().cloned().collect(),
            connected_peers,
            gossip_mesh_peers: gossip.mesh_peers(&self.topic.hash()).count(),
            kad_server_mode: self.swarm.behaviour().kad.mode() == kad::Mode::Server,
            mdns_peers: self
                .swarm
                .behaviour()
                .mdns
                .as_ref()
                .map_or(0, |mdns| mdns.discovered_nodes().count()),
        }
    }

    fn report(
        &mut self,
        id: &gossipsub::MessageId,
        source: &PeerId,
        acceptance: MessageAcceptance,
    ) {
        let gossip = &mut self.swarm.behaviour_mut().gossipsub;
        if !gossip.report_message_validation_result(id, source, acceptance) {
            tracing::debug!(message_id = %id, "validated message no longer cached");
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(peer_id = %self.swarm.local_peer_id(), %address, "pool listening");
                if self.listen_addrs_are_external {
                    self.swarm.add_external_address(address);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                tracing::debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                peer_id,
            } => {
                tracing::debug!(peer = ?peer_id, error = %error, "dial failed");
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(error));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "disconnected");
                self.round_trips.remove(&peer_id);
                self.tell(PoolEvent::PeerDisconnected { peer_id });
            }
            other => tracing::trace!(event = ?other, "swarm event"),
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if discovery::on_identify(&mut self.swarm, &self.pool, peer_id, info) {
                    self.tell(PoolEvent::PeerIdentified { peer_id });
                }
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            }) => self.on_query(id, result, step.last),
            BehaviourEvent::Mdns(event) => discovery::on_mdns(&mut self.swarm, event),
            BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(round_trip),
                ..
            }) => {
                self.round_trips.insert(peer, round_trip);
            }
            other => tracing::trace!(event = ?other, "behaviour event"),
        }
    }

    /// The cheap checks (size, decode, signature) happen here; valid records go to the node,
    /// which stores them and reports the verdict.
    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        if message.topic == self.heads_topic.hash() {
            return self.on_head_gossip(source, id, &message.data);
        }
        let record = match gossip::check_record(&message.data) {
            Ok(record) => record,
            Err(reason) => {
                tracing::info!(peer = %source, error = %reason, "rejecting gossiped record");
                self.report(&id, &source, MessageAcceptance::Reject);
                let _ = self
                    .events
                    .try_send(PoolEvent::RecordRejected { source, reason });
                return;
            }
        };
        let event = PoolEvent::RecordReceived {
            message_id: id.clone(),
            propagation_source: source,
            record: Box::new(record),
            wire_bytes: message.data,
        };
        if self.events.try_send(event).is_err() {
            // The node is behind (or gone): drop the record without penalising the sender;
            // sync will bring it later.
            tracing::warn!(peer = %source, "pool event queue full; ignoring a gossiped record");
            self.report(&id, &source, MessageAcceptance::Ignore);
        }
    }

    /// Heads-topic messages: decoded and bounded here, signatures checked by the node.
    fn on_head_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, payload: &[u8]) {
        let gossip = match gossip::check_head(payload) {
            Ok(gossip) => gossip,
            Err(reason) => {
                tracing::info!(peer = %source, error = %reason, "rejecting head gossip");
                self.report(&id, &source, MessageAcceptance::Reject);
                self.tell(PoolEvent::HeadRejected { source, reason });
                return;
            }
        };
        let event = PoolEvent::HeadReceived {
            message_id: id.clone(),
            propagation_source: source,
            gossip: Box::new(gossip),
        };
        if self.events.try_send(event).is_err() {
            tracing::warn!(peer = %source, "pool event queue full; ignoring a gossiped head");
            self.report(&id, &source, MessageAcceptance::Ignore);
        }
    }

    /// Sends an informational event, dropping it (with a debug line) if the node is behind.
    fn tell(&self, event: PoolEvent) {
        if let Err(err) = self.events.try_send(event) {
            tracing::debug!(event = ?err.into_inner(), "pool event queue full; event dropped");
        }
    }

    fn on_query(&mut self, id: kad::QueryId, result: kad::QueryResult, last: bool) {
        match result {
            kad::QueryResult::GetProviders(Ok(kad::GetProvidersOk::FoundProviders {
                providers,
                ..
            })) => {
                if let Some((found, _)) = self.pending_providers.get_mut(&id) {
                    found.extend(providers);
                }
            }
            kad::QueryResult::Bootstrap(Ok(ok)) => {
                tracing::debug!(remaining = ok.num_remaining, "kademlia bootstrap step");
            }
            other => tracing::debug!(result = ?other, "kademlia query progressed"),
        }
        if last && let Some((mut found, reply)) = self.pending_providers.remove(&id) {
            found.remove(self.swarm.local_peer_id());
            let _ = reply.send(found);
        }
    }
}
