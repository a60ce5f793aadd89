//! `flux install --export` measured against the upstream v2.9 reference in
//! ../shared/reference/flux-v2.9 (read at test time, never copied).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{run, shared_dir};

const ALL_EXTRAS: &str =
    "--components-extra=image-reflector-controller,image-automation-controller,source-watcher";

fn key(doc: &Value) -> (String, String) {
    (
        doc["kind"].as_str().unwrap_or_default().to_string(),
        doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn parse(text: &str) -> Vec<Value> {
    flux_rs::render::yaml::from_str_multi(text).expect("install output is valid YAML")
}

/// Splits a YAML stream into its documents' texts (comment lines dropped).
fn document_texts(text: &str) -> Vec<String> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    body.split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn reference(path: &str) -> Vec<Value> {
    let full = shared_dir().join("reference/flux-v2.9").join(path);
    parse(&std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display())))
}

fn index() -> Value {
    let text =
        std::fs::read_to_string(shared_dir().join("reference/flux-v2.9/index.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The upstream objects expected for a component set, by (kind, name), with
/// the conditional args rule of the reference applied.
fn expected_objects(components: &[String]) -> BTreeMap<(String, String), Value> {
    let index = index();
    let mut files = strings(&index["common_objects"]);
    for component in components {
        let entry = &index["components"][component];
        files.extend(strings(&entry["objects"]));
        files.extend(strings(&entry["crds"]));
        files.push(entry["deployment"].as_str().unwrap().to_string());
    }
    let mut expected: BTreeMap<_, _> = files
        .iter()
        .flat_map(|f| reference(f))
        .map(|d| (key(&d), d))
        .collect();
    for rule in index["conditional_args"].as_array().unwrap() {
        if components
            .iter()
            .any(|c| c == rule["when_component"].as_str().unwrap())
        {
            for name in strings(&rule["deployments"]) {
                let deployment = expected.get_mut(&("Deployment".into(), name)).unwrap();
                let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
                    .as_array_mut()
                    .unwrap();
                args.push(rule["append_arg"].clone());
            }
        }
    }
    expected
}

struct Report {
    lines: Vec<String>,
    failures: Vec<String>,
}

/// Compares our export with the reference and returns what was measured.
fn measure(args: &[&str], components: &[String], golden: &str) -> Report {
    let out = run(args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "export prints nothing on stderr");
    let ours = parse(&out.stdout);
    let ours_by_key: BTreeMap<_, _> = ours.iter().map(|d| (key(d), d)).collect();
    let expected = expected_objects(components);
    let mut failures = Vec::new();

    // Order: the same (kind, name) sequence as upstream's export.
    let golden_text =
        std::fs::read_to_string(shared_dir().join("reference/flux-v2.9").join(golden)).unwrap();
    let golden_order: Vec<_> = parse(&golden_text).iter().map(key).collect();
    let our_order: Vec<_> = ours.iter().map(key).collect();
    if golden_order != our_order {
        failures.push(format!(
            "object order differs:\n ours {our_order:?}\n upstream {golden_order:?}"
        ));
    }

    // Every non-CRD object: equal as data, and byte-identical as text.
    let golden_texts: BTreeMap<_, _> = document_texts(&golden_text)
        .into_iter()
        .map(|t| (key(&parse(&t)[0]), t))
        .collect();
    let our_texts: BTreeMap<_, _> = document_texts(&out.stdout)
        .into_iter()
        .map(|t| (key(&parse(&t)[0]), t))
        .collect();
    let (mut present, mut equal, mut identical, mut others) = (0, 0, 0, 0);
    let (mut deployments, mut deployments_equal) = (0, 0);
    let (mut args_expected, mut args_matched) = (0, 0);
    for (k, want) in &expected {
        let Some(got) = ours_by_key.get(k) else {
            failures.push(format!("{}/{} missing", k.0, k.1));
            continue;
        };
        present += 1;
        if k.0 == "CustomResourceDefinition" {
            // Schemas are measured by the flux-api tests; here: labels.
            if got["metadata"]["labels"] != want["metadata"]["labels"] {
                failures.push(format!("CRD {} labels differ", k.1));
            }
            continue;
        }
        others += 1;
        if *got == want {
            equal += 1;
        } else {
            failures.push(format!(
                "{}/{} differs:\n ours {got}\n upstream {want}",
                k.0, k.1
            ));
        }
        if our_texts.get(k) == golden_texts.get(k) {
            identical += 1;
        } else {
            failures.push(format!(
                "{}/{} text differs from upstream's document",
                k.0, k.1
            ));
        }
        if k.0 == "Deployment" {
            deployments += 1;
            deployments_equal += usize::from(*got == want);
            let args = |d: &Value| strings(&d["spec"]["template"]["spec"]["containers"][0]["args"]);
            let (want_args, got_args) = (args(want), args(got));
            args_expected += want_args.len().max(got_args.len());
            args_matched += want_args.iter().filter(|a| got_args.contains(a)).count();
        }
    }
    let extra: Vec<_> = ours_by_key
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    if !extra.is_empty() {
        failures.push(format!("objects upstream does not have: {extra:?}"));
    }
    let pct = |n: usize, d: usize| {
        if d == 0 {
            100.0
        } else {
            100.0 * n as f64 / d as f64
        }
    };
    let lines = vec![
        format!(
            "{golden}: objects present {present}/{} ({:.1}%)",
            expected.len(),
            pct(present, expected.len())
        ),
        format!(
            "{golden}: non-CRD objects equal {equal}/{others}, byte-identical {identical}/{others}"
        ),
        format!(
            "{golden}: deployments equal {deployments_equal}/{deployments}, args matched {args_matched}/{args_expected} ({:.1}%)",
            pct(args_matched, args_expected)
        ),
    ];
    Report { lines, failures }
}

fn assert_report(report: Report) {
    for line in &report.lines {
        eprintln!("{line}");
    }
    assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
}

#[test]
fn default_export_matches_upstream() {
    let defaults = strings(&index()["default_components"]);
    assert_report(measure(
        &["install", "--export"],
        &defaults,
        "install/flux-install-export.default.yaml",
    ));
}

#[test]
fn all_components_export_matches_upstream() {
    let index = index();
    let mut all = strings(&index["default_components"]);
    all.extend(strings(&index["extra_components"]));
    assert_report(measure(
        &["install", "--export", ALL_EXTRAS],
        &all,
        "install/flux-install-export.all-components.yaml",
    ));
}

#[test]
fn export_header_names_version_and_components() {
    let out = run(&["install", "--export", ALL_EXTRAS]);
    let header: Vec<&str> = out.stdout.lines().take(4).collect();
    assert_eq!(
        header,
        [
            "---",
            "# This manifest was generated by flux. DO NOT EDIT.",
            "# Flux Version: v2.9.4",
            "# Components: source-controller,kustomize-controller,helm-controller,notification-controller,image-reflector-controller,image-automation-controller,source-watcher",
        ]
    );
}

#[test]
fn export_is_byte_identical_between_runs() {
    let first = run(&["install", "--export", ALL_EXTRAS]).stdout;
    let second = run(&["install", "--export", ALL_EXTRAS]).stdout;
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

#[test]
fn export_is_accepted_by_kubectl_kustomize() {
    // kubectl parses every document as a Kubernetes object; skip only where it is absent.
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        crate::common::skip("kubectl not found on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["install", "--export", "-n", "gitops"]);
    std::fs::write(dir.path().join("gotk-components.yaml"), &out.stdout).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- gotk-components.yaml\n",
    )
    .unwrap();
    let built = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let objects = parse(&String::from_utf8(built.stdout).unwrap());
    assert_eq!(objects.len(), 32);
    assert!(objects.iter().all(|o| o["metadata"]["namespace"].is_null() || o["metadata"]["namespace"] == "gitops"));
}

#[test]
fn namespace_flag_moves_every_namespaced_object_and_rbac_names() {
    let out = run(&["install", "--export", "--namespace=gitops"]);
    assert_eq!(out.code, 0);
    let objects = parse(&out.stdout);
    assert_eq!(key(&objects[0]), ("Namespace".into(), "gitops".into()));
    for object in &objects {
        assert_eq!(
            object["metadata"]["labels"]["app.kubernetes.io/instance"],
            "gitops"
        );
        let name = object["metadata"]["name"].as_str().unwrap();
        match object["kind"].as_str().unwrap() {
            "ClusterRole" | "ClusterRoleBinding" => assert!(name.ends_with("-gitops"), "{name}"),
            "Namespace" | "CustomResourceDefinition" => {}
            _ => assert_eq!(object["metadata"]["namespace"], "gitops", "{name}"),
        }
    }
}

fn assert_rejected(args: &[&str], message: &str) {
    let out = run(args);
    assert_eq!(out.code, 1, "{args:?} should fail");
    assert_eq!(out.stdout, "", "{args:?} printed data");
    assert!(out.stderr.starts_with("✗ "), "{args:?}: {}", out.stderr);
    assert!(
        out.stderr.contains(message),
        "{args:?}: {} lacks {message}",
        out.stderr
    );
}

#[test]
fn bad_input_is_rejected_with_nothing_on_stdout() {
    assert_rejected(
        &[
            "install",
            "--export",
            "--components-extra=image-foo-controller",
        ],
        "component image-foo-controller is not available (available components: source-controller,",
    );
    assert_rejected(
        &["install", "--export", "--version=v2.8.0"],
        "embeds Flux v2.9.4 only",
    );
    assert_rejected(
        &["install", "--export", "--version=2.9.4"],
        "must be prefixed with 'v'",
    );
    assert_rejected(
        &["install", "--export", "--log-level=trace"],
        "unsupported log level 'trace', must be one of: debug, info, error",
    );
    assert_rejected(
        &["install", "--export", "--toleration-keys=bad key"],
        "invalid --toleration-keys value 'bad key'",
    );
    assert_rejected(
        &["install", "--export", "--network-policy=maybe"],
        "invalid argument \"maybe\" for \"--network-policy\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax",
    );
    assert_rejected(
        &["install", "--export", "extra"],
        "unknown command \"extra\" for \"flux install\"",
    );
}

#[test]
fn python_comparison_tool_agrees_when_available() {
    // The shared tool is an independent second opinion; it needs PyYAML.
    let tool = shared_dir().join("tools/compare_install.py");
    let probe = std::process::Command::new("python3")
        .args(["-c", "import yaml"])
        .status();
    if !probe.is_ok_and(|s| s.success()) || !Path::new(&tool).is_file() {
        crate::common::skip("python3 with PyYAML not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.yaml");
    std::fs::write(&path, run(&["install", "--export", ALL_EXTRAS]).stdout).unwrap();
    let output = std::process::Command::new("python3")
        .arg(&tool)
        .arg("--ref-dir")
        .arg(shared_dir().join("reference/flux-v2.9"))
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let score = report
        .lines()
        .find(|l| l.starts_with("SCORE"))
        .expect("a SCORE line");
    eprintln!("{score}");
    assert_eq!(
        score,
        "SCORE crds=15/15 schema=100.0% deployments=7/7 args=100.0% objects=21/21"
    );
}

/// `--manifests=DIR` installs the directory's kustomize build as is, under
/// upstream's header; kubectl's kustomize is the oracle for the build.
#[test]
fn manifests_flag_exports_the_directorys_build_under_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = run(&["install", "--export", "--components=source-controller"]);
    std::fs::write(dir.path().join("gotk-components.yaml"), &embedded.stdout).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- gotk-components.yaml\ncommonLabels:\n  team: platform\n",
    )
    .unwrap();
    let dir_arg = format!("--manifests={}", dir.path().display());
    let out = run(&[
        "install",
        "--export",
        &dir_arg,
        "--components=source-controller",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let header = "---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.9.4\n# Components: source-controller\n";
    let body = out
        .stdout
        .strip_prefix(header)
        .expect("the header comes first");
    assert!(
        body.contains("team: platform"),
        "the directory's build, not the embedded set"
    );
    let Ok(kubectl) = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.path())
        .output()
    else {
        crate::common::skip("kubectl not found on PATH");
        return;
    };
    assert!(kubectl.status.success());
    assert_eq!(body, String::from_utf8(kubectl.stdout).unwrap());
}

#[test]
fn manifests_flag_needs_a_kustomization() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = format!("--manifests={}", dir.path().display());
    let out = run(&["install", "--export", &dir_arg]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("✗ kustomization.yaml not found in --manifests directory"),
        "{}",
        out.stderr
    );
}
