//! A section's metrics as one table of [`Entry`]s: each is named once, and the same entry
//! registers the metric in the registry and gives its value to `/status` under the same name
//! (a labelled family's series as `<label value>_<name>`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Metric as RegistryMetric, Registry};
use serde_json::{Map, Value};

use super::label::{BoundedLabel, ByLabel, Label};

/// A gauge of a count or a size, read from its source before each report.
pub(crate) type U64Gauge = Gauge<u64, AtomicU64>;
/// A counter of seconds (or any other fraction).
pub(crate) type F64Counter = Counter<f64, AtomicU64>;

/// One metric of a section: its name (without the `delos_<section>_` prefix and a counter's
/// `_total`), its help line, and a handle on its value.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: &'static str,
    help: &'static str,
    metric: Metric,
}

/// The handle of an [`Entry`]: a clone of the one its owner counts with.
#[derive(Debug, Clone)]
enum Metric {
    Counter(Counter),
    Gauge(U64Gauge),
    Labelled(Arc<dyn Labelled>),
}

impl Entry {
    /// A counter.
    pub(crate) fn counter(name: &'static str, help: &'static str, counter: &Counter) -> Entry {
        let metric = Metric::Counter(counter.clone());
        Entry { name, help, metric }
    }

    /// A gauge.
    pub(crate) fn gauge(name: &'static str, help: &'static str, gauge: &U64Gauge) -> Entry {
        let metric = Metric::Gauge(gauge.clone());
        Entry { name, help, metric }
    }

    /// A family with one series per value of a bounded label.
    pub(crate) fn labelled<L, M>(
        name: &'static str,
        help: &'static str,
        family: &ByLabel<L, M>,
    ) -> Entry
    where
        L: BoundedLabel,
        M: Value64 + RegistryMetric + Default + Clone,
        ByLabel<L, M>: RegistryMetric,
    {
        let metric = Metric::Labelled(Arc::new(family.clone()));
        Entry { name, help, metric }
    }

    /// Registers the metric in `registry` (a section's sub-registry).
    pub(crate) fn register(&self, registry: &mut Registry) {
        match &self.metric {
            Metric::Counter(counter) => registry.register(self.name, self.help, counter.clone()),
            Metric::Gauge(gauge) => registry.register(self.name, self.help, gauge.clone()),
            Metric::Labelled(family) => family.register(registry, self.name, self.help),
        }
    }

    /// Adds the metric's value(s) to a section's `/status` object.
    pub(crate) fn report(&self, status: &mut Map<String, Value>) {
        match &self.metric {
            Metric::Counter(counter) => {
                status.insert(self.name.to_owned(), counter.get().into());
            }
            Metric::Gauge(gauge) => {
                status.insert(self.name.to_owned(), gauge.get().into());
            }
            Metric::Labelled(family) => {
                for (label, value) in family.values() {
                    status.insert(format!("{label}_{}", self.name), value);
                }
            }
        }
    }
}

/// Registers every entry of `table` in `registry`.
pub(crate) fn register_all(table: &[Entry], registry: &mut Registry) {
    for entry in table {
        entry.register(registry);
    }
}

/// The `/status` object of a section's `table`.
pub(crate) fn report_all(table: &[Entry]) -> Map<String, Value> {
    let mut status = Map::new();
    for entry in table {
        entry.report(&mut status);
    }
    status
}

/// A metric whose current value is one JSON number.
pub(crate) trait Value64 {
    /// The value now.
    fn value(&self) -> Value;
}

impl Value64 for Counter {
    fn value(&self) -> Value {
        self.get().into()
    }
}

impl Value64 for F64Counter {
    fn value(&self) -> Value {
        self.get().into()
    }
}

/// A [`ByLabel`] family behind a trait object, whatever its label and metric type.
trait Labelled: std::fmt::Debug + Send + Sync {
    fn register(&self, registry: &mut Registry, name: &str, help: &str);
    fn values(&self) -> Vec<(&'static str, Value)>;
}

impl<L, M> Labelled for ByLabel<L, M>
where
    L: BoundedLabel,
    M: Value64 + RegistryMetric + Default + Clone,
    ByLabel<L, M>: RegistryMetric,
{
    fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register(name, help, self.clone());
    }

    fn values(&self) -> Vec<(&'static str, Value)> {
        let value = |label: &L| (label.as_str(), self.get_or_create(&Label(*label)).value());
        L::ALL.iter().map(value).collect()
    }
}
