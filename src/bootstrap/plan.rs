//! The bootstrap plan: what a run does, computed from read-only provider
//! look-ups, a clone and read-only cluster requests. `--dry-run` prints it;
//! a run applies it (`Bootstrap::run`).

use std::fmt::{self, Write};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::{Value, json};

use super::provider::{
    Access, GitProvider, NewDeployKey, ProviderError, Repository, RepositoryRef, TeamAccess,
    TeamGrant,
};
use super::{
    Bootstrap, BootstrapError, DeployKey, Paths, SecretPlan, check_path, existing_sync, git,
    kustomization_for,
};
use crate::cluster::ClientError;
use crate::output::Printer;
use crate::render::components::FLUX_VERSION;
use crate::render::install;
use crate::render::sync;
use crate::render::yaml;
use crate::secret::KeyPair;

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
    /// A GitLab deploy token named `name`, replacing the active ones of
    /// that name (their ids).
    DeployToken { name: String, replaces: Vec<u64> },
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
    /// A new key is generated and registered, replacing the keys with the
    /// same title (their ids).
    New { replaces: Vec<u64> },
    /// The given key is registered already.
    Registered,
    /// The source secret is kept, so no key is generated or registered;
    /// whether a key with the title is registered.
    SecretKept { registered: bool },
    /// The cluster was not reachable: a key is generated only if the
    /// source secret does not exist.
    Unknown { replaces: Vec<u64> },
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
            Self::DeployToken { name, replaces } if replaces.is_empty() => {
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
                        replacing(replaces.len())
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
                        replacing(replaces.len())
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
                match provider
                    .team_access(repo, TeamGrant { team, permission })
                    .await
                {
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
                    let asked = TeamGrant {
                        team,
                        permission: grant,
                    };
                    let granted = match found {
                        Some(_) if !step.changes() => Ok(false),
                        Some(found) => provider.grant_team(repo, asked, found).await.map(|()| true),
                        // The repository is new: the team's id is looked up now.
                        None => provider.ensure_team(repo, asked, *reconcile).await,
                    };
                    (team, grant, granted)
                }
                // The plan said a run would try: it tries, looking the team up again.
                ProviderStep::TeamUnknown { team, grant, .. } => {
                    let asked = TeamGrant {
                        team,
                        permission: grant,
                    };
                    let granted = provider.ensure_team(repo, asked, true).await;
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
fn write_provider(out: &mut impl Write, name: &str, steps: &[ProviderStep]) -> fmt::Result {
    writeln!(out, "Git provider {name}:")?;
    for step in steps {
        writeln!(out, "  {step}")?;
    }
    match steps.iter().filter(|s| s.changes()).count() {
        0 => writeln!(out, "  nothing to change"),
        count => writeln!(out, "  would make {count} change(s) through the {name} API"),
    }
}

/// Everything a bootstrap run does to the provider, the repository and the
/// cluster, found with read-only look-ups: `--dry-run` prints it, a run
/// carries out exactly this.
pub struct BootstrapPlan {
    /// The provider's steps, ending with the deploy key's; `None` for plain
    /// Git.
    pub provider: Option<ProviderPlan>,
    pub repository: RepositoryPlan,
    pub cluster: ClusterPlan,
}

/// The commits a run makes, against the clone the plan was made from.
pub struct RepositoryPlan {
    pub url: String,
    pub branch: String,
    /// `None` when the repository does not exist yet.
    pub tree: Option<git::WorkTree>,
    /// The component manifests' commit, then the sync manifests'.
    pub commits: [PlannedCommit; 2],
    /// How the commits are signed, when they are.
    pub signing: Option<String>,
}

/// One commit and push.
pub struct PlannedCommit {
    /// What the commit holds, for upstream's lines ("component manifests").
    pub what: &'static str,
    pub message: String,
    pub files: Vec<PlannedFile>,
}

/// A file as a run writes it.
pub struct PlannedFile {
    /// Relative to the repository root.
    pub path: String,
    pub content: String,
    /// What the clone holds there.
    pub found: Option<String>,
    /// Written only where no file is: the kustomization is the user's to
    /// edit once it exists.
    pub create_only: bool,
}

impl PlannedFile {
    fn changes(&self) -> bool {
        self.found.as_deref() != Some(self.content.as_str())
    }
}

impl RepositoryPlan {
    /// The file at `path` once the planned commits are made.
    fn content_after(&self, path: &str) -> Option<String> {
        let planned = self
            .commits
            .iter()
            .flat_map(|c| &c.files)
            .find(|f| f.path == path);
        match planned {
            Some(file) if file.create_only && file.found.is_some() => file.found.clone(),
            Some(file) => Some(file.content.clone()),
            None => self.tree.as_ref().and_then(|t| t.read(path)),
        }
    }

    /// The objects of the files the directory's kustomization.yaml lists,
    /// once the planned commits are made. Patches in it are the
    /// controller's business, not the CLI's.
    fn directory_objects(&self, paths: &Paths) -> Result<Vec<Value>, BootstrapError> {
        let manifest_error = |path: &str, message: String| BootstrapError::Manifest {
            path: path.to_string(),
            message,
        };
        let text = self.content_after(&paths.kustomization).unwrap_or_default();
        let kustomization: Value = yaml::from_str(&text)
            .map_err(|e| manifest_error(&paths.kustomization, e.to_string()))?;
        let mut objects = Vec::new();
        for resource in kustomization["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let path = format!("{}/{resource}", paths.dir);
            let Some(text) = self.content_after(&path) else {
                continue;
            };
            let docs: Vec<Value> =
                yaml::from_str_multi(&text).map_err(|e| manifest_error(&path, e.to_string()))?;
            objects.extend(docs.into_iter().filter(|d| d.get("kind").is_some()));
        }
        Ok(objects)
    }
}

/// What a run applies to the cluster.
pub struct ClusterPlan {
    pub namespace: String,
    pub secret_name: String,
    /// The steps, or why the cluster could not be read (a dry run goes on
    /// without it; a run cannot).
    pub steps: Result<ClusterSteps, ClientError>,
}

pub struct ClusterSteps {
    /// The component objects to install; `None` when the Kustomization of
    /// an earlier bootstrap applies them.
    pub install: Option<Vec<Value>>,
    /// The image pull secret's name and object, with `--registry-creds`.
    pub image_pull_secret: Option<(String, Value)>,
    pub source_secret: SourceSecretStep,
    pub sync_apply: SyncApply,
}

/// The objects the run applies once the sync manifests are pushed: every
/// file the directory's kustomization.yaml lists, as the planned commits
/// leave them (the components, the sync manifests, and whatever the user
/// added there).
pub struct SyncApply {
    /// The kustomization.yaml, relative to the repository root.
    pub kustomization: String,
    pub objects: Vec<Value>,
}

/// What happens to the source Secret `<namespace>/<secret name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSecretStep {
    /// It exists, and the command line names no credentials of its own.
    Kept,
    /// It holds the given credentials already.
    UpToDate,
    /// It is created, holding what the words tell.
    Create(&'static str),
    /// It is rewritten with what the words tell.
    Update(&'static str),
}

impl SourceSecretStep {
    /// Decides from the Secret found (if any), the credentials of the
    /// command line and the ones a provider makes anew on every run.
    fn new(
        secret: &SecretPlan,
        existing: Option<&Secret>,
        new_credentials: Option<&'static str>,
    ) -> Self {
        match (existing, new_credentials) {
            (Some(_), Some(what)) => Self::Update(what),
            (None, Some(what)) => Self::Create(what),
            (None, None) => Self::Create(secret.describe()),
            (Some(_), None) if !secret.explicit() => Self::Kept,
            (Some(existing), None) if secret.stored_in(existing) => Self::UpToDate,
            (Some(_), None) => Self::Update("the given credentials"),
        }
    }

    /// Whether the Secret is written (and a new SSH key made for it).
    pub fn writes(&self) -> bool {
        matches!(self, Self::Create(_) | Self::Update(_))
    }
}

impl BootstrapPlan {
    /// The deploy key step of the provider part, when there is one.
    pub fn deploy_key(&self) -> Option<&KeyStep> {
        self.provider
            .iter()
            .flat_map(|p| &p.steps)
            .find_map(|step| match step {
                ProviderStep::DeployKey { key, .. } => Some(key),
                _ => None,
            })
    }

    fn write_files(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repository = &self.repository;
        let branch = &repository.branch;
        writeln!(
            f,
            "Git repository {} (branch {branch}{}):",
            repository.url,
            if repository.tree.is_some() {
                ""
            } else {
                ", new repository"
            }
        )?;
        let files = repository.commits.iter().flat_map(|c| &c.files);
        let mut changes = 0;
        for file in files {
            let path = &file.path;
            match &file.found {
                _ if !file.changes() => writeln!(f, "  unchanged {path}")?,
                None => writeln!(
                    f,
                    "  create {path} ({} lines)",
                    file.content.lines().count()
                )?,
                Some(old) => {
                    writeln!(f, "  update {path}:")?;
                    let diff = similar::TextDiff::from_lines(old, &file.content);
                    let unified = diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("a/{path}"), &format!("b/{path}"))
                        .to_string();
                    for line in unified.lines() {
                        writeln!(f, "    {line}")?;
                    }
                }
            }
            changes += usize::from(file.changes());
        }
        match changes {
            0 => writeln!(f, "  nothing to commit")?,
            _ => writeln!(f, "  would commit and push {changes} file(s) to {branch}")?,
        }
        match (&repository.signing, changes > 0) {
            (Some(signing), true) => writeln!(f, "  commits signed with {signing}"),
            _ => Ok(()),
        }
    }

    fn write_cluster(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = &self.cluster.namespace;
        writeln!(f, "Cluster (namespace {ns}):")?;
        let steps = match &self.cluster.steps {
            Ok(steps) => steps,
            Err(err) => return writeln!(f, "  not reachable: {err}"),
        };
        match &steps.install {
            None => writeln!(
                f,
                "  components: already installed by Kustomization {ns}/{ns}; updated through the sync apply"
            )?,
            Some(objects) => {
                writeln!(f, "  would install {} objects:", objects.len())?;
                for object in objects {
                    writeln!(f, "    {}", object_label(object))?;
                }
            }
        }
        if let Some((name, _)) = &steps.image_pull_secret {
            writeln!(f, "  would apply image pull secret {ns}/{name}")?;
        }
        let secret = format!("{ns}/{}", self.cluster.secret_name);
        match steps.source_secret {
            SourceSecretStep::Kept => writeln!(f, "  source secret {secret} exists and is kept")?,
            SourceSecretStep::UpToDate => {
                writeln!(f, "  source secret {secret} exists and is up to date")?
            }
            SourceSecretStep::Create(what) => {
                writeln!(f, "  would create source secret {secret} ({what})")?
            }
            SourceSecretStep::Update(what) => {
                writeln!(f, "  would update source secret {secret} with {what}")?
            }
        }
        let apply = &steps.sync_apply;
        let installed: Vec<String> = steps.install.iter().flatten().map(object_label).collect();
        let (listed, others): (Vec<String>, Vec<String>) = apply
            .objects
            .iter()
            .map(object_label)
            .partition(|label| installed.contains(label));
        write!(
            f,
            "  would apply the {} objects listed by {}:",
            apply.objects.len(),
            apply.kustomization
        )?;
        match listed.len() {
            0 => writeln!(f)?,
            n => writeln!(f, " the {n} components above, and")?,
        }
        for label in others {
            writeln!(f, "    {label}")?;
        }
        writeln!(
            f,
            "  would wait for GitRepository {ns}/{ns} and Kustomization {ns}/{ns} to reconcile the pushed commit, then for the controllers to roll out"
        )
    }
}

/// The plan as the dry run prints it: the provider API calls, the files to
/// commit (with diffs), then the cluster objects.
impl fmt::Display for BootstrapPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            None => writeln!(f, "Git provider: no API calls (plain Git)")?,
            Some(plan) => write_provider(f, plan.name, &plan.steps)?,
        }
        self.write_files(f)?;
        self.write_cluster(f)
    }
}

