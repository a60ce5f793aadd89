//! `flux bootstrap gitlab` against a recording fake of the GitLab REST API
//! v4 (paths, bodies and the PRIVATE-TOKEN header as GitLab documents them),
//! with the project's repository served by the local smart-HTTP Git server,
//! so testenv's controllers apply what was pushed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::bootstrap_http::{decoded, get, head};
use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::fake_api::{Call, FakeApi};
use crate::common::git_servers::HttpGitServer;
use crate::common::{
    Run, assert_provider_plan, dry_run, plan_section, planned_changes, replacing_writes,
};

const TOKEN: &str = "glpat-fake-token-for-tests";

struct State {
    /// Projects by full path.
    projects: BTreeMap<String, Value>,
    repos: BTreeMap<String, PathBuf>,
    deploy_keys: Vec<Value>,
    deploy_tokens: Vec<Value>,
    next_id: u64,
    git: Arc<HttpGitServer>,
}

/// Groups the fake knows, with their ids.
const GROUPS: [(&str, u64); 2] = [("acme", 1), ("devs", 2)];

struct FakeGitLab {
    api: FakeApi,
    state: Arc<Mutex<State>>,
}

impl FakeGitLab {
    fn start(git: Arc<HttpGitServer>) -> Self {
        let state = Arc::new(Mutex::new(State {
            projects: BTreeMap::new(),
            repos: BTreeMap::new(),
            deploy_keys: Vec::new(),
            deploy_tokens: Vec::new(),
            next_id: 100,
            git,
        }));
        let shared = state.clone();
        let api = FakeApi::start("/api/v4/", move |call| {
            if call.headers.get("private-token").map(String::as_str) != Some(TOKEN) {
                return (401, json!({"message": "401 Unauthorized"}));
            }
            route(&mut shared.lock().unwrap(), call)
        });
        Self { api, state }
    }

    fn repo_dir(&self, path: &str) -> PathBuf {
        self.state.lock().unwrap().repos[path].clone()
    }
}

fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={segment}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn not_found() -> (u16, Value) {
    (404, json!({"message": "404 Not Found"}))
}

fn route(state: &mut State, call: &Call) -> (u16, Value) {
    let segments: Vec<&str> = call.route().split('/').collect();
    let body = &call.body;
    match (call.method.as_str(), segments.as_slice()) {
        ("GET", ["user"]) => (200, json!({"id": 7, "username": "me"})),
        ("GET", ["groups", group]) => {
            let group = decode(group);
            match GROUPS.iter().find(|(name, _)| *name == group) {
                Some((name, id)) => (200, json!({"id": id, "full_path": name})),
                None => not_found(),
            }
        }
        ("GET", ["projects", project]) => match state.projects.get(&decode(project)) {
            Some(project) => (200, project.clone()),
            None => not_found(),
        },
        ("POST", ["projects"]) => {
            let namespace = match body["namespace_id"].as_u64() {
                Some(id) => match GROUPS.iter().find(|(_, g)| *g == id) {
                    Some((name, _)) => name.to_string(),
                    None => return not_found(),
                },
                None => "me".to_string(),
            };
            let name = body["name"].as_str().unwrap_or_default();
            let path = format!("{namespace}/{name}");
            let dir = state.git.create_repo(&format!("{path}.git"));
            state.next_id += 1;
            let project = json!({
                "id": state.next_id,
                "name": name,
                "path_with_namespace": path,
                "web_url": format!("https://gitlab.example/{path}"),
                "http_url_to_repo": state.git.url(&format!("{path}.git")),
                "shared_with_groups": [],
            });
            state.repos.insert(path.clone(), dir);
            state.projects.insert(path, project.clone());
            (201, project)
        }
        ("POST", ["projects", project, "share"]) => {
            let Some(project) = state.projects.get_mut(&decode(project)) else {
                return not_found();
            };
            let shares = project["shared_with_groups"].as_array_mut().unwrap();
            if shares.iter().any(|s| s["group_id"] == body["group_id"]) {
                return (
                    409,
                    json!({"message": "The project is already shared with this group"}),
                );
            }
            shares.push(json!({
                "group_id": body["group_id"],
                "group_access_level": body["group_access"],
            }));
            (201, body.clone())
        }
        ("GET", ["projects", _, "deploy_keys"]) => (200, json!(state.deploy_keys)),
        ("POST", ["projects", _, "deploy_keys"]) => {
            state.next_id += 1;
            let mut key = body.clone();
            key["id"] = json!(state.next_id);
            state.deploy_keys.push(key.clone());
            (201, key)
        }
        ("DELETE", ["projects", _, "deploy_keys", id]) => {
            let id: u64 = id.parse().unwrap_or_default();
            state.deploy_keys.retain(|k| k["id"].as_u64() != Some(id));
            (204, Value::Null)
        }
        ("GET", ["projects", _, "deploy_tokens"]) => {
            // GitLab never lists the token values.
            let listed: Vec<Value> = state
                .deploy_tokens
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    t.as_object_mut().unwrap().remove("token");
                    t
                })
                .collect();
            (200, json!(listed))
        }
        ("POST", ["projects", _, "deploy_tokens"]) => {
            state.next_id += 1;
            let id = state.next_id;
            let token = json!({
                "id": id,
                "name": body["name"],
                "username": format!("gitlab+deploy-token-{id}"),
                "token": format!("deploy-token-secret-{id}"),
                "scopes": body["scopes"],
                "expired": false,
                "revoked": false,
            });
            state.deploy_tokens.push(token.clone());
            (201, token)
        }
        ("DELETE", ["projects", _, "deploy_tokens", id]) => {
            let id: u64 = id.parse().unwrap_or_default();
            state.deploy_tokens.retain(|t| t["id"].as_u64() != Some(id));
            (204, Value::Null)
        }
        _ => not_found(),
    }
}

