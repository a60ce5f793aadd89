//! `flux bootstrap bitbucket-server` against a recording fake of the
//! Bitbucket Server REST and SSH keys APIs (paths, bodies and the Bearer
//! header), with the repository served by the local smart-HTTP Git server,
//! so testenv's controllers apply what was pushed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::bootstrap_http::{decoded, get, head};
use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::fake_api::{Call, FakeApi};
use crate::common::git_servers::HttpGitServer;
use crate::common::{Run, assert_provider_plan, dry_run, plan_section};

const TOKEN: &str = "bbs-fake-token-for-tests";

struct State {
    /// Repositories by `KEY/slug`.
    repos: BTreeMap<String, Value>,
    dirs: BTreeMap<String, PathBuf>,
    /// Group name → repository permission.
    groups: BTreeMap<String, String>,
    keys: Vec<Value>,
    next_id: u64,
    git: Arc<HttpGitServer>,
}

struct FakeBitbucket {
    api: FakeApi,
    state: Arc<Mutex<State>>,
}

impl FakeBitbucket {
    fn start(git: Arc<HttpGitServer>) -> Self {
        let state = Arc::new(Mutex::new(State {
            repos: BTreeMap::new(),
            dirs: BTreeMap::new(),
            groups: BTreeMap::new(),
            keys: Vec::new(),
            next_id: 10,
            git,
        }));
        let shared = state.clone();
        let api = FakeApi::start("/rest/", move |call| {
            if call.headers.get("authorization") != Some(&format!("Bearer {TOKEN}")) {
                return (
                    401,
                    json!({"errors": [{"message": "Authentication failed. Please check your credentials and try again."}]}),
                );
            }
            route(&mut shared.lock().unwrap(), call)
        });
        Self { api, state }
    }

    fn repo_dir(&self, path: &str) -> PathBuf {
        self.state.lock().unwrap().dirs[path].clone()
    }
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"errors": [{"message": "The requested resource does not exist."}]}),
    )
}

fn route(state: &mut State, call: &Call) -> (u16, Value) {
    let segments: Vec<&str> = call.route().split('/').collect();
    let body = &call.body;
    match (call.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "1.0", "projects"]) => {
            let name = call.query("name").unwrap_or_default();
            let values = if name == "platform" {
                json!([{"key": "PLAT", "name": "platform"}])
            } else {
                json!([])
            };
            (200, json!({"values": values}))
        }
        ("GET", ["api", "1.0", "users", user]) => (
            200,
            json!({"name": user, "displayName": "Flux Bot", "emailAddress": "flux@example.com"}),
        ),
        ("GET", ["api", "1.0", "projects", key, "repos", slug]) => {
            match state.repos.get(&format!("{key}/{slug}")) {
                Some(repo) => (200, repo.clone()),
                None => not_found(),
            }
        }
        ("POST", ["api", "1.0", "projects", key, "repos"]) => {
            let name = body["name"].as_str().unwrap_or_default();
            let slug = name.to_lowercase();
            let path = format!("{key}/{slug}");
            let dir = state.git.create_repo(&format!("scm/{path}.git"));
            let repo = json!({
                "slug": slug,
                "name": name,
                "links": {
                    "clone": [
                        {"name": "ssh", "href": format!("ssh://git@bitbucket.example:7999/{path}.git")},
                        {"name": "http", "href": state.git.url(&format!("scm/{path}.git"))},
                    ],
                    "self": [{"href": format!("https://bitbucket.example/projects/{key}/repos/{slug}/browse")}],
                },
            });
            state.dirs.insert(path.clone(), dir);
            state.repos.insert(path, repo.clone());
            (201, repo)
        }
        (
            "GET",
            [
                "api",
                "1.0",
                "projects",
                key,
                "repos",
                slug,
                "branches",
                "default",
            ],
        ) => {
            let dir = &state.dirs[&format!("{key}/{slug}")];
            let repo = git2::Repository::open_bare(dir).unwrap();
            match repo.head() {
                Ok(head) => (200, json!({"id": head.name().unwrap_or_default()})),
                Err(_) => not_found(),
            }
        }
        ("POST", ["api", "1.0", "projects", key, "repos", slug, "branches"]) => {
            let dir = &state.dirs[&format!("{key}/{slug}")];
            let repo = git2::Repository::open_bare(dir).unwrap();
            let start = body["startPoint"].as_str().unwrap_or_default();
            let Ok(commit) = repo.find_reference(start).and_then(|r| r.peel_to_commit()) else {
                return not_found();
            };
            let name = body["name"].as_str().unwrap_or_default();
            repo.reference(name, commit.id(), false, "branch").unwrap();
            (200, json!({"id": name}))
        }
        (
            "PUT",
            [
                "api",
                "1.0",
                "projects",
                key,
                "repos",
                slug,
                "branches",
                "default",
            ],
        ) => {
            let dir = &state.dirs[&format!("{key}/{slug}")];
            let repo = git2::Repository::open_bare(dir).unwrap();
            repo.set_head(body["id"].as_str().unwrap_or_default())
                .unwrap();
            (204, Value::Null)
        }
        (
            "GET",
            [
                "api",
                "1.0",
                "projects",
                _,
                "repos",
                _,
                "permissions",
                "groups",
            ],
        ) => {
            let filter = call.query("filter").unwrap_or_default();
            let values: Vec<Value> = state
                .groups
                .iter()
                .filter(|(name, _)| name.contains(&filter))
                .map(
                    |(name, permission)| json!({"group": {"name": name}, "permission": permission}),
                )
                .collect();
            (200, json!({"values": values}))
        }
        ("GET", ["api", "1.0", "projects", _, "permissions", "groups"]) => {
            (200, json!({"values": []}))
        }
        (
            "PUT",
            [
                "api",
                "1.0",
                "projects",
                _,
                "repos",
                _,
                "permissions",
                "groups",
            ],
        ) => {
            let name = call.query("name").unwrap_or_default();
            let permission = call.query("permission").unwrap_or_default();
            state.groups.insert(name, permission);
            (204, Value::Null)
        }
        ("GET", ["keys", "1.0", "projects", _, "repos", _, "ssh"]) => {
            (200, json!({"values": state.keys}))
        }
        ("POST", ["keys", "1.0", "projects", _, "repos", _, "ssh"]) => {
            state.next_id += 1;
            let text = body["key"]["text"].as_str().unwrap_or_default();
            let label = text.split_whitespace().nth(2).unwrap_or_default();
            let key = json!({
                "key": {"id": state.next_id, "text": text, "label": label},
                "permission": body["permission"],
            });
            state.keys.push(key.clone());
            (201, key)
        }
        ("DELETE", ["keys", "1.0", "projects", _, "repos", _, "ssh", id]) => {
            let id: u64 = id.parse().unwrap_or_default();
            state.keys.retain(|k| k["key"]["id"].as_u64() != Some(id));
            (204, Value::Null)
        }
        _ => not_found(),
    }
}