impl DeployKey<'_> {
    /// The deploy key step, from the keys registered with this title:
    /// `secret` is the source secret's step (`None` when the cluster could
    /// not be read), `given` the key of `--private-key-file`.
    pub async fn lookup(
        &self,
        repository_exists: bool,
        secret: Option<&SourceSecretStep>,
        given: Option<&KeyPair>,
    ) -> Result<ProviderStep, ProviderError> {
        let registered: Vec<_> = if repository_exists {
            self.provider
                .deploy_keys(&self.repository)
                .await?
                .into_iter()
                .filter(|k| k.title == self.title)
                .collect()
        } else {
            Vec::new()
        };
        let ids = || registered.iter().map(|k| k.id).collect();
        let key = match (secret, given) {
            (None, _) => KeyStep::Unknown { replaces: ids() },
            (Some(secret), _) if !secret.writes() => KeyStep::SecretKept {
                registered: !registered.is_empty(),
            },
            (Some(_), Some(pair))
                if registered
                    .iter()
                    .any(|k| k.matches(&pair.public_key, self.read_only)) =>
            {
                KeyStep::Registered
            }
            (Some(_), _) => KeyStep::New { replaces: ids() },
        };
        Ok(ProviderStep::DeployKey {
            title: self.title.clone(),
            read_only: self.read_only,
            key,
        })
    }

    /// Carries out `step` for `public_key`, the key the source secret now
    /// holds: a new key replaces the planned ones. Returns whether it wrote.
    pub async fn apply(&self, step: &KeyStep, public_key: &str) -> Result<bool, ProviderError> {
        let KeyStep::New { replaces } = step else {
            // Registered already, or no new key: the plan has no write.
            return Ok(false);
        };
        for id in replaces {
            self.provider
                .remove_deploy_key(&self.repository, *id)
                .await?;
        }
        self.provider
            .add_deploy_key(
                &self.repository,
                NewDeployKey {
                    title: &self.title,
                    public_key,
                    read_only: self.read_only,
                },
            )
            .await?;
        Ok(true)
    }
}

