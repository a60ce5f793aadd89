//! Proxies, read as kubectl reads them: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
//! and a kubeconfig's `proxy-url`, for the Kubernetes API, Git remotes and
//! provider APIs. A small HTTP proxy on loopback (CONNECT tunnels and
//! absolute-form requests) records where each connection was asked to go
//! and sends every name to 127.0.0.1, so names under `flux-proxy.test`
//! reach local servers only through it.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;

use crate::bootstrap_github::{FakeGitHub, TOKEN};
use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::git_servers::HttpGitServer;
use crate::common::{Run, run_with_env};

struct TestProxy {
    port: u16,
    /// `host:port` of every connection asked for, in order.
    targets: Arc<Mutex<Vec<String>>>,
}

impl TestProxy {
    /// A proxy that asks for `user:password` basic credentials when given.
    fn start(credentials: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let expected = credentials.map(|c| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        });
        let seen = targets.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, expected) = (seen.clone(), expected.clone());
                std::thread::spawn(move || relay(stream, &seen, expected.as_deref()));
            }
        });
        TestProxy { port, targets }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

fn relay(client: TcpStream, seen: &Mutex<Vec<String>>, expected_auth: Option<&str>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        headers.push(line);
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let authority = match method {
        "CONNECT" => target.to_string(),
        _ => url::Url::parse(target)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_default(),
    };
    seen.lock().unwrap().push(authority.clone());
    let mut client_out = client.try_clone().unwrap();
    let auth = headers.iter().find_map(|h| {
        let (name, value) = h.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_string())
    });
    if expected_auth.is_some() && auth.as_deref() != expected_auth {
        let _ = client_out.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let port = authority.rsplit(':').next().unwrap_or("0");
    let Ok(mut server) = TcpStream::connect(format!("127.0.0.1:{port}")) else {
        let _ = client_out.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if method == "CONNECT" {
        let _ = client_out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    } else {
        // Forwarded in origin form, one request per connection.
        let path = url::Url::parse(target)
            .map(|u| u[url::Position::BeforePath..].to_string())
            .unwrap_or_default();
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        for header in headers.iter().filter(|h| {
            let name = h.split(':').next().unwrap_or("").to_ascii_lowercase();
            !name.starts_with("proxy-") && name != "connection"
        }) {
            head.push_str(header);
        }
        head.push_str("Connection: close\r\n\r\n");
        if server.write_all(head.as_bytes()).is_err() {
            return;
        }
    }
    // Whatever the reader holds past the head belongs to the server.
    let buffered = reader.buffer().to_vec();
    if server.write_all(&buffered).is_err() {
        return;
    }
    let mut server_in = server.try_clone().unwrap();
    let mut client_in = client;
    let upstream = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut server);
        let _ = server.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut server_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Both);
    let _ = upstream.join();
}

/// The cluster's kubeconfig with its server renamed and/or a proxy-url.
fn kubeconfig_variant(
    cluster: &Cluster,
    dir: &Path,
    server_host: Option<&str>,
    proxy_url: Option<&str>,
) -> std::path::PathBuf {
    let mut config = kube::config::Kubeconfig::read_from(cluster.kubeconfig()).unwrap();
    for named in &mut config.clusters {
        let entry = named.cluster.as_mut().unwrap();
        if let Some(host) = server_host {
            let mut server = url::Url::parse(entry.server.as_deref().unwrap()).unwrap();
            server.set_host(Some(host)).unwrap();
            entry.server = Some(server.to_string().trim_end_matches('/').to_string());
            // The serving certificate names localhost.
            entry.tls_server_name = Some("localhost".into());
        }
        entry.proxy_url = proxy_url.map(String::from);
    }
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    path
}

fn api_port(cluster: &Cluster) -> u16 {
    let config = kube::config::Kubeconfig::read_from(cluster.kubeconfig()).unwrap();
    let server = config.clusters[0].cluster.as_ref().unwrap().server.clone();
    url::Url::parse(&server.unwrap()).unwrap().port().unwrap()
}

fn assert_ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn loopback_servers_ignore_the_proxy_environment(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let dead = "http://127.0.0.1:1";
    // An empty entry in NO_PROXY (a trailing comma) is common and harmless.
    let env = [
        ("HTTPS_PROXY", dead),
        ("HTTP_PROXY", dead),
        ("NO_PROXY", "example.com,,"),
    ];
    let run = run_with_env(cluster.kubeconfig(), &env, &["check", "--pre"]);
    assert_ok(&run);
}