fn flux(cluster: &Cluster, token: Option<&str>, args: &[&str]) -> Run {
    cluster.flux_with_token("BITBUCKET_TOKEN", token, args)
}

fn flux_object(cluster: &Cluster, api_version: &str, kind: &str, plural: &str) -> Value {
    get(cluster, api_version, kind, plural, "flux-system").unwrap()
}

fn namespace_exists(cluster: &Cluster) -> bool {
    get(cluster, "v1", "Namespace", "namespaces", "flux-system").is_some()
}

fn bootstrap_bitbucket_creates_the_repository_grants_the_group_and_syncs_then_rerun_writes_nothing(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("flux", TOKEN, true));
    let api = FakeBitbucket::start(git.clone());
    let hostname = api.api.hostname();
    let args = [
        "bootstrap",
        "bitbucket-server",
        "--owner=platform",
        "--username=flux",
        "--repository=fleet",
        "--group=devs",
        "--token-auth",
        "--path=clusters/prod",
        "--hostname",
        hostname.as_str(),
    ];
    let first = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains(TOKEN) && !first.stdout.contains(TOKEN));
    let host = hostname.trim_start_matches("http://");
    for expected in [
        format!("► connecting to {host}"),
        "✔ repository \"https://bitbucket.example/projects/PLAT/repos/fleet/browse\" created"
            .to_string(),
        "► reconciling repository permissions".to_string(),
        "✔ granted \"push\" permissions to \"devs\"".to_string(),
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
        calls
            .iter()
            .all(|c| c.headers.get("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(
        calls
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect::<Vec<_>>(),
        [
            "GET api/1.0/projects?name=platform",
            "GET api/1.0/projects/PLAT/repos/fleet",
            "POST api/1.0/projects/PLAT/repos",
            "GET api/1.0/users/flux",
            "POST api/1.0/projects/PLAT/repos/fleet/branches",
            "PUT api/1.0/projects/PLAT/repos/fleet/branches/default",
            "GET api/1.0/projects/PLAT/repos/fleet/permissions/groups?filter=devs",
            "GET api/1.0/projects/PLAT/permissions/groups?filter=devs",
            "PUT api/1.0/projects/PLAT/repos/fleet/permissions/groups?name=devs&permission=REPO_WRITE",
        ]
    );
    let body = |method: &str, suffix: &str| {
        calls
            .iter()
            .find(|c| c.method == method && c.route().ends_with(suffix))
            .unwrap()
            .body
            .clone()
    };
    assert_eq!(
        body("POST", "/repos"),
        json!({"name": "fleet", "scmId": "git"})
    );
    assert_eq!(
        body("POST", "/branches"),
        json!({"name": "refs/heads/main", "startPoint": "refs/heads/master"})
    );
    assert_eq!(
        body("PUT", "/branches/default"),
        json!({"id": "refs/heads/main"})
    );
    // The initial commit on master, then the two bootstrap commits on main.
    assert_eq!(git.pushes().len(), 3);
    let tip = head(&api.repo_dir("PLAT/fleet")).unwrap();
    let ks = flux_object(
        &cluster,
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "kustomizations",
    );
    assert_eq!(
        ks["status"]["lastAppliedRevision"],
        format!("main@sha1:{tip}")
    );
    let repo = flux_object(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepositories",
    );
    assert_eq!(repo["spec"]["url"], git.url("scm/PLAT/fleet.git"));
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    assert_eq!(decoded(&secret, "username"), "flux");
    assert_eq!(decoded(&secret, "password"), TOKEN);

    let second = flux(&cluster, Some(TOKEN), &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(!second.stderr.contains("created"), "{}", second.stderr);
    assert!(!second.stderr.contains("granted"), "{}", second.stderr);
    assert_eq!(api.api.writes().len(), 4, "the re-run wrote to the API");
    assert_eq!(git.pushes().len(), 3, "the re-run pushed");
}

fn bootstrap_bitbucket_without_a_token_fails_when_it_cannot_prompt(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("flux", TOKEN, true));
    let api = FakeBitbucket::start(git);
    let hostname = api.api.hostname();
    let run = flux(
        &cluster,
        None,
        &[
            "bootstrap",
            "bitbucket-server",
            "--owner=platform",
            "--repository=fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "✗ BITBUCKET_TOKEN is not set and stdin is not a terminal to ask for the token\n"
    );
    assert!(api.api.calls().is_empty());
    assert!(!namespace_exists(&cluster));

    let run = flux(
        &cluster,
        Some(TOKEN),
        &[
            "bootstrap",
            "bitbucket-server",
            "--owner=platform",
            "--repository=fleet",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "✗ invalid hostname \"\"\n");
}

fn bootstrap_bitbucket_wrong_token_is_a_clear_401(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("flux", TOKEN, true));
    let api = FakeBitbucket::start(git);
    let hostname = api.api.hostname();
    let run = flux(
        &cluster,
        Some("bbs-wrong"),
        &[
            "bootstrap",
            "bitbucket-server",
            "--owner=platform",
            "--repository=fleet",
            "--hostname",
            &hostname,
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with(
            "✗ the Bitbucket API rejected the token (401 Unauthorized): check BITBUCKET_TOKEN\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("bbs-wrong"));
    assert!(api.api.writes().is_empty());
    assert!(!namespace_exists(&cluster));
}

fn bootstrap_bitbucket_registers_the_new_ssh_key_as_an_access_key_of_a_personal_repository(
    backend: Backend,
) {
    // Only its host key is used: the sync URL's SSH host is scanned.
    let Some(ssh) = crate::common::git_servers::SshGitServer::start_or_skip() else {
        return;
    };
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("me", TOKEN, true));
    let api = FakeBitbucket::start(git);
    let hostname = api.api.hostname();
    let ssh_host = format!("127.0.0.1:{}", ssh.port);
    let args = [
        "bootstrap",
        "bitbucket-server",
        "--owner=me",
        "--personal",
        "--repository=fleet",
        "--hostname",
        hostname.as_str(),
        "--ssh-hostname",
        ssh_host.as_str(),
    ];
    let stderr =
        crate::bootstrap_github::until_health_wait(&cluster, &args, "BITBUCKET_TOKEN", TOKEN);
    assert!(
        stderr.contains(
            "✔ configured deploy key \"flux-system-main-flux-system\" for \"https://bitbucket.example/projects/~me/repos/fleet/browse\""
        ),
        "{stderr}"
    );
    let calls = api.api.calls();
    assert!(!calls.iter().any(|c| c.route() == "api/1.0/projects"));
    let secret = get(&cluster, "v1", "Secret", "secrets", "flux-system").unwrap();
    let public = decoded(&secret, "identity.pub");
    let material: Vec<&str> = public.split_whitespace().take(2).collect();
    let posted = calls
        .iter()
        .find(|c| c.method == "POST" && c.path == "keys/1.0/projects/~me/repos/fleet/ssh")
        .expect("an access key was created");
    assert_eq!(
        posted.body,
        json!({
            "key": {"text": format!("{} flux-system-main-flux-system", material.join(" "))},
            "permission": "REPO_READ",
        })
    );
    let repo = flux_object(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepositories",
    );
    assert_eq!(
        repo["spec"]["url"],
        format!("ssh://git@{ssh_host}/~me/fleet")
    );

    // A kept secret means no key call at all on the next run.
    let before = api.api.writes().len();
    let again =
        crate::bootstrap_github::until_health_wait(&cluster, &args, "BITBUCKET_TOKEN", TOKEN);
    assert!(again.contains("✔ source secret up to date"), "{again}");
    assert_eq!(api.api.writes().len(), before);

    // The dry run finds the access key registered, and the secret kept.
    let before = api.api.calls().len();
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider Bitbucket:",
            "  repository ~me/fleet exists (https://bitbucket.example/projects/~me/repos/fleet/browse)",
            "  deploy key \"flux-system-main-flux-system\" already registered; the source secret is kept",
            "  nothing to change",
        ],
    );
    assert_eq!(
        api.api.reads_since(before),
        [
            "api/1.0/projects/~me/repos/fleet",
            "api/1.0/projects/~me/repos/fleet/branches/default",
            "keys/1.0/projects/~me/repos/fleet/ssh",
        ]
    );
}

fn bootstrap_bitbucket_dry_run_only_reads_then_finds_nothing_to_change_after_a_bootstrap(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let git = Arc::new(HttpGitServer::start("flux", TOKEN, true));
    let api = FakeBitbucket::start(git.clone());
    let hostname = api.api.hostname();
    let args = [
        "bootstrap",
        "bitbucket-server",
        "--owner=platform",
        "--username=flux",
        "--repository=fleet",
        "--group=devs",
        "--token-auth",
        "--hostname",
        hostname.as_str(),
    ];
    let plan = flux(&cluster, Some(TOKEN), &dry_run(&args));
    assert_provider_plan(
        &plan,
        TOKEN,
        &[
            "Git provider Bitbucket:",
            "  would create repository PLAT/fleet (the project's default visibility, an initial commit on master, default branch main)",
            "  would grant \"push\" to team \"devs\"",
            "  would make 2 change(s) through the Bitbucket API",
        ],
    );
    let files = plan_section(
        &plan.stdout,
        &format!("Git repository {hostname}/scm/plat/fleet.git (branch main, new repository):"),
    );
    assert_eq!(files[4], "  would commit and push 3 file(s) to main");
    assert_eq!(
        api.api.reads_since(0),
        [
            "api/1.0/projects?name=platform",
            "api/1.0/projects/PLAT/repos/fleet"
        ]
    );
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
            "Git provider Bitbucket:",
            "  repository PLAT/fleet exists (https://bitbucket.example/projects/PLAT/repos/fleet/browse)",
            "  team \"devs\" already has \"push\"",
            "  nothing to change",
        ],
    );
    assert_eq!(
        plan_section(
            &plan.stdout,
            &format!(
                "Git repository {} (branch main):",
                git.url("scm/PLAT/fleet.git")
            )
        )[1..],
        [
            "  unchanged flux-system/gotk-components.yaml",
            "  unchanged flux-system/gotk-sync.yaml",
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
            "api/1.0/projects?name=platform",
            "api/1.0/projects/PLAT/repos/fleet",
            "api/1.0/projects/PLAT/repos/fleet/branches/default",
            "api/1.0/projects/PLAT/repos/fleet/permissions/groups?filter=devs",
            "api/1.0/projects/PLAT/permissions/groups?filter=devs",
        ]
    );
    assert_eq!(git.pushes().len(), 3, "the dry run pushed");
}

on_both_backends!(
    bootstrap_bitbucket_creates_the_repository_grants_the_group_and_syncs_then_rerun_writes_nothing,
    bootstrap_bitbucket_without_a_token_fails_when_it_cannot_prompt,
    bootstrap_bitbucket_wrong_token_is_a_clear_401,
    bootstrap_bitbucket_registers_the_new_ssh_key_as_an_access_key_of_a_personal_repository,
    bootstrap_bitbucket_dry_run_only_reads_then_finds_nothing_to_change_after_a_bootstrap,
);
