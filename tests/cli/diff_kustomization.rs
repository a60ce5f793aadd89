//! `flux diff kustomization` on both test backends: upstream's diff
//! goldens, exit codes 0/1/2, prune detection and bad input.

use std::path::PathBuf;

use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::Value;

use crate::common::Run;
use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};
use crate::common::shared_dir;

const NS: &str = "flux-system";
const CHANGED: &str = "⚠️ identified at least one change, exiting with non-zero exit code\n";

fn testdata(dir: &str) -> PathBuf {
    shared_dir().join("conformance/flux2-testdata").join(dir)
}

fn path(rel: &str) -> String {
    testdata("build-kustomization")
        .join(rel)
        .display()
        .to_string()
}

fn diff_file(name: &str) -> String {
    testdata("diff-kustomization")
        .join(name)
        .display()
        .to_string()
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(testdata("diff-kustomization").join(name)).unwrap()
}

async fn api_of(client: &kube::Client, doc: &Value) -> (Api<DynamicObject>, String) {
    let api_version = doc["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, doc["kind"].as_str().unwrap());
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await.unwrap();
    let name = doc["metadata"]["name"].as_str().unwrap().to_string();
    let api = match doc["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    };
    (api, name)
}

/// Server-side applies `yaml` as kustomize-controller does (its field
/// manager, forced), as upstream's tests load their fixtures.
fn ssa_apply(cluster: &Cluster, yaml: &str) {
    let mut docs: Vec<Value> = flux_rs::render::yaml::from_str_multi(yaml).unwrap();
    for doc in &mut docs {
        fold_string_data(doc);
    }
    cluster.with_client(async |client| {
        for doc in docs {
            let (api, name) = api_of(&client, &doc).await;
            let params = PatchParams::apply("kustomize-controller").force();
            api.patch(&name, &params, &Patch::Apply(&doc))
                .await
                .unwrap_or_else(|e| panic!("applying {name}: {e}"));
        }
    });
}

/// Secret `stringData` as `data`, as upstream normalises its fixtures
/// before applying them (the field owner then owns `data` keys).
fn fold_string_data(doc: &mut Value) {
    use base64::Engine;
    if doc["kind"] != "Secret" {
        return;
    }
    let Some(Value::Object(string_data)) = doc.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    let data = doc
        .as_object_mut()
        .unwrap()
        .entry("data")
        .or_insert_with(|| Value::Object(Default::default()));
    for (k, v) in string_data {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
        data[k] = Value::String(encoded);
    }
}

fn delete(cluster: &Cluster, yaml: &str) {
    let docs: Vec<Value> = flux_rs::render::yaml::from_str_multi(yaml).unwrap();
    cluster.with_client(async |client| {
        for doc in docs {
            let (api, name) = api_of(&client, &doc).await;
            let _ = api.delete(&name, &DeleteParams::default()).await;
        }
    });
}

fn diff(cluster: &Cluster, args: &[&str]) -> Run {
    let mut all = vec!["diff", "kustomization", "--progress-bar=false", "-n", NS];
    all.extend_from_slice(args);
    cluster.flux(&all)
}

fn assert_changes(out: &Run, golden_name: &str) {
    assert_eq!(
        out.stdout,
        golden(golden_name),
        "{golden_name}\n{}",
        out.stderr
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, CHANGED),
        "{golden_name}"
    );
}

fn podinfo_cluster(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture("build-kustomization/podinfo-source.yaml", NS));
    cluster.load(&fixture(
        "build-kustomization/podinfo-kustomization.yaml",
        NS,
    ));
    cluster
}