fn flux(cluster: &Cluster, token: Option<&str>, args: &[&str]) -> Run {
    cluster.flux_with_token("GITLAB_TOKEN", token, args)
}

fn applied_revision(cluster: &Cluster) -> Value {
    let ks = get(
        cluster,
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "kustomizations",
        "flux-system",
    )
    .unwrap();
    ks["status"]["lastAppliedRevision"].clone()
}

fn sync_url(cluster: &Cluster) -> Value {
    let repo = get(
        cluster,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepositories",
        "flux-system",
    )
    .unwrap();
    repo["spec"]["url"].clone()
}

fn namespace_exists(cluster: &Cluster) -> bool {
    get(cluster, "v1", "Namespace", "namespaces", "flux-system").is_some()
}

fn bootstrap_gitlab_creates_the_project_shares_it_with_a_group_and_syncs_then_rerun_writes_nothing(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git.clone());
    let hostname = api.api.hostname();
    let args = [
        "bootstrap",
        "gitlab",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--visibility=internal",
        "--token-auth",
        "--path=clusters/prod",
        "--hostname",
        hostname.as_str(),
    ];
    let first = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains(TOKEN) && !first.stdout.contains(TOKEN));
    for expected in [
        format!("► connecting to {hostname}"),
        "✔ repository \"https://gitlab.example/acme/fleet\" created".to_string(),
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
    let calls = api.api.calls();
    assert!(
        calls.iter().all(
            |c| c.headers.get("private-token").map(String::as_str) == Some(TOKEN)
                && !c.headers.contains_key("authorization")
        )
    );
    assert_eq!(
        calls
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect::<Vec<_>>(),
        [
            "GET projects/acme%2Ffleet",
            "GET groups/acme",
            "POST projects",
            "GET groups/devs",
            "GET projects/acme%2Ffleet",
            "POST projects/acme%2Ffleet/share",
        ]
    );
    let create = calls.iter().find(|c| c.path == "projects").unwrap();
    assert_eq!(
        create.body,
        json!({"name": "fleet", "namespace_id": 1, "visibility": "internal", "default_branch": "main", "description": ""})
    );
    let share = calls.iter().find(|c| c.path.ends_with("/share")).unwrap();
    assert_eq!(share.body, json!({"group_id": 2, "group_access": 40}));
    let tip = head(&api.repo_dir("acme/fleet")).unwrap();
    assert_eq!(applied_revision(&cluster), format!("main@sha1:{tip}"));
    assert_eq!(sync_url(&cluster), git.url("acme/fleet.git"));
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(decoded(&secret, "username"), "git");
    assert_eq!(decoded(&secret, "password"), TOKEN);
    assert_eq!(git.pushes().len(), 2);

    let second = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(!second.stderr.contains("created"), "{}", second.stderr);
    assert!(!second.stderr.contains("granted"), "{}", second.stderr);
    assert_eq!(api.api.writes().len(), 2, "the re-run wrote to the API");
    assert_eq!(git.pushes().len(), 2, "the re-run pushed");
    assert_eq!(applied_revision(&cluster), format!("main@sha1:{tip}"));
}

