//! Sending an [`Answer`]: `200` with its prebuilt headers (gzipped for a client that accepts
//! it, when the answer has a gzipped copy), or `304 Not Modified` when the request's
//! `If-None-Match` names its `ETag`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use headers::{ETag, HeaderMapExt, IfNoneMatch};

use super::Answer;

/// `304 Not Modified` (with the `ETag` and cache policy), when the request's `If-None-Match`
/// names `answer`'s `ETag` (or is `*`).
pub(crate) fn not_modified(answer: &Answer, request_headers: &HeaderMap) -> Option<Response> {
    if !client_has(answer, request_headers) {
        return None;
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    headers.insert(header::ETAG, answer.etag.clone());
    headers.insert(header::CACHE_CONTROL, answer.cache_control.clone());
    Some(response)
}

/// How a body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As it is, never compressed (a zip).
    Identity,
    /// As it is, with a gzipped copy the client did not ask for (`Vary: Accept-Encoding`).
    IdentityOfTwo,
    /// Gzipped (`Content-Encoding: gzip`, `Vary: Accept-Encoding`).
    Gzip,
}

/// `200` with `answer`'s headers and `body` of `length` bytes sent with `encoding`.
pub(crate) fn ok(answer: &Answer, length: u64, encoding: Encoding, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, answer.content_type.clone());
    headers.insert(header::CACHE_CONTROL, answer.cache_control.clone());
    headers.insert(header::ETAG, answer.etag.clone());
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if encoding != Encoding::Identity {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if encoding == Encoding::Gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Whether the request's `Accept-Encoding` accepts gzip: a `gzip`, `x-gzip` or `*` coding
/// whose `q` is not 0 (RFC 9110, 12.5.3).
pub(crate) fn accepts_gzip(request_headers: &HeaderMap) -> bool {
    request_headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let gzip = ["gzip", "x-gzip", "*"]
                .iter()
                .any(|accepted| name.eq_ignore_ascii_case(accepted));
            gzip && !parts.any(refuses)
        })
}

/// Whether a coding's parameter is a zero weight (`q=0`, `q=0.0`, `q=0.000`).
fn refuses(parameter: &str) -> bool {
    let Some((key, value)) = parameter.split_once('=') else {
        return false;
    };
    key.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
}

/// Whether the request's `If-None-Match` names the answer's `ETag` (or is `*`).
fn client_has(answer: &Answer, request_headers: &HeaderMap) -> bool {
    if !request_headers.contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    let Some(if_none_match) = request_headers.typed_get::<IfNoneMatch>() else {
        return false;
    };
    let Some(etag) = answer
        .etag
        .to_str()
        .ok()
        .and_then(|etag| etag.parse::<ETag>().ok())
    else {
        return false;
    };
    !if_none_match.precondition_passes(&etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_accepted_unless_weighted_zero() {
        for yes in [
            "gzip",
            "deflate, gzip",
            "GZIP;q=0.5",
            "br;q=1, *;q=0.1",
            "x-gzip",
        ] {
            assert!(accept(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.000",
            "*;q=0",
        ] {
            assert!(!accept(no), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
