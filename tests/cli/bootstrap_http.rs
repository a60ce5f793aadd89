//! `flux bootstrap git --token-auth` and `--with-bearer-token` against a
//! real smart-HTTP Git server (`git http-backend`) with basic auth or a
//! bearer token, and testenv.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::Value;

use crate::bootstrap::assert_rerun_changed_nothing;
use crate::common::Run;
use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::git_servers::HttpGitServer;

const TOKEN: &str = "t0ken-for-tests";

fn flux_with_password(cluster: &Cluster, password: &str, args: &[&str]) -> Run {
    flux_with_password_in(cluster, password, &std::env::temp_dir(), args)
}

/// As [`flux_with_password`], with `tmp` as the process's TMPDIR (where
/// its clone lives).
fn flux_with_password_in(cluster: &Cluster, password: &str, tmp: &Path, args: &[&str]) -> Run {
    let output = crate::common::flux()
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("GIT_PASSWORD", password)
        .env("TMPDIR", tmp)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    Run::from(output)
}

pub(crate) fn head(dir: &Path) -> Option<String> {
    git2::Repository::open_bare(dir)
        .unwrap()
        .find_reference("refs/heads/main")
        .ok()
        .and_then(|r| r.target())
        .map(|o| o.to_string())
}

pub(crate) fn get(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    plural: &str,
    name: &str,
) -> Option<Value> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    cluster.with_client(async |client| {
        let resource = kube::api::ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: kube::Api<kube::api::DynamicObject> = if kind == "Namespace" {
            kube::Api::all_with(client, &resource)
        } else {
            kube::Api::namespaced_with(client, "flux-system", &resource)
        };
        api.get_opt(name)
            .await
            .unwrap()
            .map(|o| serde_json::to_value(o).unwrap())
    })
}

pub(crate) fn decoded(secret: &Value, key: &str) -> String {
    let b64 = secret["data"][key].as_str().unwrap_or_default();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

fn bootstrap_git_token_auth_over_http_end_to_end_and_idempotent(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let server = HttpGitServer::start("flux", TOKEN, true);
    let dir = server.create_repo("fleet.git");
    let url = server.url("fleet.git");
    let args = [
        "bootstrap",
        "git",
        "--url",
        url.as_str(),
        "--token-auth",
        "--allow-insecure-http",
        "--username=flux",
        "--path=clusters/http",
    ];
    let first = flux_with_password(&cluster, TOKEN, &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains(TOKEN) && !first.stdout.contains(TOKEN));
    let tip = head(&dir).unwrap();
    let ks = get(
        &cluster,
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "kustomizations",
        "flux-system",
    )
    .unwrap();
    assert_eq!(
        ks["status"]["lastAppliedRevision"],
        format!("main@sha1:{tip}")
    );
    let repo = get(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepositories",
        "flux-system",
    )
    .unwrap();
    assert_eq!(repo["spec"]["url"], url.as_str());
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(decoded(&secret, "username"), "flux");
    assert_eq!(decoded(&secret, "password"), TOKEN);
    let pushed = server.pushes();
    assert_eq!(pushed.len(), 2, "{pushed:?}");
    assert!(
        pushed
            .iter()
            .all(|r| r.status == 200 && r.authorization.is_some())
    );

    let second = flux_with_password(&cluster, TOKEN, &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stderr.contains("✔ source secret up to date"),
        "{}",
        second.stderr
    );
    assert_eq!(server.pushes().len(), 2, "the re-run pushed");
    assert_eq!(head(&dir).unwrap(), tip);
}

/// Over HTTPS with a private CA: `--ca-file` lets the CLI clone and push,
/// and lands in the source Secret as `ca.crt`, which the source-controller
/// (testenv's) trusts instead of the system's roots; a Secret with another
/// CA makes the source fail with Go's x509 wording. Without `--ca-file` the
/// clone is refused before anything is pushed.
fn bootstrap_git_over_https_trusts_the_ca_file_in_the_cli_and_the_cluster(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let server = HttpGitServer::start_https("flux", TOKEN, true);
    let dir = server.create_repo("fleet.git");
    let url = server.url("fleet.git");
    let tmp = tempfile::tempdir().unwrap();
    let ca_file = tmp.path().join("ca.crt");
    std::fs::write(&ca_file, server.ca_pem().unwrap()).unwrap();
    let ca_flag = format!("--ca-file={}", ca_file.display());
    let args = [
        "bootstrap",
        "git",
        "--url",
        url.as_str(),
        "--token-auth",
        "--username=flux",
    ];

    let untrusted = flux_with_password(&cluster, TOKEN, &args);
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("certificate"),
        "{}",
        untrusted.stderr
    );
    assert!(server.pushes().is_empty());

    let with_ca: Vec<&str> = args.iter().copied().chain([ca_flag.as_str()]).collect();
    let run = flux_with_password(&cluster, TOKEN, &with_ca);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(decoded(&secret, "ca.crt"), server.ca_pem().unwrap());
    crate::bootstrap::ready_at(&cluster, &format!("main@sha1:{}", head(&dir).unwrap()));

    // Another CA in the Secret: the controller refuses the server.
    let other = HttpGitServer::start_https("flux", TOKEN, true);
    let patch = serde_json::json!({"stringData": {"ca.crt": other.ca_pem().unwrap()}});
    cluster.with_client(async |client| {
        kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client, "flux-system")
            .patch(
                "flux-system",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .unwrap();
    });
    let reconcile = cluster.flux(&["reconcile", "source", "git", "flux-system", "--timeout=30s"]);
    assert_eq!(reconcile.code, 1, "{}", reconcile.stderr);
    assert!(
        reconcile
            .stderr
            .contains("x509: certificate signed by unknown authority"),
        "{}",
        reconcile.stderr
    );
}

