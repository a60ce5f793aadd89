//! reconcile, suspend, resume and delete against testenv's simulated
//! controllers on both backends, compared with upstream's golden progress
//! lines.

use std::path::Path;
use std::process::Command;

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};
use crate::common::git_servers::HttpGitServer;

const NS: &str = "tkfg-1";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A local repository with one manifest, tagged 6.3.5 like upstream's e2e source.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(
        dir.path().join("configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\n  namespace: default\ndata:\n  greeting: hello\n",
    )
    .unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "podinfo"]);
    git(dir.path(), &["tag", "6.3.5"]);
    dir
}

/// A cluster with GitRepository and Kustomization `tkfg` from `repo`,
/// served over HTTP for as long as the returned server lives.
fn cluster_with_kustomization(backend: Backend, repo: &Path) -> (Cluster, HttpGitServer) {
    let cluster = Cluster::start_on(backend, true);
    let (server, url) = HttpGitServer::serving(repo, "podinfo");
    cluster.load(&format!(
        "apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: tkfg
  namespace: {NS}
spec:
  interval: 1m0s
  url: {url}
  ref:
    tag: 6.3.5
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: tkfg
  namespace: {NS}
spec:
  interval: 5m0s
  path: ./
  prune: true
  sourceRef:
    kind: GitRepository
    name: tkfg
"
    ));
    // Wait until the controllers have applied the source once. (`resume`
    // would accept a Kustomization that is not Ready yet, as upstream does.)
    let out = cluster.flux(&["reconcile", "ks", "tkfg", "--with-source", "-n", NS]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    (cluster, server)
}

/// Upstream's golden with its namespace filled in and revisions of its
/// podinfo checkout replaced by ours.
fn expected(golden: &str, commit: &str) -> String {
    let text = fixture(golden, NS);
    let sha = regex::Regex::new(r"@sha1:[0-9a-f]{40}").unwrap();
    let short = regex::Regex::new(r"@sha1:[0-9a-f]{8}\b").unwrap();
    let text = sha
        .replace_all(&text, format!("@sha1:{commit}").as_str())
        .into_owned();
    short
        .replace_all(&text, format!("@sha1:{}", &commit[..8]).as_str())
        .into_owned()
}

fn head(repo: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn kustomization_lifecycle_matches_upstream_goldens(backend: Backend) {
    let repo = repository();
    let commit = head(repo.path());
    let (cluster, _git) = cluster_with_kustomization(backend, repo.path());
    let steps: &[(&[&str], &str)] = &[
        (
            &["get", "kustomization", "tkfg"],
            "kustomization/get_kustomization_from_git.golden",
        ),
        (
            &["reconcile", "kustomization", "tkfg", "--with-source"],
            "kustomization/reconcile_kustomization_from_git.golden",
        ),
        (
            &["suspend", "kustomization", "tkfg"],
            "kustomization/suspend_kustomization_from_git.golden",
        ),
        (
            &["suspend", "kustomization", "tkfg", "foo", "tkfg", "bar"],
            "kustomization/suspend_kustomization_from_git_multiple_args.golden",
        ),
        (
            &["resume", "kustomization", "tkfg"],
            "kustomization/resume_kustomization_from_git.golden",
        ),
        (
            &["resume", "kustomization", "tkfg", "tkfg"],
            "kustomization/resume_kustomization_from_git_multiple_args.golden",
        ),
        (
            &["delete", "kustomization", "tkfg", "--silent"],
            "kustomization/delete_kustomization_from_git.golden",
        ),
    ];
    for (args, golden) in steps {
        let mut args = args.to_vec();
        args.extend(["-n", NS]);
        let out = cluster.flux(&args);
        let shown = if args[0] == "get" {
            &out.stdout
        } else {
            &out.stderr
        };
        assert_eq!(
            shown,
            &expected(golden, &commit),
            "{args:?} (stderr: {})",
            out.stderr
        );
    }
}

/// Decisions where flux-rs deliberately differs from upstream.
fn missing_names_are_named_and_fail_the_command(backend: Backend) {
    let repo = repository();
    let commit = head(repo.path());
    let (cluster, _git) = cluster_with_kustomization(backend, repo.path());
    // Upstream names the first argument ('tkfg') whatever was missing and exits 0.
    let out = cluster.flux(&["resume", "kustomization", "tkfg", "foo", "--wait", "-n", NS]);
    assert_eq!(
        out.stderr,
        format!(
            "► resuming kustomization tkfg in {NS} namespace\n✔ kustomization resumed\n✗ Kustomization object 'foo' not found in {NS} namespace\n◎ waiting for Kustomization reconciliation\n✔ Kustomization tkfg reconciliation completed\n✔ applied revision 6.3.5@sha1:{commit}\n"
        )
    );
    assert_eq!(out.code, 1, "a missing name fails the command");
    let out = cluster.flux(&["suspend", "kustomization", "foo", "-n", NS]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            format!("✗ Kustomization foo not found in {NS} namespace\n").as_str()
        )
    );
}

/// With no controller answering, waits end at --timeout with upstream's
/// lines, after one of ours saying what was waited for.
fn waits_that_run_out_of_time_end_with_upstreams_lines(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    let kustomization = |name: &str, suspend: bool| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  path: ./\n  prune: false\n  suspend: {suspend}\n  sourceRef:\n    kind: GitRepository\n    name: none\n"
        )
    };
    cluster.load(&kustomization("waiting", false));
    cluster.load(&kustomization("paused", true));
    let out = cluster.flux(&["reconcile", "ks", "waiting", "--timeout", "2s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            "◎ waiting for Kustomization reconciliation\n⚠️ gave up waiting for Kustomization flux-system/waiting; raise --timeout to wait longer\n✗ context deadline exceeded\n"
        ),
        "{}",
        out.stderr
    );
    let out = cluster.flux(&["resume", "ks", "paused", "--timeout", "2s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            "✗ Kustomization paused reconciliation failed: context deadline exceeded\n✗ reconciliation failed for 1 Kustomization(s)\n"
        ),
        "{}",
        out.stderr
    );
}

