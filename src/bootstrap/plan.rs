//! `--dry-run`: what a bootstrap run would do, computed from a read-only
//! clone and read-only cluster requests. Nothing is committed, pushed or
//! applied.

use std::fmt::{self, Write};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;

use super::provider::{Access, GitProvider, ProviderError, Repository, RepositoryRef, TeamAccess};
use super::{
    Bootstrap, BootstrapError, Paths, SecretPlan, check_foreign_files, check_path, existing_sync,
    git,
};
use crate::output::Printer;
use crate::render::install;
use crate::render::sync;

/// One provider API call a bootstrap run would make, or skip because
/// there is nothing to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderStep {
    /// The repository exists.
    RepositoryFound { reference: String, html_url: String },
    /// The repository would be created; `how` tells visibility and branch.
    CreateRepository { reference: String, how: String },
    /// Access of `--team` `team`, asked for `grant`: `permission` (what the
    /// plan shows) is `None` where teams carry their own (Gitea); `found` is
    /// `None` when the repository does not exist yet, so there was nothing
    /// to look up.
    Team {
        team: String,
        grant: String,
        permission: Option<String>,
        found: Option<TeamAccess>,
        reconcile: bool,
    },
    /// The team could not be looked up; a run would try to grant access
    /// and go on if that fails.
    TeamUnknown {
        team: String,
        grant: String,
        permission: Option<String>,
        error: String,
    },
    /// A GitLab deploy token named `name`, replacing `active` ones.
    DeployToken { name: String, active: usize },
    /// The deploy key titled `title`.
    DeployKey {
        title: String,
        read_only: bool,
        key: KeyStep,
    },
}

/// What happens to the deploy key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStep {
    /// A new key is generated and registered, replacing `replaces` keys
    /// with the same title.
    New { replaces: usize },
    /// The given key is registered already.
    Registered,
    /// The source secret is kept, so no key is generated or registered;
    /// whether a key with the title is registered.
    SecretKept { registered: bool },
    /// The cluster was not reachable: a key is generated only if the
    /// source secret does not exist.
    Unknown { replaces: usize },
}

impl ProviderStep {
    /// Whether a run would write to the provider for this step.
    pub fn changes(&self) -> bool {
        match self {
            Self::RepositoryFound { .. } => false,
            Self::CreateRepository { .. } | Self::TeamUnknown { .. } | Self::DeployToken { .. } => {
                true
            }
            Self::Team {
                found, reconcile, ..
            } => match found.as_ref().map(|f| &f.access) {
                None | Some(Access::Missing) => true,
                Some(Access::Wanted) => false,
                Some(Access::Other(_)) => *reconcile,
            },
            Self::DeployKey { key, .. } => {
                matches!(key, KeyStep::New { .. } | KeyStep::Unknown { .. })
            }
        }
    }
}

fn replacing(replaces: usize) -> &'static str {
    match replaces {
        0 => "",
        1 => ", replacing the key registered with that title",
        _ => ", replacing the keys registered with that title",
    }
}

