//! Discovery (issue 7, "done when"): with only one bootstrap address, nodes find each other
//! through Kademlia; with mDNS and no bootstrap at all, two nodes listening on every interface
//! find each other where multicast works. The test first proves multicast works here with a
//! datagram of its own on the interface mDNS would use, and skips with a printed reason where
//! it does not.
//!
//! mDNS (libp2p-mdns) runs on non-loopback interfaces only and advertises only addresses of
//! that interface, so nodes that listen on 127.0.0.1 alone can never find each other with it.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::pool::{PoolNode, PoolOptions, wait_until};

/// How long discovery may take.
const FIND_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `node` logged a connection to the peer `peer_id`.
fn connected_to(node: &PoolNode, peer_id: &str) -> bool {
    let needle = format!("peer={peer_id}");
    node.log()
        .lines()
        .any(|l| l.contains(": connected ") && l.contains(&needle))
}

/// Waits until `a` or `b` logged a connection to the other.
fn wait_connected(a: &PoolNode, b: &PoolNode) -> Result<Duration> {
    let what = format!("{} and {} connect", a.peer_id(), b.peer_id());
    wait_until(FIND_TIMEOUT, &what, || {
        Ok(connected_to(a, b.peer_id()) || connected_to(b, a.peer_id()))
    })
    .with_context(|| format!("{}\n---\n{}", a.log(), b.log()))
}

#[test]
fn nodes_given_one_bootstrap_address_find_each_other_through_kademlia() -> Result<()> {
    let nothing = GitWorld::new()?;
    let seed = PoolOptions::new(app::node_options(&nothing)).start()?;
    let b = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&seed)?
        .start()?;
    wait_connected(&seed, &b)?;
    let c = PoolOptions::new(app::node_options(&nothing))
        .bootstrap(&seed)?
        .start()?;
    wait_connected(&b, &c)?;
    Ok(())
}

/// The address of the interface that routes to the outside, if any (connecting a UDP socket
/// sends nothing).
fn lan_address() -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(203, 0, 113, 1), 9)).ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// Whether a multicast datagram sent on `iface` comes back to a socket that joined the group
/// there.
fn multicast_works(iface: Ipv4Addr) -> Result<bool> {
    let group = Ipv4Addr::new(239, 255, 71, 7);
    let rx = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    if rx.join_multicast_v4(&group, &iface).is_err() {
        return Ok(false);
    }
    rx.set_read_timeout(Some(Duration::from_secs(1)))?;
    let port = rx.local_addr()?.port();
    let tx = UdpSocket::bind((iface, 0))?;
    tx.set_multicast_loop_v4(true)?;
    if tx.send_to(b"delos-probe", (group, port)).is_err() {
        return Ok(false);
    }
    let mut buf = [0u8; 32];
    Ok(matches!(rx.recv_from(&mut buf), Ok((11, _)) if &buf[..11] == b"delos-probe"))
}

#[test]
#[allow(clippy::print_stderr)] // the skip reason is the test's output
fn mdns_finds_a_peer_with_no_bootstrap_where_multicast_works() -> Result<()> {
    let Some(iface) = lan_address() else {
        eprintln!("skipped: no non-loopback IPv4 interface, and mDNS runs on none other");
        return Ok(());
    };
    if !multicast_works(iface)? {
        eprintln!("skipped: multicast datagrams on {iface} do not come back here");
        return Ok(());
    }
    let pool = format!("mdns-{}", std::process::id());
    let nothing = GitWorld::new()?;
    let start = || {
        PoolOptions::new(app::node_options(&nothing))
            .all_interfaces()
            .arg("--mdns")
            .arg("--pool")
            .arg(&pool)
            .start()
    };
    let a = start()?;
    let b = start()?;
    wait_connected(&a, &b)?;
    Ok(())
}
