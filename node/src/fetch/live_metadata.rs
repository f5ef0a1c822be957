//! [`LiveMetadata`]: the `.info` and `.mod` of versions being filled from an upstream proxy,
//! answerable before the fill ends.
//!
//! A fill from a proxy fetches the `.info` and `.mod` first, then asks the checksum database
//! for the version's record. Once the `.info` names the version and the `.mod`'s `h1:` is the
//! one the database's verified record names, both are registered here, and the fill goes on
//! with the zip. Clients asking for that `.info` or `.mod` meanwhile
//! ([`Fetcher::metadata`](super::Fetcher::metadata)) are answered at once instead of waiting
//! for the zip to arrive, be verified and be made durable. The `go` command asks for them
//! first, and for the zip later, so it does not wait for the zip twice.
//!
//! Such an answer is not kept by the node: the next request after the fill is answered from
//! the store. The registration ends with the fill (its guard is dropped), whether or not the
//! zip passed. Nothing is registered without a record: with the checks off
//! (`--gosumdb off`), or for a version whose fill failed a check a moment ago
//! ([`ProxyFill`](super::from_proxy)), clients wait for the whole fill.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use tokio::sync::Notify;

/// The `.info` and `.mod` of one version, the `.mod` proved by the checksum database.
#[derive(Debug)]
pub(crate) struct ProvedMetadata {
    /// The `.info`, as the upstream sent it (it names the version).
    pub(crate) info: Bytes,
    /// The `.mod`, whose `h1:` the checksum database's verified record names.
    pub(crate) go_mod: Bytes,
}

/// The versions whose metadata is proved while their fill goes on.
#[derive(Debug, Default)]
pub(crate) struct LiveMetadata {
    proved: Mutex<HashMap<(ModulePath, Version), Arc<ProvedMetadata>>>,
    /// Woken whenever a version's metadata is registered.
    registered: Notify,
}

/// The fill's handle on registered metadata: removes it on drop.
#[derive(Debug)]
pub(crate) struct MetadataGuard<'a> {
    live: &'a LiveMetadata,
    key: (ModulePath, Version),
    metadata: Arc<ProvedMetadata>,
}

impl LiveMetadata {
    /// Registers the proved metadata of `module@version` until the guard is dropped.
    pub(crate) fn register(
        &self,
        module: &ModulePath,
        version: &Version,
        metadata: ProvedMetadata,
    ) -> MetadataGuard<'_> {
        let key = (module.clone(), version.clone());
        let metadata = Arc::new(metadata);
        lock(&self.proved).insert(key.clone(), Arc::clone(&metadata));
        self.registered.notify_waiters();
        MetadataGuard {
            live: self,
            key,
            metadata,
        }
    }

    /// The proved metadata of `module@version`, if its fill registered it.
    pub(crate) fn get(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Option<Arc<ProvedMetadata>> {
        let key = (module.clone(), version.clone());
        lock(&self.proved).get(&key).cloned()
    }

    /// Waits until some version's metadata is registered (create the future and enable it
    /// before looking, so no registration between the look and the wait is missed).
    pub(crate) fn registered(&self) -> tokio::sync::futures::Notified<'_> {
        self.registered.notified()
    }
}

impl Drop for MetadataGuard<'_> {
    fn drop(&mut self) {
        let mut proved = lock(&self.live.proved);
        if proved
            .get(&self.key)
            .is_some_and(|m| Arc::ptr_eq(m, &self.metadata))
        {
            proved.remove(&self.key);
        }
    }
}

fn lock<K: Eq + Hash, V>(map: &Mutex<HashMap<K, V>>) -> MutexGuard<'_, HashMap<K, V>> {
    // Every operation is one insert, lookup or remove: a poisoned map is still consistent.
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> ProvedMetadata {
        ProvedMetadata {
            info: Bytes::from_static(b"{\"Version\":\"v1.0.0\"}"),
            go_mod: Bytes::from_static(b"module example.org/m\n"),
        }
    }

    #[tokio::test]
    async fn registered_metadata_is_found_and_waiters_woken_until_the_guard_drops()
    -> Result<(), Box<dyn std::error::Error>> {
        let live = LiveMetadata::default();
        let module = ModulePath::parse("example.org/m")?;
        let version: Version = "v1.0.0".parse()?;
        assert!(live.get(&module, &version).is_none());
        let waiting = live.registered();
        tokio::pin!(waiting);
        waiting.as_mut().enable();
        let guard = live.register(&module, &version, metadata());
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await?;
        let found = live.get(&module, &version).ok_or("not registered")?;
        assert_eq!(&found.go_mod[..], b"module example.org/m\n");
        drop(guard);
        assert!(live.get(&module, &version).is_none(), "gone with its fill");
        Ok(())
    }
}
