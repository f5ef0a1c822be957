//! `GET /`: the operator's status page, server-rendered HTML (maud), no external assets and no
//! JavaScript, readable on a phone: the `GOPROXY` line to copy (and `GOSUMDB` when the node
//! runs a checksum database), identity and pool, peers with round-trip times, what the store
//! holds, fills by source and the most recent ones, conflicts and forks with links to their
//! evidence, the checksum database's head. Private modules may appear here (the page is the
//! operator's); they never appear in `/index` or `/catalog`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use delos_registry_index::ConflictEvidence;
use maud::{DOCTYPE, Markup, html};
use serde_json::{Map, Value};

use crate::fetch::RecentFill;
use crate::http::AppState;
use crate::http::status::status_body;

/// The most conflicts listed (all are counted).
const CONFLICTS_LISTED: usize = 20;

/// The page's whole style: system fonts, tables that scroll sideways on a narrow screen.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;\
padding:0.8rem;line-height:1.4;color:#222}h1{font-size:1.4rem}h2{font-size:1.1rem;\
margin-top:1.6rem;border-bottom:1px solid #ccc}pre,code{font-family:ui-monospace,monospace;\
font-size:0.9rem}pre{background:#f4f4f4;padding:0.6rem;overflow-x:auto;white-space:pre-wrap;\
word-break:break-all}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}\
td,th{text-align:left;padding:0.2rem 0.5rem;border-bottom:1px solid #eee;vertical-align:top}\
code{overflow-wrap:anywhere}.num{text-align:right}.bad{color:#a00;font-weight:bold}.muted{color:#777}";

/// What the page shows, gathered before rendering.
struct PageData {
    goproxy: String,
    gosumdb: Option<String>,
    /// The key the node signs its provenance records with.
    signer: Option<String>,
    /// The newest signed head of the node's checksum database, as note text.
    checksum_head: Option<String>,
    status: Map<String, Value>,
    recent: Vec<RecentFill>,
    conflicts: Result<Vec<ConflictEvidence>, String>,
}

/// `GET /`: the status page.
pub(crate) async fn status_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("<this node>");
    let index = std::sync::Arc::clone(state.fetcher.index());
    let conflicts = tokio::task::spawn_blocking(move || index.conflicts().list())
        .await
        .map_err(|err| err.to_string())
        .and_then(|read| read.map_err(|err| err.to_string()));
    let data = PageData {
        goproxy: format!("GOPROXY=http://{host}"),
        gosumdb: state
            .checksum_db
            .as_ref()
            .map(|db| format!("GOSUMDB={}", db.verifier_key())),
        signer: state.fetcher.own_signer().map(|signer| signer.to_string()),
        checksum_head: state
            .checksum_db
            .as_ref()
            .and_then(|db| db.heads().borrow().clone())
            .map(|note| String::from_utf8_lossy(&note).into_owned()),
        status: status_body(&state).await,
        recent: state.fetcher.recent_fills(),
        conflicts,
    };
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    ([(header::CONTENT_TYPE, html)], render(&data).into_string()).into_response()
}

fn render(data: &PageData) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Delos node" }
                style { (STYLE) }
            }
            body {
                h1 { "Delos node " span.muted { (text(&data.status["version"])) } }
                p { "Point the go command at this node:" }
                pre #goproxy { (data.goproxy) }
                @if let Some(gosumdb) = &data.gosumdb { pre #gosumdb { (gosumdb) } }
                (identity(&data.status, data.signer.as_deref()))
                (store(&data.status))
                (recent_fills(&data.recent))
                (problems(data))
                (checksum_db(&data.status, data.checksum_head.as_deref()))
                p.muted { "Machine-readable: " a href="/status" { "/status" } ", "
                    a href="/metrics" { "/metrics" } ", " a href="/readyz" { "/readyz" } }
            }
        }
    }
}

