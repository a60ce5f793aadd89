//! `flux trigger receiver` against a recording HTTP server on loopback: the
//! webhook path, headers and body it sends, retries, and every refusal; and
//! against the sandbox's simulated notification-controller on both backends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use base64::Engine;

use crate::common::cluster::{Backend, Cluster, flux_system_api, on_both_backends};
use crate::common::{Run, flux};

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
    body: String,
}

/// Answers each request with the next scripted response (status line
/// after `HTTP/1.1 `, body); the last one is repeated.
struct Server {
    address: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(responses: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("address").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let responses: Vec<(String, String)> = responses
            .iter()
            .map(|(status, body)| (status.to_string(), body.to_string()))
            .collect();
        std::thread::spawn(move || {
            for (served, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                recorded.lock().unwrap().push(request);
                let (status, body) = &responses[served.min(responses.len() - 1)];
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Self { address, requests }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let target = words.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.to_lowercase(), value.trim().to_string());
    }
    let length: usize = headers
        .get("content-length")
        .map_or(Ok(0), |l| l.parse())
        .ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Runs `flux` with the variables `env` set and none of the OIDC ones
/// inherited.
fn trigger(env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = flux()
        .env_remove("FLUX_TRIGGER_RECEIVER_OIDC_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .envs(env.iter().copied())
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("flux runs");
    Run::from(output)
}

/// The webhook path, computed here independently of the CLI.
fn hook(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("/hook/{hex}")
}

fn triggered(namespace: &str, name: &str) -> String {
    format!("► triggering Receiver {namespace}/{name}\n✔ Receiver {namespace}/{name} triggered\n")
}

#[test]
fn generic_posts_the_payload_to_the_hashed_path() {
    let server = Server::start(&[("200 OK", "")]);
    let base = format!("{}/base//", server.url());
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "app-push",
            "-n",
            "apps",
            "--url",
            &base,
            "--token=s3cret",
            r#"--payload={"tag":"v1.2.3"}"#,
        ],
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", triggered("apps", "app-push").as_str())
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.target,
        format!("/base{}", hook("s3cret", "app-push", "apps"))
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["user-agent"], "flux/v2.9.4");
    assert!(!request.headers.contains_key("x-signature"));
    assert!(!request.headers.contains_key("authorization"));
    assert_eq!(request.body, r#"{"tag":"v1.2.3"}"#);
}

#[test]
fn the_default_payload_and_namespace() {
    let server = Server::start(&[("202 Accepted", "queued")]);
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &server.url(),
            "--token",
            "t",
        ],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, triggered("flux-system", "hook").as_str())
    );
    let requests = server.requests();
    assert_eq!(requests[0].target, hook("t", "hook", "flux-system"));
    assert_eq!(requests[0].body, "{}");
}

#[test]
fn generic_hmac_signs_the_payload_with_the_token() {
    let server = Server::start(&[("200 OK", "")]);
    let payload = r#"{"image":"ghcr.io/org/app:v1"}"#;
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "signed",
            "--type=generic-hmac",
            "--token=hmac-key",
            "--url",
            &server.url(),
            "--payload",
            payload,
        ],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, triggered("flux-system", "signed").as_str())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hmac-key").unwrap();
    mac.update(payload.as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let request = &server.requests()[0];
    assert_eq!(request.headers["x-signature"], format!("sha256={expected}"));
    assert_eq!(request.target, hook("hmac-key", "signed", "flux-system"));
    assert_eq!(request.body, payload);
}

