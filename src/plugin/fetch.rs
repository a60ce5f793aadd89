//! GETs for the catalog, manifests and downloads: retried on connection
//! errors, 429 and 5xx (not 501) with exponential backoff that honours
//! `Retry-After`, redirects followed, bounded in time and (for YAML) size.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::bootstrap::provider::http::{connector_trusting, native_roots};
use crate::cluster::transport;

/// Catalog and manifests are small: anything longer is not one.
pub const TEXT_TIMEOUT: Duration = Duration::from_secs(30);
pub const TEXT_LIMIT: usize = 10 << 20;
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Attempts after the first one.
const RETRIES: u32 = 3;
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;

type HttpClient = Client<hyper_rustls::HttpsConnector<crate::proxy::Connector>, Full<Bytes>>;

/// Why a GET gave nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The server answered, with something other than 200.
    Status { code: u16, url: String },
    /// No answer, or an unusable one, in Go's client's words.
    Failed(String),
}

impl FetchError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::Status { code: 404, .. })
    }

    /// `HTTP 404`, without the URL (how download failures read).
    pub fn short(&self) -> String {
        match self {
            FetchError::Status { code, .. } => format!("HTTP {code}"),
            FetchError::Failed(text) => text.clone(),
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Status { code, url } => write!(f, "HTTP {code} from {url}"),
            FetchError::Failed(text) => f.write_str(text),
        }
    }
}

pub struct Fetcher {
    client: HttpClient,
}