fn identity(status: &Map<String, Value>, signer: Option<&str>) -> Markup {
    let pool = &status["pool"];
    let peers = pool["peers"].as_array().cloned().unwrap_or_default();
    html! {
        h2 { "Identity and pool" }
        @if let Some(signer) = signer { p { "Signs records as " code #signer { (signer) } } }
        @if pool["enabled"] == true {
            p { "Pool " code #pool-name { (text(&pool["name"])) } }
            p { "Peer ID " code #peer-id { (text(&pool["peer_id"])) } }
            p { "Listening on " code { (list(&pool["listen_addrs"])) } }
            h2 { "Peers (" (peers.len()) ")" }
            @if peers.is_empty() { p.muted { "No peer connected." } }
            @else {
                div.scroll { table #peers {
                    tr { th { "peer" } th.num { "round trip" } }
                    @for peer in &peers {
                        tr { td { code { (text(&peer["peer_id"])) } }
                             td.num { (rtt(&peer["round_trip_ms"])) } }
                    }
                } }
            }
        } @else {
            p { "Runs alone (no pool)." }
        }
    }
}

fn store(status: &Map<String, Value>) -> Markup {
    let fetch = &status["fetch"];
    let store = &status["store"];
    html! {
        h2 { "Store" }
        div.scroll { table #store {
            tr { td { "versions stored" } td.num { (text(&store["versions"])) } }
            tr { td { "of them whole (with zip)" } td.num { (text(&store["full_versions"])) } }
            tr { td { "bytes" } td.num { (bytes(&store["blob_bytes"])) } }
        } }
        h2 { "Fills by source" }
        div.scroll { table #fills-by-source {
            tr { td { "vcs" } td.num { (text(&fetch["vcs_fills"])) } }
            tr { td { "peer" } td.num { (text(&fetch["peer_fills"])) } }
            tr { td { "upstream" } td.num { (text(&fetch["upstream_fills"])) } }
            tr { td { "failed" } td.num { (text(&fetch["fills_failed"])) } }
            tr { td { "served from the store" } td.num { (text(&fetch["store_hits"])) } }
        } }
    }
}

fn recent_fills(recent: &[RecentFill]) -> Markup {
    let now = SystemTime::now();
    html! {
        h2 { "Recent fills" }
        @if recent.is_empty() { p.muted { "No fill since the node started." } }
        @else {
            div.scroll { table #recent-fills {
                tr { th { "module" } th { "version" } th { "source" } th.num { "took" } th { "when" } }
                @for fill in recent {
                    tr {
                        td { code { (fill.module.as_str()) } }
                        td { code { (fill.version.as_str()) } }
                        td { (fill.source) }
                        td.num { (seconds(fill.duration)) }
                        td { (ago(now, fill.at)) }
                    }
                }
            } }
        }
    }
}

fn problems(data: &PageData) -> Markup {
    let forks = data.status["sumdb"]["fork_evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        h2 { "Conflicts and forks" }
        @match &data.conflicts {
            Err(error) => p.bad { "Conflicts unreadable: " (error) },
            Ok(conflicts) if conflicts.is_empty() => p { "No conflicting record." },
            Ok(conflicts) => {
                p.bad { (conflicts.len()) " conflicting records (kept as evidence, never served):" }
                ul #conflicts { @for conflict in conflicts.iter().take(CONFLICTS_LISTED) {
                    li { a href=(format!("/provenance/{}/@v/{}", conflict.module().escape(), conflict.version().escape())) {
                        (conflict.module().as_str()) "@" (conflict.version().as_str()) } }
                } }
            }
        }
        @if forks.is_empty() { p { "No checksum-database fork seen." } }
        @else {
            p.bad { (forks.len()) " checksum-database forks proved: evidence in "
                a href="/status" { "/status" } " (sumdb.fork_evidence)." }
        }
    }
}

fn checksum_db(status: &Map<String, Value>, head: Option<&str>) -> Markup {
    let db = &status["checksum_db"];
    html! {
        @if let Some(name) = db["name"].as_str() {
            h2 { "Checksum database " code { (name) } }
            p { "Verifier key " code { (text(&db["verifier_key"])) } }
            p { (text(&db["size"])) " records in the log. Newest signed head:" }
            @match head {
                Some(head) => pre #checksum-head { (head) },
                None => p.muted { "No head signed yet." },
            }
        }
    }
}

/// A JSON value as plain text (strings without quotes; absent as a dash).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "–".to_owned(),
        other => other.to_string(),
    }
}

fn list(value: &Value) -> String {
    let items: Vec<String> = value.as_array().into_iter().flatten().map(text).collect();
    items.join(", ")
}

fn rtt(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "–".to_owned(), |ms| format!("{ms:.1} ms"))
}

fn bytes(value: &Value) -> String {
    let Some(bytes) = value.as_u64() else {
        return text(value);
    };
    let mib = bytes as f64 / f64::from(1u32 << 20);
    format!("{bytes} ({mib:.1} MiB)")
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

fn ago(now: SystemTime, at: SystemTime) -> String {
    let secs = now.duration_since(at).unwrap_or_default().as_secs();
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}
