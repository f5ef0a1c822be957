//! `/healthz` (200 once the node serves), `/metrics` (every metric of the node's registry)
//! and `/status` (the same values as JSON, plus the pool's swarm).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use delos_pool_protocol::sumdb::{Note, TreeHead};
use serde_json::{Map, Value, json};

use crate::checksum_db::ChecksumDb;
use crate::http::AppState;
use crate::http::error::TEXT_PLAIN;
use crate::pool::report::{records_known, swarm_status};
use crate::telemetry::Format;

/// The most versions waiting for their public check listed in `/status` (all are counted).
const UNCHECKED_LISTED: usize = 100;

/// `GET /healthz`: the router only exists once the store is open, so answering is being ready.
pub(crate) async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN))],
        "ok\n",
    )
        .into_response()
}

/// `GET /metrics`: the registry as prometheus-client renders it, in the format the scraper
/// accepts (OpenMetrics, else Prometheus text 0.0.4).
pub(crate) async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    refresh_gauges(&state).await;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::for_accept(accept);
    let text = state.telemetry.render(format);
    let content_type = HeaderValue::from_static(format.content_type());
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// `GET /status`: the same values as JSON, one object per section of the registry, and the
/// pool's (`{"enabled": false}` without a pool) with its swarm.
pub(crate) async fn status(State(state): State<Arc<AppState>>) -> Response {
    let body = status_body(&state).await;
    let content_type = HeaderValue::from_static("application/json");
    let body = Value::Object(body);
    ([(header::CONTENT_TYPE, content_type)], format!("{body}\n")).into_response()
}

/// What `/status` answers, as a JSON object (the status page reads it too).
pub(crate) async fn status_body(state: &AppState) -> Map<String, Value> {
    let state = state.clone();
    let swarm = refresh_gauges(&state).await;
    let mut body = state.telemetry.status();
    body.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    let pool = match (state.telemetry.pool_status(), swarm) {
        (Some(mut pool), Some(Value::Object(swarm))) => {
            pool.insert("enabled".into(), true.into());
            pool.extend(swarm);
            pool.extend(log_heads_status(&state).await);
            Value::Object(pool)
        }
        _ => json!({ "enabled": false }),
    };
    body.insert("pool".into(), pool);
    if let Some(Value::Object(sumdb)) = body.get_mut("sumdb") {
        sumdb.insert("fork_evidence".into(), fork_evidence(&state).await);
    }
    if let (Some(db), Some(Value::Object(section))) =
        (&state.checksum_db, body.get_mut("checksum_db"))
    {
        section.extend(checksum_db_status(db).await);
    }
    body
}

/// The node's own checksum database: its name and key, the public database it checks
/// against, the versions that database contradicts (kept out of the log) and those waiting to
/// be checked.
async fn checksum_db_status(db: &ChecksumDb) -> Map<String, Value> {
    let index = Arc::clone(db.index());
    let conflicts = tokio::task::spawn_blocking(move || index.checksum_log().public_conflicts())
        .await
        .map_err(|err| err.to_string())
        .and_then(|read| read.map_err(|err| err.to_string()));
    let conflicts = match conflicts {
        Ok(conflicts) => conflicts
            .iter()
            .map(|conflict| {
                json!({
                    "module": conflict.module.as_str(),
                    "version": conflict.version.as_str(),
                    "database": conflict.database,
                    "found_at": conflict.found_at_unix_secs,
                })
            })
            .collect(),
        Err(error) => json!({ "error": error }),
    };
    let unchecked: Vec<Value> = db
        .unchecked()
        .into_iter()
        .take(UNCHECKED_LISTED)
        .map(|(module, version, why)| {
            json!({"module": module.as_str(), "version": version.as_str(), "why": why})
        })
        .collect();
    let mut status = Map::new();
    status.insert("name".into(), db.name().into());
    status.insert("verifier_key".into(), db.verifier_key().to_string().into());
    let check = db.public_check().map(|check| check.database().to_owned());
    status.insert("public_check".into(), check.into());
    status.insert("public_conflict_list".into(), conflicts);
    status.insert("public_unchecked_list".into(), unchecked.into());
    status
}

/// The checksum logs members gossip: the newest head seen per log (its verifier key, size and
/// hash), and every fork proved (both signed heads as text).
async fn log_heads_status(state: &AppState) -> Map<String, Value> {
    let index = Arc::clone(state.fetcher.index());
    let read = tokio::task::spawn_blocking(move || {
        let store = index.pool_log_heads();
        Ok::<_, delos_registry_index::SumdbCacheError>((store.newest_heads()?, store.forks()?))
    })
    .await;
    let mut status = Map::new();
    let (heads, forks) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(err)) => {
            status.insert("log_heads_error".into(), err.to_string().into());
            return status;
        }
        Err(err) => {
            status.insert("log_heads_error".into(), err.to_string().into());
            return status;
        }
    };
    let heads: Vec<Value> = heads
        .iter()
        .map(|(verifier, note)| {
            let head = Note::parse(note)
                .ok()
                .and_then(|note| TreeHead::parse_text(note.text().as_bytes()).ok());
            json!({
                "verifier": verifier,
                "size": head.map(|head| head.size()),
                "hash": head.map(|head| head.hash().to_string()),
            })
        })
        .collect();
    let forks: Vec<Value> = forks
        .iter()
        .map(|fork| {
            json!({
                "verifier": fork.database,
                "first": String::from_utf8_lossy(&fork.older),
                "second": String::from_utf8_lossy(&fork.newer),
            })
        })
        .collect();
    status.insert("log_heads".into(), heads.into());
    status.insert("log_fork_evidence".into(), forks.into());
    status
}

/// The relay's fork evidence: per fork the database and both signed heads as text.
async fn fork_evidence(state: &AppState) -> Value {
    let Some(relay) = state.sumdb.clone() else {
        return Value::Array(Vec::new());
    };
    let forks = tokio::task::spawn_blocking(move || relay.forks()).await;
    match forks {
        Ok(Ok(forks)) => forks
            .iter()
            .map(|fork| {
                json!({
                    "database": fork.database,
                    "older": String::from_utf8_lossy(&fork.older),
                    "newer": String::from_utf8_lossy(&fork.newer),
                })
            })
            .collect(),
        Ok(Err(err)) => json!({ "error": err.to_string() }),
        Err(err) => json!({ "error": err.to_string() }),
    }
}

/// Sets the gauges from their sources (fill path, store, swarm); returns the swarm's
/// `/status` object when the node has a pool.
async fn refresh_gauges(state: &AppState) -> Option<Value> {
    let gauges = state.telemetry.gauges();
    let index = state.fetcher.index();
    gauges.set_fetch(&state.fetcher.stats());
    gauges.set_store(&index.stats(), index.open_check_done());
    gauges.set_provenance(index.conflicts().count(), index.feed().last_seq());
    let pool = state.pool.as_ref()?;
    let (swarm, connected) = swarm_status(pool).await;
    gauges.set_pool(connected, records_known(index).await);
    Some(swarm)
}
