//! Git over HTTP(S) for the CLI's own clone and push.
//!
//! libgit2's built-in HTTPS needs a TLS library of its own (OpenSSL on
//! Linux), with its own idea of trusted roots and proxies. This module
//! registers a smart-HTTP subtransport instead, on the hyper/rustls stack the
//! provider APIs and the Kubernetes client use: the system roots plus
//! `--ca-file`, the same proxy rules, one TLS library in the binary.
//!
//! Credentials go with every request (as Go clients send them), never in
//! the remote URL, so no `.git/config` holds them. Each wait is bounded by
//! the operation's [`Limits`], so `--timeout` and Ctrl-C end a transfer
//! from a server that stops answering.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use bytes::{Buf, Bytes};
use git2::transport::{Service, SmartSubtransport};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::git::{ActionStream, GitAuth, Limits, Scoped};
use crate::bootstrap::provider::http::https_connector;
use crate::error::error_chain;
use crate::proxy;

const AGENT: &str = concat!("git/2.0 (flux-rs ", env!("CARGO_PKG_VERSION"), ")");

/// Redirects followed when listing refs, as git does by default.
const MAX_REDIRECTS: usize = 5;

/// The longest a Git HTTP request may wait when no operation deadline is
/// set (work not started through [`super::git::off_runtime`]).
const DEFAULT_LIMIT: Duration = Duration::from_secs(300);

/// How often a wait looks at the operation's limits.
const LIMIT_POLL: Duration = Duration::from_millis(100);

type HttpClient = Client<hyper_rustls::HttpsConnector<proxy::Connector>, Full<Bytes>>;

/// How one Git operation talks HTTP: its credentials and trusted roots.
pub struct HttpSettings {
    /// `Authorization` value sent with every request to the remote's
    /// origin; marked sensitive.
    authorization: Option<HeaderValue>,
    scheme: Scheme,
    connector: hyper_rustls::HttpsConnector<proxy::Connector>,
}

/// Which credentials, for the words of an authentication failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    None,
    Basic,
    Bearer,
}

impl std::fmt::Debug for HttpSettings {
    // The credentials never reach logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl HttpSettings {
    /// `ca_pem`: the `--ca-file` bundle, trusted besides the system roots.
    /// SSH credentials mean anonymous HTTP.
    pub fn new(auth: &GitAuth, ca_pem: Option<&str>) -> Result<Self, String> {
        let (scheme, value) = match auth {
            GitAuth::Basic { username, password } => {
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                (Scheme::Basic, Some(format!("Basic {pair}")))
            }
            GitAuth::Bearer { token } => (Scheme::Bearer, Some(format!("Bearer {token}"))),
            GitAuth::None | GitAuth::SshKey { .. } => (Scheme::None, None),
        };
        let authorization = value
            .map(|v| {
                HeaderValue::from_str(&v)
                    .map(|mut h| {
                        h.set_sensitive(true);
                        h
                    })
                    .map_err(|_| {
                        "the Git credentials contain characters an HTTP header cannot carry"
                            .to_string()
                    })
            })
            .transpose()?;
        let connector = https_connector(ca_pem).map_err(|e| e.to_string())?;
        Ok(Self {
            authorization,
            scheme,
            connector,
        })
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<Arc<HttpSettings>>> = const { RefCell::new(None) };
}

/// Makes `settings` the HTTP settings of the Git operations this thread
/// runs until the returned guard drops. Registers the transport first.
pub fn activate(settings: Arc<HttpSettings>) -> Result<Scoped<Arc<HttpSettings>>, String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| super::git::register_transport(&["http", "https"], true, Subtransport::new))
        .clone()?;
    Ok(Scoped::set(&ACTIVE, Some(settings)))
}

/// The transport of one remote connection: a small runtime of its own
/// driving the HTTP client, because libgit2 calls from a blocking thread.
struct Subtransport {
    shared: Arc<Shared>,
}

struct Shared {
    // Declared before the runtime: the pool's connections close first.
    client: HttpClient,
    runtime: tokio::runtime::Runtime,
    settings: Option<Arc<HttpSettings>>,
    /// The repository URL after redirects, for the requests that follow.
    base: Mutex<Option<String>>,
}

