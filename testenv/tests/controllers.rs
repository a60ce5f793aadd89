//! The simulated Flux controllers, one test per behaviour.

mod common;

use common::*;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// A Git repository in a temp dir, committed with libgit2.
struct Repo {
    dir: tempfile::TempDir,
    repo: git2::Repository,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tmp");
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).expect("git init");
        Repo { dir, repo }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Writes (Some) or removes (None) files, commits them all on main, returns the commit id.
    fn commit(&self, files: &[(&str, Option<&str>)], msg: &str) -> String {
        for (path, content) in files {
            let p = self.dir.path().join(path);
            match content {
                Some(c) => {
                    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                    std::fs::write(&p, c).expect("write");
                }
                None => std::fs::remove_file(&p).expect("rm"),
            }
        }
        let mut index = self.repo.index().expect("index");
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .expect("add");
        index.update_all(["*"], None).expect("update");
        index.write().expect("write index");
        let tree = self
            .repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let sig = git2::Signature::now("test", "test@example.com").expect("sig");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
            .expect("commit")
            .to_string()
    }

    fn tag(&self, name: &str) {
        let head = self
            .repo
            .head()
            .expect("head")
            .peel(git2::ObjectType::Commit)
            .expect("commit");
        self.repo.tag_lightweight(name, &head, false).expect("tag");
    }
}

async fn setup() -> (testenv::TestEnv, kube::Client) {
    let env = testenv::TestEnv::start(testenv::Options {
        reconcile_delay: std::time::Duration::from_millis(20),
        deployment_delay: std::time::Duration::from_millis(20),
        // The tests commit to repositories on this machine.
        local_git_urls: true,
        ..Default::default()
    })
    .await
    .expect("start");
    install_flux_crds(&env);
    let client = env.client().await.expect("client");
    (env, client)
}

fn gitrepos(c: &kube::Client, ns: &str) -> kube::Api<DynamicObject> {
    dyn_api(
        c,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
        ns,
    )
}

fn kustomizations(c: &kube::Client, ns: &str) -> kube::Api<DynamicObject> {
    dyn_api(
        c,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
        ns,
    )
}

async fn create(api: &kube::Api<DynamicObject>, v: Value) -> DynamicObject {
    let obj: DynamicObject = serde_json::from_value(v).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create")
}

fn git_repo(name: &str, url: &str, r: Value) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"interval": "1m", "url": url, "ref": r},
    })
}

