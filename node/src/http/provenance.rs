//! `GET /provenance/{escaped module}/@v/{version}`: the pinned hashes of a module version and
//! every signed record the node knows for it, with the conflict evidence.
//!
//! The module and version are escaped as in the download protocol (`!`-escaped capitals,
//! percent-encoding) and the version must be canonical. Answers `404` when the version is
//! neither pinned nor named by any record.
//!
//! ```json
//! {"module": "example.org/hello.git", "version": "v1.0.0",
//!  "pinned": {"go_mod_h1": "h1:…", "zip_h1": "h1:…"},
//!  "records": [{"signer": "ed25519:…", "own": true, "agrees_with_pinned": true,
//!               "go_mod_h1": "h1:…", "zip": {"h1": "h1:…", "sha256": "…", "size": 1234},
//!               "info_time": "…", "obtained_at": 1767225600, "format": 1,
//!               "source": {"kind": "vcs", "vcs": "git", "url": "…", "subdir": null,
//!                          "hash": "<commit>", "ref": "refs/tags/v1.0.0"}}],
//!  "conflicts": [{"kind": "with_pinned", "disputed": {…record…}, "counter": {…} | null,
//!                 "pinned": {…} | null}],
//!  "checksum_db": {"name": "sum.corp.example", "record_id": 17 | null,
//!                  "public_conflict": {"database": "sum.golang.org", "found_at": 1767225600,
//!                                      "public_lookup": "…", "pinned_record": "…"} | null}}
//! ```
//!
//! `checksum_db` is there only on a node that runs its own checksum database.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::Source;
use delos_pool_protocol::signing::{SignerId, VerifiedRecord};
use delos_pool_protocol::trust::ClaimedHashes;
use delos_pool_protocol::version::Version;
use delos_registry_index::{ConflictEvidence, ConflictKind, Index, LogError, RecordError};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::http::AppState;
use crate::http::error::{ApiError, TEXT_PLAIN};
use crate::http::request_path::{ProxyPath, ProxyRequest};

/// `GET /provenance/{*path}`.
pub(crate) async fn provenance(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
) -> Response {
    // The same grammar as a `.mod` request of the download protocol.
    let version = match ProxyPath::parse(&format!("/{path}.mod")) {
        Ok(ProxyPath {
            module,
            request: ProxyRequest::Mod(version),
        }) => (module, version),
        Ok(_) => return not_found("not a module version"),
        Err(err) => return ApiError::Path(err).into_response(),
    };
    let index = state.fetcher.index().clone();
    let own = state.fetcher.own_signer();
    let (module, version) = version;
    let log_name = state.checksum_db.as_ref().map(|db| db.name().to_owned());
    let body = tokio::task::spawn_blocking(move || {
        let mut body = describe(&index, &module, &version, own)?;
        if let (Some(body), Some(name)) = (&mut body, log_name) {
            body["checksum_db"] = checksum_db_json(&index, &name, &module, &version)?;
        }
        Ok::<_, ProvenanceError>(body)
    })
    .await;
    match body {
        Ok(Ok(Some(body))) => json_response(&body),
        Ok(Ok(None)) => not_found("no pinned entry and no record for this version"),
        Ok(Err(err)) => internal_error(&err),
        Err(err) => ApiError::Task(err).into_response(),
    }
}

/// The JSON for one module version; `None` when the node knows nothing about it.
fn describe(
    index: &Index,
    module: &ModulePath,
    version: &Version,
    own: Option<SignerId>,
) -> Result<Option<Value>, RecordError> {
    let records = index.records();
    let pinned = records.pinned(module, version)?;
    let known = records.for_version(module, version)?;
    let conflicts = index.conflicts().for_version(module, version)?;
    if pinned.is_none() && known.is_empty() && conflicts.is_empty() {
        return Ok(None);
    }
    let record_json = |record: &VerifiedRecord| {
        let mut value = record_json(record, pinned.as_ref());
        value["own"] = json!(Some(record.signer()) == own);
        value
    };
    Ok(Some(json!({
        "module": module.as_str(),
        "version": version.as_str(),
        "pinned": pinned.as_ref().map(hashes_json),
        "records": known.iter().map(record_json).collect::<Vec<_>>(),
        "conflicts": conflicts.iter().map(|e| conflict_json(e, own)).collect::<Vec<_>>(),
    })))
}