impl fmt::Display for ProviderStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RepositoryFound {
                reference,
                html_url,
            } => write!(f, "repository {reference} exists ({html_url})"),
            Self::CreateRepository { reference, how } => {
                write!(f, "would create repository {reference} ({how})")
            }
            Self::Team {
                team,
                permission,
                found,
                reconcile,
                ..
            } => match (found.as_ref().map(|f| &f.access), permission) {
                (None | Some(Access::Missing), Some(permission)) => {
                    write!(f, "would grant \"{permission}\" to team \"{team}\"")
                }
                (None | Some(Access::Missing), None) => {
                    write!(
                        f,
                        "would add team \"{team}\" (with the team's own permission)"
                    )
                }
                (Some(Access::Wanted), Some(permission)) => {
                    write!(f, "team \"{team}\" already has \"{permission}\"")
                }
                (Some(Access::Wanted), None) => write!(f, "team \"{team}\" already has access"),
                (Some(Access::Other(current)), Some(permission)) if *reconcile => write!(
                    f,
                    "would grant \"{permission}\" to team \"{team}\" (it has \"{current}\")"
                ),
                (Some(Access::Other(current)), _) => write!(
                    f,
                    "team \"{team}\" has \"{current}\", kept without --reconcile"
                ),
            },
            Self::TeamUnknown {
                team,
                permission,
                error,
                ..
            } => match permission {
                Some(permission) => write!(
                    f,
                    "would try to grant \"{permission}\" to team \"{team}\", which could not be looked up: {error}"
                ),
                None => write!(
                    f,
                    "would try to add team \"{team}\", which could not be looked up: {error}"
                ),
            },
            Self::DeployToken { name, active: 0 } => {
                write!(f, "would create deploy token \"{name}\" (read_repository)")
            }
            Self::DeployToken { name, .. } => write!(
                f,
                "would replace deploy token \"{name}\" (read_repository): GitLab shows a token only when creating it"
            ),
            Self::DeployKey {
                title,
                read_only,
                key,
            } => {
                let access = if *read_only {
                    "read-only"
                } else {
                    "read-write"
                };
                match key {
                    KeyStep::New { replaces } => write!(
                        f,
                        "would generate a new SSH key and register it as deploy key \"{title}\" ({access}){}",
                        replacing(*replaces)
                    ),
                    KeyStep::Registered => {
                        write!(f, "deploy key \"{title}\" already registered ({access})")
                    }
                    KeyStep::SecretKept { registered: true } => write!(
                        f,
                        "deploy key \"{title}\" already registered; the source secret is kept"
                    ),
                    KeyStep::SecretKept { registered: false } => write!(
                        f,
                        "no deploy key is generated: the source secret is kept (no key titled \"{title}\" is registered)"
                    ),
                    KeyStep::Unknown { replaces } => write!(
                        f,
                        "would generate a new SSH key and register it as deploy key \"{title}\" ({access}){} if the source secret does not exist",
                        replacing(*replaces)
                    ),
                }
            }
        }
    }
}

/// The provider part of a dry run, found with read-only requests.
#[derive(Debug, Clone)]
pub struct ProviderPlan {
    /// The provider's name.
    pub name: &'static str,
    pub steps: Vec<ProviderStep>,
    /// Whether the repository exists; when it does not, nothing is cloned
    /// and every file is new.
    pub repository_exists: bool,
    /// What the source secret would hold when the provider makes new
    /// credentials on every run (GitLab deploy tokens).
    pub new_credentials: Option<&'static str>,
}

impl ProviderPlan {
    /// Looks up the repository and the access of `teams` (`(team,
    /// permission)`), with GET requests only. Returns the plan and the
    /// repository: the one found, or the one a run would create.
    pub async fn lookup(
        provider: &dyn GitProvider,
        repo: &RepositoryRef,
        visibility: &str,
        teams: &[(&str, &str)],
        reconcile: bool,
    ) -> Result<(Self, Repository), ProviderError> {
        let reference = format!("{}/{}", repo.owner, repo.name);
        let mut steps = Vec::new();
        let found = provider.find_repository(repo).await?;
        let repository_exists = found.is_some();
        let repository = match found {
            Some(found) => {
                steps.push(ProviderStep::RepositoryFound {
                    reference,
                    html_url: found.html_url.clone(),
                });
                found
            }
            None => {
                let (planned, how) = provider.planned_repository(repo, visibility);
                steps.push(ProviderStep::CreateRepository { reference, how });
                planned
            }
        };
        for (team, permission) in teams {
            let shown = provider.grants_permission().then(|| permission.to_string());
            let found = if repository_exists {
                match provider.team_access(repo, team, permission).await {
                    Ok(found) => Some(found),
                    Err(error) => {
                        steps.push(ProviderStep::TeamUnknown {
                            team: team.to_string(),
                            grant: permission.to_string(),
                            permission: shown,
                            error: error.to_string(),
                        });
                        continue;
                    }
                }
            } else {
                None
            };
            steps.push(ProviderStep::Team {
                team: team.to_string(),
                grant: permission.to_string(),
                permission: shown,
                found,
                reconcile,
            });
        }
        let plan = Self {
            name: provider.name(),
            steps,
            repository_exists,
            new_credentials: None,
        };
        Ok((plan, repository))
    }

