//! `flux migrate`: file-system mode against upstream's goldens (run in a
//! copy of upstream's testdata, so the printed paths are upstream's), its
//! refusals, and cluster mode on both backends.
//!
//! Upstream's goldens call the migrator with a table that puts the three
//! image kinds at v1; that is the table of `--version` 2.9 (the default),
//! 2.8 and 2.7, so the CLI reproduces them as it is, with `--yes`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::{Run, flux, shared_dir};

const FS: &str = "testdata/migrate/file-system";

fn golden_dir() -> PathBuf {
    shared_dir().join("conformance/flux2-testdata/migrate/file-system")
}

fn golden(name: &str) -> String {
    let path = golden_dir().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Copies `from` into `to`. The shared copy of upstream's testdata holds
/// its symbolic links (`*-link.yaml`) as files containing their target;
/// they are links again here. Files get mode 0644: the shared ones are
/// read-only.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&source, &target);
        } else if name.to_string_lossy().ends_with("-link.yaml") {
            let points_to = fs::read_to_string(&source).unwrap();
            assert!(
                from.join(points_to.trim()).is_file(),
                "{}: not a link target",
                source.display()
            );
            std::os::unix::fs::symlink(points_to.trim(), &target).unwrap();
        } else {
            fs::copy(&source, &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// A working directory holding upstream's inputs at upstream's paths.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&golden_dir(), &dir.path().join(FS));
    dir
}

fn migrate_in(dir: &Path, args: &[&str]) -> Run {
    let output = flux()
        .current_dir(dir)
        .arg("migrate")
        .args(args)
        .write_stdin("")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("flux runs");
    Run::from(output)
}

/// Every file and link under `dir`, relative, with its content (a link's
/// target, as the shared copy writes it).
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_symlink() {
                let target = fs::read_link(&path).unwrap().display().to_string();
                out.push((relative, target));
            } else {
                out.push((relative, fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// Upstream's golden output with what `--dry-run` prints instead of the
/// writes.
fn as_dry_run(golden: &str) -> String {
    let mut lines: Vec<&str> = golden
        .lines()
        .filter(|l| !l.ends_with("migrated successfully"))
        .collect();
    lines.push("✔ dry-run mode enabled, no changes will be made");
    lines.join("\n") + "\n"
}

#[test]
fn a_single_file_is_migrated_as_upstreams_golden_says() {
    let dir = workdir();
    let file = dir.path().join(FS).join("single-file.yaml");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let run = migrate_in(
        dir.path(),
        &["-f", &format!("{FS}/single-file.yaml"), "--yes"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, golden("single-file.yaml.output.golden"));
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        golden("single-file.yaml.golden")
    );
    // Replaced atomically: the mode survives, no temporary file is left.
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let leftovers: Vec<_> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_directory_is_walked_and_migrated_as_upstreams_golden_says() {
    let dir = workdir();
    // A trailing slash is cleaned away, as upstream does.
    let run = migrate_in(dir.path(), &["--path", &format!("{FS}/dir/"), "-y"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, golden("dir.output.golden"));
    let migrated = snapshot(&dir.path().join(FS).join("dir"));
    let expected = snapshot(&golden_dir().join("dir.golden"));
    assert_eq!(migrated, expected);
    assert_eq!(migrated.len(), 8);
}

#[test]
fn dry_run_reports_the_upgrades_and_changes_nothing() {
    let dir = workdir();
    let before = snapshot(dir.path());
    let run = migrate_in(dir.path(), &["-f", &format!("{FS}/dir"), "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, as_dry_run(&golden("dir.output.golden")));
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn without_yes_and_without_a_terminal_to_ask_nothing_is_written() {
    let dir = workdir();
    let before = snapshot(dir.path());
    let run = migrate_in(dir.path(), &["-f", &format!("{FS}/single-file.yaml")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let golden = golden("single-file.yaml.output.golden");
    let scanned: String = golden
        .lines()
        .filter(|l| !l.ends_with("migrated successfully"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        run.stderr,
        format!(
            "{scanned}✗ cannot ask \"Are you sure you want to proceed with the above upgrades\": stdin is not a terminal; pass --yes to skip the confirmation\n"
        )
    );
    assert_eq!(snapshot(dir.path()), before);
}

/// Runs `flux migrate` in `dir` on a pseudo-terminal (python's pty module),
/// typing `key` once the question is asked; returns the transcript and the
/// exit code.
fn migrate_on_terminal(dir: &Path, key: &str, args: &[&str]) -> (String, i32) {
    const ANSWER_ON_PTY: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.chdir(sys.argv[1])
    os.execv(sys.argv[3], sys.argv[3:])
out, answered = b"", False
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not answered and b"[y/N]" in out:
        os.write(fd, sys.argv[2].encode())
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(ANSWER_ON_PTY)
        .arg(dir)
        .arg(key)
        .arg(assert_cmd::cargo::cargo_bin("flux"))
        .arg("migrate")
        .args(args)
        .env("TERM", "dumb")
        .env("CI", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("python3 runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

#[test]
fn the_question_on_a_terminal_decides() {
    let dir = workdir();
    let path = format!("{FS}/single-file.yaml");
    let file = dir.path().join(&path);
    let before = fs::read_to_string(&file).unwrap();
    let (transcript, code) = migrate_on_terminal(dir.path(), "n", &["-f", &path]);
    assert_eq!(code, 1, "{transcript}");
    assert!(
        transcript.contains("Are you sure you want to proceed with the above upgrades [y/N]"),
        "{transcript:?}"
    );
    assert!(
        transcript.ends_with("✗ aborting: no file was changed\r\n"),
        "{transcript:?}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), before);

    let (transcript, code) = migrate_on_terminal(dir.path(), "y", &["-f", &path]);
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.ends_with("✔ custom resources migrated successfully\r\n"),
        "{transcript:?}"
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        golden("single-file.yaml.golden")
    );
}

#[test]
fn the_release_line_chooses_the_target_versions() {
    let dir = workdir();
    let path = format!("{FS}/single-file.yaml");
    let run = migrate_in(dir.path(), &["-f", &path, "--version", "2.6", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "► starting migration of custom resources\n\
             ⚠️ {path}:13: unexpected GroupVersion string: image.toolkit.fluxcd.io/v1/v2\n\
             ✚ {path}:1: ImageRepository v1beta1 -> v1beta2\n\
             ✔ file {path} migrated successfully\n\
             ✔ custom resources migrated successfully\n"
        )
    );
    let content = fs::read_to_string(dir.path().join(&path)).unwrap();
    assert!(
        content.starts_with("apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\n")
    );
    // Already at the 2.6 version: left alone.
    assert!(content.contains("apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\n"));

    let run = migrate_in(dir.path(), &["-f", &path, "-v", "2.5"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ version 2.5 is not supported, supported versions are: 2.9, 2.8, 2.7, 2.6\n"
    );
}

#[test]
fn nothing_to_migrate_is_a_success() {
    let dir = workdir();
    let path = format!("{FS}/single-file.yaml");
    assert_eq!(migrate_in(dir.path(), &["-f", &path, "-y"]).code, 0);
    let before = snapshot(dir.path());
    let run = migrate_in(dir.path(), &["-f", &path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "► starting migration of custom resources\n\
             ⚠️ {path}:13: unexpected GroupVersion string: image.toolkit.fluxcd.io/v1/v2\n\
             ✔ no custom resources found that require migration\n"
        )
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_file_must_match_the_extensions() {
    let dir = workdir();
    let path = format!("{FS}/single-file-wrong-ext.json");
    let run = migrate_in(dir.path(), &["-f", &path, "-y"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "► starting migration of custom resources\n✗ file {path} does not match the specified extensions: .yaml, .yml\n"
        )
    );
    let run = migrate_in(dir.path(), &["-f", &path, "-e", ".json", "-y"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("✔ no custom resources found that require migration\n")
    );

    let run = migrate_in(dir.path(), &["-f", &path, "-e", ".json,", "-y"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("--extensions has an empty entry"),
        "{}",
        run.stderr
    );
}

#[test]
fn paths_outside_the_working_directory_are_refused() {
    let outer = workdir();
    let inner = outer.path().join("inner");
    fs::create_dir(&inner).unwrap();
    let before = snapshot(outer.path());
    let absolute = outer.path().join(FS).join("single-file.yaml");
    for path in [
        format!("../{FS}/single-file.yaml"),
        format!("./x/../../{FS}/dir"),
        absolute.display().to_string(),
    ] {
        let run = migrate_in(&inner, &["-f", &path, "-y"]);
        assert_eq!(run.code, 1, "{path}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!(
                "► starting migration of custom resources\n✗ failed to stat path {path}: the path "
            )),
            "{path}: {}",
            run.stderr
        );
        assert!(run.stderr.ends_with("\n") && run.stderr.lines().count() == 2);
    }
    assert_eq!(snapshot(outer.path()), before);
}

#[test]
fn symbolic_links_are_not_followed() {
    let dir = workdir();
    let before = snapshot(dir.path());
    let path = format!("{FS}/single-file-link.yaml");
    let run = migrate_in(dir.path(), &["-f", &path, "-y"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("► starting migration of custom resources\n✗ file {path} is irregular\n")
    );
    // A directory reached through a link is refused too.
    std::os::unix::fs::symlink(FS, dir.path().join("linked")).unwrap();
    let run = migrate_in(dir.path(), &["-f", "linked/dir", "-y"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("✗ failed to stat path linked/dir: linked is a symbolic link"),
        "{}",
        run.stderr
    );
    fs::remove_file(dir.path().join("linked")).unwrap();
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn the_current_directory_itself_prints_paths_relative_to_it() {
    let dir = workdir();
    let root = dir.path().join(FS).join("dir/some-dir");
    let run = migrate_in(&root, &["-f", ".", "-y"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "► starting migration of custom resources\n\
         ⚠️ skipping irregular file another-file-link.yaml\n\
         ✚ another-file.yaml:2: ImageUpdateAutomation v1beta2 -> v1\n\
         ✚ another-file.yml:3: ImageUpdateAutomation v1beta2 -> v1\n\
         ✔ file another-file.yaml migrated successfully\n\
         ✔ file another-file.yml migrated successfully\n\
         ✔ custom resources migrated successfully\n"
    );
}

/// A CRD of a made-up group, labelled as part of Flux, with two versions;
/// `storage` is the one the API server stores.
fn widget_crd(storage: &str) -> String {
    let version = |name: &str| {
        format!(
            "  - name: {name}\n    served: true\n    storage: {}\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
            name == storage
        )
    };
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.migrate.example.com
  labels: {{app.kubernetes.io/part-of: flux}}
spec:
  group: migrate.example.com
  scope: Namespaced
  names: {{kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}}
  versions:
{}{}",
        version("v1"),
        version("v2")
    )
}

fn widget(version: &str, name: &str) -> String {
    format!(
        "apiVersion: migrate.example.com/{version}\nkind: Widget\nmetadata: {{name: {name}, namespace: apps}}\nspec: {{size: 1}}\n"
    )
}

/// The CRD's storedVersions and the apiVersions of each widget's managedFields.
fn stored_state(cluster: &Cluster) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, ApiResource, DynamicObject, ListParams};
    cluster.with_client(async |client| {
        let crd = Api::<CustomResourceDefinition>::all(client.clone())
            .get("widgets.migrate.example.com")
            .await
            .unwrap();
        let stored = crd.status.unwrap().stored_versions.unwrap_or_default();
        let resource = ApiResource {
            group: "migrate.example.com".into(),
            version: "v1".into(),
            api_version: "migrate.example.com/v1".into(),
            kind: "Widget".into(),
            plural: "widgets".into(),
        };
        let widgets = Api::<DynamicObject>::namespaced_with(client, "apps", &resource)
            .list(&ListParams::default())
            .await
            .unwrap();
        let fields = widgets
            .items
            .iter()
            .map(|w| {
                let versions = w
                    .metadata
                    .managed_fields
                    .iter()
                    .flatten()
                    .map(|f| f.api_version.clone().unwrap_or_default())
                    .collect();
                (w.metadata.name.clone().unwrap(), versions)
            })
            .collect();
        (stored, fields)
    })
}

/// Widget `a` written at v1, the storage version switched to v2, widget
/// `b` written at v2.
fn store_widgets_at_two_versions(cluster: &Cluster) {
    // Each object goes with its CRD, so the apply waits until the API
    // server serves the new version (a separate apply raced it).
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: apps}}\n---\n{}\n---\n{}",
        widget_crd("v1"),
        widget("v1", "a")
    ));
    cluster.apply(&format!("{}\n---\n{}", widget_crd("v2"), widget("v2", "b")));
}

const MIGRATED: &str = "► starting migration of custom resources
✔ Widget/apps/a migrated to version v2
✔ Widget/apps/b migrated to version v2
✔ widgets.migrate.example.com migrated to storage version v2
✔ custom resources migrated successfully
";

/// Objects written at v1, the storage version then switched to v2: the
/// CRD remembers both stored versions until `flux migrate` re-stores every
/// object and leaves v2 alone.
fn the_cluster_is_migrated_to_the_storage_versions(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    store_widgets_at_two_versions(&cluster);
    let (stored, fields) = stored_state(&cluster);
    assert_eq!(stored, ["v1", "v2"]);
    assert_eq!(
        fields,
        [
            ("a".to_string(), vec!["migrate.example.com/v1".to_string()]),
            ("b".to_string(), vec!["migrate.example.com/v2".to_string()]),
        ]
    );

    let run = cluster.flux(&["migrate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, MIGRATED);
    let (stored, fields) = stored_state(&cluster);
    assert_eq!(stored, ["v2"]);
    for (name, versions) in &fields {
        assert!(
            !versions.is_empty() && versions.iter().all(|v| v == "migrate.example.com/v2"),
            "{name}: {versions:?}"
        );
    }

    // Again: the objects are written again, the CRD is left as it is.
    let run = cluster.flux(&["migrate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "► starting migration of custom resources\n\
         ✔ Widget/apps/a migrated to version v2\n\
         ✔ Widget/apps/b migrated to version v2\n\
         ✔ custom resources migrated successfully\n"
    );
    assert_eq!(stored_state(&cluster).0, ["v2"]);
}

on_both_backends!(the_cluster_is_migrated_to_the_storage_versions);

/// An API server that fails a fifth of the requests with 503: each is sent
/// again, and the migration ends as without faults.
#[test]
fn transient_server_errors_are_sent_again() {
    let cluster = Cluster::empty();
    store_widgets_at_two_versions(&cluster);
    cluster.set_faults(testenv::Faults {
        error_ratio: 0.2,
        error_code: 503,
        ..testenv::Faults::default()
    });
    let run = cluster.flux(&["migrate"]);
    cluster.set_faults(testenv::Faults::default());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, MIGRATED);
    assert_eq!(stored_state(&cluster).0, ["v2"]);
}

/// A server that keeps failing ends the command at the step, with nothing
/// changed.
#[test]
fn a_failing_server_fails_the_command_at_the_step() {
    let cluster = Cluster::empty();
    store_widgets_at_two_versions(&cluster);
    cluster.set_faults(testenv::Faults {
        error_ratio: 1.0,
        error_code: 500,
        ..testenv::Faults::default()
    });
    let run = cluster.flux(&["migrate"]);
    cluster.set_faults(testenv::Faults::default());
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], "► starting migration of custom resources");
    assert!(
        lines[1].starts_with("✗ failed to list CRDs: "),
        "{}",
        run.stderr
    );
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert_eq!(stored_state(&cluster).0, ["v1", "v2"]);
}

#[test]
fn the_cluster_has_no_dry_run_and_ignores_the_file_flags() {
    let run = crate::common::run(&["migrate", "--dry-run"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ --dry-run applies to manifests under --path only; migrating the cluster has no dry run\n"
    );
    // No cluster: the flags are reported as ignored before the client fails.
    let run = crate::common::run(&["migrate", "-v", "2.6", "--yes"]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "⚠️ --version is ignored without --path",
            "⚠️ --yes is ignored without --path",
            "► starting migration of custom resources",
        ]
    );
    assert!(
        lines[3].starts_with("✗ the Kubernetes client initialization failed: "),
        "{}",
        run.stderr
    );
}

/// A user RBAC grants nothing to is refused at the first request, and
/// nothing changes (kube-apiserver only: the builtin server has no RBAC).
#[test]
fn a_user_without_permissions_is_refused_at_the_first_request() {
    if !Backend::KubeApiserver.available() {
        return;
    }
    let cluster = Cluster::empty_on(Backend::KubeApiserver);
    store_widgets_at_two_versions(&cluster);
    let run = crate::common::run_with_kubeconfig(cluster.restricted_kubeconfig(), &["migrate"]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert_eq!(lines[0], "► starting migration of custom resources");
    assert!(
        lines[1].starts_with("✗ failed to list CRDs: ")
            && lines[1].contains("customresourcedefinitions"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_state(&cluster).0, ["v1", "v2"]);
}
