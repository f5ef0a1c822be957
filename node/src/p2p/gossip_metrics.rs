//! `GossipMetrics`: gossipsub's own counters (messages published, sent and received on the
//! wire, duplicates, IWANT and IDONTWANT traffic, mesh churn, peer scores), registered in a
//! prometheus-client registry when the swarm is built, then only read: by `/metrics` as
//! Prometheus text and by `/status` as a [`GossipSummary`].
//!
//! Gossipsub updates the counters from the swarm's task through handles it keeps (each metric
//! is an `Arc` of atomics inside), so the registry needs no lock: the event loop never touches
//! it, and readers encode it whenever they like.

use std::fmt::Write;

use libp2p::gossipsub::{MetricsConfig, PeerScoreThresholds};
use prometheus_client::encoding::text::encode_registry;
use prometheus_client::registry::Registry;

/// The prefix of every gossipsub metric name, so names say whose they are and never meet the
/// node's own `delos_*` names.
pub const PREFIX: &str = "delos_gossipsub";

/// Gossipsub's metrics registry, shared read-only once the swarm is built.
#[derive(Debug)]
pub struct GossipMetrics {
    registry: Registry,
}

/// Gossipsub's message counters at one moment, summed over topics (a pool has one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GossipSummary {
    /// Messages this node published (its own records), counted once per publication.
    pub published: u64,
    /// Messages queued to peers: own publications once per recipient, forwards, and answers
    /// to IWANT requests.
    pub sent: u64,
    /// Messages received from peers, every copy (duplicates included).
    pub received: u64,
    /// Of those, the copies that were not the first: duplicates of a message already seen,
    /// and the few messages gossipsub itself found invalid.
    pub duplicates: u64,
}

impl GossipMetrics {
    /// An empty registry with the [`PREFIX`], for [`gossipsub::Behaviour::with_metrics`].
    ///
    /// [`gossipsub::Behaviour::with_metrics`]: libp2p::gossipsub::Behaviour::with_metrics
    pub(crate) fn registry() -> Registry {
        Registry::with_prefix(PREFIX)
    }

    /// Gossipsub's metric settings: labels for the pool's one topic only (a peer naming other
    /// topics cannot add label values), score buckets at the thresholds in use.
    pub(crate) fn config(thresholds: &PeerScoreThresholds) -> MetricsConfig {
        let mut config = MetricsConfig {
            max_topics: 1,
            max_never_subscribed_topics: 0,
            ..MetricsConfig::default()
        };
        config.buckets_using_scoring_thresholds(thresholds);
        config
    }

    /// Takes over `registry` once gossipsub has registered its metrics in it.
    pub(crate) fn new(registry: Registry) -> GossipMetrics {
        GossipMetrics { registry }
    }

    /// Every gossipsub metric in the Prometheus text format (0.0.4), ready to append to the
    /// node's own: no `# EOF`, counter families named as their samples (`…_total`).
    pub fn render(&self) -> String {
        let mut open_metrics = String::new();
        if let Err(err) = encode_registry(&mut open_metrics, &self.registry) {
            tracing::warn!(error = %err, "encoding gossipsub metrics failed");
            return String::new();
        }
        prometheus_text(&open_metrics)
    }

    /// The message counters, read from the same encoding as [`render`](Self::render).
    pub fn summary(&self) -> GossipSummary {
        let text = self.render();
        let sum = |name: &str| sum_samples(&text, &format!("{PREFIX}_{name}_total"));
        let received = sum("topic_msg_recv_counts_unfiltered");
        GossipSummary {
            published: sum("topic_msg_published"),
            sent: sum("topic_msg_sent_counts"),
            received,
            duplicates: received.saturating_sub(sum("topic_msg_recv_counts")),
        }
    }
}

/// Rewrites prometheus-client's OpenMetrics text as Prometheus text 0.0.4: a counter family
/// takes its samples' `_total` name in `# HELP` and `# TYPE`, `unknown` becomes `untyped`,
/// and `# UNIT` and `# EOF` lines are dropped.
fn prometheus_text(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut help: Option<&str> = None;
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (suffix, kind) = match kind {
                "counter" => ("_total", kind),
                "unknown" => ("", "untyped"),
                other => ("", other),
            };
            if let Some(text) = help.take() {
                let text = text.split_once(' ').map_or("", |(_, text)| text);
                let _ = writeln!(out, "# HELP {name}{suffix} {text}");
            }
            let _ = writeln!(out, "# TYPE {name}{suffix} {kind}");
        } else if !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The sum of every sample of metric `name` (any labels) in Prometheus `text`.
fn sum_samples(text: &str, name: &str) -> u64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(name))
        .filter(|rest| rest.starts_with('{') || rest.starts_with(' '))
        .filter_map(|rest| rest.rsplit_once(' '))
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;

    #[test]
    fn counters_take_their_sample_names_and_eof_goes() {
        let mut registry = GossipMetrics::registry();
        let sent = Family::<Vec<(String, String)>, Counter>::default();
        registry.register("topic_msg_sent_counts", "Sent", sent.clone());
        let peers = Gauge::<i64>::default();
        registry.register("peers", "Peers", peers.clone());
        sent.get_or_create(&vec![("hash".into(), "t".into())])
            .inc_by(3);
        sent.get_or_create(&vec![("hash".into(), "u".into())]).inc();
        peers.set(2);
        let metrics = GossipMetrics::new(registry);
        let text = metrics.render();
        assert!(
            text.contains("# TYPE delos_gossipsub_topic_msg_sent_counts_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("delos_gossipsub_topic_msg_sent_counts_total{hash=\"t\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE delos_gossipsub_peers gauge\n"),
            "{text}"
        );
        assert!(!text.contains("EOF"), "{text}");
        assert_eq!(metrics.summary().sent, 4);
        assert_eq!(metrics.summary().published, 0);
    }
}