    /// Makes the repository and team changes this plan lists, and no
    /// others, printing upstream's lines; returns the repository (the one
    /// found, or the one created). `planned` is what [`Self::lookup`]
    /// returned. A team that cannot be granted access is reported and the
    /// run goes on, as upstream's does.
    pub async fn apply(
        &self,
        provider: &dyn GitProvider,
        repo: &RepositoryRef,
        visibility: &str,
        planned: Repository,
        printer: &Printer,
    ) -> Result<Repository, ProviderError> {
        let mut repository = planned;
        let mut teams = self
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    ProviderStep::Team { .. } | ProviderStep::TeamUnknown { .. }
                )
            })
            .peekable();
        for step in &self.steps {
            if let ProviderStep::CreateRepository { .. } = step {
                repository = provider.create_repository(repo, visibility).await?;
                printer.success(&format!("repository \"{}\" created", repository.html_url));
            }
        }
        if teams.peek().is_none() {
            return Ok(repository);
        }
        printer.action("reconciling repository permissions");
        for step in teams {
            let (team, grant, granted) = match step {
                ProviderStep::Team {
                    team,
                    grant,
                    found,
                    reconcile,
                    ..
                } => {
                    let granted = match found {
                        Some(_) if !step.changes() => Ok(false),
                        Some(found) => provider
                            .grant_team(repo, team, grant, found)
                            .await
                            .map(|()| true),
                        // The repository is new: the team's id is looked up now.
                        None => provider.ensure_team(repo, team, grant, *reconcile).await,
                    };
                    (team, grant, granted)
                }
                // The plan said a run would try: it tries, looking the team up again.
                ProviderStep::TeamUnknown { team, grant, .. } => {
                    let granted = provider.ensure_team(repo, team, grant, true).await;
                    (team, grant, granted)
                }
                _ => continue,
            };
            match granted {
                Ok(true) => {
                    printer.success(&format!("granted \"{grant}\" permissions to \"{team}\""))
                }
                Ok(false) => {}
                Err(err) => printer.failure(&format!(
                    "failed to grant \"{grant}\" permissions to \"{team}\": {err}"
                )),
            }
        }
        printer.success("reconciled repository permissions");
        Ok(repository)
    }
}

/// Writes the provider section: a header, the steps and a summary line.
fn write_provider(out: &mut String, name: &str, steps: &[ProviderStep]) {
    let _ = writeln!(out, "Git provider {name}:");
    for step in steps {
        let _ = writeln!(out, "  {step}");
    }
    let _ = match steps.iter().filter(|s| s.changes()).count() {
        0 => writeln!(out, "  nothing to change"),
        count => writeln!(out, "  would make {count} change(s) through the {name} API"),
    };
}

/// What the cluster holds, read once for the plan.
enum ClusterState {
    Unreachable(String),
    Reachable {
        existing: Option<Value>,
        secret: Option<Box<Secret>>,
    },
}