fn bootstrap_gitlab_deploy_token_auth_creates_a_token_and_rotates_it_on_every_run(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git.clone());
    let hostname = api.api.hostname();
    let args = [
        "bootstrap",
        "gitlab",
        "--owner=acme",
        "--repository=fleet",
        "--private=false",
        "--deploy-token-auth",
        "--hostname",
        hostname.as_str(),
    ];
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitLab:",
            "  would create repository acme/fleet (public, default branch main)",
            "  would create deploy token \"flux-system-main-flux-system\" (read_repository)",
            "  would make 2 change(s) through the GitLab API",
        ],
    );
    assert!(
        plan.stdout.contains(
            "  would create source secret flux-system/flux-system (a new deploy token)\n"
        ),
        "{}",
        plan.stdout
    );
    assert_eq!(api.api.reads_since(0), ["projects/acme%2Ffleet"]);
    let first = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, "Using visibility public as --private=false\n");
    for expected in [
        "► checking to reconcile deploy token for source secret",
        "✔ configured deploy token \"flux-system-main-flux-system\" for \"https://gitlab.example/acme/fleet\"",
        "✔ Kustomization reconciled successfully",
    ] {
        assert!(
            first.stderr.contains(expected),
            "{expected}\n{}",
            first.stderr
        );
    }
    assert!(!first.stderr.contains("deploy-token-secret"));
    assert_eq!(
        api.api.writes(),
        ["POST projects", "POST projects/acme%2Ffleet/deploy_tokens"]
    );
    let calls = api.api.calls();
    let create = calls.iter().find(|c| c.path == "projects").unwrap();
    assert_eq!(create.body["visibility"], "public");
    let token = calls
        .iter()
        .find(|c| c.method == "POST" && c.path.ends_with("/deploy_tokens"))
        .unwrap();
    assert_eq!(
        token.body,
        json!({"name": "flux-system-main-flux-system", "scopes": ["read_repository"]})
    );
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    let first_id = api.state.lock().unwrap().deploy_tokens[0]["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        decoded(&secret, "username"),
        format!("gitlab+deploy-token-{first_id}")
    );
    assert_eq!(
        decoded(&secret, "password"),
        format!("deploy-token-secret-{first_id}")
    );
    assert_eq!(sync_url(&cluster), git.url("acme/fleet.git"));
    let tip = head(&api.repo_dir("acme/fleet")).unwrap();
    assert_eq!(applied_revision(&cluster), format!("main@sha1:{tip}"));

    // GitLab never shows a token again: the re-run replaces it, and the
    // Secret follows; nothing is pushed.
    let second = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        api.api.writes()[2..],
        [
            format!("DELETE projects/acme%2Ffleet/deploy_tokens/{first_id}"),
            "POST projects/acme%2Ffleet/deploy_tokens".to_string(),
        ]
    );
    let tokens = api.state.lock().unwrap().deploy_tokens.clone();
    assert_eq!(tokens.len(), 1);
    let second_id = tokens[0]["id"].as_u64().unwrap();
    assert_ne!(second_id, first_id);
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(
        decoded(&secret, "password"),
        format!("deploy-token-secret-{second_id}")
    );
    assert_eq!(git.pushes().len(), 2, "the re-run pushed");
    assert_eq!(applied_revision(&cluster), format!("main@sha1:{tip}"));

    // A dry run tells the token would be replaced again, without doing it.
    let before = api.api.calls().len();
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(!plan.stdout.contains("deploy-token-secret"));
    assert_eq!(
        plan_section(&plan.stdout, "Git provider GitLab:"),
        [
            "Git provider GitLab:",
            "  repository acme/fleet exists (https://gitlab.example/acme/fleet)",
            "  would replace deploy token \"flux-system-main-flux-system\" (read_repository): GitLab shows a token only when creating it",
            "  would make 1 change(s) through the GitLab API",
        ]
    );
    assert!(
        plan.stdout.contains("  nothing to commit\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "  would update source secret flux-system/flux-system with a new deploy token\n"
        ),
        "{}",
        plan.stdout
    );
    assert_eq!(
        api.api.reads_since(before),
        [
            "projects/acme%2Ffleet",
            "projects/acme%2Ffleet/deploy_tokens"
        ]
    );
    assert_eq!(api.state.lock().unwrap().deploy_tokens[0]["id"], second_id);
}

