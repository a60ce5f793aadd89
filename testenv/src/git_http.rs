//! A smart-HTTP Git server on 127.0.0.1: `git http-backend` behind a tiny HTTP/1.1 server with
//! basic auth or a bearer token. The sandbox serves its repository with it, and the tests use it
//! as the Git host both API servers accept (a real one refuses `file://` sources). It records
//! the requests it answered, for tests that check what a client sent.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result};
use base64::Engine;

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub authorization: Option<String>,
    pub status: u16,
}

type Hook = Box<dyn FnOnce() + Send>;

struct State {
    root: PathBuf,
    /// The `Authorization` values that authenticate.
    accepted: Vec<String>,
    /// The `WWW-Authenticate` challenge of a 401.
    challenge: String,
    /// REMOTE_USER for git http-backend once authenticated.
    remote_user: String,
    anonymous_fetch: bool,
    requests: Mutex<Vec<Request>>,
    before_push: Mutex<Option<Hook>>,
    /// Serve HTTPS with this configuration instead of plain HTTP.
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Who may fetch and push, and how a 401 asks.
struct Access {
    /// The `Authorization` values that authenticate.
    accepted: Vec<String>,
    challenge: String,
    /// REMOTE_USER for git http-backend once authenticated.
    remote_user: String,
    anonymous_fetch: bool,
}

impl Access {
    fn basic(username: &str, password: &str, anonymous_fetch: bool) -> Self {
        Access {
            accepted: vec![basic_auth(username, password)],
            challenge: "Basic realm=\"git\"".into(),
            remote_user: username.into(),
            anonymous_fetch,
        }
    }
}

/// Smart HTTP Git server. Pushes always need the credentials; fetches too
/// unless `anonymous_fetch`.
pub struct HttpGitServer {
    /// The repositories' directory when the server made it (removed on drop).
    _tmp: Option<tempfile::TempDir>,
    state: Arc<State>,
    port: u16,
    stop: Arc<AtomicBool>,
    /// The CA that signed the HTTPS certificate, when serving HTTPS.
    ca_pem: Option<String>,
}

impl HttpGitServer {
    /// Basic auth as `username`:`password`.
    pub fn start(username: &str, password: &str, anonymous_fetch: bool) -> Self {
        Self::serve(Access::basic(username, password, anonymous_fetch), None)
    }

    /// As [`Self::start`], over HTTPS with a certificate for 127.0.0.1 and
    /// localhost signed by a new CA ([`Self::ca_pem`]).
    pub fn start_https(username: &str, password: &str, anonymous_fetch: bool) -> Self {
        let certs = crate::tls::generate().expect("test certificates");
        let mut config = (*certs.server).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut server = Self::serve(
            Access::basic(username, password, anonymous_fetch),
            Some(Arc::new(config)),
        );
        server.ca_pem = Some(certs.ca_pem);
        server
    }

    /// The CA of an HTTPS server's certificate, as PEM.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// `Authorization: Bearer <token>`; a 401 challenges with `Bearer`
    /// only, as token-only servers do.
    pub fn start_bearer(token: &str, anonymous_fetch: bool) -> Self {
        let access = Access {
            accepted: vec![format!("Bearer {token}")],
            challenge: "Bearer realm=\"git\"".into(),
            remote_user: "bearer".into(),
            anonymous_fetch,
        };
        Self::serve(access, None)
    }

    /// Serves the repositories under `root` on `port` (0: a free one) to requests carrying one of
    /// the `accepted` `Authorization` values (see [`basic_auth`]), known to Git as `remote_user`;
    /// a 401 challenges for basic auth.
    pub fn serve_dir(
        root: &Path,
        port: u16,
        accepted: Vec<String>,
        remote_user: &str,
        anonymous_fetch: bool,
    ) -> Result<Self> {
        anyhow::ensure!(
            root.is_dir(),
            "{} is not a directory of Git repositories",
            root.display()
        );
        let access = Access {
            accepted,
            challenge: "Basic realm=\"git\"".into(),
            remote_user: remote_user.into(),
            anonymous_fetch,
        };
        Self::serve_at(root.to_path_buf(), None, port, access, None)
    }

    fn serve(access: Access, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let tmp = tempfile::tempdir().expect("temporary directory");
        Self::serve_at(tmp.path().to_path_buf(), Some(tmp), 0, access, tls)
            .expect("a loopback port")
    }