impl Fetcher {
    /// A client trusting the system's roots (and `SSL_CERT_FILE`), through
    /// the environment's proxy.
    pub fn new() -> Result<Self, super::PluginError> {
        let connector = connector_trusting(native_roots())
            .map_err(|e| super::PluginError::Tls(e.to_string()))?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// The body of `url`, at most [`TEXT_LIMIT`] bytes.
    pub async fn text(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let (mut body, deadline) = self.ok_response(url, TEXT_TIMEOUT).await?;
        let mut out = Vec::new();
        while let Some(chunk) = next_chunk(&mut body, deadline, url).await? {
            if out.len() + chunk.len() > TEXT_LIMIT {
                return Err(FetchError::Failed(format!(
                    "the response from {url} is larger than {} MiB",
                    TEXT_LIMIT >> 20
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Writes the body of `url` to `file`; returns its SHA-256 as hex.
    pub async fn download(
        &self,
        url: &str,
        file: &mut std::fs::File,
    ) -> Result<String, FetchError> {
        let (mut body, deadline) = self.ok_response(url, DOWNLOAD_TIMEOUT).await?;
        let mut hash = Sha256::new();
        while let Some(chunk) = next_chunk(&mut body, deadline, url).await? {
            hash.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| FetchError::Failed(format!("writing the download: {e}")))?;
        }
        file.flush()
            .map_err(|e| FetchError::Failed(format!("writing the download: {e}")))?;
        Ok(hex::encode(hash.finalize()))
    }

    /// A 200 response's body, following redirects, and when it must be
    /// read by.
    async fn ok_response(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<(Incoming, Instant), FetchError> {
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let (response, deadline) = self.respond(&current, timeout).await?;
            let status = response.status();
            if status.is_redirection() && status != http::StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| FetchError::Status {
                        code: status.as_u16(),
                        url: current.clone(),
                    })?;
                let next = url::Url::parse(&current)
                    .and_then(|base| base.join(location))
                    .map_err(|e| {
                        FetchError::Failed(format!("Get \"{current}\": bad redirect: {e}"))
                    })?;
                current = next.to_string();
                continue;
            }
            if status != http::StatusCode::OK {
                return Err(FetchError::Status {
                    code: status.as_u16(),
                    url: current,
                });
            }
            return Ok((response.into_body(), deadline));
        }
        Err(FetchError::Failed(format!(
            "Get \"{url}\": stopped after {MAX_REDIRECTS} redirects"
        )))
    }

    /// The first answer that is not worth retrying, or the reason there
    /// was none after every retry.
    async fn respond(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<(http::Response<Incoming>, Instant), FetchError> {
        let uri = target(url)?;
        let mut attempt = 0;
        loop {
            let deadline = Instant::now() + timeout;
            let request = http::Request::get(uri.clone())
                .header(
                    http::header::USER_AGENT,
                    concat!("flux-rs/", env!("CARGO_PKG_VERSION")),
                )
                .body(Full::new(Bytes::new()))
                .map_err(|e| FetchError::Failed(format!("Get \"{url}\": {e}")))?;
            let (cause, wait) =
                match tokio::time::timeout_at(deadline, self.client.request(request)).await {
                    Ok(Ok(response)) if is_retryable(response.status()) => {
                        let wait = retry_after(&response).unwrap_or_else(|| backoff(attempt));
                        (None, wait)
                    }
                    Ok(Ok(response)) => return Ok((response, deadline)),
                    Ok(Err(err)) => {
                        let cause = transport::with_causes(&err);
                        if is_certificate_error(&err) {
                            return Err(FetchError::Failed(format!("Get \"{url}\": {cause}")));
                        }
                        (Some(cause), backoff(attempt))
                    }
                    Err(_) => (
                        Some("context deadline exceeded (Client.Timeout exceeded while awaiting headers)".to_string()),
                        backoff(attempt),
                    ),
                };
            if attempt == RETRIES {
                let attempts = attempt + 1;
                let suffix = cause.map(|c| format!(": {c}")).unwrap_or_default();
                return Err(FetchError::Failed(format!(
                    "Get \"{url}\": GET {url} giving up after {attempts} attempt(s){suffix}"
                )));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

async fn next_chunk(
    body: &mut Incoming,
    deadline: Instant,
    url: &str,
) -> Result<Option<Bytes>, FetchError> {
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .map_err(|_| {
                FetchError::Failed(format!(
                    "Get \"{url}\": context deadline exceeded while reading the body"
                ))
            })?;
        match frame {
            None => return Ok(None),
            Some(Err(err)) => {
                return Err(FetchError::Failed(format!(
                    "Get \"{url}\": {}",
                    transport::with_causes(&err)
                )));
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// Only http(s) URLs are fetched.
fn target(url: &str) -> Result<http::Uri, FetchError> {
    let parsed =
        url::Url::parse(url).map_err(|e| FetchError::Failed(format!("parse \"{url}\": {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FetchError::Failed(format!(
            "Get \"{url}\": unsupported protocol scheme \"{}\"",
            parsed.scheme()
        )));
    }
    parsed
        .as_str()
        .parse::<http::Uri>()
        .map_err(|e| FetchError::Failed(format!("parse \"{url}\": {e}")))
}

fn is_retryable(status: http::StatusCode) -> bool {
    status == http::StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != http::StatusCode::NOT_IMPLEMENTED)
}

/// 1 s, 2 s, 4 s, … up to the longest wait.
fn backoff(attempt: u32) -> Duration {
    FIRST_WAIT
        .saturating_mul(1 << attempt.min(16))
        .min(LONGEST_WAIT)
}

/// `Retry-After` in seconds (the HTTP-date form is rare and ignored),
/// capped so that a server cannot park the CLI.
fn retry_after(response: &http::Response<Incoming>) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(LONGEST_WAIT))
}

/// A server whose certificate is not trusted stays untrusted: no retry.
fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ) {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_certificate_error(inner)
        {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_thirty() {
        let waits: Vec<u64> = (0..7).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn which_statuses_are_retried() {
        for code in [429, 500, 502, 503, 504, 599] {
            assert!(
                is_retryable(http::StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 301, 400, 403, 404, 501] {
            assert!(
                !is_retryable(http::StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn only_http_urls_are_fetched() {
        assert_eq!(
            target("file:///etc/passwd").unwrap_err().to_string(),
            "Get \"file:///etc/passwd\": unsupported protocol scheme \"file\""
        );
        assert!(target("https://example.com/catalog.yaml").is_ok());
        assert!(target("not a url").is_err());
    }

    #[test]
    fn status_errors_name_the_url_except_in_short() {
        let err = FetchError::Status {
            code: 404,
            url: "http://h/x".into(),
        };
        assert_eq!(err.to_string(), "HTTP 404 from http://h/x");
        assert_eq!(err.short(), "HTTP 404");
        assert!(err.is_not_found());
    }
}