fn bootstrap_git_wrong_token_fails_before_anything_is_pushed_or_applied(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let server = HttpGitServer::start("flux", TOKEN, false);
    let dir = server.create_repo("fleet.git");
    let url = server.url("fleet.git");
    let run = flux_with_password(
        &cluster,
        "not-the-token",
        &[
            "bootstrap",
            "git",
            "--url",
            &url,
            "--token-auth",
            "--allow-insecure-http",
            "-u",
            "flux",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("✗ failed to clone repository: "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-token"));
    assert!(server.requests().iter().any(|r| r.status == 401));
    assert_eq!(head(&dir), None);
    assert!(get(&cluster, "v1", "Namespace", "namespaces", "flux-system").is_none());
}

fn bootstrap_git_over_http_retries_when_the_branch_moved_during_the_push(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let server = HttpGitServer::start("flux", TOKEN, true);
    let dir = server.create_repo("fleet.git");
    let url = server.url("fleet.git");
    let moved = dir.clone();
    server.before_next_push(move || {
        let repo = git2::Repository::open_bare(&moved).unwrap();
        let blob = repo.blob(b"# someone else\n").unwrap();
        let mut tree = repo.treebuilder(None).unwrap();
        tree.insert("NOTES.md", blob, 0o100644).unwrap();
        let tree = repo.find_tree(tree.write().unwrap()).unwrap();
        let sig = git2::Signature::now("Someone", "someone@example.com").unwrap();
        repo.commit(Some("refs/heads/main"), &sig, &sig, "notes", &tree, &[])
            .unwrap();
    });
    let run = flux_with_password(
        &cluster,
        TOKEN,
        &[
            "bootstrap",
            "git",
            "--url",
            &url,
            "--token-auth",
            "--allow-insecure-http",
            "-u",
            "flux",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("◎ git conflict detected, retrying with a fresh clone"),
        "{}",
        run.stderr
    );
    let repo = git2::Repository::open_bare(&dir).unwrap();
    let tip = repo
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert!(tip.tree().unwrap().get_path(Path::new("NOTES.md")).is_ok());
    assert!(
        tip.tree()
            .unwrap()
            .get_path(Path::new("flux-system/gotk-sync.yaml"))
            .is_ok()
    );
}

const BEARER: &str = "b3arer-t0ken-for-tests";

/// Every `.git/config` under `root`, with its text.
fn git_configs(root: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.ends_with(".git/config") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                found.push((path, text));
            }
        }
    }
    found
}

/// Commits one file onto `branch` of a bare repository (someone's push).
fn commit_on(dir: &Path, branch: &str, file: &str) -> git2::Oid {
    let repo = git2::Repository::open_bare(dir).unwrap();
    let blob = repo.blob(b"hello\n").unwrap();
    let mut tree = repo.treebuilder(None).unwrap();
    tree.insert(file, blob, 0o100644).unwrap();
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    let sig = git2::Signature::now("Someone", "someone@example.com").unwrap();
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &sig,
        &sig,
        file,
        &tree,
        &[],
    )
    .unwrap()
}

