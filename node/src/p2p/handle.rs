//! `PoolHandle`: the cloneable way into the pool. Swarm work goes to the event loop as
//! commands over a bounded channel, each with a oneshot reply; transfers and sync open their
//! own streams directly, outside the event loop, one handshake at a time per peer and protocol
//! (see `handshake`), retried as the `retry` policy says.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{SyncRequest, TransferRequest};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use libp2p::gossipsub::{MessageAcceptance, MessageId, PublishError};
use libp2p::swarm::DialError;
use libp2p::{Multiaddr, PeerId, StreamProtocol, kad};
use libp2p_stream::{Control, OpenStreamError};
use tokio::sync::{mpsc, oneshot};

use super::handshake::HandshakeGates;
use super::retry::with_retries;
use super::sync::{self, SyncError, SyncVersion, UnverifiedPage};
use super::transfer::{self, FetchRequest, TransferError};
use super::{ConnectedPeer, ExpiringPeers, PoolStatus, discovery};

/// A request to the event loop, with where its answer goes.
#[derive(Debug)]
pub(crate) enum Command {
    Publish {
        topic: Topic,
        wire: Vec<u8>,
        reply: oneshot::Sender<Result<MessageId, PublishError>>,
    },
    ReportValidation {
        message_id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    Provide {
        key: kad::RecordKey,
        reply: oneshot::Sender<Result<(), kad::store::Error>>,
    },
    FindProviders {
        key: kad::RecordKey,
        reply: oneshot::Sender<HashSet<PeerId>>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, DialError>>,
    },
    Status {
        reply: oneshot::Sender<PoolStatus>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// The pool's gossip topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    /// Signed provenance records.
    Records,
    /// Checksum-log heads and fork proofs.
    Heads,
}

/// Why a [`PoolHandle`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The event loop has stopped (the node is shutting down); nothing was done.
    #[error("the pool's event loop has stopped")]
    Stopped,
    /// Gossipsub refused to publish (for example: no peer subscribed yet, or a duplicate).
    #[error("cannot publish the record")]
    Publish(#[source] PublishError),
    /// Kademlia's local store refused to record this node as a provider (its limit is full).
    #[error("cannot announce the module version in Kademlia")]
    Provide(#[source] kad::store::Error),
    /// The dial failed.
    #[error("cannot dial {addr}")]
    Dial {
        /// The address dialled.
        addr: Multiaddr,
        /// libp2p's error.
        #[source]
        source: DialError,
    },
}

/// Log requests answered at once; further ones are answered busy.
const LOG_SERVES: usize = 32;
/// The longest one log request may take to answer.
const LOG_SERVE_TIMEOUT: Duration = Duration::from_secs(30);

/// The node's handle on the pool (cheap to clone; every clone talks to the same event loop).
#[derive(Clone)]
pub struct PoolHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) control: Control,
    pub(crate) gates: HandshakeGates,
    pub(crate) local_peer_id: PeerId,
    pub(crate) transfer_protocol: StreamProtocol,
    pub(crate) sync_protocol: StreamProtocol,
    pub(crate) sync_protocol_v1: StreamProtocol,
    pub(crate) log_protocol: StreamProtocol,
    pub(crate) fill_protocol: StreamProtocol,
    /// Peers that answered sync version 1 only: asked over version 1 at once, which saves a
    /// failed negotiation per page.
    pub(crate) sync_v1_peers: Arc<ExpiringPeers>,
}

impl std::fmt::Debug for PoolHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolHandle")
            .field("local_peer_id", &self.local_peer_id)
            .finish_non_exhaustive()
    }
}

impl PoolHandle {
    /// This node's PeerId.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Publishes a signed record's wire form ([`SignedRecord::to_wire`]) on the pool's topic.
    /// Not checked here: the node publishes only records it signed or verified, and peers
    /// verify everything anyway.
    ///
    /// [`SignedRecord::to_wire`]: delos_pool_protocol::signing::SignedRecord::to_wire
    pub async fn publish(&self, wire: Vec<u8>) -> Result<MessageId, HandleError> {
        self.ask(|reply| Command::Publish {
            topic: Topic::Records,
            wire,
            reply,
        })
        .await?
        .map_err(HandleError::Publish)
    }

    /// Publishes a [`HeadGossip`](delos_pool_protocol::messages::HeadGossip)'s wire form on
    /// the heads topic.
    pub async fn publish_head(&self, wire: Vec<u8>) -> Result<MessageId, HandleError> {
        self.ask(|reply| Command::Publish {
            topic: Topic::Heads,
            wire,
            reply,
        })
        .await?
        .map_err(HandleError::Publish)
    }

