//! [`P2pArgs`]: the pool's command-line flags (with `DELOS_*` environment fallbacks), to
//! flatten into the commands that run a node and apply over the network layer's plain
//! [`P2pConfig`].

use clap::Args;
use delos_pool_protocol::messages::PoolName;
use libp2p::Multiaddr;

use crate::p2p::P2pConfig;

/// The pool's flags. Unset flags leave the [`P2pConfig`] they are applied to unchanged.
#[derive(Debug, Clone, Default, Args)]
pub struct P2pArgs {
    /// The pool to join; nodes of different pools never exchange records or files
    /// [default: public].
    #[arg(long, value_name = "NAME", env = "DELOS_POOL")]
    pub pool: Option<PoolName>,
    /// A libp2p address to listen on (repeatable), e.g. /ip4/0.0.0.0/tcp/4001 or
    /// /ip4/0.0.0.0/udp/4001/quic-v1 [default: both, on OS-chosen ports].
    #[arg(
        long = "p2p-listen",
        value_name = "MULTIADDR",
        env = "DELOS_P2P_LISTEN",
        value_delimiter = ','
    )]
    pub listen: Option<Vec<Multiaddr>>,
    /// A peer to dial on start (repeatable), ending in `/p2p/<PeerId>` (`delos id` prints it).
    #[arg(
        long = "bootstrap",
        value_name = "MULTIADDR",
        env = "DELOS_BOOTSTRAP",
        value_delimiter = ','
    )]
    pub bootstrap: Option<Vec<Multiaddr>>,
    /// An address other nodes reach this node at (repeatable); announcing one makes this node
    /// a Kademlia server.
    #[arg(
        long = "p2p-external",
        value_name = "MULTIADDR",
        env = "DELOS_P2P_EXTERNAL",
        value_delimiter = ','
    )]
    pub external: Option<Vec<Multiaddr>>,
    /// Announce this node's own listen addresses as reachable (loopback tests, flat LANs), which
    /// makes it a Kademlia server at once.
    #[arg(long, env = "DELOS_P2P_LISTEN_IS_EXTERNAL")]
    pub p2p_listen_is_external: bool,
    /// Find peers on the local network with mDNS [default: on].
    #[arg(long, overrides_with = "no_mdns")]
    pub mdns: bool,
    /// Do not use mDNS.
    #[arg(long, overrides_with = "mdns")]
    pub no_mdns: bool,
}

impl P2pArgs {
    /// `config` with every flag that was given applied over it.
    pub fn apply(self, mut config: P2pConfig) -> P2pConfig {
        if let Some(pool) = self.pool {
            config.pool = pool;
        }
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(bootstrap) = self.bootstrap {
            config.bootstrap = bootstrap;
        }
        if let Some(external) = self.external {
            config.external_addrs = external;
        }
        if self.p2p_listen_is_external {
            config.listen_addrs_are_external = true;
        }
        if self.mdns {
            config.mdns = true;
        }
        if self.no_mdns {
            config.mdns = false;
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct WithP2p {
        #[command(flatten)]
        p2p: P2pArgs,
    }

    #[test]
    fn flags_repeat_and_apply_over_the_defaults() {
        let peer = libp2p::PeerId::random();
        let bootstrap = format!("/ip4/10.0.0.1/tcp/4001/p2p/{peer}");
        let cli = WithP2p::try_parse_from([
            "x",
            "--pool",
            "acme",
            "--p2p-listen",
            "/ip4/127.0.0.1/tcp/0",
            "--p2p-listen",
            "/ip4/127.0.0.1/udp/0/quic-v1",
            "--bootstrap",
            &bootstrap,
            "--no-mdns",
            "--p2p-listen-is-external",
        ])
        .unwrap();
        let config = cli.p2p.apply(P2pConfig::default());
        assert_eq!(config.pool.as_str(), "acme");
        assert_eq!(config.listen.len(), 2);
        assert_eq!(config.bootstrap[0].to_string(), bootstrap);
        assert!(!config.mdns);
        assert!(config.listen_addrs_are_external);
    }

    #[test]
    fn no_flags_change_nothing_and_bad_values_are_refused() {
        let config = WithP2p::try_parse_from(["x"])
            .unwrap()
            .p2p
            .apply(P2pConfig::default());
        assert_eq!(config.pool, PoolName::default());
        assert!(config.mdns);
        assert!(WithP2p::try_parse_from(["x", "--pool", "Not/A/Pool"]).is_err());
        assert!(WithP2p::try_parse_from(["x", "--bootstrap", "tcp://nope"]).is_err());
    }
}
