//! `flux build kustomization`: every upstream build golden, from a
//! Kustomization file without a cluster and from a Kustomization on each
//! test backend, and the refusals upstream makes.

use std::path::{Path, PathBuf};

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};
use crate::common::{Run, flux, shared_dir};

const NS: &str = "flux-system";

fn testdata() -> PathBuf {
    shared_dir().join("conformance/flux2-testdata/build-kustomization")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flux-build-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `flux` in `cwd` without a cluster.
fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let output = flux()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("flux runs");
    Run::from(output)
}

/// The Kustomization upstream's local-build test writes to a file.
fn kustomization_file(dir: &TempDir) -> String {
    let text = fixture("build-kustomization/podinfo-kustomization.yaml", NS);
    dir.write("podinfo.yaml", &text).display().to_string()
}

fn golden(name: &str) -> String {
    fixture(&format!("build-kustomization/{name}"), NS)
}

fn assert_golden(out: &Run, name: &str) {
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{name}");
    assert_eq!(out.stdout, golden(name), "{name}");
}

/// The golden cases: extra flags, and the golden file they reproduce.
const CASES: &[(&[&str], &str)] = &[
    (&["--path", "./podinfo"], "podinfo-result.yaml"),
    (
        &["--path", "./podinfo", "--in-memory-build=true"],
        "podinfo-result.yaml",
    ),
    (
        &["--path", "./../build-kustomization/podinfo"],
        "podinfo-result.yaml",
    ),
    (&["--path", ".//podinfo"], "podinfo-result.yaml"),
    (
        &["--path", "./delete-service"],
        "podinfo-without-service-result.yaml",
    ),
    (
        &["--path", "./var-substitution"],
        "podinfo-with-var-substitution-result.yaml",
    ),
    (
        &[
            "--path",
            "./ignore",
            "--ignore-paths",
            "!configmap.yaml,!secret.yaml",
        ],
        "podinfo-with-ignore-result.yaml",
    ),
    (
        &[
            "--path",
            "./ignore",
            "--ignore-paths",
            "!configmap.yaml,!secret.yaml",
            "--in-memory-build",
        ],
        "podinfo-with-ignore-result.yaml",
    ),
    (
        &[
            "--path",
            "./podinfo-with-my-app",
            "--recursive",
            "--local-sources",
            "GitRepository/default/podinfo=.",
        ],
        "podinfo-with-my-app-result.yaml",
    ),
    (
        &[
            "--path",
            "./podinfo-with-my-app",
            "-r",
            "--local-sources",
            "GitRepository/default/podinfo=.",
            "--in-memory-build",
        ],
        "podinfo-with-my-app-result.yaml",
    ),
];

#[test]
fn dry_run_builds_reproduce_every_upstream_golden() {
    let tmp = TempDir::new("goldens");
    let file = kustomization_file(&tmp);
    for (flags, golden) in CASES {
        let mut args = vec![
            "build",
            "kustomization",
            "podinfo",
            "--kustomization-file",
            &file,
            "--dry-run",
            "-n",
            NS,
        ];
        args.extend_from_slice(flags);
        let out = run_in(&testdata(), &args);
        assert_golden(&out, golden);
    }
}

#[test]
fn dry_run_build_with_an_absolute_path_matches_the_golden() {
    let tmp = TempDir::new("abs");
    let file = kustomization_file(&tmp);
    let path = testdata().join("podinfo").display().to_string();
    let out = run_in(
        &tmp.0,
        &[
            "build",
            "ks",
            "podinfo",
            "--path",
            &path,
            "--kustomization-file",
            &file,
            "--dry-run",
            "-n",
            NS,
        ],
    );
    assert_golden(&out, "podinfo-result.yaml");
}

/// Upstream's in-memory backend reads nothing outside the working
/// directory; the default backend builds any path.
#[test]
fn in_memory_build_is_confined_to_the_working_directory() {
    let tmp = TempDir::new("outside");
    let cwd = tmp.0.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    tmp.write(
        "source/kustomization.yaml",
        "resources:\n- configmap.yaml\n",
    );
    tmp.write(
        "source/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside-cwd\n",
    );
    let file = tmp.write(
        "app.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: default\nspec:\n  interval: 5m\n  path: ./source\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n",
    );
    let source = tmp.0.join("source").display().to_string();
    let file = file.display().to_string();
    let args = [
        "build",
        "ks",
        "app",
        "--path",
        &source,
        "--kustomization-file",
        &file,
        "-n",
        "default",
        "--dry-run",
    ];
    let out = run_in(&cwd, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("name: outside-cwd\n"), "{}", out.stdout);
    assert!(out.stdout.ends_with("---\n"), "{}", out.stdout);
    let mut in_memory = args.to_vec();
    in_memory.push("--in-memory-build");
    let out = run_in(&cwd, &in_memory);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("✗ kustomize build failed: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is not in or below"), "{}", out.stderr);
    // Nothing was written into the source directory.
    let mut names: Vec<_> = std::fs::read_dir(tmp.0.join("source"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["configmap.yaml", "kustomization.yaml"]);
}