    /// Answers a [`PoolEvent::RecordReceived`](super::PoolEvent::RecordReceived): `Accept`
    /// forwards the message to the mesh, `Reject` drops it and penalises `source`, `Ignore`
    /// drops it without penalty (e.g. a record already known). Call exactly once per message.
    pub async fn report_validation(
        &self,
        message_id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    ) -> Result<(), HandleError> {
        let command = Command::ReportValidation {
            message_id,
            source,
            acceptance,
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| HandleError::Stopped)
    }

    /// Announces in Kademlia that this node holds `module@version`. Returns once recorded
    /// locally; the announcement to other nodes continues in the background.
    pub async fn provide(&self, module: &ModulePath, version: &Version) -> Result<(), HandleError> {
        let key = discovery::provider_key(module, version);
        self.ask(|reply| Command::Provide { key, reply })
            .await?
            .map_err(HandleError::Provide)
    }

    /// The peers Kademlia knows to hold `module@version` (this node excluded); waits for the
    /// query to finish (at most the configured query timeout).
    pub async fn find_providers(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<HashSet<PeerId>, HandleError> {
        let key = discovery::provider_key(module, version);
        self.ask(|reply| Command::FindProviders { key, reply })
            .await
    }

    /// Dials `addr` and returns the PeerId once the connection is established.
    pub async fn dial(&self, addr: Multiaddr) -> Result<PeerId, HandleError> {
        let dialled = addr.clone();
        self.ask(|reply| Command::Dial { addr, reply })
            .await?
            .map_err(|source| HandleError::Dial {
                addr: dialled,
                source,
            })
    }

    /// The peers connected now, with their last measured round-trip time.
    pub async fn connected_peers(&self) -> Result<Vec<ConnectedPeer>, HandleError> {
        Ok(self.status().await?.connected_peers)
    }

    /// A snapshot of the swarm: listen addresses, peers, gossip mesh, Kademlia mode.
    pub async fn status(&self) -> Result<PoolStatus, HandleError> {
        self.ask(|reply| Command::Status { reply }).await
    }

    /// Fetches one file from `peer` into `fetch.dest` (see [`FetchRequest`] for the bounds;
    /// the timeout is per attempt); returns the number of bytes written. A lost stream, a
    /// busy peer or a broken stream is asked again a few times before the error is returned.
    /// The bytes are unverified: check them before use.
    pub async fn fetch(&self, peer: PeerId, fetch: &FetchRequest) -> Result<u64, TransferError> {
        let protocol = &self.transfer_protocol;
        with_retries(|| {
            let control = self.control.clone();
            transfer::fetch(control, &self.gates, protocol.clone(), peer, fetch)
        })
        .await
    }

    /// Fetches `request` from `peer` into `sink` (written on a blocking thread while the
    /// stream is read), at most `max_bytes` within `timeout`; returns the number of bytes
    /// written and the sink. One attempt (the sink is consumed): a caller that retries makes
    /// a fresh sink each time and follows the pool's policy (`with_retries`). The bytes are
    /// unverified: check them before use.
    pub async fn fetch_to<W: super::PieceSink>(
        &self,
        peer: PeerId,
        request: &TransferRequest,
        (max_bytes, timeout): (u64, Duration),
        sink: W,
    ) -> Result<(u64, W), TransferError> {
        let (control, protocol) = (self.control.clone(), self.transfer_protocol.clone());
        let bounds = (max_bytes, timeout);
        transfer::fetch_to(control, &self.gates, protocol, peer, request, bounds, sink).await
    }

    /// Asks `peer` for one path of a checksum log (see [`super::logs`]): its bytes, at most
    /// `max_bytes` within `timeout`. A lost stream or a busy peer is asked again a few times.
    /// The bytes are unverified: check them against the log's key and verified heads.
    pub async fn log_get(
        &self,
        peer: PeerId,
        request: &delos_pool_protocol::messages::LogRequest,
        bounds: (u64, Duration),
    ) -> Result<Vec<u8>, TransferError> {
        let protocol = &self.log_protocol;
        with_retries(|| {
            let control = self.control.clone();
            super::logs::fetch(
                control,
                &self.gates,
                protocol.clone(),
                peer,
                request,
                bounds,
            )
        })
        .await
    }

    /// Answers peers' checksum-log requests from `source` from now on (at most 32 at once,
    /// each cut after 30 s), until the pool stops. Once per pool: a second call fails.
    pub fn serve_logs(
        &self,
        source: std::sync::Arc<dyn super::LogSource>,
    ) -> Result<(), libp2p_stream::AlreadyRegistered> {
        let incoming = self.control.clone().accept(self.log_protocol.clone())?;
        let limits = super::ServeLimits {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(LOG_SERVES)),
            timeout: LOG_SERVE_TIMEOUT,
        };
        tokio::spawn(super::logs::serve(incoming, source, limits));
        Ok(())
    }

