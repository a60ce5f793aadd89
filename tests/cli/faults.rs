//! Bad connections, credentials and server faults, against testenv.

use std::time::{Duration, Instant};

use crate::common::cluster::{Cluster, fixture};

fn loaded() -> Cluster {
    let cluster = Cluster::start(false);
    cluster.load(&fixture("get/objects.yaml", "flux-system"));
    cluster
}

#[test]
fn unreachable_server_fails_clearly_within_the_timeout() {
    let cluster = loaded();
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
    let cluster = loaded();
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
        "✗ timed out: the operation did not finish within 1s (raise it with --timeout)\n"
    );
}

#[test]
fn rejected_credentials_are_named() {
    let cluster = loaded();
    let out = cluster.flux(&["get", "sources", "git", "--token", "not-the-token"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);
    assert!(out.stderr.contains("--token"), "{}", out.stderr);
}

#[test]
fn flux_not_installed_says_what_to_do() {
    let cluster = Cluster::empty();
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
    let cluster = loaded();
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
    cluster.load(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: repo\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: file://{}\n  ref:\n    branch: main\n",
        repo.path().display()
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
    let cluster = loaded();
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