impl Subtransport {
    fn new() -> Result<Self, git2::Error> {
        let settings = ACTIVE.with_borrow(Clone::clone);
        let connector = match &settings {
            Some(s) => s.connector.clone(),
            None => https_connector(None).map_err(|e| git_error(e.to_string()))?,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| git_error(format!("unable to start the HTTP client: {e}")))?;
        let client = {
            let _context = runtime.enter();
            Client::builder(TokioExecutor::new()).build(connector)
        };
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                runtime,
                settings,
                base: Mutex::new(None),
            }),
        })
    }
}

impl SmartSubtransport for Subtransport {
    fn action(&self, url: &str, action: Service) -> ActionStream {
        let remote = Remote::parse(url).map_err(git_error)?;
        let (service, listing) = match action {
            Service::UploadPackLs => ("git-upload-pack", true),
            Service::UploadPack => ("git-upload-pack", false),
            Service::ReceivePackLs => ("git-receive-pack", true),
            Service::ReceivePack => ("git-receive-pack", false),
        };
        Ok(Box::new(HttpStream {
            shared: Arc::clone(&self.shared),
            remote,
            service,
            listing,
            request: Vec::new(),
            response: None,
            pending: Bytes::new(),
        }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

fn git_error(message: String) -> git2::Error {
    super::git::transport_error(git2::ErrorClass::Http, message)
}

/// A repository URL without its user info, and the credentials it held.
#[derive(Debug, Clone)]
struct Remote {
    /// `scheme://host[:port]/path`, no trailing `/`.
    url: String,
    origin: String,
    /// `Basic …` from `https://user:password@host/…`, used when the
    /// operation has no credentials of its own.
    url_credentials: Option<HeaderValue>,
}

impl Remote {
    fn parse(text: &str) -> Result<Self, String> {
        let mut url = url::Url::parse(text).map_err(|e| format!("invalid Git URL: {e}"))?;
        let url_credentials = proxy::basic_auth(&url);
        // Cannot fail for http(s) URLs, which have a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        let origin = url.origin().ascii_serialization();
        Ok(Self {
            url: url.as_str().trim_end_matches('/').to_string(),
            origin,
            url_credentials,
        })
    }
}

/// One request and its response, as libgit2 streams them: what it writes
/// is the request body, sent on its first read.
struct HttpStream {
    shared: Arc<Shared>,
    remote: Remote,
    service: &'static str,
    /// The ref advertisement (`GET info/refs`) rather than a command
    /// (`POST git-upload-pack`).
    listing: bool,
    request: Vec<u8>,
    response: Option<Incoming>,
    pending: Bytes,
}

impl HttpStream {
    /// The repository URL requests go to: the redirected one once a listing
    /// was redirected.
    fn base(&self) -> String {
        self.shared
            .base
            .lock()
            .ok()
            .and_then(|b| b.clone())
            .unwrap_or_else(|| self.remote.url.clone())
    }

    fn authorization(&self, url: &str) -> Option<HeaderValue> {
        // Credentials go only to the repository's own origin, not to where
        // a redirect points elsewhere.
        let same_origin = url::Url::parse(url)
            .is_ok_and(|u| u.origin().ascii_serialization() == self.remote.origin);
        if !same_origin {
            return None;
        }
        let settings = self.shared.settings.as_deref();
        settings
            .and_then(|s| s.authorization.clone())
            .or_else(|| self.remote.url_credentials.clone())
    }

    fn send(&self, url: &str, body: Option<Vec<u8>>) -> io::Result<http::Response<Incoming>> {
        let service = self.service;
        let mut request = http::Request::builder()
            .uri(url)
            .header(USER_AGENT, AGENT)
            .header("Pragma", "no-cache");
        request = match &body {
            None => request.method(http::Method::GET).header(ACCEPT, "*/*"),
            Some(_) => request
                .method(http::Method::POST)
                .header(CONTENT_TYPE, format!("application/x-{service}-request"))
                .header(ACCEPT, format!("application/x-{service}-result")),
        };
        if let Some(auth) = self.authorization(url) {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| io::Error::other(format!("invalid Git request to {url}: {e}")))?;
        wait(
            &self.shared,
            &self.remote.origin,
            self.shared.client.request(request),
        )?
        .map_err(|e| io::Error::other(format!("unable to reach {url}: {}", error_chain(&e))))
    }

    /// Sends the request; on success the body is ready to read.
    fn start(&mut self) -> io::Result<Incoming> {
        let service = self.service;
        if !self.listing {
            let url = format!("{}/{service}", self.base());
            let body = std::mem::take(&mut self.request);
            let response = self.send(&url, Some(body))?;
            return self.accept(&url, response, &format!("application/x-{service}-result"));
        }
        let mut url = format!("{}/info/refs?service={service}", self.remote.url);
        for _ in 0..=MAX_REDIRECTS {
            let response = self.send(&url, None)?;
            if response.status().is_redirection() {
                url = redirect_target(&url, &response)?;
                continue;
            }
            let body = self.accept(
                &url,
                response,
                &format!("application/x-{service}-advertisement"),
            )?;
            if let Some(base) = url.strip_suffix(&format!("/info/refs?service={service}"))
                && base != self.remote.url
                && let Ok(mut slot) = self.shared.base.lock()
            {
                *slot = Some(base.to_string());
            }
            return Ok(body);
        }
        Err(io::Error::other(format!(
            "too many redirects (more than {MAX_REDIRECTS}) from {}",
            self.remote.url
        )))
    }

    /// The body of a successful response of `content_type`; an error that
    /// names the problem otherwise.
    fn accept(
        &self,
        url: &str,
        response: http::Response<Incoming>,
        content_type: &str,
    ) -> io::Result<Incoming> {
        let status = response.status();
        let shown = url.split('?').next().unwrap_or(url);
        if status == http::StatusCode::UNAUTHORIZED {
            let scheme = match self.shared.settings.as_deref() {
                Some(s) if s.scheme != Scheme::None => s.scheme,
                _ if self.remote.url_credentials.is_some() => Scheme::Basic,
                _ => Scheme::None,
            };
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                unauthorized(scheme, &self.remote.origin),
            ));
        }
        if !status.is_success() {
            let why = match status {
                http::StatusCode::FORBIDDEN => {
                    "access denied; check that the credentials may read and write this repository"
                }
                http::StatusCode::NOT_FOUND => "repository not found; check the URL",
                _ => "unexpected answer",
            };
            return Err(io::Error::other(format!(
                "{why} (HTTP {} from {shown})",
                status.as_u16()
            )));
        }
        let received = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if received != content_type {
            return Err(io::Error::other(format!(
                "{shown} is not a smart Git HTTP endpoint: it answered with content type {received:?}, not {content_type:?}; check the repository URL"
            )));
        }
        Ok(response.into_body())
    }
}

/// Waits for `future` on the transport's runtime within the operation's
/// limits; `origin` names the server when it does not answer in time.
fn wait<F: Future>(shared: &Shared, origin: &str, future: F) -> io::Result<F::Output> {
    let limits = Limits::current_or(DEFAULT_LIMIT);
    shared.runtime.block_on(async {
        tokio::pin!(future);
        loop {
            tokio::select! {
                output = &mut future => return Ok(output),
                _ = tokio::time::sleep(limits.remaining().min(LIMIT_POLL)) => {
                    if limits.expired() {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("the Git server at {origin} did not answer in time"),
                        ));
                    }
                }
            }
        }
    })
}