    /// Asks `peer` to fill a version or answer a query for this node (see
    /// [`super::fill_requests`]), waiting at most `timeout` for the answer. One attempt.
    pub async fn ask_fill(
        &self,
        peer: PeerId,
        ask: &delos_pool_protocol::messages::FillAsk,
        timeout: Duration,
    ) -> Result<delos_pool_protocol::messages::FillAnswer, super::FillAskError> {
        let (control, protocol) = (self.control.clone(), self.fill_protocol.clone());
        super::fill_requests::ask(control, &self.gates, protocol, peer, ask, timeout).await
    }

    /// Answers members' fill requests with `service` from now on (at most `in_flight` at once,
    /// each cut after `timeout`), until the pool stops; registering the protocol is what
    /// tells the pool (through identify) that this node fills for others. Once per pool.
    pub fn serve_fills(
        &self,
        service: std::sync::Arc<dyn super::FillService>,
        in_flight: usize,
        timeout: Duration,
    ) -> Result<(), libp2p_stream::AlreadyRegistered> {
        let incoming = self.control.clone().accept(self.fill_protocol.clone())?;
        let limits = super::ServeLimits {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(in_flight.max(1))),
            timeout,
        };
        tokio::spawn(super::fill_requests::serve(incoming, service, limits));
        Ok(())
    }

    /// Pulls the page of `peer`'s feed after `after_seq` (at most `max_items` records), its
    /// shape checked and its records still to be verified; over sync version 2, or version 1 when the peer does not speak 2 (such
    /// a peer is remembered for a while and asked over version 1 first). A
    /// stream lost before the answer is asked again a few times; other failures are returned
    /// at once.
    pub async fn sync_page(
        &self,
        peer: PeerId,
        after_seq: u64,
        max_items: u32,
        timeout: Duration,
    ) -> Result<UnverifiedPage, SyncError> {
        let request = SyncRequest {
            after_seq,
            max_items,
        };
        with_retries(|| self.sync_page_once(peer, request, timeout)).await
    }

    /// One attempt of [`sync_page`](Self::sync_page).
    async fn sync_page_once(
        &self,
        peer: PeerId,
        request: SyncRequest,
        timeout: Duration,
    ) -> Result<UnverifiedPage, SyncError> {
        let fetch = |protocol: &StreamProtocol, version| {
            let (control, protocol) = (self.control.clone(), protocol.clone());
            sync::fetch_page(
                control,
                &self.gates,
                protocol,
                peer,
                request,
                timeout,
                version,
            )
        };
        let unsupported = |result: &Result<UnverifiedPage, SyncError>| {
            matches!(
                result,
                Err(SyncError::Open {
                    source: OpenStreamError::UnsupportedProtocol(_),
                    ..
                })
            )
        };
        if self.sync_v1_peers.is_marked(&peer) {
            let page = fetch(&self.sync_protocol_v1, SyncVersion::V1).await;
            if !unsupported(&page) {
                return page;
            }
            self.sync_v1_peers.unmark(&peer);
            return fetch(&self.sync_protocol, SyncVersion::V2).await;
        }
        let page = fetch(&self.sync_protocol, SyncVersion::V2).await;
        if !unsupported(&page) {
            return page;
        }
        let page = fetch(&self.sync_protocol_v1, SyncVersion::V1).await;
        if page.is_ok() {
            self.sync_v1_peers.mark(peer);
        }
        page
    }

    /// Stops the event loop: every connection and the transfer and sync servers close (streams
    /// being served are cut). Returns once done, or at once if the loop had already stopped.
    /// Other handles then fail with [`HandleError::Stopped`].
    pub async fn shutdown(&self) {
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
    }

    /// Sends the command `make` builds and waits for its reply.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, HandleError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| HandleError::Stopped)?;
        answer.await.map_err(|_| HandleError::Stopped)
    }
}