fn bootstrap_git_with_bearer_token_end_to_end_and_idempotent(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    // Fetches need the token too: the cluster reads with the Secret's.
    let server = HttpGitServer::start_bearer(BEARER, false);
    let dir = server.create_repo("fleet.git");
    // "main" is missing; it starts from the branch the server's HEAD
    // names, which the CLI learns over the bearer-authenticated fetch.
    git2::Repository::open_bare(&dir)
        .unwrap()
        .set_head("refs/heads/trunk")
        .unwrap();
    commit_on(&dir, "aaa", "AAA.md");
    let trunk = commit_on(&dir, "trunk", "TRUNK.md");
    let url = server.url("fleet.git");
    let tmp = tempfile::tempdir().unwrap();
    // The CLI's clone is on disk while it pushes: look at its .git/config.
    let configs = Arc::new(Mutex::new(Vec::new()));
    let (seen, root) = (configs.clone(), tmp.path().to_path_buf());
    server.before_next_push(move || *seen.lock().unwrap() = git_configs(&root));
    let args = [
        "bootstrap",
        "git",
        "--url",
        url.as_str(),
        "--with-bearer-token",
        "--allow-insecure-http",
        "--path=clusters/bearer",
    ];

    let first = flux_with_password_in(&cluster, BEARER, tmp.path(), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.ends_with("✔ all components are healthy\n"),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("► branch \"main\" does not exist yet, starting it from \"trunk\""),
        "{}",
        first.stderr
    );
    assert!(!first.stderr.contains(BEARER) && !first.stdout.contains(BEARER));
    let configs = configs.lock().unwrap().clone();
    assert!(!configs.is_empty(), "no clone found under TMPDIR");
    for (path, text) in configs.iter().chain(&[(
        dir.join("config"),
        std::fs::read_to_string(dir.join("config")).unwrap(),
    )]) {
        assert!(!text.contains(BEARER), "{}: {text}", path.display());
    }

    let tip = head(&dir).unwrap();
    let repo = git2::Repository::open_bare(&dir).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    let history: Vec<git2::Oid> = walk.map(Result::unwrap).collect();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2], trunk);
    crate::bootstrap::ready_at(&cluster, &format!("main@sha1:{tip}"));
    let source = get(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepositories",
        "flux-system",
    )
    .unwrap();
    assert_eq!(source["spec"]["url"], url.as_str());
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(decoded(&secret, "bearerToken"), BEARER);
    let keys: Vec<&String> = secret["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["bearerToken"]);
    // Sent with every request, the CLI's and the cluster's: never a 401.
    let expected = format!("Bearer {BEARER}");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.status == 200 && r.authorization.as_deref() == Some(expected.as_str())),
        "{requests:?}"
    );
    assert_eq!(server.pushes().len(), 2);

    let second = flux_with_password_in(&cluster, BEARER, tmp.path(), &args);
    assert_rerun_changed_nothing(&second);
    assert!(!second.stderr.contains(BEARER) && !second.stdout.contains(BEARER));
    assert_eq!(server.pushes().len(), 2, "the re-run pushed");
    assert_eq!(head(&dir).unwrap(), tip);
}