#[test]
fn retryable_answers_are_retried_after_the_delay() {
    let server = Server::start(&[
        ("503 Service Unavailable", "starting\n"),
        ("503 Service Unavailable", "starting\n"),
        ("200 OK", ""),
    ]);
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &server.url(),
            "--token=t",
            "--retry-delay=100ms",
        ],
    );
    let url = format!("{}{}", server.url(), hook("t", "hook", "flux-system"));
    let retry = |n: u32| {
        format!(
            "◎ request to {url} failed with status 503 Service Unavailable: starting; retrying in 100ms ({n}/10)\n"
        )
    };
    assert_eq!(
        (out.code, out.stderr),
        (
            0,
            format!(
                "► triggering Receiver flux-system/hook\n{}{}✔ Receiver flux-system/hook triggered\n",
                retry(1),
                retry(2)
            )
        )
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn retries_end_with_the_last_error() {
    let server = Server::start(&[("404 Not Found", "")]);
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &server.url(),
            "--token=t",
            "--retries=1",
            "--retry-delay=1ms",
        ],
    );
    let url = format!("{}{}", server.url(), hook("t", "hook", "flux-system"));
    let error = format!("request to {url} failed with status 404 Not Found");
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n◎ {error}; retrying in 1ms (1/1)\n✗ {error}\n"
            )
        )
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn other_answers_fail_at_once() {
    let server = Server::start(&[("400 Bad Request", "  invalid payload\n")]);
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &server.url(),
            "--token=t",
        ],
    );
    let url = format!("{}{}", server.url(), hook("t", "hook", "flux-system"));
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n✗ request to {url} failed with status 400 Bad Request: invalid payload\n"
            )
        )
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn zero_retries_fail_at_the_first_retryable_answer() {
    let server = Server::start(&[("503 Service Unavailable", "")]);
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &server.url(),
            "--token=t",
            "--retries=0",
        ],
    );
    let url = format!("{}{}", server.url(), hook("t", "hook", "flux-system"));
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n✗ request to {url} failed with status 503 Service Unavailable\n"
            )
        )
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_token_that_cannot_be_a_header_fails_when_sending() {
    let server = Server::start(&[("200 OK", "")]);
    let base = server.url();
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &base,
            "--type=generic-oidc",
            "--oidc-token=two\nlines",
            "--retries=0",
        ],
    );
    let url = format!("{base}{}", hook("", "hook", "flux-system"));
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n✗ request to {url} failed: Post \"{url}\": net/http: invalid header field value for \"Authorization\"\n"
            )
        )
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_refused_connection_is_a_transport_error() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let base = format!("http://{address}");
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &base,
            "--token=t",
            "--retries=0",
        ],
    );
    let url = format!("{base}{}", hook("t", "hook", "flux-system"));
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n✗ request to {url} failed: Post \"{url}\": dial tcp {address}: connect: connection refused\n"
            )
        )
    );
}

#[test]
fn the_timeout_ends_the_wait_between_retries() {
    let server = Server::start(&[("502 Bad Gateway", "")]);
    let started = std::time::Instant::now();
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &server.url(),
            "--token=t",
            "--timeout=1s",
        ],
    );
    let url = format!("{}{}", server.url(), hook("t", "hook", "flux-system"));
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n◎ request to {url} failed with status 502 Bad Gateway; retrying in 10s (1/10)\n✗ context deadline exceeded\n"
            )
        )
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
}

#[test]
fn invalid_input_is_refused_before_any_request() {
    let server = Server::start(&[("200 OK", "")]);
    let url = format!("--url={}", server.url());
    let url = url.as_str();
    let cases: &[(&[&str], &str)] = &[
        (&[], "accepts 1 arg(s), received 0"),
        (
            &["a", "b", url, "--token=t"],
            "accepts 1 arg(s), received 2",
        ),
        (&["hook", "--token=t"], "--url is required"),
        (
            &["hook", url, "--token=t", "--type=github"],
            "invalid --type \"github\", must be one of: generic, generic-hmac, generic-oidc",
        ),
        (&["hook", url], "--token is required for --type=generic"),
        (
            &["hook", url, "--type=generic-hmac"],
            "--token is required for --type=generic-hmac",
        ),
        (
            &["hook", url, "--token=t", "--oidc-token=jwt"],
            "--oidc-provider, --oidc-token and --oidc-audience can only be set for --type=generic-oidc",
        ),
        (
            &[
                "hook",
                url,
                "--token=t",
                "--type=generic-hmac",
                "--oidc-audience=a",
            ],
            "--oidc-provider, --oidc-token and --oidc-audience can only be set for --type=generic-oidc",
        ),
        (
            &["hook", url, "--type=generic-oidc", "--token=t"],
            "--token must not be set for --type=generic-oidc, the Receiver of this type has no secret",
        ),
        (
            &[
                "hook",
                url,
                "--type=generic-oidc",
                "--oidc-provider=github",
                "--oidc-token=jwt",
            ],
            "--oidc-provider and --oidc-token are mutually exclusive",
        ),
        (
            &["hook", url, "--type=generic-oidc", "--oidc-provider=gitlab"],
            "invalid --oidc-provider \"gitlab\", must be one of: github, forgejo",
        ),
        (
            &["hook", url, "--type=generic-oidc", "--oidc-audience=flux"],
            "--oidc-audience can only be set together with --oidc-provider",
        ),
        (
            &["hook", url, "--type=generic-oidc"],
            "no OIDC token provided: set --oidc-provider, --oidc-token or the FLUX_TRIGGER_RECEIVER_OIDC_TOKEN environment variable",
        ),
        (
            &["hook", url, "--type=generic-oidc", "--oidc-provider=github"],
            "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN must be set in the environment; ensure the Actions job has the 'id-token: write' permission",
        ),
        (
            &["hook", url, "--token=t", "--retries=ten"],
            "invalid argument \"ten\" for \"--retries\" flag: strconv.ParseInt: parsing \"ten\": invalid syntax",
        ),
        (
            &["hook", url, "--token=t", "--retry-delay=5"],
            "invalid argument \"5\" for \"--retry-delay\" flag: time: missing unit in duration \"5\"",
        ),
        (
            &["hook", url, "--token=t", "-n", "Apps"],
            "namespace must be a valid DNS label: \"Apps\"",
        ),
    ];
    for (args, message) in cases {
        let line: Vec<&str> = ["trigger", "receiver"]
            .iter()
            .chain(*args)
            .copied()
            .collect();
        let out = trigger(&[], &line);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", format!("✗ {message}\n").as_str()),
            "flux {}",
            line.join(" ")
        );
    }
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn generic_oidc_sends_the_given_token_on_an_unsalted_path() {
    let server = Server::start(&[("200 OK", "")]);
    for (env, flag) in [
        (&[][..], Some("--oidc-token=flag-jwt")),
        (&[("FLUX_TRIGGER_RECEIVER_OIDC_TOKEN", "env-jwt")][..], None),
    ] {
        let mut args = vec![
            "trigger",
            "receiver",
            "oidc",
            "--type=generic-oidc",
            "--url",
        ];
        let url = server.url();
        args.push(&url);
        args.extend(flag);
        let out = trigger(env, &args);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, triggered("flux-system", "oidc").as_str())
        );
    }
    let requests = server.requests();
    let bearers: Vec<&str> = requests
        .iter()
        .map(|r| r.headers["authorization"].as_str())
        .collect();
    assert_eq!(bearers, ["Bearer flag-jwt", "Bearer env-jwt"]);
    for request in &requests {
        assert_eq!(request.target, hook("", "oidc", "flux-system"));
        assert!(!request.headers.contains_key("x-signature"));
    }
}

