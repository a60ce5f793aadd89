//! `flux logs` against testenv pods, compared with upstream's logs goldens.
//! Builtin backend only: on kube-apiserver there is no kubelet, so pods never
//! run or log.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::common::cluster::Cluster;
use crate::common::shared_dir;

/// The six entries upstream's formatter test feeds in, as controllers log
/// them (some with `reconciler kind`, some with `controllerKind`).
const ENTRIES: [&str; 6] = [
    r#"{"level":"info","ts":"2022-08-02T12:55:34.419Z","logger":"controller.gitrepository","msg":"no changes since last reconcilation: observed revision","reconciler group":"source.toolkit.fluxcd.io","reconciler kind":"GitRepository","name":"podinfo","namespace":"default"}"#,
    r#"{"level":"error","ts":"2022-08-02T12:56:04.679Z","logger":"controller.gitrepository","msg":"no changes since last reconcilation: observed revision","reconciler group":"source.toolkit.fluxcd.io","reconciler kind":"GitRepository","name":"flux-system","namespace":"flux-system"}"#,
    r#"{"level":"error","ts":"2022-08-02T12:56:34.961Z","logger":"controller.kustomization","msg":"no changes since last reconcilation: observed revision","controllerGroup":"kustomize.toolkit.fluxcd.io","controllerKind":"Kustomization","name":"flux-system","namespace":"flux-system"}"#,
    r#"{"level":"info","ts":"2022-08-02T12:56:34.961Z","logger":"controller.kustomization","msg":"no changes since last reconcilation: observed revision","controllerKind":"Kustomization","name":"podinfo","namespace":"default"}"#,
    r#"{"level":"info","ts":"2022-08-02T12:56:34.961Z","logger":"controller.gitrepository","msg":"no changes since last reconcilation: observed revision","reconciler kind":"GitRepository","name":"podinfo","namespace":"default"}"#,
    r#"{"level":"error","ts":"2022-08-02T12:56:34.961Z","logger":"controller.kustomization","msg":"no changes since last reconcilation: observed revision","controllerKind":"Kustomization","name":"podinfo","namespace":"flux-system"}"#,
];

const POD: &str = "source-controller-5d8f9c7b4-x2x7q";

/// The install set without controllers, plus one running source-controller
/// pod whose log holds the six entries.
fn cluster_with_entries() -> Cluster {
    let cluster = Cluster::start(false);
    add_controller_pod(&cluster);
    cluster.write_pod_log("flux-system", POD, "plain text lines are skipped");
    for entry in ENTRIES {
        cluster.write_pod_log("flux-system", POD, entry);
    }
    cluster
}

/// A running source-controller pod in flux-system, with an empty log.
pub(crate) fn add_controller_pod(cluster: &Cluster) {
    cluster.load(&format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {POD}
  namespace: flux-system
  labels:
    app: source-controller
spec:
  containers:
  - name: manager
    image: ghcr.io/fluxcd/source-controller:v1.9.4
status:
  phase: Running
"
    ));
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(
        shared_dir()
            .join("conformance/flux2-testdata/logs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn filtered_output_matches_the_goldens() {
    let cluster = cluster_with_entries();
    let cases: [(&str, &[&str]); 5] = [
        ("all-logs.txt", &["-A"]),
        ("namespace.txt", &["-n", "default"]),
        ("kind.txt", &["--kind=Kustomization"]),
        ("log-level.txt", &["--level=error", "-A"]),
        (
            "multiple-filters.txt",
            &[
                "-n",
                "flux-system",
                "--level=error",
                "--kind=Kustomization",
                "--name=podinfo",
            ],
        ),
    ];
    for (file, flags) in cases {
        let args: Vec<&str> = std::iter::once("logs")
            .chain(flags.iter().copied())
            .collect();
        let out = cluster.flux(&args);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{file}");
        assert_eq!(out.stdout, golden(file), "{file}");
    }
}

#[test]
fn tail_reads_the_last_lines_of_each_pod() {
    let cluster = cluster_with_entries();
    let out = cluster.flux(&["logs", "-A", "--tail=1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "2022-08-02T12:56:34.961Z error Kustomization/podinfo.flux-system - no changes since last reconcilation: observed revision \n"
    );
}

#[test]
fn bad_flags_are_rejected_with_upstreams_messages() {
    let cluster = cluster_with_entries();
    let out = cluster.flux(&["logs", "extra"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ no argument required\n")
    );
    let out = cluster.flux(&["logs", "--level=trace"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("unsupported log level 'trace', must be one of: debug, info, error"),
        "{}",
        out.stderr
    );
}

#[test]
fn follow_streams_every_controller_at_once_until_the_timeout() {
    let cluster = Cluster::start(true);
    let pods: Vec<String> = cluster.with_client(async |client| {
        let api = Api::<Pod>::namespaced(client, "flux-system");
        // The simulated Deployment controller starts the pods shortly after install.
        for _ in 0..100 {
            let names: Vec<String> = api
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .collect();
            if names.len() >= 3 {
                return names;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("controller pods did not start")
    });
    let line = |n: usize| {
        format!(
            r#"{{"level":"info","ts":"t{n}","msg":"probe {n}","controllerKind":"Probe","name":"p","namespace":"flux-system"}}"#
        )
    };
    cluster.write_pod_log("flux-system", &pods[0], &line(1));
    cluster.write_pod_log("flux-system", &pods[1], &line(2));
    let out = std::thread::scope(|scope| {
        // A line written while the command is already streaming.
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            cluster.write_pod_log("flux-system", &pods[2], &line(3));
        });
        cluster.flux(&["logs", "--follow", "--kind=probe", "--timeout=4s"])
    });
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "t1 info Probe/p.flux-system - probe 1 ",
            "t2 info Probe/p.flux-system - probe 2 ",
            "t3 info Probe/p.flux-system - probe 3 ",
        ]
    );
}

#[test]
fn without_flux_it_says_so() {
    let cluster = Cluster::empty();
    let out = cluster.flux(&["logs"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ no Flux pods found in namespace \"flux-system\": is Flux installed there? 'flux check' tells, 'flux install' installs it\n"
    );
}
