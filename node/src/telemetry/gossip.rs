//! [`GossipSummary`]: gossipsub's message counters summed over its topic labels, read from
//! the same encoding `/metrics` serves (gossipsub keeps its counters' handles to itself).

use prometheus_client::encoding::text::encode_registry;
use prometheus_client::registry::Registry;

/// The prefix of gossipsub's metric names in the node's registry.
pub const PREFIX: &str = "delos_gossipsub";

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

impl GossipSummary {
    /// The counters of the gossipsub metrics registered in `registry` under [`PREFIX`] (zeros
    /// when there are none, e.g. a node without a pool).
    pub fn read(registry: &Registry) -> GossipSummary {
        let mut text = String::new();
        if let Err(err) = encode_registry(&mut text, registry) {
            tracing::warn!(error = %err, "encoding the metrics failed");
        }
        GossipSummary::of_text(&text)
    }

    /// The counters in an OpenMetrics `text`.
    fn of_text(text: &str) -> GossipSummary {
        let sum = |name: &str| sum_samples(text, &format!("{PREFIX}_{name}_total"));
        let received = sum("topic_msg_recv_counts_unfiltered");
        GossipSummary {
            published: sum("topic_msg_published"),
            sent: sum("topic_msg_sent_counts"),
            received,
            duplicates: received.saturating_sub(sum("topic_msg_recv_counts")),
        }
    }
}

/// The sum of every sample of metric `name` (any labels) in `text`.
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

    #[test]
    fn message_counters_sum_over_their_labels() {
        let mut registry = Registry::with_prefix("delos");
        let gossipsub = registry.sub_registry_with_prefix("gossipsub");
        let sent = Family::<Vec<(String, String)>, Counter>::default();
        gossipsub.register("topic_msg_sent_counts", "Sent", sent.clone());
        let received = Family::<Vec<(String, String)>, Counter>::default();
        gossipsub.register("topic_msg_recv_counts_unfiltered", "All", received.clone());
        sent.get_or_create(&vec![("hash".into(), "t".into())])
            .inc_by(3);
        sent.get_or_create(&vec![("hash".into(), "u".into())]).inc();
        received
            .get_or_create(&vec![("hash".into(), "t".into())])
            .inc_by(2);
        let summary = GossipSummary::read(&registry);
        assert_eq!((summary.sent, summary.published), (4, 0));
        assert_eq!((summary.received, summary.duplicates), (2, 2));
    }
}
