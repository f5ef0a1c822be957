//! [`InFlight`]: what fills in progress make available before they end, by module version
//! (a zip as it arrives, metadata a fill vouched for), and the race of a request
//! between that and the end of the fill it waits for.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use tokio::sync::Notify;

type Key = (ModulePath, Version);

/// Values registered by fills in progress, by module version; a registration ends with the
/// fill's [`Registration`].
#[derive(Debug)]
pub(crate) struct InFlight<V> {
    entries: Mutex<HashMap<Key, Arc<V>>>,
    /// Woken whenever a value is registered.
    registered: Notify,
}

impl<V> Default for InFlight<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            registered: Notify::new(),
        }
    }
}

/// A fill's hold on its registered value: removes it on drop.
#[derive(Debug)]
pub(crate) struct Registration<'a, V> {
    in_flight: &'a InFlight<V>,
    key: Key,
    value: Arc<V>,
}

/// What a request waiting for a fill got first.
#[derive(Debug)]
pub(crate) enum First<R, T> {
    /// The fill registered a value for the version (or the part of it that was wanted).
    Registered(R),
    /// The fill ended.
    Filled(T),
}

impl<V> InFlight<V> {
    /// Registers `value` for `module@version` (in place of any value registered before) until
    /// the registration is dropped, and wakes every request waiting in [`Self::first`].
    pub(crate) fn register(
        &self,
        module: &ModulePath,
        version: &Version,
        value: Arc<V>,
    ) -> Registration<'_, V> {
        let key = (module.clone(), version.clone());
        self.lock().insert(key.clone(), Arc::clone(&value));
        self.registered.notify_waiters();
        Registration {
            in_flight: self,
            key,
            value,
        }
    }

    /// The value registered for `module@version`, if a fill registered one.
    pub(crate) fn get(&self, module: &ModulePath, version: &Version) -> Option<Arc<V>> {
        let key = (module.clone(), version.clone());
        self.lock().get(&key).cloned()
    }

    /// A value registered for `module@version`, or the end of `fill`, whichever comes first.
    pub(crate) async fn first<T>(
        &self,
        module: &ModulePath,
        version: &Version,
        fill: impl Future<Output = T>,
    ) -> First<Arc<V>, T> {
        self.first_picked(module, version, fill, |value| Some(Arc::clone(value)))
            .await
    }

    /// What `pick` takes from a value registered for `module@version` (a fill may register a
    /// fuller value later, in place of the one before; `pick` gives `None` for one that does
    /// not have what is wanted yet), or the end of `fill`, whichever comes first.
    pub(crate) async fn first_picked<T, R>(
        &self,
        module: &ModulePath,
        version: &Version,
        fill: impl Future<Output = T>,
        pick: impl Fn(&Arc<V>) -> Option<R>,
    ) -> First<R, T> {
        tokio::pin!(fill);
        loop {
            // Enabled before looking, so no registration between the look and the wait is
            // missed.
            let registered = self.registered.notified();
            tokio::pin!(registered);
            registered.as_mut().enable();
            if let Some(picked) = self.get(module, version).as_ref().and_then(&pick) {
                return First::Registered(picked);
            }
            tokio::select! {
                filled = &mut fill => return First::Filled(filled),
                () = &mut registered => {}
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Arc<V>>> {
        // Every operation is one insert, lookup or remove: a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<V> Registration<'_, V> {
    /// The registered value.
    pub(crate) fn value(&self) -> &Arc<V> {
        &self.value
    }
}

impl<V> Drop for Registration<'_, V> {
    fn drop(&mut self) {
        let mut entries = self.in_flight.lock();
        if entries
            .get(&self.key)
            .is_some_and(|value| Arc::ptr_eq(value, &self.value))
        {
            entries.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_waiting_request_gets_the_registration_or_the_fill_and_nothing_outlives_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let in_flight = InFlight::<&'static str>::default();
        let module = ModulePath::parse("example.org/m")?;
        let version: Version = "v1.0.0".parse()?;
        assert!(in_flight.get(&module, &version).is_none());

        // Registered while the request waits for a fill that never ends.
        let waiting = in_flight.first(&module, &version, std::future::pending::<()>());
        let register = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            in_flight.register(&module, &version, Arc::new("proved"))
        };
        let (first, registration) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(5), waiting),
            register
        );
        assert!(matches!(first?, First::Registered(value) if *value == "proved"));
        assert_eq!(registration.value().as_ref(), &"proved");

        drop(registration);
        assert!(
            in_flight.get(&module, &version).is_none(),
            "gone with its fill"
        );
        let first = in_flight.first(&module, &version, async { 7 }).await;
        assert!(matches!(first, First::Filled(7)));
        Ok(())
    }

    #[tokio::test]
    async fn a_waiter_for_a_part_gets_the_fuller_value_registered_in_place_of_the_first()
    -> Result<(), Box<dyn std::error::Error>> {
        let in_flight = InFlight::<(&'static str, Option<&'static str>)>::default();
        let module = ModulePath::parse("example.org/m")?;
        let version: Version = "v1.0.0".parse()?;
        let first_part = in_flight.register(&module, &version, Arc::new(("info", None)));

        // The first part is there at once; the second only once the fuller value is.
        let info = in_flight.first_picked(&module, &version, std::future::pending::<()>(), |v| {
            Some(v.0)
        });
        assert!(matches!(info.await, First::Registered("info")));
        let second =
            in_flight.first_picked(&module, &version, std::future::pending::<()>(), |v| v.1);
        let fuller = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            in_flight.register(&module, &version, Arc::new(("info", Some("mod"))))
        };
        let (second, both) =
            tokio::join!(tokio::time::timeout(Duration::from_secs(5), second), fuller);
        assert!(matches!(second?, First::Registered("mod")));

        // The first registration ending does not take the fuller one with it.
        drop(first_part);
        assert!(
            in_flight
                .get(&module, &version)
                .is_some_and(|v| v.1 == Some("mod"))
        );
        drop(both);
        assert!(in_flight.get(&module, &version).is_none());
        Ok(())
    }
}
