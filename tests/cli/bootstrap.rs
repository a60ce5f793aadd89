//! `flux bootstrap git` against testenv, whose simulated controllers clone
//! the repository bootstrap pushed to (served over smart HTTP on loopback)
//! and apply what they find there.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use git2::Repository;
use serde_json::Value;

use crate::common::Run;
use crate::common::cluster::{Backend, Cluster, flux_system_api, on_both_backends};
use crate::common::git_servers::HttpGitServer;

/// A bare repository whose HEAD names `main`, served over smart HTTP on
/// loopback (fetches anonymous, pushes with [`HTTP_AUTH`]'s credentials):
/// the kind of URL both a real API server and the sandbox accept.
pub(crate) struct ServedRepo {
    _server: HttpGitServer,
    path: PathBuf,
}

impl ServedRepo {
    /// The bare repository on disk.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) fn bare_repo() -> (ServedRepo, String) {
    let server = HttpGitServer::start("git", HTTP_PASSWORD, true);
    let path = server.create_repo("fleet.git");
    let url = server.url("fleet.git");
    let repo = ServedRepo {
        _server: server,
        path,
    };
    (repo, url)
}

const HTTP_PASSWORD: &str = "fleet-password";

/// How the tests bootstrap over plain HTTP on loopback.
pub(crate) const HTTP_AUTH: [&str; 4] = [
    "--token-auth",
    "--allow-insecure-http",
    "--username=git",
    "--password=fleet-password",
];

/// `bootstrap git --url URL`, the HTTP credentials, then `extra`.
pub(crate) fn git_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["bootstrap", "git", "--url", url];
    args.extend(HTTP_AUTH);
    args.extend(extra);
    args
}

pub(crate) fn head(dir: &Path, branch: &str) -> Option<String> {
    let repo = Repository::open_bare(dir).unwrap();
    repo.find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.target())
        .map(|oid| oid.to_string())
}

fn commit_count(dir: &Path, branch: &str) -> usize {
    let repo = Repository::open_bare(dir).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref(&format!("refs/heads/{branch}")).unwrap();
    walk.count()
}

/// A file's content at the tip of `branch`.
fn file_at(dir: &Path, branch: &str, path: &str) -> Option<String> {
    let repo = Repository::open_bare(dir).unwrap();
    let commit = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .ok()?
        .peel_to_commit()
        .ok()?;
    let entry = commit.tree().ok()?.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(String::from_utf8_lossy(blob.content()).into_owned())
}

/// Commits `files` onto `branch` of a bare repository (a user's push).
fn push_files(dir: &Path, branch: &str, files: &[(&str, &str)], message: &str) -> String {
    let entries: Vec<(&str, &str, u32)> = files.iter().map(|(p, c)| (*p, *c, 0o100644)).collect();
    push_entries(dir, branch, &entries, message)
}

/// Commits `(path, content, mode)` entries on `branch` (mode 0o120000: a
/// symbolic link to `content`); returns the commit.
fn push_entries(dir: &Path, branch: &str, files: &[(&str, &str, u32)], message: &str) -> String {
    let repo = Repository::open_bare(dir).unwrap();
    let parent = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.peel_to_commit().ok());
    let mut index = git2::Index::new().unwrap();
    if let Some(parent) = &parent {
        index.read_tree(&parent.tree().unwrap()).unwrap();
    }
    for (path, content, mode) in files {
        let blob = repo.blob(content.as_bytes()).unwrap();
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: *mode,
            uid: 0,
            gid: 0,
            file_size: content.len() as u32,
            id: blob,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add(&entry).unwrap();
    }
    let tree = repo.find_tree(index.write_tree_to(&repo).unwrap()).unwrap();
    let sig = git2::Signature::now("Someone", "someone@example.com").unwrap();
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &sig,
        &sig,
        message,
        &tree,
        &parents,
    )
    .unwrap()
    .to_string()
}

fn get_object(cluster: &Cluster, api_version: &str, kind: &str, name: &str) -> Option<Value> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = format!("{}s", kind.to_lowercase());
    cluster.with_client(async |client| {
        let resource = kube::api::ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: api_version.into(),
            kind: kind.into(),
            plural,
        };
        let namespaced = kind != "Namespace";
        let api: kube::Api<kube::api::DynamicObject> = if namespaced {
            kube::Api::namespaced_with(client, "flux-system", &resource)
        } else {
            kube::Api::all_with(client, &resource)
        };
        api.get_opt(name)
            .await
            .unwrap()
            .map(|o| serde_json::to_value(o).unwrap())
    })
}