async fn annotate(api: &kube::Api<DynamicObject>, name: &str, key: &str, value: &str) {
    let patch = json!({"metadata": {"annotations": {key: value}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate");
}

#[tokio::test(flavor = "multi_thread")]
async fn git_repository_resolves_branch_tag_semver_and_commit() {
    let (_env, c) = setup().await;
    let repo = Repo::new();
    let first = repo.commit(&[("a.txt", Some("1"))], "one");
    repo.tag("v1.0.0");
    let second = repo.commit(&[("a.txt", Some("2"))], "two");
    repo.tag("v1.1.0");
    repo.tag("not-semver");
    let api = gitrepos(&c, "default");
    let cases = [
        (
            "branch",
            json!({"branch": "main"}),
            format!("main@sha1:{second}"),
        ),
        (
            "tag",
            json!({"tag": "v1.0.0"}),
            format!("v1.0.0@sha1:{first}"),
        ),
        (
            "semver",
            json!({"semver": ">=1.0.0 <1.1.0"}),
            format!("v1.0.0@sha1:{first}"),
        ),
        (
            "semver-latest",
            json!({"semver": "1.x"}),
            format!("v1.1.0@sha1:{second}"),
        ),
        ("commit", json!({"commit": first}), format!("sha1:{first}")),
    ];
    for (name, r, _) in &cases {
        create(&api, git_repo(name, &repo.url(), r.clone())).await;
    }
    for (name, _, want) in &cases {
        let v = wait_obj(&api, name, 20, ready).await;
        assert_eq!(v["status"]["artifact"]["revision"], json!(want), "{name}");
        let (_, reason, message) = ready_status(&v).expect("Ready");
        assert_eq!(reason, "Succeeded");
        assert_eq!(message, format!("stored artifact for revision '{want}'"));
        assert!(
            v["status"]["artifact"]["digest"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:"))
        );
        assert!(
            v["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| f.contains(&json!("finalizers.fluxcd.io")))
        );
    }
    // A plain path works as well as file://.
    create(
        &api,
        git_repo(
            "path",
            &repo.dir.path().display().to_string(),
            json!({"branch": "main"}),
        ),
    )
    .await;
    let v = wait_obj(&api, "path", 20, ready).await;
    assert_eq!(
        v["status"]["artifact"]["revision"],
        json!(format!("main@sha1:{second}"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_or_invalid_git_sources_are_not_ready() {
    let (_env, c) = setup().await;
    let repo = Repo::new();
    repo.commit(&[("a.txt", Some("1"))], "one");
    let api = gitrepos(&c, "default");
    create(
        &api,
        git_repo(
            "missing",
            "file:///nonexistent/repo",
            json!({"branch": "main"}),
        ),
    )
    .await;
    create(
        &api,
        git_repo("nobranch", &repo.url(), json!({"branch": "nope"})),
    )
    .await;
    create(
        &api,
        git_repo(
            "remote",
            "https://github.com/example/app",
            json!({"branch": "main"}),
        ),
    )
    .await;
    let failed = |v: &Value| ready_status(v).is_some_and(|(s, _, _)| s == "False");
    let v = wait_obj(&api, "missing", 20, failed).await;
    let (_, reason, message) = ready_status(&v).expect("Ready");
    assert_eq!(reason, "GitOperationFailed");
    assert!(
        message.starts_with(
            "failed to checkout and determine revision: unable to clone 'file:///nonexistent/repo'"
        ),
        "{message}"
    );
    let v = wait_obj(&api, "nobranch", 20, failed).await;
    assert!(
        ready_status(&v)
            .expect("Ready")
            .2
            .contains("couldn't find remote ref \"refs/heads/nope\"")
    );
    // Remote hosts cannot be reached from here: a deterministic revision stands in.
    let v = wait_obj(&api, "remote", 20, ready).await;
    let rev = v["status"]["artifact"]["revision"]
        .as_str()
        .expect("revision")
        .to_string();
    assert!(
        rev.starts_with("main@sha1:") && rev.len() == "main@sha1:".len() + 40,
        "{rev}"
    );
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n";

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: apps\ndata:\n  value: \"{value}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn kustomization_full_cycle_applies_updates_and_prunes() {
    let (_env, c) = setup().await;
    let repo = Repo::new();
    repo.commit(
        &[
            ("deploy/ns.yaml", Some(NAMESPACE)),
            ("deploy/a.yaml", Some(&cm("a", "one"))),
            ("deploy/b.yaml", Some(&cm("b", "one"))),
            ("README.md", Some("not a manifest")),
        ],
        "init",
    );
    let gr = gitrepos(&c, "default");
    let ks = kustomizations(&c, "default");
    create(&gr, git_repo("app", &repo.url(), json!({"branch": "main"}))).await;
    create(
        &ks,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": "default"},
            "spec": {"interval": "1m", "path": "./deploy", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "app"}},
        }),
    )
    .await;
    let v = wait_obj(&ks, "app", 20, ready).await;
    let rev1 = v["status"]["lastAppliedRevision"]
        .as_str()
        .expect("revision")
        .to_string();
    assert!(rev1.starts_with("main@sha1:"));
    assert_eq!(v["status"]["lastAttemptedRevision"], json!(rev1));
    assert_eq!(
        ready_status(&v).expect("Ready").2,
        format!("Applied revision: {rev1}")
    );
    let ids: Vec<&str> = v["status"]["inventory"]["entries"]
        .as_array()
        .expect("inventory")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["_apps__Namespace", "apps_a__ConfigMap", "apps_b__ConfigMap"]
    );
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(c.clone(), "apps");
    let a = cms.get("a").await.expect("a applied");
    assert_eq!(
        a.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kustomize.toolkit.fluxcd.io/name"))
            .map(String::as_str),
        Some("app")
    );
    assert!(cms.get("b").await.is_ok());

    // Change a, remove b, then ask for a reconcile of the source.
    let commit2 = repo.commit(
        &[
            ("deploy/a.yaml", Some(&cm("a", "two"))),
            ("deploy/b.yaml", None),
        ],
        "update",
    );
    annotate(
        &gr,
        "app",
        "reconcile.fluxcd.io/requestedAt",
        "2026-01-01T00:00:00Z",
    )
    .await;
    let g = wait_obj(&gr, "app", 20, |v| {
        v["status"]["lastHandledReconcileAt"] == "2026-01-01T00:00:00Z"
    })
    .await;
    assert_eq!(
        g["status"]["artifact"]["revision"],
        json!(format!("main@sha1:{commit2}"))
    );
    let v = wait_obj(&ks, "app", 20, |v| {
        v["status"]["lastAppliedRevision"] == json!(format!("main@sha1:{commit2}"))
    })
    .await;
    assert_eq!(
        v["status"]["inventory"]["entries"].as_array().map(Vec::len),
        Some(2)
    );
    let a = cms.get("a").await.expect("a");
    assert_eq!(a.data.expect("data")["value"], "two");
    assert!(cms.get_opt("b").await.expect("get").is_none(), "b pruned");

    // Deleting the Kustomization (prune: true) garbage-collects what it applied.
    ks.delete("app", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = eventually(20, || async {
        cms.get_opt("a")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "a deleted with its Kustomization");
}

#[tokio::test(flavor = "multi_thread")]
async fn kustomization_waits_for_dependencies_and_builds_with_substitutions() {
    let (_env, c) = setup().await;
    let repo = Repo::new();
    repo.commit(
        &[
            ("apps/kustomization.yaml", Some("resources:\n  - ns.yaml\n  - cms\n")),
            ("apps/ns.yaml", Some(NAMESPACE)),
            ("apps/cms/kustomization.yaml", Some("resources: [c.yaml]\n")),
            ("apps/cms/c.yaml", Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  env: ${ENV}\n  region: ${REGION:=eu}\n")),
            ("apps/ignored.yaml", Some(&cm("ignored", "x"))),
        ],
        "init",
    );
    let gr = gitrepos(&c, "default");
    let ks = kustomizations(&c, "default");
    create(&gr, git_repo("app", &repo.url(), json!({"branch": "main"}))).await;
    let kustomization = |name: &str, deps: Value, path: &str| {
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "interval": "1m", "path": path, "prune": false, "dependsOn": deps, "targetNamespace": "apps",
                "sourceRef": {"kind": "GitRepository", "name": "app"},
                "postBuild": {"substitute": {"ENV": "prod"}},
            },
        })
    };
    create(
        &ks,
        kustomization("second", json!([{"name": "first"}]), "./apps"),
    )
    .await;
    let v = wait_obj(&ks, "second", 20, |v| {
        ready_status(v).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let (_, reason, message) = ready_status(&v).expect("Ready");
    assert_eq!(
        (reason.as_str(), message.as_str()),
        (
            "DependencyNotReady",
            "dependency 'default/first' is not ready"
        )
    );
    create(&ks, kustomization("first", json!([]), "./apps")).await;
    wait_obj(&ks, "first", 20, ready).await;
    wait_obj(&ks, "second", 20, ready).await;
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(c.clone(), "apps");
    let data = cms.get("c").await.expect("c").data.expect("data");
    assert_eq!(
        (data["env"].as_str(), data["region"].as_str()),
        ("prod", "eu")
    );
    assert!(
        cms.get_opt("ignored").await.expect("get").is_none(),
        "only kustomization.yaml resources are applied"
    );
    // A missing path fails the build.
    create(&ks, kustomization("broken", json!([]), "./nope")).await;
    let v = wait_obj(&ks, "broken", 20, |v| {
        ready_status(v).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    assert_eq!(ready_status(&v).expect("Ready").1, "BuildFailed");
}

#[tokio::test(flavor = "multi_thread")]
async fn suspended_objects_are_left_alone_and_requests_are_handled() {
    let (_env, c) = setup().await;
    let repo = Repo::new();
    repo.commit(&[("a.txt", Some("1"))], "one");
    let api = gitrepos(&c, "default");
    let mut obj = git_repo("held", &repo.url(), json!({"branch": "main"}));
    obj["spec"]["suspend"] = json!(true);
    create(&api, obj).await;
    annotate(&api, "held", "reconcile.fluxcd.io/requestedAt", "first").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let v = serde_json::to_value(api.get("held").await.expect("get")).expect("json");
    assert!(
        v["status"].get("lastHandledReconcileAt").is_none(),
        "suspended: {v}"
    );
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"suspend": false}})),
    )
    .await
    .expect("resume");
    let v = wait_obj(&api, "held", 20, |v| {
        v["status"]["lastHandledReconcileAt"] == "first" && ready(v)
    })
    .await;
    let conds = v["status"]["conditions"].as_array().expect("conditions");
    assert!(
        conds
            .iter()
            .all(|c| c["observedGeneration"] == v["metadata"]["generation"])
    );
    assert!(conds.iter().any(|c| c["type"] == "ArtifactInStorage"));
    // In progress, the Ready condition is Unknown with Reconciling=True.
    let slow = testenv::TestEnv::start(testenv::Options {
        reconcile_delay: std::time::Duration::from_secs(3),
        local_git_urls: true,
        ..Default::default()
    })
    .await
    .expect("start");
    install_flux_crds(&slow);
    let sc = slow.client().await.expect("client");
    let sapi = gitrepos(&sc, "default");
    create(
        &sapi,
        git_repo("slow", &repo.url(), json!({"branch": "main"})),
    )
    .await;
    let v = wait_obj(&sapi, "slow", 10, |v| {
        ready_status(v).is_some_and(|(s, _, _)| s == "Unknown")
    })
    .await;
    let conds = v["status"]["conditions"].as_array().expect("conditions");
    assert!(conds.iter().any(|c| c["type"] == "Reconciling"
        && c["status"] == "True"
        && c["reason"] == "Progressing"));
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_release_installs_upgrades_and_handles_force_and_reset() {
    let (_env, c) = setup().await;
    let repos = dyn_api(
        &c,
        "source.toolkit.fluxcd.io",
        "v1",
        "HelmRepository",
        "helmrepositories",
        "default",
    );
    let charts = dyn_api(
        &c,
        "source.toolkit.fluxcd.io",
        "v1",
        "HelmChart",
        "helmcharts",
        "default",
    );
    let hrs = dyn_api(
        &c,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "default",
    );
    create(&repos, json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository", "metadata": {"name": "podinfo", "namespace": "default"}, "spec": {"interval": "5m", "url": "https://stefanprodan.github.io/podinfo"}})).await;
    create(&hrs, json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "default"},
        "spec": {"interval": "5m", "chart": {"spec": {"chart": "podinfo", "version": "6.5.4", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}, "values": {"replicaCount": 1}},
    }))
    .await;
    let r = wait_obj(&repos, "podinfo", 20, ready).await;
    assert!(
        ready_status(&r)
            .expect("Ready")
            .2
            .starts_with("stored artifact: revision 'sha256:")
    );
    let chart = wait_obj(&charts, "default-podinfo", 20, ready).await;
    assert_eq!(chart["status"]["artifact"]["revision"], "6.5.4");
    assert_eq!(
        ready_status(&chart).expect("Ready").2,
        "pulled 'podinfo' chart with version '6.5.4'"
    );
    let v = wait_obj(&hrs, "podinfo", 20, ready).await;
    assert_eq!(v["status"]["lastAttemptedRevision"], "6.5.4");
    assert_eq!(v["status"]["helmChart"], "default/default-podinfo");
    assert_eq!(v["status"]["history"][0]["version"], 1);
    assert_eq!(v["status"]["history"][0]["chartVersion"], "6.5.4");
    let (_, reason, message) = ready_status(&v).expect("Ready");
    assert_eq!(reason, "InstallSucceeded");
    assert_eq!(
        message,
        "Helm install succeeded for release default/podinfo.v1 with chart podinfo@6.5.4"
    );
    assert_eq!(v["status"]["storageNamespace"], "default");
    // Helm's storage Secret, and the object the chart rendered.
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.clone(), "default");
    let v1 = secrets
        .get("sh.helm.release.v1.podinfo.v1")
        .await
        .expect("storage Secret v1");
    assert_eq!(v1.type_.as_deref(), Some("helm.sh/release.v1"));
    let labels = v1.metadata.labels.clone().unwrap_or_default();
    for (k, want) in [
        ("name", "podinfo"),
        ("owner", "helm"),
        ("status", "deployed"),
        ("version", "1"),
    ] {
        assert_eq!(labels.get(k).map(String::as_str), Some(want), "{k}");
    }
    let configmaps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(c.clone(), "default");
    let cm = configmaps.get("podinfo").await.expect("rendered ConfigMap");
    let labels = cm.metadata.labels.unwrap_or_default();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
    assert_eq!(labels["helm.toolkit.fluxcd.io/name"], "podinfo");
    assert_eq!(labels["helm.toolkit.fluxcd.io/namespace"], "default");
    let annotations = cm.metadata.annotations.unwrap_or_default();
    assert_eq!(annotations["meta.helm.sh/release-name"], "podinfo");
    assert_eq!(annotations["meta.helm.sh/release-namespace"], "default");
    assert_eq!(
        cm.data.unwrap_or_default()["values.yaml"],
        "replicaCount: 1\n"
    );
    // New values upgrade.
    hrs.patch(
        "podinfo",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"values": {"replicaCount": 2}}})),
    )
    .await
    .expect("patch");
    let v = wait_obj(&hrs, "podinfo", 20, |v| {
        ready(v) && v["status"]["history"][0]["version"] == 2
    })
    .await;
    assert_eq!(ready_status(&v).expect("Ready").1, "UpgradeSucceeded");
    assert_eq!(v["status"]["history"][1]["status"], "superseded");
    let status_label = |s: k8s_openapi::api::core::v1::Secret| {
        s.metadata.labels.unwrap_or_default()["status"].clone()
    };
    let v2 = secrets
        .get("sh.helm.release.v1.podinfo.v2")
        .await
        .expect("v2");
    assert_eq!(status_label(v2), "deployed");
    let v1 = secrets
        .get("sh.helm.release.v1.podinfo.v1")
        .await
        .expect("v1");
    assert_eq!(status_label(v1), "superseded");
    let cm = configmaps.get("podinfo").await.expect("rendered ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default()["values.yaml"],
        "replicaCount: 2\n"
    );
    // forceAt (with requestedAt) forces a new release; resetAt is acknowledged.
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "t1", "reconcile.fluxcd.io/forceAt": "t1", "reconcile.fluxcd.io/resetAt": "t1"}}});
    hrs.patch("podinfo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    let v = wait_obj(&hrs, "podinfo", 20, |v| {
        v["status"]["lastHandledForceAt"] == "t1"
    })
    .await;
    assert_eq!(v["status"]["lastHandledReconcileAt"], "t1");
    assert_eq!(v["status"]["lastHandledResetAt"], "t1");
    assert_eq!(v["status"]["history"][0]["version"], 3);
    // An upgrade that renders another object deletes the one it no longer renders.
    hrs.patch(
        "podinfo",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"values": {"fullnameOverride": "renamed"}}})),
    )
    .await
    .expect("patch");
    wait_obj(&hrs, "podinfo", 20, |v| {
        ready(v) && v["status"]["history"][0]["version"] == 4
    })
    .await;
    configmaps.get("renamed").await.expect("the new object");
    assert!(configmaps.get_opt("podinfo").await.expect("get").is_none());
    // Deleting the HelmRelease uninstalls: the rendered object and the storage go.
    hrs.delete("podinfo", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = eventually(20, || async {
        let left = secrets
            .list(&kube::api::ListParams::default().labels("owner=helm,name=podinfo"))
            .await
            .ok()?;
        let cm = configmaps.get_opt("renamed").await.ok()?;
        (left.items.is_empty() && cm.is_none()).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the release was not uninstalled");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_sources_notification_and_image_kinds_get_status() {
    let (_env, c) = setup().await;
    let oci = dyn_api(
        &c,
        "source.toolkit.fluxcd.io",
        "v1",
        "OCIRepository",
        "ocirepositories",
        "default",
    );
    let buckets = dyn_api(
        &c,
        "source.toolkit.fluxcd.io",
        "v1",
        "Bucket",
        "buckets",
        "default",
    );
    let receivers = dyn_api(
        &c,
        "notification.toolkit.fluxcd.io",
        "v1",
        "Receiver",
        "receivers",
        "default",
    );
    let irepos = dyn_api(
        &c,
        "image.toolkit.fluxcd.io",
        "v1",
        "ImageRepository",
        "imagerepositories",
        "default",
    );
    let ipols = dyn_api(
        &c,
        "image.toolkit.fluxcd.io",
        "v1",
        "ImagePolicy",
        "imagepolicies",
        "default",
    );
    let iuas = dyn_api(
        &c,
        "image.toolkit.fluxcd.io",
        "v1",
        "ImageUpdateAutomation",
        "imageupdateautomations",
        "default",
    );
    let meta = |n: &str| json!({"name": n, "namespace": "default"});
    create(&oci, json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository", "metadata": meta("manifests"), "spec": {"interval": "1m", "url": "oci://ghcr.io/org/manifests", "ref": {"tag": "v1"}}})).await;
    // A URL that is not oci:// never reaches the controller: the schema refuses it.
    let bad: DynamicObject = serde_json::from_value(json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository", "metadata": meta("bad"), "spec": {"interval": "1m", "url": "https://ghcr.io/org/manifests"}})).expect("object");
    match oci.create(&PostParams::default(), &bad).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert!(
                status
                    .message
                    .contains("spec.url in body should match '^oci://.*$'"),
                "{}",
                status.message
            );
        }
        other => panic!("a non-oci URL was accepted: {other:?}"),
    }
    create(&buckets, json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket", "metadata": meta("b"), "spec": {"interval": "1m", "bucketName": "x", "endpoint": "minio:9000"}})).await;
    secret(&c, "token", &[("token", "t0k3n")]).await;
    create(&receivers, json!({"apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver", "metadata": meta("hook"), "spec": {"type": "github", "secretRef": {"name": "token"}, "resources": [{"kind": "GitRepository", "name": "app"}]}})).await;
    create(&irepos, json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository", "metadata": meta("app"), "spec": {"interval": "1m", "image": "ghcr.io/org/app"}})).await;
    create(&ipols, json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy", "metadata": meta("app"), "spec": {"imageRepositoryRef": {"name": "app"}, "policy": {"semver": {"range": ">=1.0.0 <2.0.0"}}}})).await;
    create(&iuas, json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation", "metadata": meta("auto"), "spec": {"interval": "1m", "sourceRef": {"kind": "GitRepository", "name": "app"}, "git": {"commit": {"author": {"name": "flux", "email": "flux@example.com"}}}}})).await;
    let v = wait_obj(&oci, "manifests", 20, ready).await;
    assert!(
        v["status"]["artifact"]["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with("v1@sha256:"))
    );
    let v = wait_obj(&buckets, "b", 20, ready).await;
    assert!(
        v["status"]["artifact"]["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with("sha256:"))
    );
    let v = wait_obj(&receivers, "hook", 20, ready).await;
    let path = v["status"]["webhookPath"].as_str().expect("webhookPath");
    // Derived from the token in the Secret, the name and the namespace.
    let digest = ring::digest::digest(&ring::digest::SHA256, b"t0k3nhookdefault");
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(path, format!("/hook/{hex}"));
    let v = wait_obj(&irepos, "app", 20, ready).await;
    assert_eq!(v["status"]["lastScanResult"]["tagCount"], 5);
    assert!(v["status"]["lastScanResult"]["scanTime"].is_string());
    let v = wait_obj(&ipols, "app", 20, ready).await;
    assert_eq!(
        v["status"]["latestRef"],
        json!({"name": "ghcr.io/org/app", "tag": "1.2.0"})
    );
    let v = wait_obj(&iuas, "auto", 20, ready).await;
    assert!(v["status"]["lastAutomationRunTime"].is_string());
    // A HelmRelease with a chartRef to an OCIRepository uses its artifact revision.
    let hrs = dyn_api(
        &c,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "default",
    );
    create(&hrs, json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": meta("oci"), "spec": {"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "manifests"}}})).await;
    let v = wait_obj(&hrs, "oci", 20, ready).await;
    let oci_rev = serde_json::to_value(oci.get("manifests").await.expect("oci")).expect("json")["status"]["artifact"]["revision"].clone();
    assert_eq!(v["status"]["lastAttemptedRevision"], oci_rev);
    assert!(
        v["status"].get("helmChart").is_none(),
        "no HelmChart for chartRef"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn controllers_emit_events_and_log_lines() {
    let (env, c) = setup().await;
    // A source-controller Deployment in flux-system gets a pod whose log carries reconciles.
    env.apply_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: source-controller, namespace: flux-system}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: source-controller}}\n  template:\n    metadata: {labels: {app: source-controller}}\n    spec: {containers: [{name: manager, image: ghcr.io/fluxcd/source-controller:v1.7.0}]}\n",
    )
    .expect("apply");
    let deploys = dyn_api(&c, "apps", "v1", "Deployment", "deployments", "flux-system");
    let d = wait_obj(&deploys, "source-controller", 20, |v| {
        v["status"]["availableReplicas"] == 1
    })
    .await;
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    assert!(
        d["status"]["conditions"]
            .as_array()
            .expect("conds")
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable")
    );
    let repo = Repo::new();
    repo.commit(&[("a.txt", Some("1"))], "one");
    create(
        &gitrepos(&c, "default"),
        git_repo("app", &repo.url(), json!({"branch": "main"})),
    )
    .await;
    wait_obj(&gitrepos(&c, "default"), "app", 20, ready).await;
    let events: kube::Api<k8s_openapi::api::core::v1::Event> =
        kube::Api::namespaced(c.clone(), "default");
    let lp = kube::api::ListParams::default()
        .fields("involvedObject.kind=GitRepository,involvedObject.name=app");
    let found = eventually(10, || async {
        events.list(&lp).await.ok().filter(|l| !l.items.is_empty())
    })
    .await
    .expect("an event");
    let e = &found.items[0];
    assert_eq!(e.reason.as_deref(), Some("NewArtifact"));
    assert_eq!(e.type_.as_deref(), Some("Normal"));
    assert_eq!(
        e.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("source-controller")
    );
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(c.clone(), "flux-system");
    let pod = pods
        .list(&kube::api::ListParams::default().labels("app=source-controller"))
        .await
        .expect("pods")
        .items[0]
        .clone();
    let name = pod.metadata.name.expect("name");
    // The controller writes its log line after the event, so wait for it too.
    let line: Value = eventually(10, || async {
        let logs = pods.logs(&name, &Default::default()).await.ok()?;
        logs.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["controllerKind"] == "GitRepository")
    })
    .await
    .expect("a reconcile line");
    for field in [
        "level",
        "ts",
        "msg",
        "controller",
        "name",
        "namespace",
        "reconcileID",
    ] {
        assert!(line.get(field).is_some(), "{field} in {line}");
    }
    assert_eq!(line["name"], "app");
    assert_eq!(
        line["GitRepository"],
        json!({"name": "app", "namespace": "default"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_style_sync_applies_components_from_the_repository() {
    let (_env, c) = setup().await;
    // A flux-system layout: CRDs and a controller Deployment committed, synced by a Kustomization.
    let crds_dir = flux_crds_dir().expect("crds");
    let gitrepo_crd =
        std::fs::read_to_string(crds_dir.join("gitrepositories.source.toolkit.fluxcd.io.yaml"))
            .expect("crd");
    let components = format!(
        "{NS}---\n{gitrepo_crd}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: source-controller, namespace: flux-system}}\nspec:\n  selector: {{matchLabels: {{app: source-controller}}}}\n  template:\n    metadata: {{labels: {{app: source-controller}}}}\n    spec: {{containers: [{{name: manager, image: ghcr.io/fluxcd/source-controller:v1.7.0}}]}}\n",
        NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n"
    );
    let repo = Repo::new();
    repo.commit(
        &[
            ("clusters/dev/flux-system/gotk-components.yaml", Some(&components)),
            ("clusters/dev/flux-system/kustomization.yaml", Some("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n")),
        ],
        "Add Flux components",
    );
    let nsapi: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(c.clone());
    nsapi
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "flux-system"}})).expect("ns"),
        )
        .await
        .expect("namespace");
    create(&gitrepos(&c, "flux-system"), {
        let mut g = git_repo("flux-system", &repo.url(), json!({"branch": "main"}));
        g["metadata"]["namespace"] = json!("flux-system");
        g
    })
    .await;
    create(
        &kustomizations(&c, "flux-system"),
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "flux-system", "namespace": "flux-system"}, "spec": {"interval": "10m", "path": "./clusters/dev", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}}),
    )
    .await;
    wait_obj(&kustomizations(&c, "flux-system"), "flux-system", 20, ready).await;
    let deploys = dyn_api(&c, "apps", "v1", "Deployment", "deployments", "flux-system");
    wait_obj(&deploys, "source-controller", 20, |v| {
        v["status"]["readyReplicas"] == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_are_polled_at_their_interval() {
    let (_env, c) = setup().await;
    let repo = Repo::new();
    repo.commit(&[("a.txt", Some("1"))], "one");
    let api = gitrepos(&c, "default");
    let mut obj = git_repo("polled", &repo.url(), json!({"branch": "main"}));
    obj["spec"]["interval"] = json!("1s");
    create(&api, obj).await;
    wait_obj(&api, "polled", 20, ready).await;
    let second = repo.commit(&[("a.txt", Some("2"))], "two");
    let want = json!(format!("main@sha1:{second}"));
    let v = wait_obj(&api, "polled", 20, |v| {
        v["status"]["artifact"]["revision"] == want
    })
    .await;
    assert!(
        v["status"].get("lastHandledReconcileAt").is_none(),
        "no request was needed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn git_repository_fetches_from_a_loopback_git_server() {
    let Ok(git) = which_git() else {
        skip("the git binary (for `git daemon`) is not installed");
        return;
    };
    let (_env, c) = setup().await;
    let repo = Repo::new();
    let first = repo.commit(&[("a.txt", Some("1"))], "one");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let base = repo.dir.path().parent().expect("parent").to_path_buf();
    let name = repo
        .dir
        .path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    // git-daemon itself (not the `git daemon` wrapper) so that killing it leaves no orphan.
    let exec_path = std::process::Command::new(git)
        .arg("--exec-path")
        .output()
        .expect("git --exec-path");
    let exec_path = String::from_utf8_lossy(&exec_path.stdout)
        .trim()
        .to_string();
    let mut daemon =
        tokio::process::Command::new(std::path::Path::new(&exec_path).join("git-daemon"))
            .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(&base)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("git daemon");
    let up = eventually(10, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    assert!(up.is_some(), "git daemon listening");
    let url = format!("git://127.0.0.1:{port}/{name}");
    let api = gitrepos(&c, "default");
    create(&api, git_repo("served", &url, json!({"branch": "main"}))).await;
    let v = wait_obj(&api, "served", 20, ready).await;
    assert_eq!(
        v["status"]["artifact"]["revision"],
        json!(format!("main@sha1:{first}"))
    );
    let second = repo.commit(&[("a.txt", Some("2"))], "two");
    annotate(&api, "served", "reconcile.fluxcd.io/requestedAt", "now").await;
    let want = json!(format!("main@sha1:{second}"));
    wait_obj(&api, "served", 20, |v| {
        v["status"]["artifact"]["revision"] == want
    })
    .await;
    daemon.kill().await.expect("stop git daemon");
}

fn which_git() -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .ok_or(())
}

/// A Secret in `default` from string values.
async fn secret(c: &kube::Client, name: &str, data: &[(&str, &str)]) {
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.clone(), "default");
    let s = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
    });
    api.create(
        &PostParams::default(),
        &serde_json::from_value(s).expect("secret"),
    )
    .await
    .expect("create secret");
}

