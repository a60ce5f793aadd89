//! `flux bootstrap git --token-auth` against a real smart-HTTP Git server
//! (`git http-backend`) with basic auth, and testenv.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::common::Run;
use crate::common::cluster::Cluster;
use crate::common::git_servers::HttpGitServer;

const TOKEN: &str = "t0ken-for-tests";

fn flux_with_password(cluster: &Cluster, password: &str, args: &[&str]) -> Run {
    let output = crate::common::flux()
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("GIT_PASSWORD", password)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
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

#[test]
fn bootstrap_git_token_auth_over_http_end_to_end_and_idempotent() {
    let cluster = Cluster::empty();
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

#[test]
fn bootstrap_git_wrong_token_fails_before_anything_is_pushed_or_applied() {
    let cluster = Cluster::empty();
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

#[test]
fn bootstrap_git_over_http_retries_when_the_branch_moved_during_the_push() {
    let cluster = Cluster::empty();
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
