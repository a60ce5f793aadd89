//! `flux get` against both backends, compared with upstream's golden tables.

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};
use crate::common::shared_dir;

fn golden(path: &str) -> String {
    std::fs::read_to_string(shared_dir().join("conformance/flux2-testdata").join(path)).unwrap()
}

fn loaded(backend: Backend, path: &str) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture(path, "flux-system"));
    cluster
}

fn sources_git_table_matches_upstream_goldens(backend: Backend) {
    let cluster = loaded(backend, "get/objects.yaml");
    for (args, golden_file) in [
        (&["get", "sources", "git"][..], "get/get.golden"),
        (
            &[
                "get",
                "sources",
                "git",
                "-l",
                "sharding.fluxcd.io/key=shard1",
            ],
            "get/get_label_one.golden",
        ),
        (
            &[
                "get",
                "sources",
                "git",
                "-l",
                "sharding.fluxcd.io/key notin (shard1, shard2)",
            ],
            "get/get_label_two.golden",
        ),
    ] {
        let out = cluster.flux(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, golden(golden_file), "{args:?}");
        assert_eq!(out.stderr, "");
    }
}

fn status_selector_matches_upstream_goldens(backend: Backend) {
    let cluster = loaded(backend, "get/status_objects.yaml");
    for (selector, golden_file) in [
        ("Ready=True", "get/get_status_ready_true.golden"),
        ("Ready=False", "get/get_status_ready_false.golden"),
        ("Ready!=True", "get/get_status_ready_not_true.golden"),
    ] {
        let out = cluster.flux(&["get", "sources", "git", "--status-selector", selector]);
        assert_eq!(out.code, 0, "{selector}: {}", out.stderr);
        assert_eq!(out.stdout, golden(golden_file), "{selector}");
    }
    let out = cluster.flux(&["get", "all", "--status-selector", "foo=bar"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

fn notification_kinds_are_always_ready(backend: Backend) {
    let cluster = loaded(backend, "get/notification_objects.yaml");
    for args in [
        &["get", "alerts"][..],
        &["get", "alert-providers"],
        &["get", "all"],
    ] {
        let plain = cluster.flux(args);
        assert_eq!(plain.code, 0, "{args:?}: {}", plain.stderr);
        assert!(!plain.stdout.is_empty(), "{args:?} printed nothing");
        let mut filtered_args = args.to_vec();
        filtered_args.extend(["--status-selector", "Ready=True"]);
        assert_eq!(
            cluster.flux(&filtered_args).stdout,
            plain.stdout,
            "{args:?}"
        );
    }
}

fn get_all_prefixes_names_and_separates_tables(backend: Backend) {
    let cluster = loaded(backend, "get/kustomization_only.yaml");
    let out = cluster.flux(&["get", "all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("kustomization/")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("\n\n"),
        "each table is followed by an empty line"
    );
}

fn missing_objects_are_errors_naming_the_namespace(backend: Backend) {
    let cluster = loaded(backend, "get/objects.yaml");
    let out = cluster.flux(&["get", "ks", "non-existent-resource"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ Kustomization object 'non-existent-resource' not found in \"flux-system\" namespace\n"
    );
    let out = cluster.flux(&["get", "hr", "-n", "default"]);
    assert_eq!(
        out.stderr,
        "✗ no HelmRelease objects found in \"default\" namespace\n"
    );
    let out = cluster.flux(&["get", "hr", "-A"]);
    assert_eq!(
        out.stderr,
        "✗ no HelmRelease objects found in any namespace\n"
    );
}

fn machine_readable_output_is_a_kubectl_style_list(backend: Backend) {
    let cluster = loaded(backend, "get/objects.yaml");
    let out = cluster.flux(&["get", "sources", "git", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert_eq!(list["items"][0]["kind"], "GitRepository");
    let out = cluster.flux(&["get", "sources", "git", "-o", "yaml"]);
    let list: serde_json::Value = flux_rs::render::yaml::from_str(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

fn all_namespaces_and_wide_add_columns(backend: Backend) {
    let cluster = loaded(backend, "get/objects.yaml");
    let out = cluster.flux(&["get", "sources", "git", "-A", "-o", "wide", "--no-header"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.stdout.lines().next().unwrap();
    let cells: Vec<&str> = first.split('\t').map(str::trim).collect();
    assert_eq!(cells[0], "flux-system");
    assert_eq!(cells[1], "podinfo");
    assert!(
        cells.contains(&"ssh://git@github.com/example/repo"),
        "{first}"
    );
}

fn watch_on_all_is_rejected(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    let out = cluster.flux(&["get", "all", "--watch"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ expected a single resource type, but found all\n"
    );
}

fn watch_prints_a_row_per_change_as_it_happens(backend: Backend) {
    use std::io::{BufRead, BufReader};
    let cluster = loaded(backend, "get/objects.yaml");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args([
            "get",
            "sources",
            "git",
            "podinfo",
            "--watch",
            "--timeout",
            "60s",
        ])
        .env("KUBECONFIG", cluster.kubeconfig())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let header = lines.next().unwrap().unwrap();
    assert!(header.starts_with("NAME"), "{header}");
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.contains("False"),
        "podinfo starts unsuspended: {first}"
    );
    let out = cluster.flux(&["suspend", "source", "git", "podinfo"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let changed = lines.next().unwrap().unwrap();
    let cells: Vec<&str> = changed.split('\t').map(str::trim).collect();
    assert_eq!((cells[0], cells[2]), ("podinfo", "True"), "{changed}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `--watch -o json|yaml` streams the changed objects as documents (one
/// pretty JSON object per event, or YAML documents after `---`), as
/// `kubectl get -w -o json|yaml` does; before, it printed the table.
fn watch_streams_json_and_yaml_documents(backend: Backend) {
    use std::io::{BufRead, BufReader};
    let cluster = loaded(backend, "get/objects.yaml");
    let watch = |output: &str| {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flux"))
            .args(["get", "sources", "git", "podinfo", "--watch", "-o", output])
            .args(["--timeout", "60s"])
            .env("KUBECONFIG", cluster.kubeconfig())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        (child, lines)
    };
    let run = |verb: &str| {
        let mut args = vec![verb, "source", "git", "podinfo"];
        if verb == "resume" {
            // No controllers here: nothing would reconcile it.
            args.push("--wait=false");
        }
        let out = cluster.flux(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
    };

    // JSON: each event is one pretty-printed object ending in a `}` line.
    let (mut child, mut lines) = watch("json");
    let mut next_json = || {
        let mut text = String::new();
        loop {
            let line = lines.next().unwrap().unwrap();
            text.push_str(&line);
            text.push('\n');
            if line == "}" {
                break;
            }
        }
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let first = next_json();
    assert_eq!(first["kind"], "GitRepository", "{first}");
    assert_eq!(first["metadata"]["name"], "podinfo");
    assert_ne!(first["spec"]["suspend"], true, "{first}");
    run("suspend");
    let changed = next_json();
    assert_eq!(changed["spec"]["suspend"], true, "{changed}");
    child.kill().unwrap();
    child.wait().unwrap();

    // YAML: documents each after a `---` line; the first one is complete
    // once the next event's separator arrives.
    let (mut child, mut lines) = watch("yaml");
    assert_eq!(lines.next().unwrap().unwrap(), "---");
    run("resume");
    let mut text = String::new();
    loop {
        let line = lines.next().unwrap().unwrap();
        if line == "---" {
            break;
        }
        text.push_str(&line);
        text.push('\n');
    }
    let doc: serde_json::Value =
        flux_rs::render::yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(doc["kind"], "GitRepository", "{doc}");
    assert_eq!(doc["spec"]["suspend"], true, "{doc}");
    child.kill().unwrap();
    child.wait().unwrap();
}

on_both_backends!(
    watch_streams_json_and_yaml_documents,
    sources_git_table_matches_upstream_goldens,
    status_selector_matches_upstream_goldens,
    notification_kinds_are_always_ready,
    get_all_prefixes_names_and_separates_tables,
    missing_objects_are_errors_naming_the_namespace,
    machine_readable_output_is_a_kubectl_style_list,
    all_namespaces_and_wide_add_columns,
    watch_on_all_is_rejected,
    watch_prints_a_row_per_change_as_it_happens,
);