fn git_repo_with_secret(name: &str, url: &str, secret: &str) -> Value {
    let mut v = git_repo(name, url, json!({"branch": "main"}));
    v["spec"]["secretRef"] = json!({"name": secret});
    v
}

fn failed(v: &Value) -> bool {
    ready_status(v).is_some_and(|(s, _, _)| s == "False")
}

/// OpenSSH's sshd on 127.0.0.1 with its own host key and authorized_keys; killed on drop.
struct Sshd {
    dir: tempfile::TempDir,
    child: std::process::Child,
    port: u16,
}

impl Sshd {
    fn start() -> Result<Sshd, String> {
        let sshd = "/usr/sbin/sshd";
        if !std::path::Path::new(sshd).exists() {
            return Err("sshd is not installed (openssh-server)".into());
        }
        let dir = tempfile::tempdir().expect("tmp");
        let host_key = keygen(dir.path(), "host", &["-t", "ed25519"]);
        std::fs::write(dir.path().join("authorized_keys"), "").expect("authorized_keys");
        // Run as root, sshd wants its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nLogLevel ERROR\n",
                host_key.display(),
                dir.path().join("authorized_keys").display(),
                dir.path().join("sshd.pid").display(),
            ),
        )
        .expect("sshd_config");
        let child = std::process::Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("sshd: {e}"))?;
        let server = Sshd { dir, child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("sshd did not start listening".into())
    }

    fn authorize(&self, public_key: &str) {
        let path = self.dir.path().join("authorized_keys");
        let mut keys = std::fs::read_to_string(&path).expect("read");
        keys.push_str(public_key);
        std::fs::write(path, keys).expect("write");
    }

    /// `[127.0.0.1]:PORT ssh-ed25519 AAAA...` for the public key file `key`.pub.
    fn known_hosts_line(&self, key: &std::path::Path) -> String {
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
        let mut fields = public.split_whitespace();
        let (t, k) = (fields.next().expect("type"), fields.next().expect("key"));
        format!("[127.0.0.1]:{} {t} {k}\n", self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Generates `dir/name` (private) and `dir/name.pub` with ssh-keygen and the given options.
fn keygen(dir: &std::path::Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut cmd = std::process::Command::new("ssh-keygen");
    cmd.args(["-q", "-C", "test"])
        .args(args)
        .arg("-f")
        .arg(&path);
    if !args.contains(&"-N") {
        cmd.args(["-N", ""]);
    }
    assert!(cmd.status().expect("ssh-keygen").success());
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn git_repository_fetches_over_ssh_with_the_secret_keys() {
    let sshd = match Sshd::start() {
        Ok(s) => s,
        Err(why) => {
            skip(&why);
            return;
        }
    };
    let (_env, c) = setup().await;
    let repo = Repo::new();
    let first = repo.commit(&[("a.txt", Some("1"))], "one");
    let url = format!(
        "ssh://root@127.0.0.1:{}{}",
        sshd.port,
        repo.dir.path().display()
    );
    let keys = tempfile::tempdir().expect("tmp");
    let pkcs8 = keygen(keys.path(), "pkcs8", &["-t", "ecdsa", "-m", "PKCS8"]);
    let openssh = keygen(keys.path(), "openssh", &["-t", "ed25519", "-N", "secret"]);
    let stranger = keygen(keys.path(), "stranger", &["-t", "ed25519"]);
    let other_host = keygen(keys.path(), "other-host", &["-t", "ed25519"]);
    for k in [&pkcs8, &openssh] {
        sshd.authorize(&std::fs::read_to_string(k.with_extension("pub")).expect("pub"));
    }
    let read = |p: &std::path::Path| std::fs::read_to_string(p).expect("key");
    assert!(read(&pkcs8).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(read(&openssh).starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let known = sshd.known_hosts_line(&sshd.dir.path().join("host"));
    // The hashed form that `ssh-keygen -H` writes must match as well.
    let hashed_file = keys.path().join("known_hosts");
    std::fs::write(&hashed_file, &known).expect("known_hosts");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-H", "-f"])
            .arg(&hashed_file)
            .output()
            .expect("ssh-keygen -H")
            .status
            .success()
    );
    let hashed = read(&hashed_file);
    assert!(hashed.starts_with("|1|"), "{hashed}");
    let mismatch = sshd.known_hosts_line(&other_host);
    secret(
        &c,
        "pkcs8",
        &[("identity", &read(&pkcs8)), ("known_hosts", &known)],
    )
    .await;
    secret(
        &c,
        "openssh",
        &[
            ("identity", &read(&openssh)),
            ("password", "secret"),
            ("known_hosts", &hashed),
        ],
    )
    .await;
    secret(
        &c,
        "stranger",
        &[("identity", &read(&stranger)), ("known_hosts", &known)],
    )
    .await;
    secret(
        &c,
        "mismatch",
        &[("identity", &read(&pkcs8)), ("known_hosts", &mismatch)],
    )
    .await;
    let api = gitrepos(&c, "default");
    for name in ["pkcs8", "openssh", "stranger", "mismatch"] {
        create(&api, git_repo_with_secret(name, &url, name)).await;
    }
    let want = json!(format!("main@sha1:{first}"));
    for name in ["pkcs8", "openssh"] {
        let v = wait_obj(&api, name, 30, ready).await;
        assert_eq!(v["status"]["artifact"]["revision"], want, "{name}");
    }
    let v = wait_obj(&api, "stranger", 30, failed).await;
    let (_, reason, message) = ready_status(&v).expect("Ready");
    assert_eq!(reason, "GitOperationFailed");
    assert_eq!(
        message,
        format!(
            "failed to checkout and determine revision: unable to clone '{url}': ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"
        )
    );
    let v = wait_obj(&api, "mismatch", 30, failed).await;
    assert_eq!(
        ready_status(&v).expect("Ready").2,
        format!(
            "failed to checkout and determine revision: unable to clone '{url}': ssh: handshake failed: knownhosts: key mismatch"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn git_repository_fetches_over_http_with_basic_auth_or_a_bearer_token() {
    if which_git().is_err() {
        skip("the git binary (for `git http-backend`) is not installed");
        return;
    }
    let (_env, c) = setup().await;
    let repo = Repo::new();
    let first = repo.commit(&[("a.txt", Some("1"))], "one");
    let root = repo.dir.path().parent().expect("parent").to_path_buf();
    let name = repo
        .dir
        .path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let accepted = vec![
        testenv::git_http::basic_auth("flux", "s3cret"),
        "Bearer t0ken".to_string(),
    ];
    let server = testenv::git_http::HttpGitServer::serve_dir(&root, 0, accepted, "flux", false)
        .expect("serving");
    let url = format!("http://127.0.0.1:{}/{name}/.git", server.port());
    secret(&c, "basic", &[("username", "flux"), ("password", "s3cret")]).await;
    secret(&c, "bearer", &[("bearerToken", "t0ken")]).await;
    secret(&c, "wrong", &[("username", "flux"), ("password", "nope")]).await;
    let api = gitrepos(&c, "default");
    for secret in ["basic", "bearer", "wrong", "absent"] {
        create(&api, git_repo_with_secret(secret, &url, secret)).await;
    }
    create(&api, git_repo("anonymous", &url, json!({"branch": "main"}))).await;
    let want = json!(format!("main@sha1:{first}"));
    for name in ["basic", "bearer"] {
        let v = wait_obj(&api, name, 30, ready).await;
        assert_eq!(v["status"]["artifact"]["revision"], want, "{name}");
    }
    for name in ["wrong", "anonymous"] {
        let v = wait_obj(&api, name, 30, failed).await;
        assert_eq!(
            ready_status(&v).expect("Ready").2,
            format!(
                "failed to checkout and determine revision: unable to clone '{url}': authentication required"
            ),
            "{name}"
        );
    }
    let v = wait_obj(&api, "absent", 30, failed).await;
    let (_, reason, message) = ready_status(&v).expect("Ready");
    assert_eq!(reason, "AuthenticationFailed");
    assert_eq!(
        message,
        "failed to get secret 'default/absent': secrets \"absent\" not found"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn controllers_started_from_a_client_wait_for_their_crds() {
    // The entry point another API server gets: only a client, no pod log sink.
    let env = testenv::TestEnv::start(testenv::Options {
        controllers: false,
        local_git_urls: true,
        ..Default::default()
    })
    .await
    .expect("testenv starts");
    let c = env.client().await.expect("client");
    let git_cache = tempfile::tempdir().expect("tmp");
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    testenv::spawn_controllers(
        c.clone(),
        testenv::ControllerOptions {
            reconcile_delay: std::time::Duration::from_millis(20),
            deployment_delay: std::time::Duration::from_millis(20),
            git_cache: git_cache.path().to_path_buf(),
            logs: None,
            receiver_addr: testenv::DEFAULT_RECEIVER_ADDR,
        },
        shutdown,
    )
    .expect("controllers start");
    // The Flux CRDs arrive after the controllers started, as `flux install` installs them.
    install_flux_crds(&env);
    let repo = Repo::new();
    let commit = repo.commit(&[("a.txt", Some("1"))], "one");
    create(
        &gitrepos(&c, "default"),
        git_repo("app", &repo.url(), json!({"branch": "main"})),
    )
    .await;
    let v = wait_obj(&gitrepos(&c, "default"), "app", 20, ready).await;
    assert_eq!(
        v["status"]["artifact"]["revision"],
        json!(format!("main@sha1:{commit}"))
    );
    env.apply_yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
    )
    .expect("apply");
    let deploys = dyn_api(&c, "apps", "v1", "Deployment", "deployments", "default");
    let d = wait_obj(&deploys, "web", 20, |v| {
        v["status"]["availableReplicas"] == 2
    })
    .await;
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    let _ = stop.send(true);
    env.stop().await;
}

/// POSTs `body` to the receiver server at `path` with `headers`; the status code.
async fn post_hook(base: &str, path: &str, headers: &[(&str, String)], body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

fn hex_hmac_sha256(key: &str, body: &str) -> String {
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()),
        body.as_bytes(),
    );
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_webhooks_annotate_the_resources_they_name() {
    let (env, c) = setup().await;
    let base = env.receiver_url().expect("the receiver server runs");
    let receivers = dyn_api(
        &c,
        "notification.toolkit.fluxcd.io",
        "v1",
        "Receiver",
        "receivers",
        "default",
    );
    let repos = gitrepos(&c, "default");
    for (name, labels) in [
        ("web-a", json!({"app": "web"})),
        ("web-b", json!({"app": "web"})),
        ("other", json!({"app": "other"})),
    ] {
        let mut repo = git_repo(name, "https://example.com/x.git", json!({"branch": "main"}));
        repo["metadata"]["labels"] = labels;
        create(&repos, repo).await;
    }
    secret(&c, "gh", &[("token", "gh-secret")]).await;
    secret(&c, "gl", &[("token", "gl-secret")]).await;
    let receiver = |name: &str, kind: &str, secret: &str, resources: Value| {
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": kind, "events": ["push"], "secretRef": {"name": secret}, "resources": resources},
        })
    };
    let labelled = json!([{"kind": "GitRepository", "name": "*", "matchLabels": {"app": "web"}}]);
    create(&receivers, receiver("gh", "github", "gh", labelled)).await;
    create(
        &receivers,
        receiver(
            "gl",
            "gitlab",
            "gl",
            json!([{"kind": "GitRepository", "name": "other"}]),
        ),
    )
    .await;
    create(
        &receivers,
        receiver(
            "missing",
            "gitlab",
            "gl",
            json!([{"kind": "GitRepository", "name": "nope"}]),
        ),
    )
    .await;
    let path_of = |v: &Value| {
        v["status"]["webhookPath"]
            .as_str()
            .expect("path")
            .to_string()
    };
    let gh = path_of(&wait_obj(&receivers, "gh", 20, ready).await);
    let gl = path_of(&wait_obj(&receivers, "gl", 20, ready).await);
    let missing = path_of(&wait_obj(&receivers, "missing", 20, ready).await);
    let requested = |v: &Value| {
        v["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
            .as_str()
            .map(String::from)
    };
    let annotated = async |name: &str| {
        requested(&serde_json::to_value(repos.get(name).await.expect("get")).unwrap())
    };

    // GitHub: signed and a listed event annotates the labelled repositories only.
    let body = r#"{"ref":"refs/heads/main"}"#;
    let signed = |event: &str| {
        vec![
            ("Content-Type", "application/json".to_string()),
            ("X-GitHub-Event", event.to_string()),
            (
                "X-Hub-Signature-256",
                format!("sha256={}", hex_hmac_sha256("gh-secret", body)),
            ),
        ]
    };
    assert_eq!(post_hook(&base, &gh, &signed("ping"), body).await, 400);
    assert_eq!(annotated("web-a").await, None);
    let mut forged = signed("push");
    forged[2].1 = format!("sha256={}", hex_hmac_sha256("guess", body));
    assert_eq!(post_hook(&base, &gh, &forged, body).await, 400);
    assert_eq!(post_hook(&base, &gh, &signed("push"), body).await, 200);
    assert!(annotated("web-a").await.is_some());
    assert!(annotated("web-b").await.is_some());
    assert_eq!(annotated("other").await, None);

    // GitLab: the token header.
    let gitlab = |token: &str| {
        vec![
            ("X-Gitlab-Token", token.to_string()),
            ("X-Gitlab-Event", "Push".to_string()),
        ]
    };
    assert_eq!(post_hook(&base, &gl, &gitlab("wrong"), "{}").await, 400);
    assert_eq!(annotated("other").await, None);
    assert_eq!(post_hook(&base, &gl, &gitlab("gl-secret"), "{}").await, 200);
    let first = annotated("other").await.expect("annotated");
    // The source controller handles the request.
    let handled = wait_obj(&repos, "other", 20, |v| {
        v["status"]["lastHandledReconcileAt"].as_str() == Some(first.as_str())
    })
    .await;
    assert!(ready(&handled), "{handled}");

    // A resource that does not exist is a server error; an unknown path is not found.
    assert_eq!(
        post_hook(&base, &missing, &gitlab("gl-secret"), "{}").await,
        500
    );
    assert_eq!(
        post_hook(&base, "/hook/0000", &gitlab("gl-secret"), "{}").await,
        404
    );
    assert_eq!(post_hook(&base, "/elsewhere", &[], "{}").await, 404);

    // Without its Secret a Receiver is not ready and has no path; once the Secret exists it is.
    create(
        &receivers,
        receiver(
            "later",
            "generic",
            "later",
            json!([{"kind": "GitRepository", "name": "other"}]),
        ),
    )
    .await;
    let v = wait_obj(&receivers, "later", 20, |v| {
        ready_status(v)
            .is_some_and(|(status, reason, _)| status == "False" && reason == "TokenNotFound")
    })
    .await;
    assert!(
        v["status"]
            .get("webhookPath")
            .is_none_or(|p| p.is_null() || p == ""),
        "{v}"
    );
    secret(&c, "later", &[("token", "t")]).await;
    wait_obj(&receivers, "later", 20, ready).await;
}