/// The write requests a planned provider step makes on the fake GitLab;
/// `tokens` are the ids of the deploy tokens there when the plan was made.
fn planned_writes(step: &str, tokens: &[u64]) -> Vec<String> {
    let tokens_path = "projects/acme%2Ffleet/deploy_tokens";
    if step.starts_with("would create repository acme/") {
        return vec!["POST projects".to_string()];
    }
    if step.starts_with("would create deploy token ") {
        return replacing_writes(tokens_path, &[]);
    }
    if step.starts_with("would replace deploy token ") {
        return replacing_writes(tokens_path, tokens);
    }
    panic!("no known request for the step {step:?}");
}

/// `--deploy-token-auth`: on a first run and a re-run, the provider writes
/// are the ones the dry run planned, and the source secret holds the token
/// the run created, as the plan said.
fn bootstrap_gitlab_deploy_token_run_does_exactly_what_its_dry_run_printed(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git.clone());
    let hostname = api.api.hostname();
    let args = [
        "bootstrap",
        "gitlab",
        "--owner=acme",
        "--repository=fleet",
        "--deploy-token-auth",
        "--hostname",
        hostname.as_str(),
    ];
    for (planned_count, secret_line) in [
        (
            2,
            "  would create source secret flux-system/flux-system (a new deploy token)\n",
        ),
        (
            1,
            "  would update source secret flux-system/flux-system with a new deploy token\n",
        ),
    ] {
        let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        assert!(plan.stdout.contains(secret_line), "{}", plan.stdout);
        let steps = planned_changes(&plan.stdout, "GitLab");
        assert_eq!(steps.len(), planned_count, "{}", plan.stdout);
        let tokens: Vec<u64> = api
            .state
            .lock()
            .unwrap()
            .deploy_tokens
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect();
        let expected: Vec<String> = steps
            .iter()
            .flat_map(|step| planned_writes(step, &tokens))
            .collect();
        let writes_before = api.api.writes().len();

        let run = flux(&cluster, Some(TOKEN), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            api.api.writes()[writes_before..],
            expected,
            "the run's provider writes are not the plan's"
        );
        let created = api.state.lock().unwrap().deploy_tokens.clone();
        assert_eq!(created.len(), 1, "{created:?}");
        let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
        let id = created[0]["id"].as_u64().unwrap();
        assert_eq!(
            decoded(&secret, "password"),
            format!("deploy-token-secret-{id}")
        );
    }
}

fn bootstrap_gitlab_without_a_token_fails_when_it_cannot_prompt(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git);
    let hostname = api.api.hostname();
    let run = flux(
        &cluster,
        None,
        &[
            "bootstrap",
            "gitlab",
            "--owner=acme",
            "--repository=fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ GITLAB_TOKEN is not set and stdin is not a terminal to ask for the token\n"
    );
    assert!(api.api.calls().is_empty());
    assert!(!namespace_exists(&cluster));
}

