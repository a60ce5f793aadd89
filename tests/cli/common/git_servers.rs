//! Real Git servers on 127.0.0.1 for bootstrap tests: `git http-backend`
//! behind a tiny HTTP/1.1 server with basic auth or a bearer token, and
//! OpenSSH's sshd.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
    /// The `Authorization` value that authenticates.
    expected: String,
    /// The `WWW-Authenticate` challenge of a 401.
    challenge: String,
    /// REMOTE_USER for git http-backend once authenticated.
    remote_user: String,
    anonymous_fetch: bool,
    requests: Mutex<Vec<Request>>,
    before_push: Mutex<Option<Hook>>,
}

/// Smart HTTP Git server. Pushes always need the credentials; fetches too
/// unless `anonymous_fetch`.
pub struct HttpGitServer {
    _root: tempfile::TempDir,
    state: Arc<State>,
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HttpGitServer {
    /// Basic auth as `username`:`password`.
    pub fn start(username: &str, password: &str, anonymous_fetch: bool) -> Self {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        Self::serve(
            format!("Basic {basic}"),
            "Basic realm=\"git\"",
            username,
            anonymous_fetch,
        )
    }

    /// `Authorization: Bearer <token>`; a 401 challenges with `Bearer`
    /// only, as token-only servers do.
    pub fn start_bearer(token: &str, anonymous_fetch: bool) -> Self {
        Self::serve(
            format!("Bearer {token}"),
            "Bearer realm=\"git\"",
            "bearer",
            anonymous_fetch,
        )
    }

    fn serve(expected: String, challenge: &str, remote_user: &str, anonymous_fetch: bool) -> Self {
        let root = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            root: root.path().to_path_buf(),
            expected,
            challenge: challenge.into(),
            remote_user: remote_user.into(),
            anonymous_fetch,
            requests: Mutex::new(Vec::new()),
            before_push: Mutex::new(None),
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
        Self {
            _root: root,
            state,
            port,
            stop,
        }
    }

    /// A bare repository `name` whose HEAD is `main`.
    pub fn create_repo(&self, name: &str) -> PathBuf {
        let path = self.state.root.join(name);
        let repo = git2::Repository::init_bare(&path).unwrap();
        repo.set_head("refs/heads/main").unwrap();
        path
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// Where repository `name` lives on disk.
    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.state.root.join(name)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
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
        *self.state.before_push.lock().unwrap() = Some(Box::new(hook));
    }
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(String, String)], body: &[u8]) {
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

fn serve(state: &State, mut stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
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
    let authenticated = authorization.as_deref() == Some(state.expected.as_str());
    let record = |status: u16| {
        state.requests.lock().unwrap().push(Request {
            method: method.clone(),
            target: target.clone(),
            authorization: authorization.clone(),
            status,
        });
    };
    if (push || !state.anonymous_fetch) && !authenticated {
        record(401);
        respond(
            &mut stream,
            401,
            &[("WWW-Authenticate".into(), state.challenge.clone())],
            b"authentication required\n",
        );
        return Ok(());
    }
    if push && method == "POST" {
        let hook = state.before_push.lock().unwrap().take();
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
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let (status, headers, body) = parse_cgi(&output.stdout);
    record(status);
    respond(&mut stream, status, &headers, body);
    Ok(())
}

fn read_body(
    reader: &mut BufReader<TcpStream>,
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
                status = v.trim()[..3].parse().unwrap_or(500);
            } else {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    (status, headers, &out[body_start..])
}

/// OpenSSH's sshd on 127.0.0.1 serving the current user's Git repositories,
/// with a generated host key and one authorised client key.
pub struct SshGitServer {
    dir: tempfile::TempDir,
    child: std::process::Child,
    pub port: u16,
    pub user: String,
    host_key: PathBuf,
}

impl SshGitServer {
    /// Starts sshd with an ed25519 host key, or says why it cannot (sshd or
    /// ssh-keygen missing).
    pub fn start() -> Result<Self, String> {
        Self::start_with_host_key("ed25519", None)
    }

    /// Starts sshd with one host key of `key_type` (as `ssh-keygen -t`) and,
    /// when given, `HostKeyAlgorithms` limited to `algorithms`.
    pub fn start_with_host_key(key_type: &str, algorithms: Option<&str>) -> Result<Self, String> {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("sshd is not installed (apt-get install openssh-server)")?;
        let dir = tempfile::tempdir().unwrap();
        let host_key = dir.path().join(format!("host_{key_type}"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", key_type, "-N", "", "-f"])
            .arg(&host_key)
            .status()
            .map_err(|e| format!("ssh-keygen: {e}"))?;
        assert!(status.success());
        // sshd needs its privilege separation directory when run as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(dir.path().join("authorized_keys"), "").unwrap();
        let config = dir.path().join("sshd_config");
        let mut sshd_config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {dir}/authorized_keys\nPidFile {dir}/sshd.pid\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nLogLevel ERROR\n",
            host = host_key.display(),
            dir = dir.path().display()
        );
        if let Some(algorithms) = algorithms {
            sshd_config.push_str(&format!("HostKeyAlgorithms {algorithms}\n"));
        }
        std::fs::write(&config, sshd_config).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("sshd: {e}"))?;
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let server = Self {
            dir,
            child,
            port,
            user,
            host_key,
        };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("sshd did not start listening".into())
    }

    /// Lets `public_key` (an authorized_keys line) log in.
    pub fn authorize(&self, public_key: &str) {
        let path = self.dir.path().join("authorized_keys");
        let mut keys = std::fs::read_to_string(&path).unwrap();
        keys.push_str(public_key.trim());
        keys.push('\n');
        std::fs::write(path, keys).unwrap();
    }

    /// The server's host public key (`ssh-ed25519 AAAA...`).
    pub fn host_key(&self) -> String {
        let text = std::fs::read_to_string(self.host_key.with_extension("pub")).unwrap();
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A bare repository with HEAD `main`, and its ssh:// URL.
    pub fn create_repo(&self, name: &str) -> (PathBuf, String) {
        let path = self.dir.path().join(name);
        let repo = git2::Repository::init_bare(&path).unwrap();
        repo.set_head("refs/heads/main").unwrap();
        let url = format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        );
        (path, url)
    }

    /// A new client key pair in OpenSSH format: (private key path, public key line).
    /// The private key file is created with mode 0600, as ssh requires.
    pub fn client_key(&self) -> (PathBuf, String) {
        let path = self.dir.path().join("client_ecdsa");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-b", "384", "-N", "", "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        (path, public)
    }
}

impl Drop for SshGitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