fn bootstrap_git_with_a_wrong_bearer_token_fails_before_anything_is_pushed_or_applied(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    // A server that challenges with Bearer only, and one that offers Basic
    // (libgit2 then asks for credentials, which a bearer run has none of).
    for server in [
        HttpGitServer::start_bearer(BEARER, false),
        HttpGitServer::start("git", BEARER, false),
    ] {
        let dir = server.create_repo("fleet.git");
        let url = server.url("fleet.git");
        let run = flux_with_password(
            &cluster,
            "not-the-token",
            &[
                "bootstrap",
                "git",
                "--url",
                &url,
                "--with-bearer-token",
                "--allow-insecure-http",
            ],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.ends_with(
                "✗ failed to clone repository: authentication failed: the server refused the bearer token; check the token given with --password or $GIT_PASSWORD\n"
            ),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("not-the-token") && !run.stdout.contains("not-the-token"));
        let requests = server.requests();
        assert!(requests.iter().any(|r| r.status == 401), "{requests:?}");
        assert!(
            requests
                .iter()
                .all(|r| r.authorization.as_deref() == Some("Bearer not-the-token")),
            "{requests:?}"
        );
        assert!(server.pushes().is_empty());
        assert_eq!(head(&dir), None);
    }
    assert!(get(&cluster, "v1", "Namespace", "namespaces", "flux-system").is_none());
}

fn bootstrap_git_bearer_token_with_basic_auth_or_a_wrong_scheme_is_rejected_before_any_request(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let server = HttpGitServer::start_bearer(BEARER, true);
    let dir = server.create_repo("fleet.git");
    let url = server.url("fleet.git");
    let with_user = url.replace("http://", "http://flux@");
    let with_password = url.replace("http://", "http://flux:url-s3cret@");
    let local = tempfile::tempdir().unwrap();
    git2::Repository::init_bare(local.path()).unwrap();
    let local_url = format!("file://{}", local.path().display());
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--url", &url, "-u", "flux", "--allow-insecure-http"],
            "✗ --with-bearer-token and --username=flux cannot be used together: the token is sent as a bearer token, not with basic auth; drop --username\n".into(),
        ),
        (
            vec!["--url", &with_user, "--allow-insecure-http"],
            format!(
                "✗ --with-bearer-token and credentials in --url cannot be used together: remove the user info from {} and pass the token with --password or GIT_PASSWORD\n",
                url.replace("http://", "http://REDACTED@")
            ),
        ),
        (
            vec!["--url", &with_password, "--allow-insecure-http"],
            format!(
                "✗ --with-bearer-token and credentials in --url cannot be used together: remove the user info from {} and pass the token with --password or GIT_PASSWORD\n",
                url.replace("http://", "http://REDACTED@")
            ),
        ),
        (
            vec!["--url", &url],
            "✗ scheme http is insecure, pass --allow-insecure-http=true to allow it\n".into(),
        ),
        (
            vec!["--url", "ssh://git@127.0.0.1:1/fleet.git"],
            "✗ --with-bearer-token needs an http(s) --url, got ssh://git@127.0.0.1:1/fleet.git: bearer tokens are sent over HTTP(S) only\n".into(),
        ),
        (
            vec!["--url", &local_url],
            "✗ scheme \"file\" is not supported: the cluster fetches from --url, so it cannot be a repository on this machine; serve it over ssh://, https:// or http:// (with --allow-insecure-http)\n".into(),
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["bootstrap", "git", "--with-bearer-token"];
        args.extend(extra);
        let run = flux_with_password(&cluster, BEARER, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, expected, "{args:?}");
        assert!(!run.stderr.contains(BEARER) && !run.stderr.contains("url-s3cret"));
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(head(&dir), None);
    assert!(get(&cluster, "v1", "Namespace", "namespaces", "flux-system").is_none());
}