fn bootstrap_gitlab_wrong_token_is_a_clear_401(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git);
    let hostname = api.api.hostname();
    let run = flux(
        &cluster,
        Some("glpat-wrong"),
        &[
            "bootstrap",
            "gitlab",
            "--owner=acme",
            "--repository=fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with(
            "✗ the GitLab API rejected the token (401 Unauthorized): check GITLAB_TOKEN\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("glpat-wrong"));
    assert!(api.api.writes().is_empty());
    assert!(!namespace_exists(&cluster));
}

fn bootstrap_gitlab_rejects_an_invalid_project_name_before_any_request(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git);
    let hostname = api.api.hostname();
    let run = flux(
        &cluster,
        Some(TOKEN),
        &[
            "bootstrap",
            "gitlab",
            "--owner=acme",
            "--repository=-fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("✗ -fleet is an invalid project name for gitlab."),
        "{}",
        run.stderr
    );
    assert!(api.api.calls().is_empty());
    assert!(!namespace_exists(&cluster));

    let run = flux(
        &cluster,
        Some(TOKEN),
        &[
            "bootstrap",
            "gitlab",
            "--owner=acme",
            "--repository=fleet",
            "--token-auth",
            "--deploy-token-auth",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ --token-auth and --deploy-token-auth cannot be set both.\n"
    );
    assert!(api.api.calls().is_empty());
}

fn bootstrap_gitlab_registers_the_new_ssh_key_as_a_deploy_key_in_a_personal_project(
    backend: Backend,
) {
    // Only its host key is used: the sync URL's SSH host is scanned.
    let Some(ssh) = crate::common::git_servers::SshGitServer::start_or_skip() else {
        return;
    };
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("me", TOKEN, true));
    let api = FakeGitLab::start(git);
    let hostname = api.api.hostname();
    let ssh_host = format!("127.0.0.1:{}", ssh.port);
    let args = [
        "bootstrap",
        "gitlab",
        "--owner=me",
        "--personal",
        "--repository=fleet",
        "--read-write-key",
        "--hostname",
        hostname.as_str(),
        "--ssh-hostname",
        ssh_host.as_str(),
    ];
    let stderr = crate::bootstrap_github::until_health_wait(&cluster, &args, "GITLAB_TOKEN", TOKEN);
    assert!(
        stderr.contains(
            "✔ configured deploy key \"flux-system-main-flux-system\" for \"https://gitlab.example/me/fleet\""
        ),
        "{stderr}"
    );
    let calls = api.api.calls();
    assert!(calls.iter().any(|c| c.method == "GET" && c.path == "user"));
    let create = calls.iter().find(|c| c.path == "projects").unwrap();
    assert!(create.body.get("namespace_id").is_none(), "{}", create.body);
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    let public = decoded(&secret, "identity.pub");
    let posted = calls
        .iter()
        .find(|c| c.method == "POST" && c.path == "projects/me%2Ffleet/deploy_keys")
        .expect("a deploy key was created");
    assert_eq!(
        posted.body,
        json!({"title": "flux-system-main-flux-system", "key": public.trim(), "can_push": true})
    );
    assert_eq!(sync_url(&cluster), format!("ssh://git@{ssh_host}/me/fleet"));

    // A kept secret means no key call at all on the next run.
    let before = api.api.writes().len();
    let again = crate::bootstrap_github::until_health_wait(&cluster, &args, "GITLAB_TOKEN", TOKEN);
    assert!(again.contains("✔ source secret up to date"), "{again}");
    assert_eq!(api.api.writes().len(), before);

    // The dry run finds the key registered, and the secret kept.
    let before = api.api.calls().len();
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitLab:",
            "  repository me/fleet exists (https://gitlab.example/me/fleet)",
            "  deploy key \"flux-system-main-flux-system\" already registered; the source secret is kept",
            "  nothing to change",
        ],
    );
    assert_eq!(
        api.api.reads_since(before),
        ["projects/me%2Ffleet", "projects/me%2Ffleet/deploy_keys"]
    );
}

fn bootstrap_gitlab_dry_run_only_reads_then_finds_nothing_to_change_after_a_bootstrap(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("acme", TOKEN, true));
    let api = FakeGitLab::start(git.clone());
    let hostname = api.api.hostname();
    let args = [
        "bootstrap",
        "gitlab",
        "--owner=acme",
        "--repository=fleet",
        "--team=devs",
        "--visibility=internal",
        "--token-auth",
        "--path=clusters/prod",
        "--hostname",
        hostname.as_str(),
    ];
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitLab:",
            "  would create repository acme/fleet (internal, default branch main)",
            "  would grant \"maintain\" to team \"devs\"",
            "  would make 2 change(s) through the GitLab API",
        ],
    );
    let files = plan_section(
        &plan.stdout,
        &format!("Git repository {hostname}/acme/fleet.git (branch main, new repository):"),
    );
    assert_eq!(files[4], "  would commit and push 3 file(s) to main");
    assert!(
        plan.stdout
            .contains("  would create source secret flux-system/flux-system (HTTP basic auth)\n")
    );
    assert_eq!(api.api.reads_since(0), ["projects/acme%2Ffleet"]);
    assert!(git.requests().is_empty(), "nothing to clone yet");
    assert!(!namespace_exists(&cluster));

    let run = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = api.api.calls().len();
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider GitLab:",
            "  repository acme/fleet exists (https://gitlab.example/acme/fleet)",
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
        )[1..],
        [
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
        api.api.reads_since(before),
        [
            "projects/acme%2Ffleet",
            "groups/devs",
            "projects/acme%2Ffleet"
        ]
    );
    assert_eq!(git.pushes().len(), 2, "the dry run pushed");
}

