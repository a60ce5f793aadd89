//! `flux bootstrap git` over SSH against OpenSSH's sshd on 127.0.0.1.
//!
//! testenv's simulated source-controller fetches without credentials, so it
//! cannot read an SSH remote: the run is checked up to the applied sync
//! configuration, and the process is stopped when the health wait starts.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::common::cluster::Cluster;
use crate::common::git_servers::SshGitServer;

#[test]
fn bootstrap_git_pushes_over_ssh_and_stores_the_key_and_host_key() {
    let server = match SshGitServer::start() {
        Ok(server) => server,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let (key_path, public_key) = server.client_key();
    assert_eq!(
        std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    server.authorize(&public_key);
    let (dir, url) = server.create_repo("fleet.git");
    let cluster = Cluster::empty();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args([
            "bootstrap",
            "git",
            "--url",
            &url,
            "--silent",
            "--private-key-file",
        ])
        .arg(&key_path)
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("HOME", std::env::temp_dir())
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let waiting = line.starts_with("◎ waiting for GitRepository");
        lines.push(line);
        if waiting {
            let _ = child.kill();
            break;
        }
    }
    let _ = child.wait();
    let text = lines.join("\n");
    assert!(text.contains("✔ reconciled sync configuration"), "{text}");
    assert!(
        text.contains(&format!("► pushing sync manifests to \"{url}\"")),
        "{text}"
    );

    let repo = git2::Repository::open_bare(&dir).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    assert_eq!(walk.count(), 2);

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
}
