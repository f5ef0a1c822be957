//! `GET /readyz`: whether the node is ready to serve, with what it depends on as fields: the
//! store open (read through), the swarm started when the node runs in a pool, and each relayed
//! checksum database reachable or not. A database out of reach does not make the node unready
//! (it serves what it cached, and its fills say why they fail); it is reported for the
//! operator.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::http::AppState;

/// How long `/readyz` waits for a checksum database that has no fresh answer at hand.
const RELAY_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /readyz`: 200 with `"ready": true` once the store answers and (in a pool) the swarm
/// listens; 503 otherwise. Always JSON.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let index = std::sync::Arc::clone(state.fetcher.index());
    let store_open = tokio::task::spawn_blocking(move || index.pins().last_seq().is_ok())
        .await
        .unwrap_or(false);
    let swarm_started = match &state.pool {
        Some(pool) => Some(
            pool.status()
                .await
                .is_some_and(|status| !status.listen_addrs.is_empty()),
        ),
        None => None,
    };
    let mut relay = Map::new();
    if let Some(sumdb) = &state.sumdb {
        for (name, reachable) in sumdb.reachability(RELAY_PROBE_TIMEOUT).await {
            relay.insert(name, json!({ "reachable": reachable }));
        }
    }
    let ready = store_open && swarm_started != Some(false);
    let body = json!({
        "ready": ready,
        "store_open": store_open,
        "pool": { "enabled": swarm_started.is_some(), "swarm_started": swarm_started },
        "relay": Value::Object(relay),
    });
    let status = match ready {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    let json = HeaderValue::from_static("application/json");
    (status, [(header::CONTENT_TYPE, json)], format!("{body}\n")).into_response()
}
