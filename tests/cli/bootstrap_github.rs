//! `flux bootstrap github` against a recording fake of the GitHub REST API
//! (paths, bodies and auth headers as GitHub documents them), with the
//! repository itself served by the local smart-HTTP Git server, so testenv's
//! controllers apply what was pushed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::git_servers::HttpGitServer;
use crate::common::{
    Run, assert_provider_plan, dry_run, plan_section, planned_changes, replacing_writes,
};

pub(crate) const TOKEN: &str = "ghp_fake_token_for_tests";

#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Value,
}

struct State {
    repos: BTreeMap<String, Value>,
    teams: BTreeMap<String, String>,
    keys: Vec<Value>,
    calls: Vec<Call>,
    /// Organisations the token may not create repositories in.
    foreign: Vec<String>,
    git_base: String,
    git: Arc<HttpGitServer>,
    /// Gitea's dialect: `/api/v1/`, `Authorization: token …`.
    gitea: bool,
}

/// The fake API; `/api/v3/` like GitHub Enterprise.
pub(crate) struct FakeGitHub {
    pub(crate) port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeGitHub {
    pub(crate) fn start(git: Arc<HttpGitServer>) -> Self {
        Self::start_flavor(git, false)
    }

    fn start_flavor(git: Arc<HttpGitServer>, gitea: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            repos: BTreeMap::new(),
            teams: BTreeMap::new(),
            keys: Vec::new(),
            calls: Vec::new(),
            foreign: vec!["someone-else".into()],
            git_base: git.url(""),
            git,
            gitea,
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(&state, stream));
            }
        });
        Self { port, state }
    }

    fn hostname(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn serve(state: &Mutex<State>, mut stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let gitea = state.lock().unwrap().gitea;
    let (prefix, scheme) = if gitea {
        ("/api/v1/", "token")
    } else {
        ("/api/v3/", "Bearer")
    };
    let path = target.strip_prefix(prefix).unwrap_or(&target).to_string();
    let authorization = headers.get("authorization").cloned();
    let (status, answer) = {
        let mut state = state.lock().unwrap();
        state.calls.push(Call {
            method: method.clone(),
            path: path.clone(),
            authorization: authorization.clone(),
            body: body.clone(),
        });
        if authorization.as_deref() != Some(&format!("{scheme} {TOKEN}")) {
            (401, json!({"message": "Bad credentials"}))
        } else {
            route(&mut state, &method, &path, &body)
        }
    };
    let text = if answer.is_null() {
        String::new()
    } else {
        answer.to_string()
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn route(state: &mut State, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["user"]) => (200, json!({"login": "me"})),
        ("GET", ["repos", owner, name]) => match state.repos.get(&format!("{owner}/{name}")) {
            Some(repo) => (200, repo.clone()),
            None => (404, json!({"message": "Not Found"})),
        },
        ("POST", ["orgs", owner, "repos"]) if state.foreign.iter().any(|f| f == owner) => (
            403,
            json!({"message": "You need admin access to the organization before adding a repository to it."}),
        ),
        ("POST", ["orgs", owner, "repos"]) => create(state, owner, body),
        ("POST", ["user", "repos"]) => create(state, "me", body),
        ("GET", ["orgs", _, "teams", team, "repos", _, _]) => match state.teams.get(*team) {
            Some(permission) => (200, json!({"role_name": permission})),
            None => (404, json!({"message": "Not Found"})),
        },
        ("GET", ["repos", _, _, "teams", team]) => match state.teams.get(*team) {
            Some(_) => (200, json!({"name": team})),
            None => (404, json!({"message": "Not Found"})),
        },
        ("PUT", ["repos", _, _, "teams", team]) => {
            state.teams.insert(team.to_string(), "team's own".into());
            (204, Value::Null)
        }
        ("PUT", ["orgs", _, "teams", team, "repos", _, _]) => {
            let permission = body["permission"].as_str().unwrap_or_default();
            state.teams.insert(team.to_string(), permission.into());
            (204, Value::Null)
        }
        ("GET", ["repos", _, _, "keys"]) => (200, json!(state.keys)),
        ("POST", ["repos", _, _, "keys"]) => {
            let mut key = body.clone();
            key["id"] = json!(state.keys.len() + 1);
            state.keys.push(key.clone());
            (201, key)
        }
        ("DELETE", ["repos", _, _, "keys", id]) => {
            let id: u64 = id.parse().unwrap_or_default();
            state.keys.retain(|k| k["id"].as_u64() != Some(id));
            (204, Value::Null)
        }
        _ => (404, json!({"message": "Not Found"})),
    }
}

fn create(state: &mut State, owner: &str, body: &Value) -> (u16, Value) {
    let name = body["name"].as_str().unwrap_or_default();
    state.git.create_repo(&format!("{owner}/{name}.git"));
    let repo = json!({
        "name": name,
        "html_url": format!("https://github.example/{owner}/{name}"),
        "clone_url": format!("{}{owner}/{name}.git", state.git_base),
    });
    state.repos.insert(format!("{owner}/{name}"), repo.clone());
    (201, repo)
}

fn flux(cluster: &Cluster, token: Option<&str>, args: &[&str]) -> Run {
    cluster.flux_with_token("GITHUB_TOKEN", token, args)
}

fn writes(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.method != "GET")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

fn namespace_exists(cluster: &Cluster) -> bool {
    cluster.with_client(async |client| {
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        api.get_opt("flux-system").await.unwrap().is_some()
    })
}

fn bootstrap_github_creates_the_repository_grants_the_team_and_syncs_then_rerun_writes_nothing(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git.clone());
    let hostname = api.hostname();
    let args = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--token-auth",
        "--path=clusters/prod",
        "--hostname",
        hostname.as_str(),
    ];
    let first = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains(TOKEN));
    for expected in [
        format!("► connecting to {hostname}"),
        "✔ repository \"https://github.example/acme/fleet\" created".to_string(),
        "► reconciling repository permissions".to_string(),
        "✔ granted \"maintain\" permissions to \"devs\"".to_string(),
        "✔ Kustomization reconciled successfully".to_string(),
    ] {
        assert!(
            first.stderr.contains(&expected),
            "{expected}\n{}",
            first.stderr
        );
    }
    let calls = api.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(
        writes(&calls),
        [
            "POST orgs/acme/repos",
            "PUT orgs/acme/teams/devs/repos/acme/fleet"
        ]
    );
    let create = calls.iter().find(|c| c.method == "POST").unwrap();
    assert_eq!(
        create.body,
        json!({"name": "fleet", "visibility": "private", "private": true})
    );
    let grant = calls.iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(grant.body, json!({"permission": "maintain"}));
    assert_eq!(git.pushes().len(), 2);

    let second = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(!second.stderr.contains("created"), "{}", second.stderr);
    assert_eq!(writes(&api.calls()).len(), 2, "the re-run wrote to the API");
    assert_eq!(git.pushes().len(), 2, "the re-run pushed");
}