pub(crate) fn assert_ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// A second, identical run: everything up to date, no commit, healthy.
pub(crate) fn assert_rerun_changed_nothing(run: &Run) {
    assert_ok(run);
    for expected in [
        "✔ component manifests are up to date",
        "✔ source secret up to date",
        "✔ sync manifests are up to date",
    ] {
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
    assert!(!run.stderr.contains("committed"), "{}", run.stderr);
    assert!(
        run.stderr.ends_with("✔ all components are healthy\n"),
        "{}",
        run.stderr
    );
}

/// Waits (watching, up to a minute) until the flux-system Kustomization has
/// applied `revision` and is Ready. A finished `flux bootstrap` has already
/// seen it ready, but the reconcile it requested can queue one more run
/// (its source's new artifact), so the test waits for the state it means
/// rather than reading one snapshot.
pub(crate) fn ready_at(cluster: &Cluster, revision: &str) {
    let is_ready_at = |ks: &Value| {
        ks["status"]["lastAppliedRevision"] == revision
            && ks["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    };
    let waited = cluster.with_client(async |client| {
        let api = flux_system_api(
            client,
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "kustomizations",
        );
        let condition = |obj: Option<&kube::api::DynamicObject>| {
            obj.is_some_and(|o| is_ready_at(&serde_json::to_value(o).unwrap()))
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            kube::runtime::wait::await_condition(api, "flux-system", condition),
        )
        .await
    });
    if !matches!(waited, Ok(Ok(_))) {
        let ks = get_object(
            cluster,
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "flux-system",
        );
        panic!("flux-system never became Ready at {revision}: {ks:#?}");
    }
}

pub(crate) const UPSTREAM_FIRST_RUN: &[&str] = &[
    "► cloning branch \"main\" from Git repository \"{url}\"",
    "✔ cloned repository",
    "► generating component manifests",
    "✔ generated component manifests",
    "✔ committed component manifests to \"main\" (\"",
    "► pushing component manifests to \"{url}\"",
    "► installing components in \"flux-system\" namespace",
    "✔ installed components",
    "✔ reconciled components",
    "► determining if source secret \"flux-system/flux-system\" exists",
    "► generating source secret",
    "► applying source secret \"flux-system/flux-system\"",
    "✔ reconciled source secret",
    "► generating sync manifests",
    "✔ generated sync manifests",
    "✔ committed sync manifests to \"main\" (\"",
    "► pushing sync manifests to \"{url}\"",
    "► applying sync manifests",
    "✔ reconciled sync configuration",
    "◎ waiting for GitRepository \"flux-system/flux-system\" to be reconciled",
    "✔ GitRepository reconciled successfully",
    "◎ waiting for Kustomization \"flux-system/flux-system\" to be reconciled",
    "✔ Kustomization reconciled successfully",
    "► confirming components are healthy",
    "✔ helm-controller: deployment ready",
    "✔ kustomize-controller: deployment ready",
    "✔ notification-controller: deployment ready",
    "✔ source-controller: deployment ready",
    "✔ all components are healthy",
];

fn bootstrap_git_end_to_end_then_rerun_changes_nothing(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    let args = git_args(
        &url,
        &[
            "--path=clusters/dev",
            "--author-email=flux@example.com",
            "--commit-message-appendix=[skip ci]",
        ],
    );
    let first = cluster.flux(&args);
    assert_ok(&first);
    let lines: Vec<&str> = first.stderr.lines().collect();
    assert_eq!(lines.len(), UPSTREAM_FIRST_RUN.len(), "{}", first.stderr);
    for (line, expected) in lines.iter().zip(UPSTREAM_FIRST_RUN) {
        let expected = expected.replace("{url}", &url);
        assert!(line.starts_with(&expected), "{line:?} vs {expected:?}");
    }
    let tip = head(dir.path(), "main").unwrap();
    assert_eq!(commit_count(dir.path(), "main"), 2);
    let sync = file_at(
        dir.path(),
        "main",
        "clusters/dev/flux-system/gotk-sync.yaml",
    )
    .unwrap();
    assert!(sync.contains(&format!("  url: {url}\n")), "{sync}");
    assert!(sync.contains("  path: ./clusters/dev\n"), "{sync}");
    assert_eq!(
        file_at(
            dir.path(),
            "main",
            "clusters/dev/flux-system/kustomization.yaml"
        )
        .unwrap(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n"
    );
    let repo = Repository::open_bare(dir.path()).unwrap();
    let commit = repo
        .find_commit(git2::Oid::from_str(&tip).unwrap())
        .unwrap();
    assert_eq!(
        commit.message().unwrap(),
        "Add Flux sync manifests\n\n[skip ci]\n"
    );
    assert_eq!(commit.author().email(), Some("flux@example.com"));
    ready_at(&cluster, &format!("main@sha1:{tip}"));
    let secret = get_object(&cluster, "v1", "Secret", "flux-system").unwrap();

    assert_eq!(first.stdout, "", "only --verbose prints manifests");

    // The re-run with --verbose prints what it generated: the same bytes as
    // the committed files.
    let verbose: Vec<&str> = args.iter().copied().chain(["--verbose"]).collect();
    let second = cluster.flux(&verbose);
    assert_rerun_changed_nothing(&second);
    assert!(!second.stderr.contains("installing components"));
    assert_eq!(head(dir.path(), "main").unwrap(), tip);
    let components = file_at(
        dir.path(),
        "main",
        "clusters/dev/flux-system/gotk-components.yaml",
    )
    .unwrap();
    assert_eq!(second.stdout, format!("{components}{sync}"));
    let again = get_object(&cluster, "v1", "Secret", "flux-system").unwrap();
    assert_eq!(
        secret["metadata"]["resourceVersion"],
        again["metadata"]["resourceVersion"]
    );
}

/// A sync that fails (here a source-controller that cannot clone) is
/// reported with the GitRepository's last reason and message, and the
/// unfinished rollouts with how far they got, before `--timeout` ends the
/// run; before, the run only said that it timed out.
fn bootstrap_git_reports_why_the_sync_did_not_become_ready(backend: Backend) {
    // No controllers: the test plays a source-controller that fails.
    let cluster = Cluster::start_on(backend, false);
    let (_dir, url) = bare_repo();
    let message = "failed to checkout and determine revision: unable to clone: x509: certificate signed by unknown authority";
    let run = std::thread::scope(|scope| {
        let running = scope.spawn(|| cluster.flux(&git_args(&url, &["--timeout=30s"])));
        cluster.with_client(async |client| {
            let api = flux_system_api(
                client,
                "source.toolkit.fluxcd.io/v1",
                "GitRepository",
                "gitrepositories",
            );
            let exists = |o: Option<&kube::api::DynamicObject>| o.is_some();
            tokio::time::timeout(
                std::time::Duration::from_secs(25),
                kube::runtime::wait::await_condition(api.clone(), "flux-system", exists),
            )
            .await
            .expect("bootstrap creates the GitRepository")
            .unwrap();
            let status = serde_json::json!({"status": {"conditions": [{
                "type": "Ready",
                "status": "False",
                "reason": "GitOperationFailed",
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }]}});
            api.patch_status(
                "flux-system",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&status),
            )
            .await
            .unwrap();
        });
        running.join().unwrap()
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    let warning = format!(
        "⚠️ gave up waiting for GitRepository flux-system/flux-system (last status: Ready=False GitOperationFailed {message}); raise --timeout to wait longer"
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    // kstatus's reason (the real server writes an empty status, testenv
    // none), then upstream's line.
    let rollout = regex::Regex::new(
        "⚠️ source-controller: Deployment [^\n]+\n✗ source-controller: deployment not ready\n",
    )
    .unwrap();
    assert!(rollout.is_match(&run.stderr), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ bootstrap failed with "),
        "{}",
        run.stderr
    );
}

fn bootstrap_git_creates_a_missing_branch_from_the_default_one(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    push_files(dir.path(), "main", &[("README.md", "fleet\n")], "init");
    let run = cluster.flux(&git_args(&url, &["--branch=staging"]));
    assert_ok(&run);
    assert!(
        run.stderr
            .contains("► branch \"staging\" does not exist yet, starting it from \"main\""),
        "{}",
        run.stderr
    );
    assert_eq!(commit_count(dir.path(), "staging"), 3);
    assert_eq!(
        file_at(dir.path(), "staging", "README.md").as_deref(),
        Some("fleet\n")
    );
    assert!(file_at(dir.path(), "staging", "flux-system/gotk-sync.yaml").is_some());
    let tip = head(dir.path(), "staging").unwrap();
    ready_at(&cluster, &format!("staging@sha1:{tip}"));
}

/// The built binary with the harness's environment, stderr piped.
fn spawn(cluster: &Cluster, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(args)
        .env_remove("FLUX_SYSTEM_NAMESPACE")
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("HOME", std::env::temp_dir())
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flux starts")
}

/// Reads stderr until a line starts with `marker`, then calls `at_marker`
/// with the process id; returns the lines read.
fn until_marker(child: &mut Child, marker: &str, at_marker: impl FnOnce(u32)) -> Vec<String> {
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stderr);
    let mut at_marker = Some(at_marker);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let hit = line.starts_with(marker);
        lines.push(line);
        if hit && let Some(f) = at_marker.take() {
            f(child.id());
        }
    }
    assert!(
        at_marker.is_none(),
        "marker {marker:?} never seen: {lines:?}"
    );
    lines
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn bootstrap_git_killed_at_any_step_is_finished_by_a_rerun(backend: Backend) {
    for marker in [
        "► installing components",
        "► generating source secret",
        "► applying sync manifests",
    ] {
        let cluster = Cluster::empty_on(backend);
        let (dir, url) = bare_repo();
        let args = git_args(&url, &[]);
        let mut child = spawn(&cluster, &args);
        until_marker(&mut child, marker, |pid| signal(pid, "-KILL"));
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed at {marker}");
        let rerun = cluster.flux(&args);
        assert_ok(&rerun);
        let tip = head(dir.path(), "main").unwrap();
        assert_eq!(commit_count(dir.path(), "main"), 2, "killed at {marker}");
        ready_at(&cluster, &format!("main@sha1:{tip}"));
    }
}

fn bootstrap_git_retries_a_push_rejected_because_the_branch_moved(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    let args = git_args(&url, &[]);
    let mut child = spawn(&cluster, &args);
    // Freeze the run after its clone, move the branch, then let it push.
    let lines = until_marker(&mut child, "► determining if source secret", |pid| {
        signal(pid, "-STOP");
        push_files(dir.path(), "main", &[("apps/app.yaml", "# app\n")], "user");
        signal(pid, "-CONT");
    });
    assert!(child.wait().unwrap().success(), "{lines:?}");
    let text = lines.concat();
    assert!(
        text.contains("◎ git conflict detected, retrying with a fresh clone"),
        "{text}"
    );
    assert_eq!(
        file_at(dir.path(), "main", "apps/app.yaml").as_deref(),
        Some("# app\n")
    );
    assert!(file_at(dir.path(), "main", "flux-system/gotk-sync.yaml").is_some());
    let tip = head(dir.path(), "main").unwrap();
    ready_at(&cluster, &format!("main@sha1:{tip}"));
}

/// A symbolic link committed in the repository cannot make bootstrap write
/// outside its clone, and a `--path` inside `.git` is refused. (Client-side
/// checks: the builtin backend suffices.)
#[test]
fn bootstrap_git_never_writes_through_symbolic_links_or_into_git() {
    let cluster = Cluster::empty();
    let (dir, url) = bare_repo();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().display().to_string();
    let before = push_entries(
        dir.path(),
        "main",
        &[
            ("clusters/abs", target.as_str(), 0o120000),
            ("clusters/up", "../../../..", 0o120000),
        ],
        "links",
    );
    for path in ["clusters/abs", "clusters/up/x"] {
        let flag = format!("--path={path}");
        let run = cluster.flux(&git_args(&url, &[&flag]));
        assert_eq!(run.code, 1, "{}", run.stderr);
        let link = path.trim_end_matches("/x");
        assert!(
            run.stderr.contains(&format!(
                "refusing to write {path}/flux-system/gotk-components.yaml: {link} is a symbolic link in the repository"
            )),
            "{}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_untouched(&cluster, dir.path(), Some(before.clone()));
    for path in [".git", ".git/hooks", "clusters/.git"] {
        let flag = format!("--path={path}");
        let run = cluster.flux(&git_args(&url, &[&flag]));
        assert_eq!(run.code, 1, "{path}: {}", run.stderr);
        assert!(run.stderr.contains("not inside .git"), "{}", run.stderr);
    }
    assert_untouched(&cluster, dir.path(), Some(before));
}

/// Bad input stops before anything is pushed or applied.
fn assert_untouched(cluster: &Cluster, dir: &Path, before: Option<String>) {
    assert_eq!(head(dir, "main"), before);
    assert!(get_object(cluster, "v1", "Namespace", "flux-system").is_none());
}

fn bootstrap_git_rejects_a_path_outside_the_repository(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    let run = cluster.flux(&git_args(&url, &["--path=../x"]));
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ invalid --path \"../x\": it must be a path inside the repository (relative, without '..' leaving the root, and not inside .git)\n"
    );
    assert_untouched(&cluster, dir.path(), None);
}

fn bootstrap_git_refuses_to_overwrite_a_file_it_did_not_generate(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    let before = push_files(
        dir.path(),
        "main",
        &[("clusters/dev/flux-system/gotk-sync.yaml", "hello: world\n")],
        "mine",
    );
    let run = cluster.flux(&git_args(&url, &["--path=clusters/dev"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.ends_with(
            "✗ clusters/dev/flux-system/gotk-sync.yaml exists in the repository and was not generated by flux; move it away or choose another --path\n"
        ),
        "{}",
        run.stderr
    );
    assert_untouched(&cluster, dir.path(), Some(before));
}

fn bootstrap_git_asks_before_taking_over_another_tools_installation(backend: Backend) {
    let cluster = Cluster::start_on(backend, true);
    cluster.label_info_crd("app.kubernetes.io/managed-by", "Helm");
    let (dir, url) = bare_repo();
    let run = cluster.flux(&git_args(&url, &["--silent"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "⚠️ Flux v2.9.4 has been installed on this cluster with Helm!\n✗ cannot ask \"Are you sure you want to override the Helm installation\": stdin is not a terminal; pass --force to skip the confirmation\n"
    );
    assert_eq!(head(dir.path(), "main"), None, "nothing was pushed");

    let forced = cluster.flux(&git_args(&url, &["--silent", "--force"]));
    assert_ok(&forced);
    let tip = head(dir.path(), "main").unwrap();
    ready_at(&cluster, &format!("main@sha1:{tip}"));
}

fn bootstrap_git_reports_an_unreachable_host_without_leaking_the_password(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, _) = bare_repo();
    let output = crate::common::flux()
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("GIT_PASSWORD", "s3cr3t-token")
        .args([
            "bootstrap",
            "git",
            "--url=http://127.0.0.1:1/fleet.git",
            "--allow-insecure-http",
            "--token-auth",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("⚠️  clone failure: ") && stderr.contains("✗ failed to clone repository: "),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t-token"), "{stderr}");
    assert_untouched(&cluster, dir.path(), None);
}

#[test]
fn bootstrap_git_token_auth_without_a_token_fails_when_it_cannot_prompt() {
    let run = crate::common::run(&[
        "bootstrap",
        "git",
        "--url=https://git.example.com/fleet.git",
        "--token-auth",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ a password or token is required with --token-auth: set GIT_PASSWORD or pass --password\n"
    );
}

fn bootstrap_git_dry_run_prints_the_plan_and_changes_nothing(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    let run = cluster.flux(&git_args(&url, &["--dry-run"]));
    assert_ok(&run);
    for expected in [
        "  create flux-system/gotk-components.yaml (",
        "  create flux-system/gotk-sync.yaml (",
        "  create flux-system/kustomization.yaml (",
        "  would commit and push 3 file(s) to main",
        "    CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io",
        "  would create source secret flux-system/flux-system",
        "    Kustomization/flux-system/flux-system",
    ] {
        assert!(run.stdout.contains(expected), "{expected}\n{}", run.stdout);
    }
    assert_untouched(&cluster, dir.path(), None);

    // After a bootstrap, a changed flag shows up as a diff.
    assert_ok(&cluster.flux(&git_args(&url, &[])));
    let tip = head(dir.path(), "main");
    let run = cluster.flux(&git_args(&url, &["--interval=5m", "--dry-run"]));
    assert_ok(&run);
    assert!(
        run.stdout
            .contains("  unchanged flux-system/gotk-components.yaml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("    -  interval: 1m0s\n    +  interval: 5m0s\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("source secret flux-system/flux-system exists and is up to date")
    );
    assert_eq!(head(dir.path(), "main"), tip);
}

/// The files that differ between commits `from` (`None`: an empty tree)
/// and `to` of a bare repository, sorted.
fn changed_files(dir: &Path, from: Option<&str>, to: &str) -> Vec<String> {
    let repo = Repository::open_bare(dir).unwrap();
    let tree = |sha: &str| {
        let oid = git2::Oid::from_str(sha).unwrap();
        repo.find_commit(oid).unwrap().tree().unwrap()
    };
    let old = from.map(tree);
    let diff = repo
        .diff_tree_to_tree(old.as_ref(), Some(&tree(to)), None)
        .unwrap();
    let mut files: Vec<String> = diff
        .deltas()
        .filter_map(|delta| delta.new_file().path())
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

/// Without a provider: the files a run pushes are the ones its dry run
/// listed, on a first run and on a re-run after the sync manifests were
/// edited by hand (which the run restores), and the first run's cluster
/// holds every object its plan named.
fn bootstrap_git_does_exactly_what_its_dry_run_printed(backend: Backend) {
    use crate::bootstrap_github::{assert_planned_objects_exist, planned_file_changes};
    let cluster = Cluster::empty_on(backend);
    let (dir, url) = bare_repo();
    let sync_path = "flux-system/gotk-sync.yaml";
    let kustomization_path = "flux-system/kustomization.yaml";
    let mut tip = head(dir.path(), "main");
    // Whether the sync manifests are edited first, and the files planned.
    // (A re-run with another sync flag would leave the simulated
    // Kustomization racing its GitRepository's new generation.)
    for (edit_by_hand, planned_files) in [
        (
            false,
            &[
                "flux-system/gotk-components.yaml",
                sync_path,
                kustomization_path,
            ][..],
        ),
        (true, &[sync_path][..]),
    ] {
        if edit_by_hand {
            // Also a file of the user's own in the directory: the sync
            // apply takes what kustomization.yaml lists, and so does the plan.
            let edited = file_at(dir.path(), "main", sync_path).unwrap() + "# edited by hand\n";
            let listed = file_at(dir.path(), "main", kustomization_path)
                .unwrap()
                .replace("- gotk-sync.yaml", "- gotk-sync.yaml\n- extra.yaml");
            tip = Some(push_files(
                dir.path(),
                "main",
                &[
                    (sync_path, &edited),
                    (kustomization_path, &listed),
                    ("flux-system/extra.yaml", EXTRA_CONFIGMAP),
                ],
                "Edit the sync manifests, add a file",
            ));
        }
        let plan = cluster.flux(&git_args(&url, &["--dry-run"]));
        assert_ok(&plan);
        let planned = planned_file_changes(&plan.stdout);
        assert_eq!(planned, planned_files, "{}", plan.stdout);
        assert_eq!(
            plan.stdout.contains("\n    ConfigMap/flux-system/extra\n"),
            edit_by_hand,
            "{}",
            plan.stdout
        );
        assert_eq!(head(dir.path(), "main"), tip, "the dry run pushed");

        assert_ok(&cluster.flux(&git_args(&url, &[])));
        let pushed = head(dir.path(), "main").expect("the run pushed");
        assert_eq!(
            changed_files(dir.path(), tip.as_deref(), &pushed),
            planned,
            "the pushed files are not the plan's"
        );
        assert_planned_objects_exist(&cluster, &plan.stdout);
        tip = Some(pushed);
    }
}

const EXTRA_CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: flux-system\ndata:\n  from: the user\n";

#[test]
fn bootstrap_git_checks_aws_codecommit_urls_before_any_request() {
    // No cluster and no network: the URL alone is refused.
    let run = crate::common::run(&[
        "bootstrap",
        "git",
        "--url=ssh://git@git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet",
        "--private-key-file=/nonexistent/id_rsa",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ invalid AWS CodeCommit url: ssh username should be the SSH key ID for the provided private key\n"
    );
}

on_both_backends!(
    bootstrap_git_reports_why_the_sync_did_not_become_ready,
    bootstrap_git_end_to_end_then_rerun_changes_nothing,
    bootstrap_git_creates_a_missing_branch_from_the_default_one,
    bootstrap_git_killed_at_any_step_is_finished_by_a_rerun,
    bootstrap_git_retries_a_push_rejected_because_the_branch_moved,
    bootstrap_git_rejects_a_path_outside_the_repository,
    bootstrap_git_refuses_to_overwrite_a_file_it_did_not_generate,
    bootstrap_git_asks_before_taking_over_another_tools_installation,
    bootstrap_git_reports_an_unreachable_host_without_leaking_the_password,
    bootstrap_git_dry_run_prints_the_plan_and_changes_nothing,
    bootstrap_git_does_exactly_what_its_dry_run_printed,
);
