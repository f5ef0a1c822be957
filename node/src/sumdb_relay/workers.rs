//! The `GOSUMDB` value of the node's own `go mod download` workers: a database the node relays
//! is reached through the node's `/sumdb/<name>` (an explicit URL, so `go` skips the proxy
//! probe), so a node that reaches its upstream proxy but not the database still fills with
//! verification on, and every check goes through the relay's verification and cache.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::Database;

/// The workers' `GOSUMDB` for the configured value `gosumdb`: `off`, an explicit URL and a
/// database the node does not relay stay as they are; the name or key of a relayed database
/// becomes `<key> http://<node>/sumdb/<name>`.
pub fn workers_gosumdb(gosumdb: &str, relayed: &[Database], http_addr: SocketAddr) -> String {
    let value = gosumdb.trim();
    if value.split_whitespace().nth(1).is_some() {
        return value.to_owned();
    }
    let Some(wanted) = named_database(value) else {
        return value.to_owned();
    };
    match relayed.iter().find(|db| db.verifier() == wanted.verifier()) {
        Some(db) => format!(
            "{} http://{}/sumdb/{}",
            db.verifier(),
            reachable(http_addr),
            db.name()
        ),
        None => value.to_owned(),
    }
}

/// The database a `GOSUMDB` value names by its first field (a known name or a verifier key);
/// `None` for `off` and anything unreadable.
pub(super) fn named_database(gosumdb: &str) -> Option<Database> {
    Database::parse(gosumdb.split_whitespace().next()?).ok()
}

/// The address a local process dials to reach a listener bound to `addr` (loopback for an
/// unspecified address).
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_databases_go_through_the_node() {
        let relayed = [Database::sum_golang_org()];
        let addr: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let through = workers_gosumdb("sum.golang.org", &relayed, addr);
        assert_eq!(
            through,
            format!(
                "{} http://127.0.0.1:3000/sumdb/sum.golang.org",
                super::super::SUM_GOLANG_ORG_KEY
            )
        );
        for kept in [
            "off",
            "sum.golang.org https://elsewhere",
            "other+00000000+AAAA",
        ] {
            assert_eq!(workers_gosumdb(kept, &relayed, addr), kept);
        }
    }
}