fn bootstrap_github_signs_its_commits_with_an_ssh_signing_key(backend: Backend) {
    use crate::bootstrap_signing::{SshKey, commits, have};
    if !have("ssh-keygen") {
        return;
    }
    let key = SshKey::new(&["-t", "ed25519"], "");
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git.clone());
    let hostname = api.hostname();
    let args = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--token-auth",
        "--author-email=flux@example.com",
        "--hostname",
        hostname.as_str(),
        "--ssh-signing-key-file",
        key.path.to_str().unwrap(),
    ];
    let run = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let repo = git.repo_path("acme/fleet.git");
    let all = commits(&repo);
    assert_eq!(all.len(), 2);
    for sha in &all {
        key.verify()(&repo, sha);
    }
}

fn bootstrap_github_without_a_token_fails_when_it_cannot_prompt(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git);
    let hostname = api.hostname();
    let run = flux(
        &cluster,
        None,
        &[
            "bootstrap",
            "github",
            "--owner=acme",
            "--repository=fleet",
            "--hostname",
            &hostname,
            // Ignored, as upstream: GitHub's deploy key is always generated.
            "--private-key-file=/nonexistent/id_ecdsa",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "⚠️ --private-key-file is ignored by 'bootstrap github': it generates the deploy key itself\n✗ GITHUB_TOKEN is not set and stdin is not a terminal to ask for the token\n"
    );
    assert!(api.calls().is_empty());
    assert!(!namespace_exists(&cluster));
}