#[test]
fn bootstrap_git_with_bearer_token_and_no_token_fails_when_it_cannot_prompt() {
    let run = crate::common::run(&[
        "bootstrap",
        "git",
        "--url=https://git.example.com/fleet.git",
        "--with-bearer-token",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ a password or token is required with --with-bearer-token: set GIT_PASSWORD or pass --password\n"
    );
}

/// Every file under `root` whose bytes contain `needle`.
fn files_containing(root: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}

const URL_TOKEN: &str = "url-t0ken-9c1d";

/// Runs `bootstrap git` with credentials in `--url` and TMPDIR private to
/// the test; while the push is served (the clone exists) and after the run,
/// no file under TMPDIR holds the token, and no output line does.
fn bootstrap_with_url_credentials(
    cluster: &Cluster,
    server: &HttpGitServer,
    extra: &[&str],
) -> Run {
    let url = server
        .url("fleet.git")
        .replacen("http://", &format!("http://alice:{URL_TOKEN}@"), 1);
    let tmp = tempfile::tempdir().unwrap();
    let during = Arc::new(Mutex::new(None));
    server.before_next_push({
        let during = during.clone();
        let tmp = tmp.path().to_path_buf();
        move || *during.lock().unwrap() = Some(files_containing(&tmp, URL_TOKEN))
    });
    let mut args = vec!["bootstrap", "git", "--url", &url, "--allow-insecure-http"];
    args.extend_from_slice(extra);
    let run = flux_with_password_in(cluster, "", tmp.path(), &args);
    assert!(
        !run.stdout.contains(URL_TOKEN) && !run.stderr.contains(URL_TOKEN),
        "the token is in the output:\n{}{}",
        run.stdout,
        run.stderr
    );
    let during = during.lock().unwrap().take();
    assert_eq!(
        during,
        Some(vec![]),
        "files with the token while the clone existed"
    );
    assert_eq!(
        files_containing(tmp.path(), URL_TOKEN),
        Vec::<PathBuf>::new()
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the temporary clone is left behind"
    );
    run
}

fn bootstrap_git_credentials_in_the_url_are_never_printed_or_stored_on_disk(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let server = HttpGitServer::start("alice", URL_TOKEN, false);
    server.create_repo("fleet.git");
    let run =
        bootstrap_with_url_credentials(&cluster, &server, &["--token-auth", "--path=clusters/url"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "from Git repository \"{}\"",
            server.url("fleet.git")
        )),
        "{}",
        run.stderr
    );
    // The cluster fetches with a Secret, not with a URL holding the token.
    let repo = get(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepositories",
        "flux-system",
    )
    .unwrap();
    assert_eq!(repo["spec"]["url"], server.url("fleet.git").as_str());
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(decoded(&secret, "username"), "alice");
    assert_eq!(decoded(&secret, "password"), URL_TOKEN);
}

#[test]
fn bootstrap_git_credentials_in_the_url_of_an_ssh_sync_stay_out_of_output_and_disk() {
    // Without --token-auth the CLI pushes over HTTP with the URL's
    // credentials and the cluster would sync over SSH (whose host key scan
    // of 127.0.0.1:22 may fail here: only the credentials matter).
    let cluster = Cluster::empty_on(Backend::Builtin);
    let server = HttpGitServer::start("alice", URL_TOKEN, false);
    server.create_repo("fleet.git");
    let run = bootstrap_with_url_credentials(&cluster, &server, &["--path=clusters/ssh"]);
    assert!(
        run.stderr.contains(&format!(
            "from Git repository \"{}\"",
            server.url("fleet.git")
        )),
        "{}",
        run.stderr
    );
}

on_both_backends!(
    bootstrap_git_over_https_trusts_the_ca_file_in_the_cli_and_the_cluster,
    bootstrap_git_credentials_in_the_url_are_never_printed_or_stored_on_disk,
    bootstrap_git_token_auth_over_http_end_to_end_and_idempotent,
    bootstrap_git_wrong_token_fails_before_anything_is_pushed_or_applied,
    bootstrap_git_over_http_retries_when_the_branch_moved_during_the_push,
    bootstrap_git_with_bearer_token_end_to_end_and_idempotent,
    bootstrap_git_with_a_wrong_bearer_token_fails_before_anything_is_pushed_or_applied,
    bootstrap_git_bearer_token_with_basic_auth_or_a_wrong_scheme_is_rejected_before_any_request,
);