fn bootstrap_gitlab_registers_the_key_of_private_key_file_and_stores_the_file_verbatim(
    backend: Backend,
) {
    let Some(ssh) = crate::common::git_servers::SshGitServer::start_or_skip() else {
        return;
    };
    let (key_path, public_key) = ssh.client_key();
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("me", TOKEN, true));
    let api = FakeGitLab::start(git);
    let hostname = api.api.hostname();
    let ssh_host = format!("127.0.0.1:{}", ssh.port);
    let key_arg = format!("--private-key-file={}", key_path.display());
    let args = [
        "bootstrap",
        "gitlab",
        "--owner=me",
        "--personal",
        "--repository=fleet",
        "--hostname",
        hostname.as_str(),
        "--ssh-hostname",
        ssh_host.as_str(),
        key_arg.as_str(),
    ];
    let stderr = crate::bootstrap_github::until_health_wait(&cluster, &args, "GITLAB_TOKEN", TOKEN);
    assert!(stderr.contains("✔ configured deploy key"), "{stderr}");
    let posted = api
        .api
        .calls()
        .into_iter()
        .find(|c| c.method == "POST" && c.path == "projects/me%2Ffleet/deploy_keys")
        .expect("a deploy key was created");
    // `ssh-keygen` adds a comment; the key itself is what is registered.
    let mut fields = public_key.split_whitespace();
    let given = format!("{} {}", fields.next().unwrap(), fields.next().unwrap());
    assert_eq!(posted.body["key"], given.as_str());
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(
        decoded(&secret, "identity"),
        std::fs::read_to_string(&key_path).unwrap()
    );
}

fn bootstrap_gitlab_refuses_an_encrypted_private_key_file_before_any_request(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("id_ed25519");
    let generated = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "secret", "-f"])
        .arg(&key_path)
        .status();
    if !generated.is_ok_and(|s| s.success()) {
        crate::common::skip("ssh-keygen is not installed");
        return;
    }
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("me", TOKEN, true));
    let api = FakeGitLab::start(git);
    let hostname = api.api.hostname();
    let key_arg = format!("--private-key-file={}", key_path.display());
    let run = flux(
        &cluster,
        Some(TOKEN),
        &[
            "bootstrap",
            "gitlab",
            "--owner=me",
            "--repository=fleet",
            "--hostname",
            hostname.as_str(),
            key_arg.as_str(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "✗ unable to load private key file {}: ssh: this private key is passphrase protected; 'bootstrap gitlab' has no --password to decrypt it: pass an unencrypted key\n",
            key_path.display()
        )
    );
    assert!(api.api.calls().is_empty());
    assert!(!namespace_exists(&cluster));
}

on_both_backends!(
    bootstrap_gitlab_creates_the_project_shares_it_with_a_group_and_syncs_then_rerun_writes_nothing,
    bootstrap_gitlab_deploy_token_auth_creates_a_token_and_rotates_it_on_every_run,
    bootstrap_gitlab_without_a_token_fails_when_it_cannot_prompt,
    bootstrap_gitlab_wrong_token_is_a_clear_401,
    bootstrap_gitlab_rejects_an_invalid_project_name_before_any_request,
    bootstrap_gitlab_registers_the_new_ssh_key_as_a_deploy_key_in_a_personal_project,
    bootstrap_gitlab_dry_run_only_reads_then_finds_nothing_to_change_after_a_bootstrap,
    bootstrap_gitlab_deploy_token_run_does_exactly_what_its_dry_run_printed,
    bootstrap_gitlab_registers_the_key_of_private_key_file_and_stores_the_file_verbatim,
    bootstrap_gitlab_refuses_an_encrypted_private_key_file_before_any_request,
);
