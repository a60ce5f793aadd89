//! `flux bootstrap git` over SSH against OpenSSH's sshd on 127.0.0.1, all the
//! way to healthy components: testenv's simulated source-controller fetches
//! the ssh:// sync URL with the Secret's `identity` and `known_hosts`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::bootstrap::{UPSTREAM_FIRST_RUN, assert_rerun_changed_nothing, ready_at};
use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::git_servers::SshGitServer;

fn bootstrap_git_over_ssh_reaches_healthy_components_and_a_rerun_commits_nothing(backend: Backend) {
    let Some(server) = SshGitServer::start_or_skip() else {
        return;
    };
    let (key_path, public_key) = server.client_key();
    assert_eq!(
        std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    server.authorize(&public_key);
    let (dir, url) = server.create_repo("fleet.git");
    let cluster = Cluster::empty_on(backend);
    let key_arg = format!("--private-key-file={}", key_path.display());
    let args = ["bootstrap", "git", "--url", &url, "--silent", &key_arg];

    let first = cluster.flux(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Upstream's lines, with the key shown after the Secret is generated.
    let mut expected: Vec<String> = UPSTREAM_FIRST_RUN
        .iter()
        .map(|line| line.replace("{url}", &url))
        .collect();
    let at = expected
        .iter()
        .position(|l| l == "► generating source secret")
        .unwrap();
    // Derived from the private key, as upstream: no comment field.
    let key_blob: Vec<&str> = public_key.split_whitespace().take(2).collect();
    expected.insert(at + 1, format!("✔ public key: {}", key_blob.join(" ")));
    let lines: Vec<&str> = first.stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{}", first.stderr);
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(expected.as_str()),
            "{line:?} vs {expected:?}"
        );
    }
    assert!(
        first.stderr.ends_with("✔ all components are healthy\n"),
        "{}",
        first.stderr
    );

    let repo = git2::Repository::open_bare(&dir).unwrap();
    let tip = repo.refname_to_id("refs/heads/main").unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip).unwrap();
    assert_eq!(walk.count(), 2);
    ready_at(&cluster, &format!("main@sha1:{tip}"));

    let secret = cluster.with_client(async |client| {
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(client, "flux-system");
        api.get("flux-system").await.unwrap()
    });
    let data = secret.data.unwrap();
    let text_of = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
    assert_eq!(
        text_of("identity"),
        std::fs::read_to_string(&key_path).unwrap()
    );
    assert_eq!(
        text_of("known_hosts"),
        format!("[127.0.0.1]:{} {}", server.port, server.host_key())
    );

    let second = cluster.flux(&args);
    assert_rerun_changed_nothing(&second);
    assert_eq!(repo.refname_to_id("refs/heads/main").unwrap(), tip);
    ready_at(&cluster, &format!("main@sha1:{tip}"));
}

/// Runs `flux bootstrap git` over SSH until the health wait starts (then
/// stops it) or until it exits; returns stderr and whether it exited by
/// itself with success.
fn bootstrap_over_ssh(
    cluster: &Cluster,
    url: &str,
    key_path: &std::path::Path,
    extra: &[&str],
) -> (String, Option<bool>) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args([
            "bootstrap",
            "git",
            "--url",
            url,
            "--silent",
            "--private-key-file",
        ])
        .arg(key_path)
        .args(extra)
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("HOME", std::env::temp_dir())
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stopped = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let waiting = line.starts_with("◎ waiting for GitRepository");
        lines.push(line);
        if waiting {
            let _ = child.kill();
            stopped = true;
            break;
        }
    }
    let status = child.wait().unwrap();
    (lines.join("\n"), (!stopped).then(|| status.success()))
}

/// sshd with only an RSA host key, offering only the SHA-2 RSA signature
/// algorithms (as Azure DevOps does), with an empty repository our client
/// key may push to; the key's path and the repository's path and URL.
fn rsa_only_server() -> Option<(SshGitServer, std::path::PathBuf, std::path::PathBuf, String)> {
    let server = match SshGitServer::start_with_host_key("rsa", Some("rsa-sha2-512,rsa-sha2-256")) {
        Ok(server) => server,
        Err(reason) => {
            crate::common::skip(&reason);
            return None;
        }
    };
    let (key_path, public_key) = server.client_key();
    server.authorize(&public_key);
    let (dir, url) = server.create_repo("fleet.git");
    Some((server, key_path, dir, url))
}

fn bootstrap_git_over_ssh_offers_the_host_key_algorithms_given(backend: Backend) {
    let Some((server, key_path, dir, url)) = rsa_only_server() else {
        return;
    };
    let cluster = Cluster::empty_on(backend);
    let (text, exited) = bootstrap_over_ssh(
        &cluster,
        &url,
        &key_path,
        &["--ssh-hostkey-algos=rsa-sha2-512,rsa-sha2-256"],
    );
    assert_eq!(exited, None, "{text}");
    assert!(text.contains("✔ reconciled sync configuration"), "{text}");

    let repo = git2::Repository::open_bare(&dir).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    assert_eq!(walk.count(), 2);

    // The scan recorded the server's only key.
    let secret = cluster.with_client(async |client| {
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(client, "flux-system");
        api.get("flux-system").await.unwrap()
    });
    let data = secret.data.unwrap();
    let known_hosts = String::from_utf8(data["known_hosts"].0.clone()).unwrap();
    assert!(server.host_key().starts_with("ssh-rsa "));
    assert_eq!(
        known_hosts,
        format!("[127.0.0.1]:{} {}", server.port, server.host_key())
    );
}

fn bootstrap_git_over_ssh_fails_without_a_common_host_key_algorithm(backend: Backend) {
    let Some((server, key_path, dir, url)) = rsa_only_server() else {
        return;
    };
    let cluster = Cluster::empty_on(backend);
    let (text, exited) = bootstrap_over_ssh(
        &cluster,
        &url,
        &key_path,
        &["--ssh-hostkey-algos", "ssh-ed25519"],
    );
    assert_eq!(exited, Some(false), "{text}");
    assert!(
        text.contains(&format!(
            "failed to clone repository: no common host key algorithm with the SSH server 127.0.0.1:{}: --ssh-hostkey-algos ssh-ed25519 offered, the server supports rsa-sha2-512,rsa-sha2-256",
            server.port
        )),
        "{text}"
    );
    // Nothing was pushed.
    let repo = git2::Repository::open_bare(&dir).unwrap();
    assert!(repo.references().unwrap().next().is_none());
}

#[test]
fn bootstrap_rejects_unknown_host_key_algorithms_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("id_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key_path)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        crate::common::skip("ssh-keygen is not installed");
        return;
    }
    // Anything connecting would show up here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("ssh://git@127.0.0.1:{port}/fleet.git");
    let output = crate::common::flux()
        .args(["bootstrap", "git", "--url", &url, "--silent"])
        .arg("--private-key-file")
        .arg(&key_path)
        .arg("--ssh-hostkey-algos=rsa-sha2-512,ssh-dsa")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "unsupported SSH host key algorithm \"ssh-dsa\" in --ssh-hostkey-algos; supported: ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, rsa-sha2-512, rsa-sha2-256, ssh-rsa"
        ),
        "{stderr}"
    );
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "flux connected before rejecting the flag"
    );
}

on_both_backends!(
    bootstrap_git_over_ssh_reaches_healthy_components_and_a_rerun_commits_nothing,
    bootstrap_git_over_ssh_offers_the_host_key_algorithms_given,
    bootstrap_git_over_ssh_fails_without_a_common_host_key_algorithm,
);
