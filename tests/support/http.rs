//! A minimal HTTP/1.1 client for tests: one request per connection, the path and headers sent
//! exactly as given. No URL library sits in between, so `..`, `//`, raw bytes and escapes reach
//! the server untouched, which the hostile-input tests need.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};

/// How long one HTTP exchange may take (fills of big modules included).
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

/// One HTTP response, read to its end.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    /// The status code.
    pub(crate) status: u16,
    /// Header names (lowercase) and values, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked (but not decompressed).
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as (lossy) UTF-8 text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 exchange with `Connection: close`, read to EOF.
pub(crate) fn http_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

/// Accepts connections on `listener` until `stop` is set (a connection after that wakes the
/// loop to see it), each handed to `handle` on a thread of its own with a 10 s read timeout.
pub(crate) fn serve_connections(
    listener: &TcpListener,
    stop: &AtomicBool,
    handle: impl Fn(TcpStream) + Clone + Send + 'static,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let handle = handle.clone();
        std::thread::spawn(move || handle(stream));
    }
}

/// Reads one request's head from `stream` (at most 16 KiB) and returns its path, as sent.
/// For the tests' own small servers, which answer one request per connection.
pub(crate) fn read_request_path(stream: &mut TcpStream) -> Result<String> {
    let head = read_request_head(stream)?.unwrap_or_default();
    Ok(head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

/// Reads the next request's head from `stream` (request line and headers, at most 16 KiB);
/// `None` when the client closed the connection before a whole head.
pub(crate) fn read_request_head(stream: &mut TcpStream) -> Result<Option<String>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    if !head.ends_with(b"\r\n\r\n") {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

/// Writes one whole `Connection: close` response with `Content-Length`; the body at most
/// `bytes_per_second` fast when given (a slow network), in pieces of 64 KiB.
pub(crate) fn write_response(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    bytes_per_second: Option<u64>,
) -> Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    let Some(rate) = bytes_per_second.filter(|rate| *rate > 0) else {
        stream.write_all(body)?;
        return Ok(());
    };
    const PIECE: usize = 64 << 10;
    let pause = Duration::from_secs_f64(PIECE as f64 / rate as f64);
    for piece in body.chunks(PIECE) {
        stream.write_all(piece)?;
        std::thread::sleep(pause);
    }
    Ok(())
}

/// A response read as it arrived: when its first body byte came, and whether it is whole.
#[derive(Debug)]
pub(crate) struct TimedResponse {
    /// The status code.
    pub(crate) status: u16,
    /// The body as received (de-chunked where the chunks were whole).
    pub(crate) body: Vec<u8>,
    /// From sending the request to the first byte of the body.
    pub(crate) first_byte: Duration,
    /// From sending the request to the end (or the cut) of the connection.
    pub(crate) total: Duration,
    /// Whether the body is complete: all of `Content-Length`, or a chunked body's last chunk.
    pub(crate) complete: bool,
}

/// `GET path` on a fresh connection, for a body that must never arrive whole (a zip that
/// fails its check): an error status, or a connection cut before the end of the body or even
/// before the end of the headers, all pass; a complete `200` is an error naming `what`.
pub(crate) fn ensure_never_served_whole(addr: SocketAddr, path: &str, what: &str) -> Result<()> {
    match timed_get_unless_cut(addr, path)? {
        Some(got) if got.status == 200 && got.complete => {
            anyhow::bail!("{what} was served whole ({} bytes)", got.body.len())
        }
        _ => Ok(()),
    }
}

/// `GET path` on a fresh connection, timed; a connection cut in the middle of the body is
/// an incomplete response, not an error.
pub(crate) fn timed_get(addr: SocketAddr, path: &str) -> Result<TimedResponse> {
    timed_get_unless_cut(addr, path)?.context("no end of headers in the response")
}

/// [`timed_get`], `None` when the connection closed before the end of the headers.
fn timed_get_unless_cut(addr: SocketAddr, path: &str) -> Result<Option<TimedResponse>> {
    let started = std::time::Instant::now();
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let (mut raw, mut first_byte) = (Vec::new(), None);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        let body_started = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .is_some_and(|end| raw.len() > end + 4);
        if first_byte.is_none() && body_started {
            first_byte = Some(started.elapsed());
        }
    }
    let total = started.elapsed();
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = parse_response(&raw[..split + 4], true)?;
    let body = &raw[split + 4..];
    let (body, complete) = match (
        head.header("content-length"),
        head.header("transfer-encoding"),
    ) {
        (Some(length), _) => (
            body.to_vec(),
            length.parse::<usize>().ok() == Some(body.len()),
        ),
        (None, Some(_)) => match dechunk(body) {
            Ok(whole) => (whole, true),
            Err(_) => (body.to_vec(), false),
        },
        (None, None) => (body.to_vec(), true),
    };
    Ok(Some(TimedResponse {
        status: head.status,
        body,
        first_byte: first_byte.unwrap_or(total),
        total,
        complete,
    }))
}

fn parse_response(raw: &[u8], head: bool) -> Result<HttpResponse> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers in the response")?;
    let head_text = std::str::from_utf8(&raw[..split]).context("non-UTF-8 headers")?;
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked && !head {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("truncated chunk size")?;
        let size_text = std::str::from_utf8(&data[..line_end])?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        ensure!(data.len() >= size + 2, "truncated chunk");
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