#[test]
fn a_directory_without_kustomization_is_generated_with_upstreams_rules() {
    let tmp = TempDir::new("generated");
    let cm = |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
    tmp.write("app/b.yaml", &cm("b"));
    tmp.write("app/a.yml", &cm("a"));
    tmp.write("app/notes.txt", "not a manifest");
    tmp.write("app/.sops.yaml", "creation_rules: []\n");
    tmp.write("app/skip/x.yaml", &cm("skipped"));
    tmp.write("app/.sourceignore", "skip/\n");
    tmp.write("app/nested/kustomization.yaml", "resources:\n- c.yaml\n");
    tmp.write("app/nested/c.yaml", &cm("c"));
    tmp.write(
        "app/nested/ignored-by-kustomization.yaml",
        &cm("not-listed"),
    );
    let file = tmp.write(
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\nspec:\n  path: ./app\n  targetNamespace: apps\n  namePrefix: p-\n",
    );
    let out = run_in(
        &tmp.0,
        &[
            "build",
            "ks",
            "app",
            "--path",
            "app",
            "--kustomization-file",
            &file.display().to_string(),
            "--dry-run",
        ],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let names: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .collect();
    // Walk order (a.yml, b.yaml, nested), no .sops.yaml, nothing under skip/.
    assert_eq!(names, ["p-a", "p-b", "p-c"]);
    // A file without namespace keeps the empty namespace in the owner label.
    assert!(
        out.stdout
            .contains("    kustomize.toolkit.fluxcd.io/namespace: \"\"\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("  namespace: apps\n"), "{}", out.stdout);
    // An empty directory builds nothing.
    std::fs::create_dir_all(tmp.0.join("empty")).unwrap();
    let out = run_in(
        &tmp.0,
        &[
            "build",
            "ks",
            "app",
            "--path",
            "empty",
            "--kustomization-file",
            &file.display().to_string(),
            "--dry-run",
        ],
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
}

/// A kustomization without resources gets upstream's origin annotations.
#[test]
fn a_kustomization_without_resources_carries_origin_annotations() {
    let tmp = TempDir::new("origin");
    tmp.write(
        "app/kustomization.yaml",
        "configMapGenerator:\n- name: cfg\n  literals: [a=1]\n",
    );
    let file = tmp.write(
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: default\nspec:\n  path: ./app\n",
    );
    let file = file.display().to_string();
    let out = run_in(
        &tmp.0,
        &[
            "build",
            "ks",
            "app",
            "--path",
            "app",
            "--kustomization-file",
            &file,
            "--dry-run",
            "-n",
            "default",
        ],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        "apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    config.kubernetes.io/origin: |\n      configuredIn: kustomization.yaml\n      configuredBy:\n        apiVersion: builtin\n        kind: ConfigMapGenerator\n  labels:\n    kustomize.toolkit.fluxcd.io/name: app\n    kustomize.toolkit.fluxcd.io/namespace: default\n  name: cfg-h29d89cmmt\n---\n"
    );
}

#[test]
fn strict_substitution_refuses_an_unset_variable() {
    let tmp = TempDir::new("strict");
    tmp.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  region: ${region}\n  env: ${env:=dev}\n");
    let file = tmp.write(
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: default\nspec:\n  path: ./app\n  postBuild:\n    substitute:\n      other: x\n",
    );
    let file = file.display().to_string();
    let args = [
        "build",
        "ks",
        "app",
        "--path",
        "app",
        "--kustomization-file",
        &file,
        "--dry-run",
        "-n",
        "default",
    ];
    let out = run_in(&tmp.0, &args);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    // An unset variable leaves an empty scalar: YAML null.
    assert!(
        out.stdout.contains("  env: dev\n  region: null\n"),
        "{}",
        out.stdout
    );
    let mut strict = args.to_vec();
    strict.push("--strict-substitute");
    let out = run_in(&tmp.0, &strict);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "✗ var substitution failed for 'app': envsubst error: variable substitution failed: variable not set (strict mode): \"region\"\n"
    );
}

#[test]
fn bad_input_is_refused_in_upstreams_order_and_words() {
    let tmp = TempDir::new("errors");
    let file = kustomization_file(&tmp);
    let dir = testdata();
    let missing = dir.join("nope").display().to_string();
    for (args, message) in [
        (
            vec!["build", "ks"],
            "kustomization name is required".to_string(),
        ),
        (
            vec!["build", "ks", "podinfo"],
            "invalid resource path \"\"".to_string(),
        ),
        (
            vec!["build", "ks", "podinfo", "--path", "./nope"],
            format!("invalid resource path {missing:?}"),
        ),
        (
            vec![
                "build",
                "ks",
                "podinfo",
                "--path",
                "./podinfo/kustomization.yaml",
            ],
            format!(
                "invalid resource path {:?}",
                dir.join("podinfo/kustomization.yaml").display().to_string()
            ),
        ),
        (
            vec!["build", "ks", "podinfo", "--path", "./podinfo", "--dry-run"],
            "dry-run mode requires a kustomization file".to_string(),
        ),
        (
            vec![
                "build",
                "ks",
                "podinfo",
                "--path",
                "./podinfo",
                "--kustomization-file",
                "./wrongfile/",
            ],
            "invalid kustomization file \"./wrongfile/\"".to_string(),
        ),
        (
            vec![
                "build",
                "ks",
                "podinfo",
                "--path",
                "./podinfo",
                "--kustomization-file",
                "./podinfo",
                "--dry-run",
            ],
            "invalid kustomization file \"./podinfo\"".to_string(),
        ),
        (
            vec![
                "build",
                "ks",
                "other",
                "--path",
                "./podinfo",
                "--kustomization-file",
                &file,
                "--dry-run",
                "-n",
                NS,
            ],
            format!(
                "failed to get kustomization object: failed find kustomization with name 'other' and namespace '{NS}' in file '{file}'"
            ),
        ),
        (
            vec![
                "build",
                "ks",
                "podinfo",
                "--path",
                "./podinfo-with-my-app",
                "-r",
                "--kustomization-file",
                &file,
                "--dry-run",
                "-n",
                NS,
            ],
            "cannot get local path for GitRepository/default/podinfo of kustomization my-app"
                .to_string(),
        ),
        (
            vec![
                "build",
                "ks",
                "podinfo",
                "--path",
                "./podinfo",
                "--local-sources",
                "x",
            ],
            "invalid argument \"x\" for \"--local-sources\" flag: x must be formatted as key=value"
                .to_string(),
        ),
    ] {
        let out = run_in(&dir, &args);
        assert_eq!(out.code, 1, "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(out.stderr, format!("✗ {message}\n"), "{args:?}");
    }
}

/// A child Kustomization that fails to build fails the whole build, and
/// nothing is printed.
#[test]
fn a_build_error_in_a_child_kustomization_fails_the_build() {
    let tmp = TempDir::new("child");
    tmp.write("parent/child.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\n  namespace: default\nspec:\n  path: ./child\n  sourceRef:\n    kind: GitRepository\n    name: repo\n");
    tmp.write("child/kustomization.yaml", "resources:\n- missing.yaml\n");
    let file = tmp.write("ks.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: parent\n  namespace: default\nspec:\n  path: ./parent\n");
    let out = run_in(
        &tmp.0,
        &[
            "build",
            "ks",
            "parent",
            "--path",
            "parent",
            "--kustomization-file",
            &file.display().to_string(),
            "--dry-run",
            "-n",
            "default",
            "-r",
            "--local-sources",
            "GitRepository/default/repo=.",
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "✗ failed to generate kustomization.yaml: lstat {}: no such file or directory <nil>\n",
            tmp.0.join("child/missing.yaml").display()
        )
    );
}

fn cluster_with_podinfo(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(&fixture("build-kustomization/podinfo-source.yaml", NS));
    cluster.load(&fixture(
        "build-kustomization/podinfo-kustomization.yaml",
        NS,
    ));
    cluster
}

/// The Kustomization read from the cluster, as upstream's
/// `TestBuildKustomization` runs it.
fn live_builds_reproduce_the_goldens(backend: Backend) {
    let cluster = cluster_with_podinfo(backend);
    let dir = testdata();
    let local = format!("GitRepository/default/podinfo={}", dir.display());
    for (flags, golden) in CASES {
        // Relative paths and the in-memory backend depend on the working
        // directory; those cases ran above without a cluster.
        if flags
            .iter()
            .any(|f| f.contains("..") || f.starts_with(".//") || f.starts_with("--in-memory"))
        {
            continue;
        }
        let flags: Vec<String> = flags
            .iter()
            .map(|f| match f.strip_prefix("./") {
                Some(rel) => dir.join(rel).display().to_string(),
                None if f.starts_with("GitRepository/") => local.clone(),
                None => f.to_string(),
            })
            .collect();
        let mut args = vec!["build", "kustomization", "podinfo", "-n", NS];
        args.extend(flags.iter().map(String::as_str));
        let out = cluster.flux(&args);
        assert_eq!(out.stderr, "", "{args:?}");
        assert_golden(&out, golden);
    }
    // A file Kustomization still needs the object on the cluster.
    let tmp = TempDir::new("live");
    let file = kustomization_file(&tmp);
    let path = dir.join("podinfo").display().to_string();
    let out = cluster.flux(&[
        "build",
        "ks",
        "podinfo",
        "--path",
        &path,
        "--kustomization-file",
        &file,
        "-n",
        NS,
    ]);
    assert_golden(&out, "podinfo-result.yaml");
    let out = cluster.flux(&["build", "ks", "other", "--path", &path, "-n", NS]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "✗ failed to get kustomization object: kustomizations.kustomize.toolkit.fluxcd.io \"other\" not found\n"
    );
}

/// `substituteFrom` reads ConfigMaps and Secrets of the Kustomization's
/// namespace; inline `substitute` wins; a missing optional one is skipped.
fn substitute_from_reads_configmaps_and_secrets(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    cluster.load(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: default\ndata:\n  cluster_env: staging\n  cluster_region: from-configmap\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-vars\n  namespace: default\nstringData:\n  cluster_env: \"from-secret\\n\"\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: default\nspec:\n  interval: 5m\n  path: ./var-substitution\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: podinfo\n  postBuild:\n    substitute:\n      cluster_region: inline\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n    - kind: Secret\n      name: secret-vars\n    - kind: Secret\n      name: absent\n      optional: true\n",
    );
    let path = testdata().join("var-substitution").display().to_string();
    let out = cluster.flux(&["build", "ks", "app", "--path", &path, "-n", "default"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(
        out.stdout.contains("    environment: from-secret\n    kustomize.toolkit.fluxcd.io/name: app\n    kustomize.toolkit.fluxcd.io/namespace: default\n    region: inline\n"),
        "{}",
        out.stdout
    );
    cluster.with_client(async |client| {
        use kube::api::{Api, DynamicObject, Patch, PatchParams};
        let api: Api<DynamicObject> = Api::namespaced_with(
            client,
            "default",
            &kube::api::ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
                "kustomizations",
            ),
        );
        let patch = serde_json::json!({"spec": {"postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "absent"}]}}});
        api.patch("app", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    });
    let out = cluster.flux(&["build", "ks", "app", "--path", &path, "-n", "default"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "✗ substitute from 'ConfigMap/absent' error: configmaps \"absent\" not found\n"
    );
}

on_both_backends!(
    live_builds_reproduce_the_goldens,
    substitute_from_reads_configmaps_and_secrets,
);

/// kustomize-controller lets a kustomization name files outside its own
/// directory; the in-memory backend still reads nothing outside the
/// working directory.
#[test]
fn files_outside_the_kustomization_directory_are_allowed() {
    let tmp = TempDir::new("outside-files");
    tmp.write(
        "shared.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
    );
    tmp.write("app/kustomization.yaml", "resources:\n- ../shared.yaml\n");
    let file = tmp.write(
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: default\nspec:\n  path: ./app\n",
    );
    let file = file.display().to_string();
    let args = [
        "build",
        "ks",
        "app",
        "--path",
        "app",
        "--kustomization-file",
        &file,
        "--dry-run",
        "-n",
        "default",
    ];
    let out = run_in(&tmp.0, &args);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(out.stdout.contains("  name: shared\n"), "{}", out.stdout);
    let out = run_in(
        &tmp.0.join("app"),
        &[
            &args[..3],
            &[
                "--path",
                ".",
                "--kustomization-file",
                &file,
                "--dry-run",
                "-n",
                "default",
                "--in-memory-build",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("is not in or below"), "{}", out.stderr);
}