fn reconcile_errors_are_clear(backend: Backend) {
    let repo = repository();
    let (cluster, _git) = cluster_with_kustomization(backend, repo.path());
    let out = cluster.flux(&["reconcile", "ks", "nope", "-n", NS]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found\n"
    );
    let out = cluster.flux(&["reconcile", "ks", "-n", NS]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ Kustomization name is required\n")
    );
    let out = cluster.flux(&["suspend", "ks", "tkfg", "-n", NS]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = cluster.flux(&["reconcile", "ks", "tkfg", "-n", NS]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ resource is suspended\n")
    );
    let out = cluster.flux(&["reconcile", "source", "git", "tkfg", "--force", "-n", NS]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "✗ --force and --reset are only available for helmreleases\n"
        )
    );
}

fn failing_source_exits_with_the_controller_message(backend: Backend) {
    let cluster = Cluster::start_on(backend, true);
    cluster.load(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: broken\n  namespace: {NS}\nspec:\n  interval: 1m0s\n  url: http://127.0.0.1:1/nonexistent\n  ref:\n    branch: main\n"
    ));
    let out = cluster.flux(&["reconcile", "source", "git", "broken", "-n", NS]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("✗ GitRepository reconciliation failed: '"),
        "{}",
        out.stderr
    );
}

