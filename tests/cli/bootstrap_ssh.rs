//! `flux bootstrap git` over SSH against OpenSSH's sshd on 127.0.0.1, all the
//! way to healthy components: testenv's simulated source-controller fetches
//! the ssh:// sync URL with the Secret's `identity` and `known_hosts`.

use std::os::unix::fs::PermissionsExt;

use crate::bootstrap::{UPSTREAM_FIRST_RUN, ready_at};
use crate::common::cluster::Cluster;
use crate::common::git_servers::SshGitServer;

#[test]
fn bootstrap_git_over_ssh_reaches_healthy_components_and_a_rerun_commits_nothing() {
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
    assert_eq!(second.code, 0, "{}", second.stderr);
    for expected in [
        "✔ component manifests are up to date",
        "✔ source secret up to date",
        "✔ sync manifests are up to date",
    ] {
        assert!(second.stderr.contains(expected), "{}", second.stderr);
    }
    assert!(
        second.stderr.ends_with("✔ all components are healthy\n"),
        "{}",
        second.stderr
    );
    assert!(!second.stderr.contains("committed"), "{}", second.stderr);
    assert_eq!(repo.refname_to_id("refs/heads/main").unwrap(), tip);
    ready_at(&cluster, &format!("main@sha1:{tip}"));
}