    fn serve_at(
        root: PathBuf,
        tmp: Option<tempfile::TempDir>,
        port: u16,
        access: Access,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            root,
            accepted: access.accepted,
            challenge: access.challenge,
            remote_user: access.remote_user,
            anonymous_fetch: access.anonymous_fetch,
            requests: Mutex::new(Vec::new()),
            before_push: Mutex::new(None),
            tls,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = state2.clone();
                std::thread::spawn(move || {
                    let _ = serve(&state, stream);
                });
            }
        });
        Ok(Self {
            _tmp: tmp,
            state,
            port,
            stop,
            ca_pem: None,
        })
    }

    /// A bare repository `name` whose HEAD is `main`.
    pub fn create_repo(&self, name: &str) -> PathBuf {
        let path = self.state.root.join(name);
        let repo = git2::Repository::init_bare(&path).expect("git init --bare");
        repo.set_head("refs/heads/main").expect("HEAD set to main");
        path
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, name: &str) -> String {
        let scheme = if self.state.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}/{name}", self.port)
    }

    /// Where repository `name` lives on disk.
    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.state.root.join(name)
    }

    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state.requests).clone()
    }

    /// The push requests received so far.
    pub fn pushes(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.target.ends_with("/git-receive-pack"))
            .collect()
    }

    /// Serves the branches and tags of the working repository `dir` as
    /// `name`, readable without credentials; returns the server and the URL.
    /// Both API servers accept such a URL, where a real one refuses `file://`.
    pub fn serving(dir: &std::path::Path, name: &str) -> (Self, String) {
        let server = Self::start("git", "unused", true);
        let bare = server.create_repo(name);
        let out = Command::new("git")
            .args(["push", "-q", "--force"])
            .arg(&bare)
            .args(["refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"])
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = server.url(name);
        (server, url)
    }

    /// Runs `hook` when the next push arrives, before Git sees it.
    pub fn before_next_push(&self, hook: impl FnOnce() + Send + 'static) {
        *lock(&self.state.before_push) = Some(Box::new(hook));
    }
}

/// The `Authorization` value of HTTP basic auth as `username`:`password`.
pub fn basic_auth(username: &str, password: &str) -> String {
    let pair = format!("{username}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A lock even if a thread panicked while holding it (the data is a log).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn respond(stream: &mut impl Connection, status: u16, headers: &[(String, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    }
}

/// A connection the server answers one request on, then closes.
trait Connection: Read + Write {
    /// Ends the connection cleanly (TLS sends its close_notify).
    fn finish(&mut self) {}
}

impl Connection for TcpStream {}

impl Connection for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

fn serve(state: &State, stream: TcpStream) -> std::io::Result<()> {
    match &state.tls {
        Some(config) => {
            let connection =
                rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
            serve_on(state, rustls::StreamOwned::new(connection, stream))
        }
        None => serve_on(state, stream),
    }
}

fn serve_on(state: &State, stream: impl Connection) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let body = read_body(&mut reader, &headers)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let push = path.ends_with("/git-receive-pack") || query.contains("service=git-receive-pack");
    let authorization = headers.get("authorization").cloned();
    let authenticated = authorization
        .as_ref()
        .is_some_and(|a| state.accepted.contains(a));
    let record = |status: u16| {
        lock(&state.requests).push(Request {
            method: method.clone(),
            target: target.clone(),
            authorization: authorization.clone(),
            status,
        });
    };
    if (push || !state.anonymous_fetch) && !authenticated {
        record(401);
        respond(
            reader.get_mut(),
            401,
            &[("WWW-Authenticate".into(), state.challenge.clone())],
            b"authentication required\n",
        );
        reader.get_mut().finish();
        return Ok(());
    }
    if push && method == "POST" {
        let hook = lock(&state.before_push).take();
        if let Some(hook) = hook {
            hook();
        }
    }
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &state.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(v) = headers.get("content-type") {
        cgi.env("CONTENT_TYPE", v);
    }
    if let Some(v) = headers.get("git-protocol") {
        cgi.env("GIT_PROTOCOL", v);
    }
    if let Some(v) = headers.get("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", v);
    }
    if authenticated {
        cgi.env("REMOTE_USER", &state.remote_user);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let (status, headers, body) = parse_cgi(&output.stdout);
    record(status);
    respond(reader.get_mut(), status, &headers, body);
    reader.get_mut().finish();
    Ok(())
}

fn read_body(
    reader: &mut BufReader<impl Read>,
    headers: &BTreeMap<String, String>,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        let mut buf = vec![0; length.parse().unwrap_or(0)];
        reader.read_exact(&mut buf)?;
        body = buf;
    }
    Ok(body)
}

/// CGI output: headers (with an optional `Status:`), a blank line, the body.
fn parse_cgi(out: &[u8]) -> (u16, Vec<(String, String)>, &[u8]) {
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            out.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        });
    let Some((end, body_start)) = split else {
        return (500, Vec::new(), out);
    };
    let mut status = 200;
    let mut headers = Vec::new();
    for line in String::from_utf8_lossy(&out[..end]).lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("status") {
                status = v
                    .trim()
                    .get(..3)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(500);
            } else {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    (status, headers, &out[body_start..])
}
