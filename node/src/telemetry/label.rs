//! Bounded labels: a label's values are the variants of an enum, so a family has a fixed set
//! of series and no request, peer or module path can add one.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// An enum whose variants are the only values of one label.
pub trait BoundedLabel: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// The label's name, e.g. `kind`.
    const NAME: &'static str;
    /// Every value, in the order reports list them.
    const ALL: &'static [Self];
    /// The value as it appears in `/metrics` and `/status`.
    fn as_str(self) -> &'static str;
}

/// The label set of a family labelled by `L` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label<L>(pub L);

impl<L: BoundedLabel> EncodeLabelSet for Label<L> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [(L::NAME, self.0.as_str())].encode(encoder)
    }
}

/// A family of `M` (a counter unless said) with one series per value of `L`.
pub type ByLabel<L, M = Counter> = Family<Label<L>, M>;

/// A [`ByLabel`] family with a series for every value of `L` already, so reports show zeros
/// instead of leaving a series out until its first event.
pub fn by_label<L: BoundedLabel, M: Default + Clone>() -> ByLabel<L, M>
where
    ByLabel<L, M>: Default,
{
    let family = ByLabel::<L, M>::default();
    for label in L::ALL {
        drop(family.get_or_create(&Label(*label)));
    }
    family
}

/// A [`ByLabel`] counter family with every series resolved once: counting one is an index
/// into an array, with no lock and no hashing per event.
#[derive(Debug, Clone)]
pub struct ResolvedCounters<L> {
    family: ByLabel<L>,
    /// The series of `L::ALL[i]` at `i`.
    series: Arc<[Counter]>,
}

impl<L: BoundedLabel> Default for ResolvedCounters<L> {
    fn default() -> Self {
        let family = by_label::<L, Counter>();
        let series = L::ALL
            .iter()
            .map(|label| family.get_or_create(&Label(*label)).clone())
            .collect();
        ResolvedCounters { family, series }
    }
}

impl<L: BoundedLabel> ResolvedCounters<L> {
    /// Counts one event of `label`.
    pub fn inc(&self, label: L) {
        if let Some(i) = L::ALL.iter().position(|known| *known == label) {
            self.series[i].inc();
        }
    }

    /// The family, for reports.
    pub fn family(&self) -> &ByLabel<L> {
        &self.family
    }
}