impl Bootstrap<'_> {
    /// The plan as text for stdout: the provider API calls, the files to
    /// commit (with diffs), then the cluster objects.
    pub async fn plan(&self, provider: Option<&ProviderPlan>) -> Result<String, BootstrapError> {
        let options = self.options;
        let paths = Paths::new(&options.sync);
        let components = install::render(&options.install)?;
        let tree = match provider {
            Some(plan) if !plan.repository_exists => None,
            _ => {
                let tree = self.clone_repository().await?;
                check_foreign_files(&tree, &paths)?;
                Some(tree)
            }
        };
        let cluster = self.cluster_state().await?;

        let mut out = String::new();
        match provider {
            None => {
                let _ = writeln!(out, "Git provider: no API calls (plain Git)");
            }
            Some(plan) => {
                let mut steps = plan.steps.clone();
                if let Some(step) = self.deploy_key_step(plan, &cluster).await? {
                    steps.push(step);
                }
                write_provider(&mut out, plan.name, &steps);
            }
        }
        self.plan_files(&mut out, tree.as_ref(), &paths, components);
        self.plan_cluster(&mut out, &cluster, provider)?;
        Ok(out)
    }

    async fn cluster_state(&self) -> Result<ClusterState, BootstrapError> {
        let options = self.options;
        let ns = &options.sync.namespace;
        let client = match self.kube.client().await {
            Ok(client) => client,
            Err(err) => return Ok(ClusterState::Unreachable(err.to_string())),
        };
        let existing = existing_sync(&client, ns).await?;
        check_path(existing.as_ref(), &options.sync.target_path)?;
        let name = &options.sync.secret_name;
        let secret = Api::<Secret>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(BootstrapError::api(format!("get Secret {ns}/{name}")))?
            .map(Box::new);
        Ok(ClusterState::Reachable { existing, secret })
    }

    /// The deploy key a run would register: only when the source secret is
    /// created with a new SSH key, as `secret::reconcile` does.
    async fn deploy_key_step(
        &self,
        plan: &ProviderPlan,
        cluster: &ClusterState,
    ) -> Result<Option<ProviderStep>, BootstrapError> {
        let (Some(deploy), SecretPlan::Ssh { key, .. }) = (&self.deploy_key, &self.options.secret)
        else {
            return Ok(None);
        };
        let registered: Vec<_> = if plan.repository_exists {
            deploy
                .provider
                .deploy_keys(&deploy.repository)
                .await?
                .into_iter()
                .filter(|k| k.title == deploy.title)
                .collect()
        } else {
            Vec::new()
        };
        let secret_plan = &self.options.secret;
        let step = match cluster {
            ClusterState::Unreachable(_) => KeyStep::Unknown {
                replaces: registered.len(),
            },
            ClusterState::Reachable {
                secret: Some(secret),
                ..
            } if !secret_plan.explicit() || secret_plan.stored_in(secret) => KeyStep::SecretKept {
                registered: !registered.is_empty(),
            },
            _ => match key {
                Some(pair)
                    if registered
                        .iter()
                        .any(|k| k.matches(&pair.public_key, deploy.read_only)) =>
                {
                    KeyStep::Registered
                }
                _ => KeyStep::New {
                    replaces: registered.len(),
                },
            },
        };
        Ok(Some(ProviderStep::DeployKey {
            title: deploy.title.clone(),
            read_only: deploy.read_only,
            key: step,
        }))
    }

    /// The files a run would commit, against the clone (`None`: the
    /// repository does not exist yet).
    fn plan_files(
        &self,
        out: &mut String,
        tree: Option<&git::WorkTree>,
        paths: &Paths,
        components: String,
    ) {
        let options = self.options;
        let branch = &options.sync.branch;
        let read = |path: &str| tree.and_then(|t| t.read(path));
        let _ = writeln!(
            out,
            "Git repository {} (branch {branch}{}):",
            options.repository_url,
            if tree.is_some() {
                ""
            } else {
                ", new repository"
            }
        );
        let sync_text = sync::render(&options.sync);
        let mut files = vec![
            (paths.components.clone(), components),
            (paths.sync.clone(), sync_text),
        ];
        if read(&paths.kustomization).is_none() {
            files.push((
                paths.kustomization.clone(),
                sync::render_kustomization(&[
                    "gotk-components.yaml".to_string(),
                    "gotk-sync.yaml".to_string(),
                ]),
            ));
        }
        let mut changes = 0;
        for (path, new) in &files {
            match read(path) {
                None => {
                    changes += 1;
                    let _ = writeln!(out, "  create {path} ({} lines)", new.lines().count());
                }
                Some(old) if old == *new => {
                    let _ = writeln!(out, "  unchanged {path}");
                }
                Some(old) => {
                    changes += 1;
                    let _ = writeln!(out, "  update {path}:");
                    let diff = similar::TextDiff::from_lines(&old, new);
                    let unified = diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("a/{path}"), &format!("b/{path}"))
                        .to_string();
                    for line in unified.lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "  {}",
            if changes == 0 {
                "nothing to commit".to_string()
            } else {
                format!("would commit and push {changes} file(s) to {branch}")
            }
        );
        if let (Some(signer), true) = (&self.options.signer, changes > 0) {
            let _ = writeln!(out, "  commits signed with {}", signer.describe());
        }
    }

    /// The objects a run would install and apply.
    fn plan_cluster(
        &self,
        out: &mut String,
        cluster: &ClusterState,
        provider: Option<&ProviderPlan>,
    ) -> Result<(), BootstrapError> {
        let options = self.options;
        let ns = &options.sync.namespace;
        let _ = writeln!(out, "Cluster (namespace {ns}):");
        let (existing, secret) = match cluster {
            ClusterState::Unreachable(err) => {
                let _ = writeln!(out, "  not reachable: {err}");
                return Ok(());
            }
            ClusterState::Reachable { existing, secret } => (existing, secret),
        };
        let applied = existing
            .as_ref()
            .and_then(|k| k["status"]["lastAppliedRevision"].as_str())
            .is_some_and(|r| !r.is_empty());
        let objects = install::objects(&options.install)?;
        if applied {
            let _ = writeln!(
                out,
                "  components: already installed by Kustomization {ns}/{ns}; updated through the sync apply"
            );
        } else {
            let _ = writeln!(out, "  would install {} objects:", objects.len());
            for object in &objects {
                let _ = writeln!(out, "    {}", object_label(object));
            }
        }
        let name = &options.sync.secret_name;
        let renewed = provider.and_then(|p| p.new_credentials);
        let line = match (secret, renewed, options.secret.explicit()) {
            (Some(_), Some(what), _) => {
                format!("would update source secret {ns}/{name} with {what}")
            }
            (None, Some(what), _) => format!("would create source secret {ns}/{name} ({what})"),
            (Some(s), None, true) if options.secret.stored_in(s) => {
                format!("source secret {ns}/{name} exists and is up to date")
            }
            (Some(_), None, true) => {
                format!("would update source secret {ns}/{name} with the given credentials")
            }
            (Some(_), None, false) => format!("source secret {ns}/{name} exists and is kept"),
            (None, None, _) => format!(
                "would create source secret {ns}/{name} ({})",
                options.secret.describe()
            ),
        };
        let _ = writeln!(out, "  {line}");
        let _ = writeln!(out, "  would apply the sync manifests:");
        for object in sync::objects(&options.sync) {
            let _ = writeln!(out, "    {}", object_label(&object));
        }
        Ok(())
    }
}

