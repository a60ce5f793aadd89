//! `flux check` against testenv, and the `check --pre` golden.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::{run, shared_dir};

fn check_pre_matches_the_golden(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let out = cluster.flux(&["check", "--pre"]);
    let golden = std::fs::read_to_string(
        shared_dir().join("conformance/flux2-testdata/check/check_pre.golden"),
    )
    .unwrap()
    .replace("{{ .serverVersion }}", &cluster.server_version());
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert_eq!(out.stderr, golden);
}

fn check_passes_when_the_controllers_have_rolled_out(backend: Backend) {
    let cluster = Cluster::start_on(backend, true);
    let out = cluster.flux(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "► checking prerequisites\n✔ Kubernetes {} >=1.33.0-0\n► checking version in cluster\n✔ distribution: flux-v2.9.4\n✔ bootstrapped: false\n► checking controllers\n",
            cluster.server_version()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "✔ source-controller: deployment ready\n► ghcr.io/fluxcd/source-controller:v1.9.4\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("► checking crds\n✔ alerts.notification.toolkit.fluxcd.io/v1beta3\n"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.ends_with("\n✔ all checks passed\n"));
    assert_eq!(out.stdout, "");
}

fn check_fails_on_a_cluster_without_flux(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let out = cluster.flux(&["check"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "► checking prerequisites
✔ Kubernetes {} >=1.33.0-0
► checking version in cluster
✗ checking failed: customresourcedefinitions.apiextensions.k8s.io \"gitrepositories.source.toolkit.fluxcd.io\" not found
► checking controllers
✗ no controllers found in the 'flux-system' namespace with the label selector 'app.kubernetes.io/part-of=flux'
► checking crds
✗ no crds found with the label selector 'app.kubernetes.io/part-of=flux'
⚠️ Flux is not installed in this cluster: run 'flux install' to install it
✗ check failed
",
            cluster.server_version()
        )
    );
}

#[test]
fn check_reports_a_refused_connection_and_stops() {
    let out = run(&[
        "check",
        "--server=https://127.0.0.1:1",
        "--insecure-skip-tls-verify",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "► checking prerequisites\n✗ Kubernetes API call failed: unable to reach the Kubernetes API server: "
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.ends_with("\n✗ check failed\n"), "{}", out.stderr);
}

#[test]
fn a_silent_server_is_given_up_on_within_the_timeout() {
    // Accepts connections but never answers, like a blackholed address.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("--server=https://{}", listener.local_addr().unwrap());
    let started = Instant::now();
    let out = run(&[
        "check",
        "--pre",
        &server,
        "--insecure-skip-tls-verify",
        "--timeout=2s",
    ]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("unable to reach the Kubernetes API server")
            || out.stderr.contains("did not finish within 2s"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_day_2_command_reports_a_refused_connection() {
    for command in [
        &["install"][..],
        &["uninstall", "--silent"],
        &["logs"],
        &["events"],
        &["events", "--watch"],
    ] {
        let args: Vec<&str> = command
            .iter()
            .copied()
            .chain([
                "--server=https://127.0.0.1:1",
                "--insecure-skip-tls-verify",
                "--timeout=5s",
            ])
            .collect();
        let out = run(&args);
        assert_eq!(out.code, 1, "{command:?}: {}", out.stderr);
        let last = out.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with('✗')
                && last.contains("unable to reach the Kubernetes API server")
                && last.contains(
                    "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
                ),
            "{command:?}: {}",
            out.stderr
        );
    }
}

on_both_backends!(
    check_passes_when_the_controllers_have_rolled_out,
    check_pre_matches_the_golden,
    check_fails_on_a_cluster_without_flux,
);