fn several_names_reconcile_concurrently(backend: Backend) {
    let repo = repository();
    let (cluster, _git) = cluster_with_kustomization(backend, repo.path());
    cluster.load(&format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: second\n  namespace: {NS}\nspec:\n  interval: 5m0s\n  path: ./\n  prune: false\n  sourceRef:\n    kind: GitRepository\n    name: tkfg\n"
    ));
    let out = cluster.flux(&["reconcile", "ks", "tkfg", "second", "-n", NS]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Run at once, each line names its object so the two can be told apart.
    for name in ["tkfg", "second"] {
        for line in [
            format!("✔ Kustomization {name} annotated"),
            format!("◎ waiting for Kustomization {name} reconciliation"),
            format!("✔ Kustomization {name}: applied revision 6.3.5@sha1:"),
        ] {
            assert!(out.stderr.contains(&line), "{line} missing: {}", out.stderr);
        }
    }
    let out = cluster.flux(&["reconcile", "ks", "--all", "-n", NS]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("✔ Kustomization second annotated")
            && out.stderr.contains("✔ Kustomization tkfg annotated"),
        "{}",
        out.stderr
    );
}

const HR_NS: &str = "thrfg-1";

fn helmrelease_lifecycle_matches_upstream_goldens(backend: Backend) {
    let repo = repository();
    std::fs::create_dir_all(repo.path().join("charts/podinfo")).unwrap();
    std::fs::write(
        repo.path().join("charts/podinfo/Chart.yaml"),
        "apiVersion: v2\nname: podinfo\nversion: 6.3.5\n",
    )
    .unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "chart"]);
    git(repo.path(), &["tag", "-f", "6.3.5"]);
    let commit = head(repo.path());
    let (_git, url) = HttpGitServer::serving(repo.path(), "podinfo");
    let cluster = Cluster::start_on(backend, true);
    cluster.load(&format!(
        "apiVersion: v1
kind: Namespace
metadata:
  name: {HR_NS}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: thrfg
  namespace: {HR_NS}
spec:
  interval: 1m0s
  url: {url}
  ref:
    tag: 6.3.5
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: thrfg
  namespace: {HR_NS}
spec:
  interval: 1m0s
  chart:
    spec:
      chart: ./charts/podinfo
      sourceRef:
        kind: GitRepository
        name: thrfg
"
    ));
    // The release becomes Ready once the controllers made and fetched its chart.
    let ready = (0..100).any(|_| {
        let table = cluster
            .flux(&["get", "hr", "thrfg", "--no-header", "-n", HR_NS])
            .stdout;
        let done = table
            .split('\t')
            .nth(3)
            .is_some_and(|cell| cell.trim() == "True");
        if !done {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        done
    });
    assert!(ready, "the HelmRelease never became Ready");
    let golden = |path: &str| {
        let text = fixture(path, HR_NS);
        regex::Regex::new(r"@sha1:[0-9a-f]{40}")
            .unwrap()
            .replace_all(&text, format!("@sha1:{commit}").as_str())
            .into_owned()
    };
    let steps: &[(&[&str], &str)] = &[
        (
            &["reconcile", "helmrelease", "thrfg", "--with-source"],
            "helmrelease/reconcile_helmrelease_from_git.golden",
        ),
        (
            &["suspend", "helmrelease", "thrfg"],
            "helmrelease/suspend_helmrelease_from_git.golden",
        ),
        (
            &["resume", "helmrelease", "thrfg"],
            "helmrelease/resume_helmrelease_from_git.golden",
        ),
        (
            &["delete", "helmrelease", "thrfg", "--silent"],
            "helmrelease/delete_helmrelease_from_git.golden",
        ),
    ];
    for (args, path) in steps {
        let mut args = args.to_vec();
        args.extend(["-n", HR_NS]);
        let out = cluster.flux(&args);
        assert_eq!(out.stderr, golden(path), "{args:?}");
        assert_eq!(out.code, 0);
    }
}

on_both_backends!(
    kustomization_lifecycle_matches_upstream_goldens,
    missing_names_are_named_and_fail_the_command,
    reconcile_errors_are_clear,
    failing_source_exits_with_the_controller_message,
    several_names_reconcile_concurrently,
    waits_that_run_out_of_time_end_with_upstreams_lines,
    helmrelease_lifecycle_matches_upstream_goldens,
);
