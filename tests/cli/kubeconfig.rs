//! Kubeconfig loading and connection failures: `KUBECONFIG` lists merged as
//! kubectl merges them, unreadable files named with their error, unknown
//! contexts, and transport errors that name the server and the cause.

use std::path::Path;
use std::time::{Duration, Instant};

use kube::config::Kubeconfig;

use crate::common::cluster::Cluster;
use crate::common::run_with_kubeconfig;

#[test]
fn a_kubeconfig_list_skips_missing_files_as_kubectl_does() {
    let cluster = Cluster::start(false);
    let list =
        std::env::join_paths([Path::new("/nonexistent/kubeconfig"), cluster.kubeconfig()]).unwrap();
    // `get all` exits 0 even after an error line (as upstream): the
    // errors would be on stderr.
    let out = run_with_kubeconfig(&list, &["get", "all", "-A"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

#[test]
fn an_unparseable_kubeconfig_is_named_with_its_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("config");
    std::fs::write(&bad, "clusters: [unclosed\n").unwrap();
    let out = run_with_kubeconfig(bad.as_os_str(), &["get", "kustomizations"]);
    assert_eq!(out.code, 1);
    let expected = format!(
        "✗ unable to read kubeconfig {}: failed to parse kubeconfig YAML: ",
        bad.display()
    );
    assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
    assert!(!out.stderr.contains("unable to reach"), "{}", out.stderr);
}

#[test]
fn an_unknown_context_is_named() {
    let cluster = Cluster::start(false);
    let out = cluster.flux(&["get", "kustomizations", "--context", "nosuch"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "✗ context \"nosuch\" does not exist\n");
}

#[test]
fn a_refused_connection_names_the_server() {
    let started = Instant::now();
    let out = crate::common::run(&[
        "get",
        "kustomizations",
        "--server=https://127.0.0.1:1",
        "--token=t",
        "--timeout=30s",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ unable to reach the Kubernetes API server: The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_untrusted_certificate_is_named_and_not_retried() {
    let cluster = Cluster::start(false);
    let dir = tempfile::tempdir().unwrap();
    let mut kubeconfig = Kubeconfig::read_from(cluster.kubeconfig()).unwrap();
    let server = {
        let c = kubeconfig.clusters[0].cluster.as_mut().unwrap();
        c.certificate_authority_data = None;
        c.certificate_authority = None;
        c.server.clone().unwrap()
    };
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&kubeconfig).unwrap()).unwrap();
    let started = Instant::now();
    let out = run_with_kubeconfig(
        path.as_os_str(),
        &["get", "kustomizations", "--timeout=30s"],
    );
    assert_eq!(out.code, 1);
    let address = server.trim_start_matches("https://");
    assert!(
        out.stderr.contains(&format!(
            "unable to connect to the server {address}: x509: certificate signed by unknown authority"
        )),
        "{}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn server_urls_no_request_can_use_are_refused_before_any_request() {
    for (server, reason) in [
        ("https://127.0.0.1:99999", "invalid port number"),
        (
            "ftp://127.0.0.1/",
            "scheme \"ftp\" is not supported; use https:// (or http://)",
        ),
    ] {
        let started = Instant::now();
        let out = crate::common::run(&[
            "get",
            "kustomizations",
            &format!("--server={server}"),
            "--token=t",
            "--timeout=30s",
        ]);
        assert_eq!(out.code, 1, "{server}");
        assert_eq!(
            out.stderr,
            format!("✗ invalid server URL \"{server}\": {reason}\n")
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{server}");
    }
}

#[test]
fn file_paths_in_errors_are_quoted_once() {
    let out = crate::common::run(&[
        "get",
        "kustomizations",
        "--server=https://127.0.0.1:1",
        "--certificate-authority=/nonexistent/ca.crt",
        "--timeout=10s",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ invalid kubeconfig: unable to read the certificate authority /nonexistent/ca.crt: No such file or directory (os error 2)\n"
    );
}

/// rustls refuses X.509 v1 certificates; the client library reported that
/// as "invalid private key: … UnsupportedCertVersion".
#[test]
fn an_x509_v1_client_certificate_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let made = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=test-ca",
        "-days",
        "2",
    ]) && openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "user.key",
        "-out",
        "user.csr",
        "-subj",
        "/CN=alice",
    ]) && openssl(&[
        // Without -extfile, `x509 -req` signs a version 1 certificate.
        "x509",
        "-req",
        "-in",
        "user.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "user.crt",
        "-days",
        "2",
    ]);
    if !made {
        crate::common::skip("openssl cannot make the test certificates");
        return;
    }
    let cert = dir.path().join("user.crt");
    let key = dir.path().join("user.key");
    let out = crate::common::run(&[
        "get",
        "kustomizations",
        "--server=https://127.0.0.1:1",
        "--insecure-skip-tls-verify",
        &format!("--client-certificate={}", cert.display()),
        &format!("--client-key={}", key.display()),
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ unable to create the Kubernetes client: the client certificate is an X.509 v1 certificate, which the TLS library (rustls) refuses; reissue it as X.509 v3 (with openssl, sign it with an -extfile), or authenticate with a token\n"
    );
}
