//! `flux export` against both backends, compared with upstream's golden YAML.

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};

const CASES: &[(&[&str], &str)] = &[
    (
        &["export", "alert-provider", "slack"],
        "export/provider.yaml",
    ),
    (&["export", "alert", "flux-system"], "export/alert.yaml"),
    (
        &["export", "image", "policy", "flux-system"],
        "export/image-policy.yaml",
    ),
    (
        &["export", "image", "repository", "flux-system"],
        "export/image-repo.yaml",
    ),
    (
        &["export", "image", "update", "flux-system"],
        "export/image-update.yaml",
    ),
    (
        &["export", "source", "git", "flux-system"],
        "export/git-repo.yaml",
    ),
    (
        &["export", "source", "chart", "flux-system"],
        "export/helm-chart.yaml",
    ),
    (
        &["export", "source", "helm", "flux-system"],
        "export/helm-repo.yaml",
    ),
    (
        &["export", "receiver", "flux-system"],
        "export/receiver.yaml",
    ),
    (
        &["export", "kustomization", "flux-system"],
        "export/ks.yaml",
    ),
    (
        &["export", "helmrelease", "flux-system"],
        "export/helm-release.yaml",
    ),
    (
        &["export", "source", "bucket", "flux-system"],
        "export/bucket.yaml",
    ),
    (
        &["export", "source", "external", "flux-system"],
        "export/external-artifact.yaml",
    ),
];

fn exports_match_upstream_goldens(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture("export/objects.yaml", "flux-system"));
    let mut mismatches = Vec::new();
    for (args, golden) in CASES {
        let out = cluster.flux(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let want = fixture(golden, "flux-system");
        if out.stdout != want {
            mismatches.push(format!(
                "{args:?}\n--- ours\n{}--- upstream\n{want}",
                out.stdout
            ));
        }
    }
    eprintln!(
        "export goldens matched: {}/{}",
        CASES.len() - mismatches.len(),
        CASES.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn export_all_prints_every_object_of_the_kind(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture("export/objects.yaml", "flux-system"));
    let out = cluster.flux(&["export", "source", "git", "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.matches("---\n").count(), 1);
    let out = cluster.flux(&["export", "kustomization", "--all", "-n", "default"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "✗ no objects found in default namespace\n");
}

fn export_needs_a_name_or_all(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    let out = cluster.flux(&["export", "kustomization"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "✗ name is required\n"));
    let out = cluster.flux(&["export", "kustomization", "Bad_Name"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("✗ invalid name 'Bad_Name'"),
        "{}",
        out.stderr
    );
}

on_both_backends!(
    exports_match_upstream_goldens,
    export_all_prints_every_object_of_the_kind,
    export_needs_a_name_or_all,
);