#[test]
fn generic_oidc_fetches_the_token_from_the_actions_endpoint() {
    let issuer = Server::start(&[("200 OK", r#"{"count":1,"value":"actions-jwt"}"#)]);
    let server = Server::start(&[("200 OK", "")]);
    let endpoint = format!("{}/token?api-version=2.0", issuer.url());
    let env = [
        ("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-credential"),
    ];
    for (provider, audience) in [("github", None), ("forgejo", Some("fleet-a"))] {
        let provider = format!("--oidc-provider={provider}");
        let audience_flag = audience.map(|a| format!("--oidc-audience={a}"));
        let url = server.url();
        let mut args = vec![
            "trigger",
            "receiver",
            "oidc",
            "-n",
            "apps",
            "--type=generic-oidc",
            provider.as_str(),
            "--url",
            url.as_str(),
        ];
        args.extend(audience_flag.as_deref());
        let out = trigger(&env, &args);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, triggered("apps", "oidc").as_str())
        );
    }
    let asked: Vec<(String, String, String)> = issuer
        .requests()
        .into_iter()
        .map(|r| (r.method, r.target, r.headers["authorization"].clone()))
        .collect();
    let expected = |audience: &str| {
        (
            "GET".to_string(),
            format!("/token?api-version=2.0&audience={audience}"),
            "bearer request-credential".to_string(),
        )
    };
    assert_eq!(
        asked,
        [expected("notification-controller"), expected("fleet-a")]
    );
    for request in server.requests() {
        assert_eq!(request.headers["authorization"], "Bearer actions-jwt");
        assert_eq!(request.target, hook("", "oidc", "apps"));
    }
}

#[test]
fn actions_endpoint_failures_stop_before_the_trigger() {
    let server = Server::start(&[("200 OK", "")]);
    let cases = [
        (
            ("403 Forbidden", "no id-token permission\n"),
            "OIDC token request failed with status 403 Forbidden: no id-token permission",
        ),
        (
            ("200 OK", r#"{"count":0}"#),
            "the OIDC token response did not contain a token",
        ),
    ];
    for (answer, message) in cases {
        let issuer = Server::start(&[answer]);
        let endpoint = format!("{}/token", issuer.url());
        let url = server.url();
        let out = trigger(
            &[
                ("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.as_str()),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-credential"),
            ],
            &[
                "trigger",
                "receiver",
                "oidc",
                "--type=generic-oidc",
                "--oidc-provider=github",
                "--url",
                &url,
            ],
        );
        assert_eq!((out.code, out.stderr), (1, format!("✗ {message}\n")));
    }
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn an_untrusted_certificate_is_refused_before_anything_is_sent() {
    let server = testenv::git_http::HttpGitServer::start_https("flux", "unused", true);
    let base = format!("https://127.0.0.1:{}", server.port());
    let out = trigger(
        &[],
        &[
            "trigger",
            "receiver",
            "hook",
            "--url",
            &base,
            "--token=t",
            "--retries=0",
        ],
    );
    let url = format!("{base}{}", hook("t", "hook", "flux-system"));
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "► triggering Receiver flux-system/hook\n✗ request to {url} failed: Post \"{url}\": tls: failed to verify certificate: x509: certificate signed by unknown authority\n"
            )
        )
    );
    assert!(server.requests().is_empty());
}

