//! Bad connections, credentials, authorization and server faults. Faults are
//! injected by testenv's builtin server; credentials and missing CRDs are
//! tested on both backends, RBAC on kube-apiserver (the builtin server has no
//! authorization).

use std::time::{Duration, Instant};

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};
use crate::common::git_servers::HttpGitServer;

fn loaded(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture("get/objects.yaml", "flux-system"));
    cluster
}

#[test]
fn unreachable_server_fails_clearly_within_the_timeout() {
    let cluster = loaded(Backend::Builtin);
    cluster.set_faults(testenv::Faults {
        unreachable: true,
        ..Default::default()
    });
    let started = Instant::now();
    let out = cluster.flux(&["get", "sources", "git", "--timeout", "20s"]);
    assert_eq!(out.code, 1);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stderr
            .starts_with("✗ unable to reach the Kubernetes API server"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn a_short_timeout_bounds_the_whole_command() {
    let cluster = loaded(Backend::Builtin);
    cluster.set_faults(testenv::Faults {
        latency: Duration::from_secs(5),
        ..Default::default()
    });
    let started = Instant::now();
    let out = cluster.flux(&["get", "sources", "git", "--timeout", "1s"]);
    assert_eq!(out.code, 1);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        out.stderr,
        "⚠️ the operation did not finish within 1s; raise --timeout to wait longer\n✗ context deadline exceeded\n"
    );
}

fn rejected_credentials_are_named(backend: Backend) {
    let cluster = loaded(backend);
    let out = cluster.flux(&["get", "sources", "git", "--token", "not-the-token"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);
    assert!(out.stderr.contains("--token"), "{}", out.stderr);
}

fn flux_not_installed_says_what_to_do(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let out = cluster.flux(&["get", "kustomizations"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ no matches for kind \"Kustomization\" in version \"kustomize.toolkit.fluxcd.io/v1\": the Flux CRDs are not installed; run 'flux install' (or 'flux check' to see what is missing)\n"
    );
    // `get all` skips kinds that are not installed, as upstream does.
    let out = cluster.flux(&["get", "all"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let cluster = loaded(Backend::Builtin);
    let want = cluster.flux(&["get", "sources", "git"]).stdout;
    cluster.set_faults(testenv::Faults {
        throttle_ratio: 0.5,
        retry_after_secs: 1,
        ..Default::default()
    });
    for _ in 0..3 {
        let out = cluster.flux(&["get", "sources", "git"]);
        assert_eq!((out.code, &out.stdout), (0, &want), "{}", out.stderr);
    }
    cluster.set_faults(testenv::Faults {
        error_ratio: 0.5,
        error_code: 503,
        ..Default::default()
    });
    for _ in 0..3 {
        let out = cluster.flux(&["get", "sources", "git"]);
        assert_eq!((out.code, &out.stdout), (0, &want), "{}", out.stderr);
    }
}

/// Builtin only, like every test here that calls `set_faults`: the faults
/// are injected by testenv's own server.
#[test]
fn a_watch_cut_mid_wait_is_resumed() {
    let cluster = Cluster::start(true);
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(repo.path())
            .status()
            .unwrap();
        assert!(ok.success());
    };
    git(&["init", "-q"]);
    std::fs::write(repo.path().join("README"), "x").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "x"]);
    let (_git, url) = HttpGitServer::serving(repo.path(), "repo");
    cluster.load(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: repo\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: {url}\n  ref:\n    branch: main\n"
    ));
    cluster.set_faults(testenv::Faults {
        watch_cut_after: Some(1),
        ..Default::default()
    });
    let out = cluster.flux(&["reconcile", "source", "git", "repo", "--timeout", "30s"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "✔ fetched revision main@sha1:{}\n",
            head(repo.path())
        )),
        "{}",
        out.stderr
    );
}

fn head(repo: &std::path::Path) -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn ctrl_c_during_a_wait_exits_130() {
    let cluster = loaded(Backend::Builtin);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(["get", "sources", "git", "--watch"])
        .env("KUBECONFIG", cluster.kubeconfig())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first rows, so the watch is established.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 4];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "✗ interrupted\n");
}

