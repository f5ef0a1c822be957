//! Gossip of signed records: the gossipsub setup (strict, manually validated, payload-hash
//! message ids, bounded size, peer scoring that punishes invalid records) and the cheap first
//! check every incoming record gets before the node sees it.

use std::collections::HashMap;
use std::time::Duration;

use delos_pool_protocol::Sha256;
use delos_pool_protocol::codec;
use delos_pool_protocol::messages::{
    GOSSIP_MAX_TRANSMIT_BYTES, HeadGossip, MAX_GOSSIPED_NOTE_BYTES, PoolName,
};
use delos_pool_protocol::signing::{SignedRecord, SigningError, VerifiedRecord};
use delos_pool_protocol::{Canonical, CodecError};
use libp2p::gossipsub::{
    self, IdentTopic, MessageAuthenticity, MessageId, MetricsConfig, PeerScoreParams,
    PeerScoreThresholds, TopicScoreParams, ValidationMode,
};
use libp2p::identity::Keypair;
use prometheus_client::registry::Registry;

use super::P2pConfig;
use super::SpawnError;

/// Why an incoming gossip message was rejected before the node saw it. Its sender is penalised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordRejection {
    /// The payload is larger than a signed record can be.
    #[error("gossip payload of {len} bytes is larger than a signed record ({max} bytes)")]
    TooLarge {
        /// The payload length.
        len: usize,
        /// The largest signed record's wire form.
        max: usize,
    },
    /// The payload is not a signed record's wire form.
    #[error("gossip payload is not a signed record")]
    Malformed(#[source] CodecError),
    /// The record inside does not verify (bad signature, bad encoding, unusable signer).
    #[error("gossiped record does not verify")]
    Invalid(#[source] SigningError),
}

/// Why an incoming head message was rejected before the node saw it. Its sender is
/// penalised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadRejection {
    /// The payload is larger than a head message can be.
    #[error("head gossip of {len} bytes is larger than a head message ({max} bytes)")]
    TooLarge {
        /// The payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not a head message.
    #[error("head gossip is malformed")]
    Malformed(#[source] CodecError),
    /// A note in it is longer than a gossiped note may be.
    #[error("head gossip carries a note longer than {max} bytes")]
    NoteTooLong {
        /// The limit.
        max: usize,
    },
}

/// The size and decode checks of a heads-topic message; the node checks the signatures.
pub fn check_head(payload: &[u8]) -> Result<HeadGossip, HeadRejection> {
    if payload.len() > HeadGossip::MAX_BYTES {
        return Err(HeadRejection::TooLarge {
            len: payload.len(),
            max: HeadGossip::MAX_BYTES,
        });
    }
    let gossip: HeadGossip = codec::decode(payload).map_err(HeadRejection::Malformed)?;
    if !gossip.notes_fit() {
        return Err(HeadRejection::NoteTooLong {
            max: MAX_GOSSIPED_NOTE_BYTES,
        });
    }
    Ok(gossip)
}

/// The pool's tree-head topic.
pub(crate) fn heads_topic(pool: &PoolName) -> IdentTopic {
    IdentTopic::new(pool.heads_topic())
}

/// The pool's record topic.
pub(crate) fn records_topic(pool: &PoolName) -> IdentTopic {
    IdentTopic::new(pool.records_topic())
}

/// A message's id: the SHA-256 of its payload alone, so the same record published by two
/// nodes (each with its own author and sequence number) is one message, seen and forwarded
/// once.
pub(crate) fn message_id(message: &gossipsub::Message) -> MessageId {
    MessageId::new(Sha256::digest(&message.data).as_bytes())
}

/// The size, decode and signature checks, in that order, each before any costlier work.
pub fn check_record(payload: &[u8]) -> Result<VerifiedRecord, RecordRejection> {
    if payload.len() > SignedRecord::MAX_BYTES {
        return Err(RecordRejection::TooLarge {
            len: payload.len(),
            max: SignedRecord::MAX_BYTES,
        });
    }
    let signed = SignedRecord::from_wire(payload).map_err(RecordRejection::Malformed)?;
    signed.verify().map_err(RecordRejection::Invalid)
}

/// How long a record may wait inside gossipsub before it is dropped, at two places:
///
/// - in the message cache, waiting for the node's verdict: a record accepted after it left the
///   cache is stored but never forwarded. Gossipsub's default is 5 heartbeats (5 s, or 1 s with
///   a test's fast heartbeat), less than a loaded node can take to store a burst of records;
/// - in a connection's send queue (bounded at 5,000 messages): gossipsub abandons a forward
///   after 1 s and a publish after 5 s by default, so a busy node silently lost records in a
///   burst. Records are small and rare; late beats lost.
const VALIDATION_WINDOW: Duration = Duration::from_secs(30);

/// The message cache's length in heartbeats: [`VALIDATION_WINDOW`], and never less than
/// gossipsub's default of 5.
fn history_length(heartbeat: Duration) -> usize {
    let beats = VALIDATION_WINDOW.as_millis() / heartbeat.as_millis().max(1);
    usize::try_from(beats).unwrap_or(usize::MAX).max(5)
}

/// Gossipsub's metric settings: labels for the pool's two topics only (a peer naming other
/// topics cannot add label values), score buckets at the thresholds in use.
fn metrics_config(thresholds: &PeerScoreThresholds) -> MetricsConfig {
    let mut config = MetricsConfig {
        max_topics: 2,
        max_never_subscribed_topics: 0,
        ..MetricsConfig::default()
    };
    config.buckets_using_scoring_thresholds(thresholds);
    config
}

/// The gossipsub behaviour for `config.pool`, signing its envelopes with `keypair`, subscribed
/// to the records and heads topics, counting its traffic in `registry`.
pub(crate) fn behaviour(
    keypair: &Keypair,
    config: &P2pConfig,
    registry: &mut Registry,
) -> Result<gossipsub::Behaviour, SpawnError> {
    let gossip_config = gossipsub::ConfigBuilder::default()
        .protocol_id_prefix(config.pool.gossipsub_protocol_prefix())
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(GOSSIP_MAX_TRANSMIT_BYTES)
        .heartbeat_interval(config.gossip_heartbeat)
        .history_length(history_length(config.gossip_heartbeat))
        .publish_queue_duration(VALIDATION_WINDOW)
        .forward_queue_duration(VALIDATION_WINDOW)
        .build()
        .map_err(SpawnError::GossipConfig)?;
    let thresholds = PeerScoreThresholds::default();
    let mut gossip =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(keypair.clone()), gossip_config)
            .map_err(|reason| SpawnError::Gossip {
                reason: reason.to_owned(),
            })?
            .with_metrics(registry, metrics_config(&thresholds));
    let topics = [records_topic(&config.pool), heads_topic(&config.pool)];
    gossip
        .with_peer_score(score_params(&topics), thresholds)
        .map_err(|reason| SpawnError::Gossip { reason })?;
    for topic in &topics {
        gossip.subscribe(topic).map_err(SpawnError::Subscribe)?;
    }
    Ok(gossip)
}

/// Peer scores that punish invalid records (and head messages) hard and reward little.
///
/// One rejected record costs 1000 points (squared per record counted, decaying by 10% a
/// second), while everything good a peer can earn is capped at [`MAX_POSITIVE_SCORE`], so its
/// sender falls below gossipsub's graylist threshold (-80) for about 12 seconds, and repeat
/// offenders for much longer; a graylisted peer's messages are dropped unread. Mesh
/// delivery-rate penalties are off: a quiet pool sends few records, and an honest peer with
/// nothing to say must not be punished. IP colocation is off too: an organisation may run
/// many nodes behind one address.
fn score_params(topics: &[IdentTopic]) -> PeerScoreParams {
    let topic_params = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 3600.0,
        first_message_deliveries_cap: MAX_POSITIVE_SCORE,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -1000.0,
        invalid_message_deliveries_decay: 0.9,
        ..TopicScoreParams::default()
    };
    PeerScoreParams {
        topics: topics
            .iter()
            .map(|topic| (topic.hash(), topic_params.clone()))
            .collect::<HashMap<_, _>>(),
        topic_score_cap: MAX_POSITIVE_SCORE,
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    }
}

/// The most a peer's good behaviour on the records topic can add to its score.
const MAX_POSITIVE_SCORE: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;
    use delos_pool_protocol::signing::NodeKey;

    #[test]
    fn oversized_payloads_are_refused_before_decoding() {
        let junk = vec![0xff; SignedRecord::MAX_BYTES + 1];
        assert!(matches!(
            check_record(&junk),
            Err(RecordRejection::TooLarge { .. })
        ));
        assert!(matches!(
            check_record(&[0xff; 16]),
            Err(RecordRejection::Malformed(_))
        ));
    }

    #[test]
    fn the_message_id_depends_on_the_payload_only() {
        let key = NodeKey::from_secret_bytes([1; 32]);
        let a = identity(&key);
        let b = identity(&NodeKey::from_secret_bytes([2; 32]));
        let message = |source| gossipsub::Message {
            source: Some(source),
            data: b"same record".to_vec(),
            sequence_number: Some(7),
            topic: records_topic(&PoolName::default()).hash(),
        };
        assert_eq!(message_id(&message(a)), message_id(&message(b)));
    }

    fn identity(key: &NodeKey) -> libp2p::PeerId {
        crate::keys::peer_id(key)
    }
}