fn bootstrap_github_wrong_token_is_a_clear_401(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git);
    let hostname = api.hostname();
    let run = flux(
        &cluster,
        Some("ghp_wrong"),
        &[
            "bootstrap",
            "github",
            "--owner=acme",
            "--repository=fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with(
            "✗ the GitHub API rejected the token (401 Unauthorized): check GITHUB_TOKEN\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ghp_wrong"));
    assert!(writes(&api.calls()).is_empty());
    assert!(!namespace_exists(&cluster));
}

fn bootstrap_github_repository_of_an_organisation_without_access_is_refused(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("someone-else", TOKEN, true));
    let api = FakeGitHub::start(git);
    let hostname = api.hostname();
    let run = flux(
        &cluster,
        Some(TOKEN),
        &[
            "bootstrap",
            "github",
            "--owner=someone-else",
            "--repository=fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    let host = hostname.trim_start_matches("http://");
    assert!(
        run.stderr.ends_with(&format!(
            "✗ failed to create new Git repository \"{host}/someone-else/fleet\": POST orgs/someone-else/repos: 403 You need admin access to the organization before adding a repository to it.\n"
        )),
        "{}",
        run.stderr
    );
    assert!(!namespace_exists(&cluster));
}

/// Runs flux until the health wait starts, then stops it; returns stderr so
/// far. For runs whose SSH sync URL names a repository that only the HTTP
/// server holds (the SSH server lends its host key), which the cluster
/// therefore cannot fetch.
pub(crate) fn until_health_wait(
    cluster: &Cluster,
    args: &[&str],
    variable: &str,
    token: &str,
) -> String {
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(args)
        .env("KUBECONFIG", cluster.kubeconfig())
        .env(variable, token)
        .env("HOME", std::env::temp_dir())
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let waiting = line.starts_with("◎ waiting for GitRepository");
        lines.push(line);
        if waiting {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines.join("\n")
}

fn bootstrap_github_registers_the_new_ssh_key_as_a_read_only_deploy_key(backend: Backend) {
    // Only its host key is used: the sync URL's SSH host is scanned.
    let Some(ssh) = crate::common::git_servers::SshGitServer::start_or_skip() else {
        return;
    };
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git);
    let hostname = api.hostname();
    let ssh_host = format!("127.0.0.1:{}", ssh.port);
    let args = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--hostname",
        hostname.as_str(),
        "--ssh-hostname",
        ssh_host.as_str(),
    ];
    let stderr = until_health_wait(&cluster, &args, "GITHUB_TOKEN", TOKEN);
    assert!(
        stderr.contains(
            "✔ configured deploy key \"flux-system-main-flux-system\" for \"https://github.example/acme/fleet\""
        ),
        "{stderr}"
    );
    let secret = cluster.with_client(async |client| {
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(client, "flux-system");
        api.get("flux-system").await.unwrap()
    });
    let data = secret.data.unwrap();
    let public = String::from_utf8(data["identity.pub"].0.clone()).unwrap();
    let calls = api.calls();
    let posted = calls
        .iter()
        .find(|c| c.method == "POST" && c.path == "repos/acme/fleet/keys")
        .expect("a deploy key was created");
    assert_eq!(
        posted.body,
        json!({"title": "flux-system-main-flux-system", "key": public.trim(), "read_only": true})
    );
    let repo = cluster.with_client(async |client| {
        let api = crate::common::cluster::flux_system_api(
            client,
            "source.toolkit.fluxcd.io/v1",
            "GitRepository",
            "gitrepositories",
        );
        serde_json::to_value(api.get("flux-system").await.unwrap()).unwrap()
    });
    assert_eq!(
        repo["spec"]["url"],
        format!("ssh://git@{ssh_host}/acme/fleet")
    );

    // A kept secret means no key call at all on the next run.
    let before = writes(&api.calls()).len();
    let again = until_health_wait(&cluster, &args, "GITHUB_TOKEN", TOKEN);
    assert!(again.contains("✔ source secret up to date"), "{again}");
    assert_eq!(writes(&api.calls()).len(), before);

    // The dry run finds the key registered, and the secret kept.
    let before = api.calls().len();
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitHub:",
            "  repository acme/fleet exists (https://github.example/acme/fleet)",
            "  deploy key \"flux-system-main-flux-system\" already registered; the source secret is kept",
            "  nothing to change",
        ],
    );
    assert!(
        plan.stdout.contains("  nothing to commit\n"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        only_gets_since(&api.calls(), before),
        [
            "repos/acme/fleet",
            "repos/acme/fleet/keys?per_page=100&page=1"
        ]
    );
}