fn object_label(object: &Value) -> String {
    let s = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    match s("/metadata/namespace") {
        "" => format!("{}/{}", s("/kind"), s("/metadata/name")),
        ns => format!("{}/{ns}/{}", s("/kind"), s("/metadata/name")),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::bootstrap::provider::RegisteredKey;

    fn team(permission: Option<&str>, access: Option<Access>, reconcile: bool) -> ProviderStep {
        ProviderStep::Team {
            team: "devs".into(),
            grant: permission.unwrap_or("push").into(),
            permission: permission.map(String::from),
            found: access.map(|access| TeamAccess {
                access,
                team_id: Some(2),
            }),
            reconcile,
        }
    }

    fn key(read_only: bool, key: KeyStep) -> ProviderStep {
        ProviderStep::DeployKey {
            title: "flux-system-main-flux-system".into(),
            read_only,
            key,
        }
    }

    #[test]
    fn steps_read_as_sentences_and_know_whether_they_change_anything() {
        let cases = [
            (
                ProviderStep::RepositoryFound {
                    reference: "acme/fleet".into(),
                    html_url: "https://github.com/acme/fleet".into(),
                },
                "repository acme/fleet exists (https://github.com/acme/fleet)",
                false,
            ),
            (
                ProviderStep::CreateRepository {
                    reference: "acme/fleet".into(),
                    how: "private".into(),
                },
                "would create repository acme/fleet (private)",
                true,
            ),
            (
                team(Some("maintain"), None, false),
                "would grant \"maintain\" to team \"devs\"",
                true,
            ),
            (
                team(Some("maintain"), Some(Access::Missing), false),
                "would grant \"maintain\" to team \"devs\"",
                true,
            ),
            (
                team(Some("maintain"), Some(Access::Wanted), true),
                "team \"devs\" already has \"maintain\"",
                false,
            ),
            (
                team(Some("maintain"), Some(Access::Other("pull".into())), true),
                "would grant \"maintain\" to team \"devs\" (it has \"pull\")",
                true,
            ),
            (
                team(Some("maintain"), Some(Access::Other("pull".into())), false),
                "team \"devs\" has \"pull\", kept without --reconcile",
                false,
            ),
            (
                team(None, Some(Access::Missing), false),
                "would add team \"devs\" (with the team's own permission)",
                true,
            ),
            (
                team(None, Some(Access::Wanted), false),
                "team \"devs\" already has access",
                false,
            ),
            (
                ProviderStep::TeamUnknown {
                    team: "devs".into(),
                    grant: "push".into(),
                    permission: Some("push".into()),
                    error: "GET groups/devs: 404 Not Found".into(),
                },
                "would try to grant \"push\" to team \"devs\", which could not be looked up: GET groups/devs: 404 Not Found",
                true,
            ),
            (
                ProviderStep::DeployToken {
                    name: "t".into(),
                    active: 0,
                },
                "would create deploy token \"t\" (read_repository)",
                true,
            ),
            (
                ProviderStep::DeployToken {
                    name: "t".into(),
                    active: 1,
                },
                "would replace deploy token \"t\" (read_repository): GitLab shows a token only when creating it",
                true,
            ),
            (
                key(true, KeyStep::New { replaces: 0 }),
                "would generate a new SSH key and register it as deploy key \"flux-system-main-flux-system\" (read-only)",
                true,
            ),
            (
                key(false, KeyStep::New { replaces: 1 }),
                "would generate a new SSH key and register it as deploy key \"flux-system-main-flux-system\" (read-write), replacing the key registered with that title",
                true,
            ),
            (
                key(true, KeyStep::Registered),
                "deploy key \"flux-system-main-flux-system\" already registered (read-only)",
                false,
            ),
            (
                key(true, KeyStep::SecretKept { registered: true }),
                "deploy key \"flux-system-main-flux-system\" already registered; the source secret is kept",
                false,
            ),
            (
                key(true, KeyStep::SecretKept { registered: false }),
                "no deploy key is generated: the source secret is kept (no key titled \"flux-system-main-flux-system\" is registered)",
                false,
            ),
            (
                key(true, KeyStep::Unknown { replaces: 2 }),
                "would generate a new SSH key and register it as deploy key \"flux-system-main-flux-system\" (read-only), replacing the keys registered with that title if the source secret does not exist",
                true,
            ),
        ];
        for (step, text, changes) in cases {
            assert_eq!(step.to_string(), text);
            assert_eq!(step.changes(), changes, "{text}");
        }
    }

    #[test]
    fn the_provider_section_ends_with_a_summary() {
        let mut out = String::new();
        write_provider(
            &mut out,
            "GitHub",
            &[
                ProviderStep::CreateRepository {
                    reference: "acme/fleet".into(),
                    how: "private".into(),
                },
                team(Some("maintain"), None, false),
            ],
        );
        assert_eq!(
            out,
            "Git provider GitHub:\n  would create repository acme/fleet (private)\n  would grant \"maintain\" to team \"devs\"\n  would make 2 change(s) through the GitHub API\n"
        );
        let mut out = String::new();
        write_provider(
            &mut out,
            "GitLab",
            &[team(Some("maintain"), Some(Access::Wanted), false)],
        );
        assert_eq!(
            out,
            "Git provider GitLab:\n  team \"devs\" already has \"maintain\"\n  nothing to change\n"
        );
    }

    /// A provider whose look-ups answer from fields and whose writes are
    /// recorded, so that tests see which a caller made.
    struct Fake {
        exists: bool,
        access: Access,
        keys: Vec<RegisteredKey>,
        writes: RefCell<Vec<String>>,
    }

    impl Fake {
        fn new(exists: bool, access: Access) -> Self {
            Self {
                exists,
                access,
                keys: Vec::new(),
                writes: RefCell::new(Vec::new()),
            }
        }

        fn write(&self, what: String) {
            self.writes.borrow_mut().push(what);
        }
    }

    fn repository(created: bool) -> Repository {
        Repository {
            html_url: "https://git.example/acme/fleet".into(),
            clone_url: "https://git.example/acme/fleet.git".into(),
            created,
        }
    }

    #[async_trait::async_trait(?Send)]
    impl GitProvider for Fake {
        fn name(&self) -> &'static str {
            "Fake"
        }

        async fn find_repository(
            &self,
            _repo: &RepositoryRef,
        ) -> Result<Option<Repository>, ProviderError> {
            Ok(self.exists.then(|| repository(false)))
        }

        async fn create_repository(
            &self,
            _repo: &RepositoryRef,
            visibility: &str,
        ) -> Result<Repository, ProviderError> {
            self.write(format!("create {visibility}"));
            Ok(repository(true))
        }

        fn planned_repository(
            &self,
            _repo: &RepositoryRef,
            visibility: &str,
        ) -> (Repository, String) {
            (repository(true), visibility.to_string())
        }

        async fn team_access(
            &self,
            _repo: &RepositoryRef,
            _team: &str,
            _permission: &str,
        ) -> Result<TeamAccess, ProviderError> {
            Ok(TeamAccess {
                access: self.access.clone(),
                team_id: Some(2),
            })
        }

        async fn grant_team(
            &self,
            _repo: &RepositoryRef,
            team: &str,
            permission: &str,
            current: &TeamAccess,
        ) -> Result<(), ProviderError> {
            self.write(format!("grant {team} {permission} {:?}", current.team_id));
            Ok(())
        }

        async fn deploy_keys(
            &self,
            _repo: &RepositoryRef,
        ) -> Result<Vec<RegisteredKey>, ProviderError> {
            Ok(self.keys.clone())
        }

        async fn add_deploy_key(
            &self,
            _repo: &RepositoryRef,
            title: &str,
            _public_key: &str,
            read_only: bool,
        ) -> Result<(), ProviderError> {
            self.write(format!("add {title} {read_only}"));
            Ok(())
        }

        async fn remove_deploy_key(
            &self,
            _repo: &RepositoryRef,
            id: u64,
        ) -> Result<(), ProviderError> {
            self.write(format!("remove {id}"));
            Ok(())
        }
    }

    fn acme() -> RepositoryRef {
        RepositoryRef {
            owner: "acme".into(),
            name: "fleet".into(),
            personal: false,
        }
    }

    #[tokio::test]
    async fn lookup_only_reads() {
        let fake = Fake::new(false, Access::Missing);
        let (plan, found) =
            ProviderPlan::lookup(&fake, &acme(), "internal", &[("devs", "push")], false)
                .await
                .unwrap();
        assert!(!plan.repository_exists);
        assert!(found.created);
        assert_eq!(
            plan.steps,
            [
                ProviderStep::CreateRepository {
                    reference: "acme/fleet".into(),
                    how: "internal".into(),
                },
                team(Some("push"), None, false),
            ]
        );
        let fake = Fake::new(true, Access::Other("pull".into()));
        let (plan, found) =
            ProviderPlan::lookup(&fake, &acme(), "private", &[("devs", "push")], true)
                .await
                .unwrap();
        assert!(plan.repository_exists && !found.created);
        assert_eq!(
            plan.steps[1],
            team(Some("push"), Some(Access::Other("pull".into())), true)
        );
        assert!(fake.writes.borrow().is_empty());
    }

    /// A run looks up, then makes exactly the changes the plan lists, with
    /// upstream's lines.
    #[tokio::test]
    async fn apply_makes_the_changes_of_the_plan_and_no_others() {
        let teams = [("devs", "push"), ("ops", "admin")];
        let cases = [
            // A new repository: created, then each team looked up and granted.
            (
                Fake::new(false, Access::Missing),
                false,
                vec![
                    "create internal",
                    "grant devs push Some(2)",
                    "grant ops admin Some(2)",
                ],
                "✔ repository \"https://git.example/acme/fleet\" created\n► reconciling repository permissions\n✔ granted \"push\" permissions to \"devs\"\n✔ granted \"admin\" permissions to \"ops\"\n✔ reconciled repository permissions\n",
            ),
            // Everything in place: no writes.
            (
                Fake::new(true, Access::Wanted),
                true,
                vec![],
                "► reconciling repository permissions\n✔ reconciled repository permissions\n",
            ),
            // Another permission is kept without --reconcile.
            (
                Fake::new(true, Access::Other("pull".into())),
                false,
                vec![],
                "► reconciling repository permissions\n✔ reconciled repository permissions\n",
            ),
            (
                Fake::new(true, Access::Other("pull".into())),
                true,
                vec!["grant devs push Some(2)", "grant ops admin Some(2)"],
                "► reconciling repository permissions\n✔ granted \"push\" permissions to \"devs\"\n✔ granted \"admin\" permissions to \"ops\"\n✔ reconciled repository permissions\n",
            ),
        ];
        for (fake, reconcile, writes, lines) in cases {
            let (plan, planned) =
                ProviderPlan::lookup(&fake, &acme(), "internal", &teams, reconcile)
                    .await
                    .unwrap();
            assert!(fake.writes.borrow().is_empty(), "the look-up wrote");
            let changes = plan.steps.iter().filter(|s| s.changes()).count();
            let (printer, captured) = Printer::capture();
            let found = plan
                .apply(&fake, &acme(), "internal", planned, &printer)
                .await
                .unwrap();
            assert_eq!(found.created, !fake.exists);
            assert_eq!(*fake.writes.borrow(), writes);
            assert_eq!(changes, writes.len(), "{:?}", plan.steps);
            assert_eq!(captured.stderr(), lines);
        }
    }

    #[tokio::test]
    async fn ensure_methods_write_only_what_the_look_ups_call_for() {
        let fake = Fake::new(true, Access::Wanted);
        assert!(
            !fake
                .ensure_team(&acme(), "devs", "push", true)
                .await
                .unwrap()
        );
        assert!(fake.writes.borrow().is_empty());

        let mut fake = Fake::new(false, Access::Other("pull".into()));
        fake.keys = vec![
            RegisteredKey {
                id: 7,
                title: "flux".into(),
                key: "ssh-ed25519 OLD flux".into(),
                read_only: true,
            },
            RegisteredKey {
                id: 8,
                title: "other".into(),
                key: "ssh-ed25519 NEW".into(),
                read_only: true,
            },
        ];
        assert!(
            !fake
                .ensure_team(&acme(), "devs", "push", false)
                .await
                .unwrap()
        );
        assert!(
            fake.ensure_team(&acme(), "devs", "push", true)
                .await
                .unwrap()
        );
        assert!(
            fake.ensure_deploy_key(&acme(), "flux", "ssh-ed25519 NEW me@host", true)
                .await
                .unwrap()
        );
        assert!(
            !fake
                .ensure_deploy_key(&acme(), "flux", "ssh-ed25519 OLD", true)
                .await
                .unwrap()
        );
        assert_eq!(
            *fake.writes.borrow(),
            ["grant devs push Some(2)", "remove 7", "add flux true"]
        );
    }
}