/// Upstream's `TestDiffKustomization`: each fixture applied, diffed,
/// removed again.
fn diff_goldens_are_reproduced(backend: Backend) {
    let cluster = podinfo_cluster(backend);
    let podinfo = path("podinfo");
    let multiobj = diff_file("flux-kustomization-multiobj.yaml");
    let local = format!(
        "GitRepository/default/podinfo={}",
        testdata("build-kustomization").display()
    );
    let with_my_app = path("podinfo-with-my-app");
    let cases: Vec<(Option<&str>, Vec<&str>, &str)> = vec![
        (
            None,
            vec!["podinfo", "--path", &podinfo],
            "diff-new-kustomization.golden",
        ),
        (
            Some("deployment.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-deployment.golden",
        ),
        (
            Some("service.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-drifted-service.golden",
        ),
        (
            Some("secret.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-drifted-secret.golden",
        ),
        (
            Some("key-sops-secret.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-drifted-key-sops-secret.golden",
        ),
        (
            Some("value-sops-secret.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-drifted-value-sops-secret.golden",
        ),
        (
            Some("dockerconfigjson-sops-secret.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-dockerconfigjson-sops-secret.golden",
        ),
        (
            Some("stringdata-sops-secret.yaml"),
            vec!["podinfo", "--path", &podinfo],
            "diff-with-drifted-stringdata-sops-secret.golden",
        ),
        (
            None,
            vec![
                "podinfo",
                "--path",
                &podinfo,
                "--kustomization-file",
                &multiobj,
            ],
            "diff-new-kustomization.golden",
        ),
        (
            Some("my-app.yaml"),
            vec![
                "podinfo",
                "--path",
                &with_my_app,
                "--recursive",
                "--local-sources",
                &local,
            ],
            "diff-with-recursive.golden",
        ),
    ];
    for (object_file, args, golden_name) in cases {
        let yaml = object_file.map(|f| fixture(&format!("diff-kustomization/{f}"), NS));
        if let Some(yaml) = &yaml {
            ssa_apply(&cluster, yaml);
        }
        assert_changes(&diff(&cluster, &args), golden_name);
        if let Some(yaml) = &yaml {
            delete(&cluster, yaml);
        }
    }
}

/// Objects applied as kustomize-controller applies them: nothing to
/// report, exit 0; then a drifted value, exit 1; a missing Kustomization
/// and a bad path, exit 2.
fn exit_codes_follow_upstream(backend: Backend) {
    let cluster = podinfo_cluster(backend);
    let built = cluster.flux(&[
        "build",
        "ks",
        "podinfo",
        "--path",
        &path("delete-service"),
        "-n",
        NS,
    ]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    ssa_apply(&cluster, &built.stdout);
    let out = diff(&cluster, &["podinfo", "--path", &path("delete-service")]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );

    let drifted = built.stdout.replace("minReplicas: 2", "minReplicas: 3");
    ssa_apply(&cluster, &drifted);
    let out = diff(&cluster, &["podinfo", "--path", &path("delete-service")]);
    assert_eq!(
        out.stdout,
        "► HorizontalPodAutoscaler/default/podinfo drifted\n\nspec.minReplicas\n± value change\n- 3\n+ 2\n\n"
    );
    assert_eq!((out.code, out.stderr.as_str()), (1, CHANGED));

    for (args, message) in [
        (vec!["podinfo"], "✗ invalid resource path \"\"\n"),
        (
            vec!["podinfo", "--path", "./nope"],
            "✗ invalid resource path \"./nope\"\n",
        ),
        (
            vec!["other", "--path", &path("podinfo")],
            "✗ failed to get kustomization object: kustomizations.kustomize.toolkit.fluxcd.io \"other\" not found\n",
        ),
        (
            vec!["podinfo", "--path", &path("podinfo"), "--ignore-not-found"],
            "✗ kustomization file is required when assuming new kustomizations\n",
        ),
    ] {
        let out = diff(&cluster, &args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (2, "", message),
            "{args:?}"
        );
    }
    for (args, message) in [
        (vec![], "✗ kustomization name is required\n"),
        (
            vec![
                "podinfo",
                "--path",
                &path("podinfo"),
                "--kustomization-file",
                "./wrongfile/",
            ],
            "✗ invalid kustomization file \"./wrongfile/\"\n",
        ),
    ] {
        let out = diff(&cluster, &args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", message),
            "{args:?}"
        );
    }
}

/// With `prune: true`, what the Kustomization's inventory lists but the
/// build no longer makes is reported deleted, after everything else.
fn pruned_objects_are_reported_deleted(backend: Backend) {
    let cluster = podinfo_cluster(backend);
    let built = cluster.flux(&[
        "build",
        "ks",
        "podinfo",
        "--path",
        &path("delete-service"),
        "-n",
        NS,
    ]);
    ssa_apply(&cluster, &built.stdout);
    cluster.with_client(async |client| {
        let api: Api<DynamicObject> = Api::namespaced_with(
            client,
            NS,
            &kube::api::ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
                "kustomizations",
            ),
        );
        let status = serde_json::json!({"status": {"inventory": {"entries": [
            {"id": "default_podinfo_apps_Deployment", "v": "v1"},
            {"id": "default_podinfo__Service", "v": "v1"},
            {"id": "default_podinfo_autoscaling_HorizontalPodAutoscaler", "v": "v2"},
            {"id": "_old-ns__Namespace", "v": "v1"},
        ]}}});
        api.patch_status("podinfo", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    });
    let out = diff(&cluster, &["podinfo", "--path", &path("delete-service")]);
    assert_eq!(
        out.stdout,
        "► Namespace/old-ns deleted\n► Service/default/podinfo deleted\n"
    );
    assert_eq!((out.code, out.stderr.as_str()), (1, CHANGED));
}

/// Upstream's tests of Kustomizations that exist only in a file.
fn file_only_kustomizations(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    let local_only = diff_file("flux-kustomization-local-only.yaml");
    let out = diff(
        &cluster,
        &[
            "podinfo",
            "--path",
            &path("podinfo"),
            "--kustomization-file",
            &local_only,
        ],
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            2,
            "",
            "✗ failed to get kustomization object: kustomizations.kustomize.toolkit.fluxcd.io \"podinfo\" not found\n"
        )
    );
    let out = diff(
        &cluster,
        &[
            "podinfo",
            "--path",
            &path("podinfo"),
            "--kustomization-file",
            &local_only,
            "--ignore-not-found",
        ],
    );
    assert_changes(&out, "diff-new-kustomization.golden");

    let existing = fixture("diff-kustomization/existing-configmap.yaml", NS);
    ssa_apply(&cluster, &existing);
    let out = diff(
        &cluster,
        &[
            "configmaps",
            "--path",
            &path("configmaps"),
            "--kustomization-file",
            &diff_file("flux-kustomization-configmaps.yaml"),
            "--ignore-not-found",
        ],
    );
    assert_changes(&out, "diff-taking-ownership.golden");

    let out = diff(
        &cluster,
        &[
            "new-namespace-only",
            "--path",
            &path("new-namespace-only"),
            "--kustomization-file",
            &diff_file("flux-kustomization-new-namespace-only.yaml"),
            "--ignore-not-found",
        ],
    );
    assert_changes(&out, "diff-new-namespace-only.golden");

    let out = diff(
        &cluster,
        &[
            "new-namespace-and-configmap",
            "--path",
            &path("new-namespace-and-configmap"),
            "--kustomization-file",
            &diff_file("flux-kustomization-new-namespace-and-configmap.yaml"),
            "--ignore-not-found",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "► Namespace/new-ns created\n");
    assert_eq!(
        out.stderr,
        "✗ ConfigMap/new-ns/app-config not found: namespaces \"new-ns\" not found\n"
    );

    let drifted = fixture("diff-kustomization/drifted-service-no-labels.yaml", NS);
    ssa_apply(&cluster, &drifted);
    let out = diff(
        &cluster,
        &[
            "podinfo",
            "--path",
            &path("podinfo"),
            "--kustomization-file",
            &diff_file("flux-kustomization-drift-ignore.yaml"),
            "--ignore-not-found",
        ],
    );
    assert_changes(&out, "diff-with-drift-ignore.golden");
}

/// Objects marked not to be reconciled are reported skipped, named after
/// the live object (`Kind/` when there is none, as upstream prints it); a
/// child Kustomization of a remote cluster is not diffed.
fn skipped_objects_and_remote_children(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    let dir =
        std::env::temp_dir().join(format!("flux-diff-skip-{}-{backend:?}", std::process::id()));
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let child = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\n  namespace: default\nspec:\n  interval: 5m\n  path: ./child\n  prune: true\n  kubeConfig:\n    secretRef:\n      name: remote\n  sourceRef:\n    kind: GitRepository\n    name: repo\n";
    std::fs::write(app.join("a-child.yaml"), child).unwrap();
    let cm = |name: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n"
        )
    };
    std::fs::write(app.join("b-missing.yaml"), cm("missing")).unwrap();
    std::fs::write(app.join("c-present.yaml"), cm("present")).unwrap();
    let ks = dir.join("ks.yaml");
    std::fs::write(
        &ks,
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: parent\n  namespace: default\nspec:\n  path: ./app\n",
    )
    .unwrap();
    let (app, ks) = (app.display().to_string(), ks.display().to_string());
    let built = cluster.flux(&[
        "build",
        "ks",
        "parent",
        "--path",
        &app,
        "--kustomization-file",
        &ks,
        "--dry-run",
        "-n",
        "default",
    ]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let docs: Vec<&str> = built.stdout.split("---\n").collect();
    // The child Kustomization as the controller applied it, and one ConfigMap.
    ssa_apply(&cluster, docs[0]);
    ssa_apply(&cluster, docs[2]);
    let out = cluster.flux(&[
        "diff",
        "ks",
        "parent",
        "--path",
        &app,
        "--kustomization-file",
        &ks,
        "--ignore-not-found",
        "--progress-bar=false",
        "-r",
        "-n",
        "default",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            0,
            "⚠️ Kustomization/default/child skipped: diff not supported for remote clusters\n► ConfigMap/ skipped\n► ConfigMap/default/present skipped\n",
            ""
        )
    );
}

/// A change the API server refuses as immutable is an error, unless the
/// object asks to be recreated (`kustomize.toolkit.fluxcd.io/force:
/// enabled`): then it is reported created.
fn immutable_changes_need_the_force_annotation(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    ssa_apply(
        &cluster,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: imm\n  namespace: default\nimmutable: true\ndata:\n  key: old\n",
    );
    let dir = std::env::temp_dir().join(format!(
        "flux-diff-immutable-{}-{backend:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("app")).unwrap();
    let ks = dir.join("ks.yaml");
    std::fs::write(
        &ks,
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: default\nspec:\n  path: ./app\n",
    )
    .unwrap();
    let write = |annotation: &str| {
        std::fs::write(
            dir.join("app/cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: imm\n  namespace: default\n{annotation}immutable: true\ndata:\n  key: new\n"),
        )
        .unwrap();
    };
    let (app, ks) = (
        dir.join("app").display().to_string(),
        ks.display().to_string(),
    );
    let args = [
        "diff",
        "ks",
        "app",
        "--path",
        &app,
        "--kustomization-file",
        &ks,
        "--ignore-not-found",
        "--progress-bar=false",
        "-n",
        "default",
    ];
    write("");
    let refused = cluster.flux(&args);
    write("  annotations:\n    kustomize.toolkit.fluxcd.io/force: enabled\n");
    let forced = cluster.flux(&args);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (
            refused.code,
            refused.stdout.as_str(),
            refused.stderr.as_str()
        ),
        (
            2,
            "",
            "✗ ConfigMap/default/imm dry-run failed (Invalid): ConfigMap \"imm\" is invalid: data: Forbidden: field is immutable when `immutable` is set\n"
        )
    );
    assert_eq!(
        (forced.code, forced.stdout.as_str(), forced.stderr.as_str()),
        (1, "► ConfigMap/default/imm created\n", CHANGED)
    );
}

on_both_backends!(
    immutable_changes_need_the_force_annotation,
    skipped_objects_and_remote_children,
    diff_goldens_are_reproduced,
    exit_codes_follow_upstream,
    pruned_objects_are_reported_deleted,
    file_only_kustomizations,
);