fn bootstrap_gitea_creates_the_repository_adds_the_team_and_syncs_then_rerun_writes_nothing(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start_flavor(git.clone(), true);
    let hostname = api.hostname();
    let args = [
        "bootstrap",
        "gitea",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--token-auth",
        "--hostname",
        hostname.as_str(),
    ];
    let mut cmd = crate::common::flux();
    let output = cmd
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("GITEA_TOKEN", TOKEN)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("✔ Kustomization reconciled successfully"),
        "{stderr}"
    );
    let calls = api.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.authorization.as_deref() == Some(&format!("token {TOKEN}")))
    );
    assert_eq!(
        writes(&calls),
        ["POST orgs/acme/repos", "PUT repos/acme/fleet/teams/devs"]
    );
    let create = calls.iter().find(|c| c.method == "POST").unwrap();
    assert_eq!(
        create.body,
        json!({"name": "fleet", "description": "", "private": true, "default_branch": "main"})
    );

    let output = crate::common::flux()
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("GITEA_TOKEN", TOKEN)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(writes(&api.calls()).len(), 2, "the re-run wrote to the API");
}

/// Every request since the `since`th was a GET.
fn only_gets_since(calls: &[Call], since: usize) -> Vec<String> {
    let later = &calls[since..];
    assert!(!later.is_empty(), "no request at all");
    assert_eq!(writes(later), Vec::<String>::new(), "the dry run wrote");
    later.iter().map(|c| c.path.clone()).collect()
}

fn bootstrap_github_dry_run_only_reads_then_finds_nothing_to_change_after_a_bootstrap(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git.clone());
    let hostname = api.hostname();
    let base = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--path=clusters/prod",
        "--hostname",
        hostname.as_str(),
    ];
    // With an SSH deploy key (the default): no key is made, no host scanned.
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&base));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitHub:",
            "  would create repository acme/fleet (private)",
            "  would grant \"maintain\" to team \"devs\"",
            "  would generate a new SSH key and register it as deploy key \"flux-system-main-flux-system-./clusters/prod\" (read-only)",
            "  would make 3 change(s) through the GitHub API",
        ],
    );
    let files = plan_section(
        &plan.stdout,
        &format!("Git repository {hostname}/acme/fleet.git (branch main, new repository):"),
    );
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(files[1].starts_with("  create clusters/prod/flux-system/gotk-components.yaml ("));
    assert!(files[2].starts_with("  create clusters/prod/flux-system/gotk-sync.yaml ("));
    assert!(files[3].starts_with("  create clusters/prod/flux-system/kustomization.yaml ("));
    assert_eq!(files[4], "  would commit and push 3 file(s) to main");
    let objects = plan_section(&plan.stdout, "Cluster (namespace flux-system):");
    assert!(objects.contains(
        &"  would create source secret flux-system/flux-system (a new SSH key and the host's known_hosts)"
    ));
    assert!(objects.contains(&"    Kustomization/flux-system/flux-system"));
    assert_eq!(only_gets_since(&api.calls(), 0), ["repos/acme/fleet"]);
    assert!(git.requests().is_empty(), "nothing to clone yet");
    assert!(!namespace_exists(&cluster));

    let args: Vec<&str> = base.iter().copied().chain(["--token-auth"]).collect();
    let run = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = api.calls().len();
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitHub:",
            "  repository acme/fleet exists (https://github.example/acme/fleet)",
            "  team \"devs\" already has \"maintain\"",
            "  nothing to change",
        ],
    );
    assert_eq!(
        plan_section(
            &plan.stdout,
            &format!(
                "Git repository {} (branch main):",
                git.url("acme/fleet.git")
            )
        ),
        [
            format!(
                "Git repository {} (branch main):",
                git.url("acme/fleet.git")
            )
            .as_str(),
            "  unchanged clusters/prod/flux-system/gotk-components.yaml",
            "  unchanged clusters/prod/flux-system/gotk-sync.yaml",
            "  nothing to commit",
        ]
    );
    assert!(
        plan.stdout
            .contains("  source secret flux-system/flux-system exists and is up to date\n"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        only_gets_since(&api.calls(), before),
        ["repos/acme/fleet", "orgs/acme/teams/devs/repos/acme/fleet"]
    );
    assert_eq!(git.pushes().len(), 2, "the dry run pushed");
}