/// What an authentication failure means, in words that name the fix.
fn unauthorized(scheme: Scheme, origin: &str) -> String {
    match scheme {
        Scheme::None => format!(
            "authentication required: {origin} asked for credentials and none were given"
        ),
        Scheme::Basic => format!(
            "authentication failed: {origin} refused the username and password; check them, and that the token has not expired"
        ),
        Scheme::Bearer => "authentication failed: the server refused the bearer token; check the token given with --password or $GIT_PASSWORD".to_string(),
    }
}

/// The absolute URL a redirect response points to.
fn redirect_target(from: &str, response: &http::Response<Incoming>) -> io::Result<String> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            io::Error::other(format!(
                "{from} answered HTTP {} without a valid Location",
                response.status().as_u16()
            ))
        })?;
    url::Url::parse(from)
        .and_then(|base| base.join(location))
        .map(String::from)
        .map_err(|e| io::Error::other(format!("invalid redirect from {from}: {e}")))
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            self.response = Some(self.start()?);
        }
        while self.pending.is_empty() {
            let Some(body) = self.response.as_mut() else {
                return Ok(0);
            };
            match wait(&self.shared, &self.remote.origin, body.frame())? {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending = data;
                    }
                }
                Some(Err(e)) => {
                    return Err(io::Error::other(format!(
                        "the Git server at {} broke off the transfer: {}",
                        self.remote.origin,
                        error_chain(&e)
                    )));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

impl Write for HttpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.response.is_some() {
            return Err(io::Error::other(
                "libgit2 wrote to a Git HTTP request already sent",
            ));
        }
        self.request.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::git::WorkTree;
    use std::io::BufRead;

    /// Serves each request with the answer `respond` gives for its request
    /// line, then closes the connection. Returns the base URL.
    fn serve(respond: fn(&str) -> String) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = io::BufReader::new(stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = reader
                    .get_mut()
                    .write_all(respond(&request_line).as_bytes());
            }
        });
        url
    }

    fn clone_error(url: &str) -> String {
        match WorkTree::clone(url, "main", &GitAuth::None, None) {
            Ok(_) => panic!("the clone of {url} succeeded"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn http_failures_say_what_is_wrong_and_redirects_are_followed() {
        let url = serve(|request| {
            let (status, extra) = if request.contains("/moved.git/") {
                (
                    "301 Moved",
                    "Location: /missing.git/info/refs?service=git-upload-pack\r\n",
                )
            } else if request.contains("/missing.git/") {
                ("404 Not Found", "")
            } else if request.contains("/private.git/") {
                (
                    "401 Unauthorized",
                    "WWW-Authenticate: Basic realm=\"git\"\r\n",
                )
            } else {
                ("200 OK", "Content-Type: text/html\r\n")
            };
            format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n")
        });
        let cases = [
            (
                "moved.git",
                "repository not found; check the URL (HTTP 404 from {url}/missing.git/info/refs)",
            ),
            (
                "private.git",
                "authentication required: {url} asked for credentials and none were given",
            ),
            (
                "web.git",
                "{url}/web.git/info/refs is not a smart Git HTTP endpoint: it answered with content type \"text/html\"",
            ),
        ];
        for (repo, expected) in cases {
            let error = clone_error(&format!("{url}/{repo}"));
            let expected = expected.replace("{url}", &url);
            assert!(error.contains(&expected), "{repo}: {error}");
        }
    }

    #[test]
    fn a_redirect_loop_ends() {
        let url = serve(|_| {
            "HTTP/1.1 302 Found\r\nLocation: /again.git/info/refs?service=git-upload-pack\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
        });
        let error = clone_error(&format!("{url}/loop.git"));
        assert!(error.contains("too many redirects"), "{error}");
    }

    #[test]
    fn credentials_in_the_url_leave_it_and_become_basic_auth() {
        let remote =
            Remote::parse("https://flux:s%40cret@git.example.com:8443/org/repo.git/").unwrap();
        assert_eq!(remote.url, "https://git.example.com:8443/org/repo.git");
        assert_eq!(remote.origin, "https://git.example.com:8443");
        let expected = base64::engine::general_purpose::STANDARD.encode("flux:s@cret");
        let credentials = remote.url_credentials.unwrap();
        assert_eq!(credentials, format!("Basic {expected}").as_str());
        assert!(credentials.is_sensitive());
        let anonymous = Remote::parse("http://127.0.0.1/repo.git").unwrap();
        assert_eq!(anonymous.url_credentials, None);
    }

    #[test]
    fn settings_never_show_their_credentials() {
        let settings = HttpSettings::new(
            &GitAuth::Bearer {
                token: "s3cret".into(),
            },
            None,
        )
        .unwrap();
        assert!(!format!("{settings:?}").contains("s3cret"));
        assert!(settings.authorization.as_ref().unwrap().is_sensitive());
        let bad = HttpSettings::new(
            &GitAuth::Basic {
                username: "flux".into(),
                password: "line\nbreak".into(),
            },
            None,
        );
        // base64 keeps any password header-safe; a token with a newline is not.
        assert!(bad.is_ok());
        let bad = HttpSettings::new(
            &GitAuth::Bearer {
                token: "line\nbreak".into(),
            },
            None,
        )
        .unwrap_err();
        assert!(
            bad.contains("cannot carry") && !bad.contains("line"),
            "{bad}"
        );
    }
}