/// The GitRepository `name` in flux-system, as JSON.
fn git_repository(cluster: &Cluster, name: &str) -> serde_json::Value {
    cluster.with_client(async |client| {
        let api = flux_system_api(
            client,
            "source.toolkit.fluxcd.io/v1",
            "GitRepository",
            "gitrepositories",
        );
        serde_json::to_value(api.get(name).await.expect("GitRepository")).unwrap()
    })
}

/// Waits until the GitRepository's `requestedAt` differs from `before` and
/// the simulated source-controller has handled it; returns the annotation.
fn handled_request(cluster: &Cluster, name: &str, before: Option<&str>) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let repo = git_repository(cluster, name);
        let requested = repo["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
            .as_str()
            .map(String::from);
        if let Some(requested) = requested.filter(|r| Some(r.as_str()) != before)
            && repo["status"]["lastHandledReconcileAt"] == requested.as_str()
        {
            return requested;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "request not handled: {repo}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Against the sandbox: the simulated notification-controller serves the
/// webhook a Receiver's status names, checks the generic-hmac signature, and
/// annotates the Receiver's resources, which their controller then handles.
/// A request it refuses, a path no Receiver has, and a suspended Receiver
/// get upstream's answers (400, 404, 503).
fn the_sandbox_receiver_triggers_its_resources(backend: Backend) {
    let cluster = Cluster::start_on(backend, true);
    let token = "t0k3n-for-the-hook";
    let encoded = base64::engine::general_purpose::STANDARD.encode(token);
    cluster.load(&format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: hook-token, namespace: flux-system}}
data: {{token: {encoded}}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: podinfo, namespace: flux-system}}
spec: {{interval: 1h, url: 'https://github.com/stefanprodan/podinfo', ref: {{branch: master}}}}
"
    ));
    let out = cluster.flux(&[
        "create",
        "receiver",
        "hook",
        "--type=generic-hmac",
        "--secret-ref=hook-token",
        "--resource=GitRepository/podinfo",
        "--timeout=60s",
    ]);
    let path = hook(token, "hook", "flux-system");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .ends_with(&format!("✔ generated webhook URL {path}\n")),
        "{}",
        out.stderr
    );
    let url = cluster.receiver_url();
    let trigger = |args: &[&str]| {
        let mut argv = vec!["trigger", "receiver", "hook", "--url", &url, "--retries=0"];
        argv.extend(args);
        cluster.flux(&argv)
    };

    let out = trigger(&["--type=generic-hmac", "--token", token]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, triggered("flux-system", "hook").as_str())
    );
    let first = handled_request(&cluster, "podinfo", None);
    // notification-controller writes Go's time.Time.String().
    let go_time =
        regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$")
            .unwrap();
    assert!(go_time.is_match(&first), "{first}");

    // A second trigger is a new request.
    std::thread::sleep(std::time::Duration::from_millis(10));
    let out = trigger(&["--type=generic-hmac", "--token", token]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let second = handled_request(&cluster, "podinfo", Some(&first));
    assert_ne!(first, second);

    // The right path without the signature: refused as upstream does.
    let out = trigger(&["--type=generic", "--token", token]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "✗ request to {url}{path} failed with status 400 Bad Request\n"
        )),
        "{}",
        out.stderr
    );
    // Another token is another path, which no Receiver has.
    let out = trigger(&["--type=generic-hmac", "--token", "wrong"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let wrong = hook("wrong", "hook", "flux-system");
    assert!(
        out.stderr.ends_with(&format!(
            "✗ request to {url}{wrong} failed with status 404 Not Found\n"
        )),
        "{}",
        out.stderr
    );

    let out = cluster.flux(&["suspend", "receiver", "hook"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = trigger(&["--type=generic-hmac", "--token", token]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "✗ request to {url}{path} failed with status 503 Service Unavailable\n"
        )),
        "{}",
        out.stderr
    );
    // None of the refused requests annotated anything.
    let repo = git_repository(&cluster, "podinfo");
    assert_eq!(
        repo["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"],
        second.as_str()
    );
}

on_both_backends!(the_sandbox_receiver_triggers_its_resources);