/// What the cluster holds, read once for the plan.
struct ClusterState {
    existing: Option<Value>,
    secret: Option<Secret>,
}

impl Bootstrap<'_> {
    /// The plan, from read-only look-ups: the provider's deploy keys, a
    /// clone (unless `provider` says the repository does not exist yet)
    /// and the cluster's sync Kustomization and source Secret.
    pub async fn plan(
        &self,
        provider: Option<&ProviderPlan>,
    ) -> Result<BootstrapPlan, BootstrapError> {
        let options = self.options;
        let paths = Paths::new(&options.sync);
        let components = install::render(&options.install)?;
        let cluster = match self.kube.client().await {
            Ok(client) => Ok(self.cluster_state(&client).await?),
            Err(err) => Err(err),
        };
        let tree = match provider {
            Some(plan) if !plan.repository_exists => None,
            _ => Some(self.clone_repository().await?),
        };
        let new_credentials = provider.and_then(|p| p.new_credentials);
        let repository = self.repository_plan(tree, &paths, components);
        let sync_apply = SyncApply {
            kustomization: paths.kustomization.clone(),
            objects: repository.directory_objects(&paths)?,
        };
        let cluster_steps = match cluster {
            Ok(state) => Ok(self.cluster_steps(&state, new_credentials, sync_apply)?),
            Err(err) => Err(err),
        };
        let provider = match provider {
            None => None,
            Some(plan) => {
                let mut plan = plan.clone();
                // A deploy key is registered only for a new SSH key.
                if let (Some(deploy), SecretPlan::Ssh { key, .. }) =
                    (&self.deploy_key, &options.secret)
                {
                    let secret = cluster_steps.as_ref().ok().map(|s| &s.source_secret);
                    let step = deploy
                        .lookup(plan.repository_exists, secret, key.as_ref())
                        .await?;
                    plan.steps.push(step);
                }
                Some(plan)
            }
        };
        Ok(BootstrapPlan {
            provider,
            repository,
            cluster: ClusterPlan {
                namespace: options.sync.namespace.clone(),
                secret_name: options.sync.secret_name.clone(),
                steps: cluster_steps,
            },
        })
    }

    async fn cluster_state(&self, client: &kube::Client) -> Result<ClusterState, BootstrapError> {
        let options = self.options;
        let ns = &options.sync.namespace;
        let existing = existing_sync(client, ns).await?;
        check_path(existing.as_ref(), &options.sync.target_path)?;
        let name = &options.sync.secret_name;
        let secret = Api::<Secret>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(BootstrapError::api(format!("get Secret {ns}/{name}")))?;
        Ok(ClusterState { existing, secret })
    }

    /// The two commits, against the clone (`None`: the repository does not
    /// exist yet). The kustomization is planned only where none exists.
    fn repository_plan(
        &self,
        tree: Option<git::WorkTree>,
        paths: &Paths,
        components: String,
    ) -> RepositoryPlan {
        let options = self.options;
        let read = |path: &str| tree.as_ref().and_then(|t| t.read(path));
        let file = |path: &String, content: String, create_only: bool| PlannedFile {
            path: path.clone(),
            found: read(path),
            content,
            create_only,
        };
        let mut sync_files = vec![file(&paths.sync, sync::render(&options.sync), false)];
        if read(&paths.kustomization).is_none() {
            let planned = [&paths.components, &paths.sync];
            let content = kustomization_for(tree.as_ref(), &paths.dir, &planned);
            sync_files.push(file(&paths.kustomization, content, true));
        }
        let commits = [
            PlannedCommit {
                what: "component manifests",
                message: self.message(&format!("Add Flux {FLUX_VERSION} component manifests")),
                files: vec![file(&paths.components, components, false)],
            },
            PlannedCommit {
                what: "sync manifests",
                message: self.message("Add Flux sync manifests"),
                files: sync_files,
            },
        ];
        RepositoryPlan {
            url: options.repository_url.clone(),
            branch: options.sync.branch.clone(),
            tree,
            commits,
            signing: options.signer.as_ref().map(|s| s.describe()),
        }
    }

    /// The objects a run installs and applies.
    fn cluster_steps(
        &self,
        state: &ClusterState,
        new_credentials: Option<&'static str>,
        sync_apply: SyncApply,
    ) -> Result<ClusterSteps, BootstrapError> {
        let options = self.options;
        let applied = state
            .existing
            .as_ref()
            .and_then(|k| k["status"]["lastAppliedRevision"].as_str())
            .is_some_and(|r| !r.is_empty());
        let install = if applied {
            None
        } else {
            Some(install::objects(&options.install)?)
        };
        Ok(ClusterSteps {
            install,
            image_pull_secret: self.image_pull_secret(),
            source_secret: SourceSecretStep::new(
                &options.secret,
                state.secret.as_ref(),
                new_credentials,
            ),
            sync_apply,
        })
    }

    /// With `--image-pull-secret` and `--registry-creds`: the Secret the
    /// controllers pull their images with.
    fn image_pull_secret(&self) -> Option<(String, Value)> {
        let options = self.options;
        let (Some(name), Some((user, password))) =
            (&options.install.image_pull_secret, &options.registry_creds)
        else {
            return None;
        };
        let data = crate::secret::docker_config_json(&options.install.registry, user, password);
        let object = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": options.sync.namespace},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": data},
        });
        Some((name.clone(), object))
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
                    replaces: vec![],
                },
                "would create deploy token \"t\" (read_repository)",
                true,
            ),
            (
                ProviderStep::DeployToken {
                    name: "t".into(),
                    replaces: vec![4],
                },
                "would replace deploy token \"t\" (read_repository): GitLab shows a token only when creating it",
                true,
            ),
            (
                key(true, KeyStep::New { replaces: vec![] }),
                "would generate a new SSH key and register it as deploy key \"flux-system-main-flux-system\" (read-only)",
                true,
            ),
            (
                key(false, KeyStep::New { replaces: vec![7] }),
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
                key(
                    true,
                    KeyStep::Unknown {
                        replaces: vec![7, 8],
                    },
                ),
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
        )
        .unwrap();
        assert_eq!(
            out,
            "Git provider GitHub:\n  would create repository acme/fleet (private)\n  would grant \"maintain\" to team \"devs\"\n  would make 2 change(s) through the GitHub API\n"
        );
        let mut out = String::new();
        write_provider(
            &mut out,
            "GitLab",
            &[team(Some("maintain"), Some(Access::Wanted), false)],
        )
        .unwrap();
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
            _grant: TeamGrant<'_>,
        ) -> Result<TeamAccess, ProviderError> {
            Ok(TeamAccess {
                access: self.access.clone(),
                team_id: Some(2),
            })
        }

        async fn grant_team(
            &self,
            _repo: &RepositoryRef,
            grant: TeamGrant<'_>,
            current: &TeamAccess,
        ) -> Result<(), ProviderError> {
            let TeamGrant { team, permission } = grant;
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
            key: NewDeployKey<'_>,
        ) -> Result<(), ProviderError> {
            self.write(format!("add {} {}", key.title, key.read_only));
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

    const DEVS_PUSH: TeamGrant<'static> = TeamGrant {
        team: "devs",
        permission: "push",
    };

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
    async fn ensure_team_writes_only_what_the_look_up_calls_for() {
        let fake = Fake::new(true, Access::Wanted);
        assert!(!fake.ensure_team(&acme(), DEVS_PUSH, true).await.unwrap());
        assert!(fake.writes.borrow().is_empty());

        let fake = Fake::new(false, Access::Other("pull".into()));
        assert!(!fake.ensure_team(&acme(), DEVS_PUSH, false).await.unwrap());
        assert!(fake.ensure_team(&acme(), DEVS_PUSH, true).await.unwrap());
        assert_eq!(*fake.writes.borrow(), ["grant devs push Some(2)"]);
    }

    fn registered(id: u64, title: &str, key: &str) -> RegisteredKey {
        RegisteredKey {
            id,
            title: title.into(),
            key: key.into(),
            read_only: true,
        }
    }

    /// The deploy key step is looked up with reads only; applying it makes
    /// exactly the writes it names: the planned keys removed, the new key
    /// added, and nothing when the plan has no new key.
    #[tokio::test]
    async fn the_deploy_key_step_applies_the_writes_it_planned_and_no_others() {
        let mut fake = Fake::new(true, Access::Wanted);
        fake.keys = vec![
            registered(7, "flux", "ssh-ed25519 OLD flux"),
            registered(8, "other", "ssh-ed25519 NEW"),
            registered(9, "flux", "ssh-ed25519 OLDER"),
        ];
        let deploy = DeployKey {
            provider: &fake,
            repository: acme(),
            html_url: "https://git.example/acme/fleet".into(),
            title: "flux".into(),
            read_only: true,
        };
        let create = SourceSecretStep::Create("a new SSH key and the host's known_hosts");
        let given = KeyPair {
            private_key: "PRIVATE".into(),
            public_key: "ssh-ed25519 OLD me@host".into(),
        };
        let cases = [
            // A new key replaces the keys with its title.
            (
                true,
                Some(&create),
                None,
                KeyStep::New {
                    replaces: vec![7, 9],
                },
                vec!["remove 7", "remove 9", "add flux true"],
            ),
            // A new repository has no keys to look up or replace.
            (
                false,
                Some(&create),
                None,
                KeyStep::New { replaces: vec![] },
                vec!["add flux true"],
            ),
            // The given key is registered already.
            (
                true,
                Some(&create),
                Some(&given),
                KeyStep::Registered,
                vec![],
            ),
            // The source secret is kept: no new key.
            (
                true,
                Some(&SourceSecretStep::Kept),
                None,
                KeyStep::SecretKept { registered: true },
                vec![],
            ),
        ];
        for (exists, secret, given, planned, writes) in cases {
            fake.writes.borrow_mut().clear();
            let step = deploy.lookup(exists, secret, given).await.unwrap();
            assert!(fake.writes.borrow().is_empty(), "the look-up wrote");
            let ProviderStep::DeployKey { key, .. } = &step else {
                panic!("not a deploy key step: {step:?}");
            };
            assert_eq!(*key, planned);
            let wrote = deploy.apply(key, "ssh-ed25519 NEW me@host").await.unwrap();
            assert_eq!(*fake.writes.borrow(), writes);
            assert_eq!(wrote, step.changes(), "{step}");
        }
    }
}
