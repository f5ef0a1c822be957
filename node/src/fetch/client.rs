//! Which client a piece of fill work is for: the HTTP layer scopes each request with the
//! client's address ([`scope`]); work that moves to a task of its own carries it along, so
//! the `go` workers' fair queue can queue it under that client.

use std::future::Future;
use std::net::IpAddr;

tokio::task_local! {
    static CLIENT: IpAddr;
}

/// Runs `work` as work for `client` (an IPv4-mapped IPv6 address counts as the IPv4 one).
pub fn scope<F: Future>(client: IpAddr, work: F) -> impl Future<Output = F::Output> {
    CLIENT.scope(client.to_canonical(), work)
}

/// The client the current work is for, if any.
pub(crate) fn current() -> Option<IpAddr> {
    CLIENT.try_with(|client| *client).ok()
}

/// `work`, to be run elsewhere, still as work for the current client.
pub(crate) fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let client = current();
    async move {
        match client {
            Some(client) => CLIENT.scope(client, work).await,
            None => work.await,
        }
    }
}
