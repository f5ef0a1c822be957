//! `PoolName`: the name that keeps two pools apart, and every protocol name derived from it.

use std::fmt;
use std::str::FromStr;

/// The longest pool name, in bytes.
const MAX_POOL_NAME_BYTES: usize = 64;

/// A pool's name: 1 to 64 bytes of lowercase ASCII letters, digits, `-`, `_` and `.`, starting
/// with a letter or digit.
///
/// Every gossip topic and stream protocol a node speaks carries it, so nodes of two pools that
/// happen to connect (through mDNS on one LAN, or a mistyped bootstrap address) never exchange
/// records or files: their protocol names simply do not match. The character set keeps names
/// valid inside libp2p protocol strings and free of `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolName(String);

/// A string that is not a valid [`PoolName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid pool name {input:?}: use 1 to 64 lowercase letters, digits, '-', '_' or '.', \
     starting with a letter or digit"
)]
pub struct InvalidPoolName {
    /// The rejected input.
    pub input: String,
}

impl PoolName {
    /// The pool a node joins when none is configured.
    pub const DEFAULT: &'static str = "public";

    /// Parses and checks a pool name.
    pub fn parse(s: &str) -> Result<PoolName, InvalidPoolName> {
        let first_ok = s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
        if !first_ok || !rest_ok || s.len() > MAX_POOL_NAME_BYTES {
            return Err(InvalidPoolName {
                input: s.to_owned(),
            });
        }
        Ok(PoolName(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The gossipsub topic signed records travel on: `delos/<pool>/records/v1`.
    pub fn records_topic(&self) -> String {
        format!("delos/{}/records/v1", self.0)
    }

    /// The gossipsub topic checksum logs' signed tree heads (and fork proofs) travel on:
    /// `delos/<pool>/heads/v1`.
    pub fn heads_topic(&self) -> String {
        format!("delos/{}/heads/v1", self.0)
    }

    /// The blob transfer stream protocol: `/delos/<pool>/transfer/1`.
    pub fn transfer_protocol(&self) -> String {
        format!("/delos/{}/transfer/1", self.0)
    }

    /// The feed sync stream protocol: `/delos/<pool>/sync/2` (headers carry the feed id).
    pub fn sync_protocol(&self) -> String {
        format!("/delos/{}/sync/2", self.0)
    }

    /// The first feed sync protocol, still served and asked of peers without version 2:
    /// `/delos/<pool>/sync/1`.
    pub fn sync_protocol_v1(&self) -> String {
        format!("/delos/{}/sync/1", self.0)
    }

    /// The checksum-log stream protocol (a database's `latest`, tiles and lookups asked of
    /// the members that write or mirror it): `/delos/<pool>/sumdb/1`.
    pub fn log_protocol(&self) -> String {
        format!("/delos/{}/sumdb/1", self.0)
    }

    /// The fill-request stream protocol (a trusted member asked to fill a version or answer a
    /// query): `/delos/<pool>/fill/1`.
    pub fn fill_protocol(&self) -> String {
        format!("/delos/{}/fill/1", self.0)
    }

    /// The Kademlia protocol, so the pool's DHT holds only its own nodes: `/delos/<pool>/kad/1`.
    pub fn kad_protocol(&self) -> String {
        format!("/delos/{}/kad/1", self.0)
    }

    /// The gossipsub protocol prefix: `/delos/<pool>/meshsub`.
    pub fn gossipsub_protocol_prefix(&self) -> String {
        format!("/delos/{}/meshsub", self.0)
    }

    /// What identify announces as the protocol version, which tells a node whether a newly
    /// connected peer belongs to its pool: `/delos/<pool>/1`.
    pub fn identify_protocol_version(&self) -> String {
        format!("/delos/{}/1", self.0)
    }
}

impl Default for PoolName {
    fn default() -> PoolName {
        PoolName(PoolName::DEFAULT.to_owned())
    }
}

impl fmt::Display for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PoolName {
    type Err = InvalidPoolName;

    fn from_str(s: &str) -> Result<PoolName, InvalidPoolName> {
        PoolName::parse(s)
    }
}

impl AsRef<str> for PoolName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