/// Why `/provenance` could not be answered.
#[derive(Debug, thiserror::Error)]
enum ProvenanceError {
    #[error("reading provenance records")]
    Records(#[from] RecordError),
    #[error("reading the checksum log")]
    Log(#[from] LogError),
}

/// The version in the node's own checksum database `name`: its record id, or the public
/// database's contradicting record that keeps it out.
fn checksum_db_json(
    index: &Index,
    name: &str,
    module: &ModulePath,
    version: &Version,
) -> Result<Value, LogError> {
    let log = index.checksum_log();
    let conflict = log.public_conflict(module, version)?.map(|conflict| {
        let lookup = String::from_utf8_lossy(&conflict.lookup).into_owned();
        let pinned = log
            .pinned_record(module, version)
            .map(|record| record.as_str().to_owned())
            .ok();
        json!({
            "database": conflict.database,
            "found_at": conflict.found_at_unix_secs,
            "public_lookup": lookup,
            "pinned_record": pinned,
        })
    });
    Ok(json!({
        "name": name,
        "record_id": log.id_of(module, version)?,
        "public_conflict": conflict,
    }))
}

fn hashes_json(hashes: &ClaimedHashes) -> Value {
    json!({
        "go_mod_h1": hashes.go_mod_h1.to_string(),
        "zip_h1": hashes.zip_h1.map(|h1| h1.to_string()),
    })
}

/// One record; `agrees_with_pinned` is `null` when nothing is pinned.
fn record_json(verified: &VerifiedRecord, pinned: Option<&ClaimedHashes>) -> Value {
    let record = verified.record();
    let claimed = ClaimedHashes::of(record);
    json!({
        "signer": verified.signer().to_string(),
        "agrees_with_pinned": pinned.map(|pinned| !pinned.conflicts(&claimed)),
        "go_mod_h1": record.go_mod_h1().to_string(),
        "zip": record.zip().map(|zip| json!({
            "h1": zip.h1.to_string(),
            "sha256": zip.sha256.to_hex(),
            "size": zip.size,
        })),
        "info_time": record.fields().info_time.as_str(),
        "obtained_at": record.fields().obtained_at,
        "format": record.format(),
        "source": source_json(record.source()),
    })
}

fn source_json(source: &Source) -> Value {
    match source {
        Source::Vcs(origin) => json!({
            "kind": "vcs",
            "vcs": origin.vcs,
            "url": origin.url,
            "subdir": origin.subdir,
            "hash": origin.hash,
            "ref": origin.ref_name,
        }),
        Source::Peer(signer) => json!({"kind": "peer", "signer": signer.to_string()}),
        Source::Upstream(url) => json!({"kind": "upstream", "url": url}),
        Source::Import => json!({"kind": "import"}),
        _ => json!({"kind": "unknown"}),
    }
}

fn conflict_json(evidence: &ConflictEvidence, own: Option<SignerId>) -> Value {
    let pinned = evidence.pinned.as_ref();
    let with_own = |record: &VerifiedRecord| {
        let mut value = record_json(record, pinned);
        value["own"] = json!(Some(record.signer()) == own);
        value
    };
    let kind = match evidence.kind() {
        ConflictKind::WithPinned => "with_pinned",
        ConflictKind::SelfContradiction => "self_contradiction",
        _ => "other",
    };
    json!({
        "kind": kind,
        "disputed": with_own(&evidence.disputed),
        "counter": evidence.counter.as_ref().map(with_own),
        "pinned": pinned.map(hashes_json),
    })
}

fn json_response(body: &Value) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, content_type)], format!("{body}\n")).into_response()
}

fn not_found(reason: &str) -> Response {
    let content_type = HeaderValue::from_static(TEXT_PLAIN);
    let body = format!("not found: {reason}\n");
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

fn internal_error(err: &ProvenanceError) -> Response {
    let error = crate::error_chain::error_chain(err);
    tracing::error!(%error, "reading provenance records failed");
    let content_type = HeaderValue::from_static(TEXT_PLAIN);
    let body = "internal error: reading provenance records failed\n";
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}