fn a_kubeconfig_proxy_url_carries_every_request_with_its_credentials(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let dir = tempfile::tempdir().unwrap();
    let proxy = TestProxy::start(Some("proxy-user:pr0xy-secret"));
    let with_auth = proxy
        .url()
        .replace("http://", "http://proxy-user:pr0xy-secret@");
    let kubeconfig = kubeconfig_variant(&cluster, dir.path(), None, Some(&with_auth));
    let run = run_with_env(&kubeconfig, &[], &["check", "--pre"]);
    assert_ok(&run);
    let wanted = format!("127.0.0.1:{}", api_port(&cluster));
    let targets = proxy.targets();
    assert!(
        !targets.is_empty() && targets.iter().all(|t| *t == wanted),
        "{targets:?}"
    );

    // Refused credentials fail the command without printing them.
    let wrong = proxy
        .url()
        .replace("http://", "http://proxy-user:wr0ng-secret@");
    let kubeconfig = kubeconfig_variant(&cluster, dir.path(), None, Some(&wrong));
    let run = run_with_env(&kubeconfig, &[], &["check", "--pre"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("wr0ng-secret"), "{}", run.stderr);
    let through = format!("through the proxy 127.0.0.1:{}: ", proxy.port);
    assert!(run.stderr.contains(&through), "{}", run.stderr);
    assert!(
        run.stderr.contains("proxy authorization required"),
        "{}",
        run.stderr
    );
}

on_both_backends!(
    loopback_servers_ignore_the_proxy_environment,
    a_kubeconfig_proxy_url_carries_every_request_with_its_credentials,
);

/// A server by name goes through `HTTPS_PROXY` unless `NO_PROXY` covers it;
/// the name resolves nowhere, so only the proxy can reach it.
#[test]
fn https_proxy_reaches_named_servers_unless_no_proxy_covers_them() {
    let cluster = Cluster::empty();
    let dir = tempfile::tempdir().unwrap();
    let proxy = TestProxy::start(None);
    let kubeconfig = kubeconfig_variant(&cluster, dir.path(), Some("kube.flux-proxy.test"), None);
    let proxy_url = proxy.url();
    let run = run_with_env(
        &kubeconfig,
        &[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "example.com")],
        &["check", "--pre"],
    );
    assert_ok(&run);
    let wanted = format!("kube.flux-proxy.test:{}", api_port(&cluster));
    assert!(proxy.targets().contains(&wanted), "{:?}", proxy.targets());

    let before = proxy.targets().len();
    let run = run_with_env(
        &kubeconfig,
        &[
            ("https_proxy", &proxy_url),
            ("no_proxy", ".flux-proxy.test"),
        ],
        &["check", "--pre", "--timeout=5s"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("kube.flux-proxy.test"),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.targets().len(), before, "NO_PROXY was not honoured");
}

/// Bootstrap's provider API client takes the same proxy as the Kubernetes
/// client.
#[test]
fn bootstrap_reaches_the_provider_api_through_the_proxy() {
    let cluster = Cluster::empty();
    let proxy = TestProxy::start(None);
    let proxy_url = proxy.url();
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git);
    let hostname = format!("http://api.flux-proxy.test:{}", api.port);
    let run = run_with_env(
        cluster.kubeconfig(),
        &[("HTTP_PROXY", proxy_url.as_str()), ("GITHUB_TOKEN", TOKEN)],
        &[
            "bootstrap",
            "github",
            "--owner=acme",
            "--repository=fleet",
            "--token-auth",
            "--dry-run",
            "--hostname",
            &hostname,
        ],
    );
    assert_ok(&run);
    let wanted = format!("api.flux-proxy.test:{}", api.port);
    assert!(proxy.targets().contains(&wanted), "{:?}", proxy.targets());
}

/// Bootstrap's own Git clone takes the environment's proxy by the same
/// rules, for plain http:// remotes too (libgit2's built-in transport
/// connected to those directly): the remote's name resolves nowhere, so the
/// dry run's clone succeeds only through the proxy.
#[test]
fn bootstrap_clones_an_http_remote_through_the_proxy() {
    let cluster = Cluster::empty();
    let proxy = TestProxy::start(None);
    let git = HttpGitServer::start("git", TOKEN, false);
    git.create_repo("fleet.git");
    let url = format!("http://git.flux-proxy.test:{}/fleet.git", git.port());
    let run = run_with_env(
        cluster.kubeconfig(),
        &[
            ("HTTP_PROXY", proxy.url().as_str()),
            ("GIT_PASSWORD", TOKEN),
        ],
        &[
            "bootstrap",
            "git",
            "--url",
            &url,
            "--username=git",
            "--token-auth",
            "--allow-insecure-http",
            "--dry-run",
        ],
    );
    assert_ok(&run);
    let wanted = format!("git.flux-proxy.test:{}", git.port());
    assert!(proxy.targets().contains(&wanted), "{:?}", proxy.targets());
    assert!(
        git.requests().iter().any(|r| r.status == 200),
        "{:?}",
        git.requests()
    );
}
