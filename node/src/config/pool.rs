//! The pool's part of the configuration: its flags ([`P2pArgs`], `--p2p`/`--no-p2p`,
//! [`TrustArgs`]) layered over the `--config` file's pool keys, into the [`P2pConfig`] the node
//! joins its pool with (or `None`: the node runs alone) and the trust settings.

use std::num::NonZeroU8;
use std::str::FromStr;

use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::trust::TrustPolicy;
use serde::{Deserialize, Deserializer};

use super::FileConfig;
use crate::cli::{P2pArgs, TrustArgs};
use crate::keys::parse_signer;
use crate::p2p::P2pConfig;

/// The pool switch from the command line: `--p2p` and `--no-p2p`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Switch {
    pub(super) on: bool,
    pub(super) off: bool,
}

/// The pool's settings: a switch (flag, then file) decides; without one, the pool is on when
/// any listen or bootstrap address is configured.
pub(super) fn pool_config(switch: Switch, args: P2pArgs, file: &FileConfig) -> Option<P2pConfig> {
    let merged = merge(args, file);
    let on = match (switch.on, switch.off, file.p2p) {
        (_, true, _) => false,
        (true, _, _) => true,
        (_, _, Some(from_file)) => from_file,
        _ => merged.listen.is_some() || merged.bootstrap.is_some(),
    };
    on.then(|| merged.apply(P2pConfig::default()))
}

/// Flags over the file's pool keys.
fn merge(args: P2pArgs, file: &FileConfig) -> P2pArgs {
    let mdns_flag = args.mdns || args.no_mdns;
    let file_mdns = file.mdns.filter(|_| !mdns_flag);
    P2pArgs {
        pool: args.pool.or_else(|| file.pool.clone()),
        listen: args.listen.or_else(|| file.p2p_listen.clone()),
        bootstrap: args.bootstrap.or_else(|| file.bootstrap.clone()),
        external: args.external.or_else(|| file.p2p_external.clone()),
        p2p_listen_is_external: args.p2p_listen_is_external
            || file.p2p_listen_is_external == Some(true),
        mdns: args.mdns || file_mdns == Some(true),
        no_mdns: args.no_mdns || file_mdns == Some(false),
    }
}

/// Trusted signers and quorum: flags, then the file, then none and
/// [`TrustPolicy::DEFAULT_QUORUM`].
pub(super) fn trust(args: TrustArgs, file: &FileConfig) -> (Vec<SignerId>, NonZeroU8) {
    let signers = match args.trusted_signers.is_empty() {
        false => args.trusted_signers,
        true => file.trusted_signers.clone().unwrap_or_default(),
    };
    let quorum = args
        .quorum
        .or(file.quorum)
        .unwrap_or(TrustPolicy::DEFAULT_QUORUM);
    (signers, quorum)
}

/// Deserializes an optional string into anything that parses from one (a pool name).
pub(super) fn parsed<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// Deserializes an optional array of strings into things that parse from them (multiaddrs).
pub(super) fn parsed_list<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    list_with(deserializer, str::parse)
}

/// Deserializes an optional array of signers, each a signing key or a PeerId
/// ([`parse_signer`], as `--trusted-signer` takes them).
pub(super) fn signer_list<'de, D>(deserializer: D) -> Result<Option<Vec<SignerId>>, D::Error>
where
    D: Deserializer<'de>,
{
    list_with(deserializer, parse_signer)
}

/// Deserializes an optional array of strings, each turned into a `T` by `parse`.
fn list_with<'de, D, T, E>(
    deserializer: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    E: std::fmt::Display,
{
    let texts = Vec::<String>::deserialize(deserializer)?;
    let parse = |text: &String| parse(text).map_err(serde::de::Error::custom);
    texts.iter().map(parse).collect::<Result<_, _>>().map(Some)
}