fn bootstrap_gitea_dry_run_adds_the_team_with_its_own_permission(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start_flavor(git.clone(), true);
    let hostname = api.hostname();
    let args = [
        "bootstrap",
        "gitea",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--token-auth",
        "--hostname",
        hostname.as_str(),
    ];
    let gitea = |args: &[&str]| cluster.flux_with_token("GITEA_TOKEN", Some(TOKEN), args);
    let plan = gitea(&dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider Gitea:",
            "  would create repository acme/fleet (private, default branch main)",
            "  would add team \"devs\" (with the team's own permission)",
            "  would make 2 change(s) through the Gitea API",
        ],
    );
    assert!(
        plan.stdout
            .contains("  would create source secret flux-system/flux-system (HTTP basic auth)\n"),
        "{}",
        plan.stdout
    );
    assert_eq!(only_gets_since(&api.calls(), 0), ["repos/acme/fleet"]);
    assert!(git.requests().is_empty());
    assert!(!namespace_exists(&cluster));

    let run = gitea(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = api.calls().len();
    let plan = gitea(&dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider Gitea:",
            "  repository acme/fleet exists (https://github.example/acme/fleet)",
            "  team \"devs\" already has access",
            "  nothing to change",
        ],
    );
    assert!(
        plan.stdout.contains("  nothing to commit\n"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        only_gets_since(&api.calls(), before),
        ["repos/acme/fleet", "repos/acme/fleet/teams/devs"]
    );
    assert_eq!(git.pushes().len(), 2, "the dry run pushed");
}

/// The files at the tip of `branch` of the bare repository `dir`.
fn files_at_tip(dir: &std::path::Path, branch: &str) -> Vec<String> {
    let repo = git2::Repository::open_bare(dir).unwrap();
    let tree = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .unwrap()
        .peel_to_tree()
        .unwrap();
    let mut files = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            files.push(format!("{root}{}", entry.name().unwrap()));
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    files
}

/// The write requests a planned provider step makes on the fake GitHub;
/// `keys` are the ids of the deploy keys registered when the plan was made.
fn planned_writes(step: &str, keys: &[u64]) -> Vec<String> {
    if step.starts_with("would create repository acme/") {
        return vec!["POST orgs/acme/repos".to_string()];
    }
    if let Some(rest) = step.strip_prefix("would grant \"") {
        let team = rest.split('"').nth(2).unwrap();
        return vec![format!("PUT orgs/acme/teams/{team}/repos/acme/fleet")];
    }
    if step.starts_with("would generate a new SSH key and register it as deploy key ") {
        let replaced = if step.contains(", replacing the key") {
            keys
        } else {
            &[]
        };
        return replacing_writes("repos/acme/fleet/keys", replaced);
    }
    panic!("no known request for the step {step:?}");
}

/// `--dry-run`, then the same command for real: the provider writes, the
/// files pushed and the cluster objects are exactly what the plan listed.
fn bootstrap_github_does_exactly_what_its_dry_run_printed(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git.clone());
    let hostname = api.hostname();
    let args = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--team=ops:admin",
        "--token-auth",
        "--path=clusters/prod",
        "--hostname",
        hostname.as_str(),
    ];
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let steps = planned_changes(&plan.stdout, "GitHub");
    assert_eq!(steps.len(), 3, "{}", plan.stdout);
    assert!(
        plan.stdout.contains(&format!(
            "Git repository {hostname}/acme/fleet.git (branch main, new repository):"
        )),
        "{}",
        plan.stdout
    );
    let planned_files = planned_file_changes(&plan.stdout);
    let calls_before = api.calls().len();
    assert!(git.pushes().is_empty());

    let run = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let performed = writes(&api.calls()[calls_before..]);
    let expected: Vec<String> = steps
        .iter()
        .flat_map(|step| planned_writes(step, &[]))
        .collect();
    assert_eq!(
        performed, expected,
        "the run's provider writes are not the plan's"
    );
    assert_eq!(
        files_at_tip(&git.repo_path("acme/fleet.git"), "main"),
        planned_files,
        "the pushed files are not the plan's"
    );
    assert_planned_objects_exist(&cluster, &plan.stdout);
}