/// `--server host:port` means HTTPS, as kubectl reads it; before, a server
/// without a scheme made the client library panic.
#[test]
fn a_server_without_a_scheme_is_https() {
    let cluster = loaded(Backend::Builtin);
    let kubeconfig = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let address = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .expect("the kubeconfig names its server");
    let server = format!("--server={address}");
    let out = cluster.flux(&["get", "sources", "git", &server]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("podinfo"), "{}", out.stdout);
    for server in ["--server=127.0.0.1:1", "--server=localhost"] {
        let out = crate::common::run(&["get", "ks", server, "--token=t", "--timeout=5s"]);
        assert_eq!(out.code, 1, "{server}: {}", out.stderr);
        assert!(out.stderr.starts_with("✗ "), "{server}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{server}: {}", out.stderr);
    }
}

/// A user without rights gets the server's 403, which names the user, the
/// verb and the resource, and nothing on stdout.
#[test]
fn forbidden_names_the_verb_and_resource() {
    if !Backend::KubeApiserver.available() {
        return;
    }
    let cluster = loaded(Backend::KubeApiserver);
    let restricted = cluster.restricted_kubeconfig();
    for (args, verb, resource) in [
        (&["get", "kustomizations"][..], "list", "kustomizations"),
        // Like upstream, `get NAME` lists with a field selector.
        (
            &["get", "sources", "git", "podinfo"],
            "list",
            "gitrepositories",
        ),
        (
            &["suspend", "source", "git", "podinfo"],
            "get",
            "gitrepositories",
        ),
        (
            &["export", "source", "git", "--all"],
            "list",
            "gitrepositories",
        ),
    ] {
        let out = crate::common::flux()
            .env("KUBECONFIG", &restricted)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let expected = format!(
            "User \"{}\" cannot {verb} resource \"{resource}\"",
            testenv::controlplane::RESTRICTED_USER
        );
        assert!(stderr.starts_with("✗ "), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
    // `get all` reports each kind it may not list and still exits 0, as
    // upstream does (docs/exit-codes.md).
    let out = crate::common::flux()
        .env("KUBECONFIG", &restricted)
        .args(["get", "all", "-A"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(out.stdout.is_empty());
    for resource in ["gitrepositories", "kustomizations", "helmreleases"] {
        let line = format!("cannot list resource \"{resource}\"");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("✗ ") && l.contains(&line)),
            "{resource}: {stderr}"
        );
    }
    // The same commands work once RBAC grants the rights.
    cluster.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: restricted-view
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: User
  name: {}
",
        testenv::controlplane::RESTRICTED_USER
    ));
    // The authorizer reads bindings from an informer: the grant lands within moments.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = crate::common::flux()
            .env("KUBECONFIG", &restricted)
            .args(["get", "sources", "git", "podinfo"])
            .output()
            .unwrap();
        if out.status.success() {
            assert!(String::from_utf8(out.stdout).unwrap().contains("podinfo"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the grant never took effect: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

on_both_backends!(
    rejected_credentials_are_named,
    flux_not_installed_says_what_to_do,
);

/// A server that dies under running commands: watches, waits and followed
/// logs retry it for 30 s, then end non-zero naming the server and the
/// cause (before: `get --watch` and `events --watch` hung until killed,
/// `logs --follow` exited 0).
fn a_lost_server_ends_watches_waits_and_follows_naming_it(backend: Backend) {
    let mut cluster = loaded(backend);
    let mut commands = vec![
        vec!["get", "sources", "git", "--watch"],
        vec!["events", "-A", "--watch"],
        // No controllers run, so this wait never ends by itself.
        vec!["reconcile", "source", "git", "podinfo", "--timeout=3m"],
    ];
    if backend == Backend::Builtin {
        crate::logs::add_controller_pod(&cluster);
        commands.push(vec!["logs", "--follow", "--timeout=3m"]);
    }
    let children: Vec<_> = commands
        .iter()
        .map(|args| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("flux"))
                .args(args)
                .env("KUBECONFIG", cluster.kubeconfig())
                .env("HOME", std::env::temp_dir())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Let every command reach its watch or stream.
    std::thread::sleep(Duration::from_secs(3));
    let server = std::fs::read_to_string(cluster.kubeconfig())
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://").map(String::from))
        .unwrap();
    cluster.stop_server();
    let stopped = Instant::now();
    for (args, mut child) in commands.iter().zip(children) {
        let give_up = Instant::now() + Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(200));
        }
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("✗ ")
                && last.contains("lost the Kubernetes API server: no answer for 3")
                && last.contains(&server),
            "{args:?}: {stderr}"
        );
    }
    let took = stopped.elapsed();
    assert!(
        took >= Duration::from_secs(29) && took < Duration::from_secs(60),
        "{took:?}"
    );
}

on_both_backends!(a_lost_server_ends_watches_waits_and_follows_naming_it);