/// The files a plan's repository section creates or updates, sorted.
pub(crate) fn planned_file_changes(plan: &str) -> Vec<String> {
    let mut files: Vec<String> = plan
        .lines()
        .filter_map(|line| {
            let created = line
                .strip_prefix("  create ")
                .map(|rest| rest.split(" (").next());
            let updated = line
                .strip_prefix("  update ")
                .map(|rest| rest.strip_suffix(':'));
            created.or(updated).flatten().map(String::from)
        })
        .collect();
    files.sort();
    files
}

/// Every object the plan's cluster section names is in the cluster.
pub(crate) fn assert_planned_objects_exist(cluster: &Cluster, plan: &str) {
    let labels: Vec<String> = plan_section(plan, "Cluster (namespace flux-system):")
        .iter()
        .filter_map(|line| line.strip_prefix("    "))
        .map(|label| {
            let parts: Vec<&str> = label.split('/').collect();
            format!("{}/{}", parts[0], parts[parts.len() - 1])
        })
        .collect();
    assert!(labels.len() > 20, "{labels:?}");
    let found = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args(["get", "-n", "flux-system", "-o", "name"])
        .args(&labels)
        .output()
        .expect("kubectl runs");
    assert!(
        found.status.success(),
        "a planned object is missing: {}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&found.stdout).lines().count(),
        labels.len()
    );
}

/// With an SSH source secret, the deploy key step too: a first run
/// registers the new key its plan named; once the source secret is gone, a
/// run replaces the key registered with that title, as its plan said.
fn bootstrap_github_registers_exactly_the_deploy_key_its_dry_run_printed(backend: Backend) {
    // Only its host key is used: the sync URL's SSH host is scanned.
    let Some(ssh) = crate::common::git_servers::SshGitServer::start_or_skip() else {
        return;
    };
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitHub::start(git);
    let hostname = api.hostname();
    let ssh_host = format!("127.0.0.1:{}", ssh.port);
    let args = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--hostname",
        hostname.as_str(),
        "--ssh-hostname",
        ssh_host.as_str(),
    ];
    for planned_count in [3, 1] {
        let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        let steps = planned_changes(&plan.stdout, "GitHub");
        assert_eq!(steps.len(), planned_count, "{}", plan.stdout);
        let keys: Vec<u64> = api
            .state
            .lock()
            .unwrap()
            .keys
            .iter()
            .map(|k| k["id"].as_u64().unwrap())
            .collect();
        let expected: Vec<String> = steps
            .iter()
            .flat_map(|step| planned_writes(step, &keys))
            .collect();
        let calls_before = api.calls().len();

        let stderr = until_health_wait(&cluster, &args, "GITHUB_TOKEN", TOKEN);
        assert_eq!(
            writes(&api.calls()[calls_before..]),
            expected,
            "the run's provider writes are not the plan's\n{stderr}"
        );
        let secret = cluster.with_client(async |client| {
            let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
                kube::Api::namespaced(client, "flux-system");
            let secret = api.get("flux-system").await.unwrap();
            // The next round starts without it: a new key replaces this one.
            api.delete("flux-system", &Default::default())
                .await
                .unwrap();
            secret
        });
        let public = String::from_utf8(secret.data.unwrap()["identity.pub"].0.clone()).unwrap();
        let registered = api.state.lock().unwrap().keys.clone();
        assert_eq!(registered.len(), 1, "{registered:?}");
        assert_eq!(registered[0]["key"], public.trim());
    }
}

on_both_backends!(
    bootstrap_github_does_exactly_what_its_dry_run_printed,
    bootstrap_github_registers_exactly_the_deploy_key_its_dry_run_printed,
    bootstrap_github_creates_the_repository_grants_the_team_and_syncs_then_rerun_writes_nothing,
    bootstrap_github_signs_its_commits_with_an_ssh_signing_key,
    bootstrap_github_without_a_token_fails_when_it_cannot_prompt,
    bootstrap_github_wrong_token_is_a_clear_401,
    bootstrap_github_repository_of_an_organisation_without_access_is_refused,
    bootstrap_github_registers_the_new_ssh_key_as_a_read_only_deploy_key,
    bootstrap_gitea_creates_the_repository_adds_the_team_and_syncs_then_rerun_writes_nothing,
    bootstrap_github_dry_run_only_reads_then_finds_nothing_to_change_after_a_bootstrap,
    bootstrap_gitea_dry_run_adds_the_team_with_its_own_permission,
);
