//! `flux bootstrap <provider>`: resolve the flags into
//! [`BootstrapOptions`], then hand over to [`crate::bootstrap`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::bootstrap::git_ssh::parse_host_key_algorithms;
use crate::bootstrap::provider::bitbucket::{self, Bitbucket};
use crate::bootstrap::provider::github::{Flavor, GitHub};
use crate::bootstrap::provider::gitlab::{self, GitLab};
use crate::bootstrap::provider::{
    GitProvider, Repository, RepositoryRef, deploy_key_title, split_team,
};
use crate::bootstrap::{
    Author, Bootstrap, BootstrapOptions, DeployKey, GitAuth, ProviderPlan, ProviderStep,
    SecretPlan, Signer, SigningFlags,
};
use crate::cli::value::path_flag;
use crate::cli::{
    BootstrapBitbucketArgs, BootstrapCommand, BootstrapCommonArgs, BootstrapGitArgs,
    BootstrapGitlabArgs, BootstrapProvider, ProviderRepoArgs,
};
use crate::cluster::health::{Deadline, cluster_info};
use crate::commands::Ctx;
use crate::commands::install_flags::{self, RegistryCreds};
use crate::error::ExitStatus;
use crate::output::Printer;
use crate::prompt::confirm_foreign_install;
use crate::render::install::InstallOptions;
use crate::render::sync::{SyncOptions, normalize_path};
use crate::secret::{
    KeyPair, KeySpec, SCAN_TIMEOUT, SecretError, load_private_key, scan_known_hosts,
};

pub async fn run(ctx: &Ctx, command: &BootstrapCommand) -> anyhow::Result<ExitStatus> {
    let common = &command.common;
    // Checked before anything connects anywhere.
    let host_key_algorithms =
        parse_host_key_algorithms(&common.ssh_hostkey_algos).map_err(anyhow::Error::msg)?;
    let mut provider_run = None;
    let mut hosted = |(options, provider): (BootstrapOptions, ProviderRun)| {
        provider_run = Some(provider);
        options
    };
    let mut options = match &command.provider {
        BootstrapProvider::Git(args) => {
            let options = resolve_git(ctx, common, args)?;
            confirm_existing_install(ctx, common).await?;
            options
        }
        BootstrapProvider::Github(args) => {
            let host = Host::GitHub(Flavor::GitHub, &args.hostname);
            hosted(resolve_within_deadline(ctx, common, host, &args.repo).await?)
        }
        BootstrapProvider::Gitea(args) => {
            let host = Host::GitHub(Flavor::Gitea, &args.hostname);
            hosted(resolve_within_deadline(ctx, common, host, &args.repo).await?)
        }
        BootstrapProvider::Gitlab(args) => hosted(resolve_gitlab(ctx, common, args).await?),
        BootstrapProvider::BitbucketServer(args) => {
            hosted(resolve_bitbucket(ctx, common, args).await?)
        }
    };
    // The provider's writes come first, as upstream's order has them; the
    // rest of the plan is made against the repository they leave.
    if let (Some(provider), false) = (&mut provider_run, common.dry_run) {
        let hostname = provider.hostname.clone();
        within_provider_deadline(ctx, &hostname, provider.apply(&ctx.printer, &mut options))
            .await?;
    }
    if let GitAuth::SshKey {
        known_hosts,
        host_key_algorithms: algorithms,
        ..
    } = &mut options.git_auth
    {
        *algorithms = host_key_algorithms;
        // As upstream: trust the host key the server presents now (with the
        // scan's own algorithm preference, whatever --ssh-hostkey-algos says).
        let url = url::Url::parse(&options.repository_url)?;
        let host = url.host_str().unwrap_or_default();
        *known_hosts = scan_known_hosts(host, url.port().unwrap_or(22), SCAN_TIMEOUT).await?;
    }
    let confirm = |question: &str| crate::prompt::confirm(question);
    let bootstrap = Bootstrap {
        options: &options,
        printer: &ctx.printer,
        kube: &ctx.kube,
        confirm: &confirm,
        deploy_key: provider_run.as_ref().map(|p| p.deploy_key()),
    };
    let provider_plan = provider_run.as_ref().map(|p| &p.plan);
    if common.dry_run {
        let plan = bootstrap.plan(provider_plan).await?;
        ctx.printer
            .out(&plan.to_string())
            .context("unable to write the plan to stdout")?;
        return Ok(ExitStatus::Success);
    }
    tokio::time::timeout_at(ctx.deadline, bootstrap.run(provider_plan))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "bootstrap did not finish within --timeout {}; run it again to finish",
                crate::duration::GoDuration::new(ctx.global.timeout)
            )
        })??;
    Ok(ExitStatus::Success)
}

/// [`resolve_provider`], ended at the run's deadline, naming the host that
/// kept it waiting.
async fn resolve_within_deadline(
    ctx: &Ctx,
    common: &BootstrapCommonArgs,
    host: Host<'_>,
    args: &ProviderRepoArgs,
) -> anyhow::Result<(BootstrapOptions, ProviderRun)> {
    let hostname = host.hostname();
    within_provider_deadline(ctx, hostname, resolve_provider(ctx, common, host, args)).await
}

/// Provider API work (look-ups, or the plan's writes), ended at the run's
/// deadline with a message naming the host.
async fn within_provider_deadline<T>(
    ctx: &Ctx,
    hostname: &str,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout_at(ctx.deadline, work)
        .await
        .unwrap_or_else(|_| {
            bail!(
                "the Git provider at {hostname} did not answer within --timeout {}; check that it responds, or raise --timeout",
                crate::duration::GoDuration::new(ctx.global.timeout)
            )
        })
}

/// A provider repository resolved for the run, and the provider part of
/// its plan.
struct ProviderRun {
    client: Client,
    hostname: String,
    repository: RepositoryRef,
    visibility: String,
    /// Whether the cluster syncs over HTTPS from the clone URL (not SSH).
    https_sync: bool,
    /// The repository found, or the one the plan creates (once applied:
    /// the one created).
    planned: Repository,
    title: String,
    read_only: bool,
    plan: ProviderPlan,
}

impl ProviderRun {
    fn deploy_key(&self) -> DeployKey<'_> {
        DeployKey {
            provider: self.client.provider(),
            repository: self.repository.clone(),
            html_url: self.planned.html_url.clone(),
            title: self.title.clone(),
            read_only: self.read_only,
        }
    }

    /// Carries out the plan's repository, team and deploy token steps, as
    /// upstream does before cloning; `options` then name the repository
    /// made and hold the deploy token created.
    async fn apply(
        &mut self,
        printer: &Printer,
        options: &mut BootstrapOptions,
    ) -> anyhow::Result<()> {
        let provider = self.client.provider();
        let found = self
            .plan
            .apply(
                provider,
                &self.repository,
                &self.visibility,
                self.planned.clone(),
                printer,
            )
            .await?;
        options.repository_url = found.clone_url.clone();
        if self.https_sync {
            options.sync.url = found.clone_url.clone();
        }
        self.planned = found;
        let token_step = self.plan.steps.iter().find_map(|step| match step {
            ProviderStep::DeployToken { name, replaces } => Some((name, replaces)),
            _ => None,
        });
        if let (Client::GitLab(gitlab), Some((name, replaces))) = (&self.client, token_step) {
            printer.action("checking to reconcile deploy token for source secret");
            let created = gitlab
                .replace_deploy_token(&self.repository, name, replaces)
                .await?;
            printer.success(&format!(
                "configured deploy token \"{name}\" for \"{}\"",
                self.planned.html_url
            ));
            if let SecretPlan::Basic {
                username, password, ..
            } = &mut options.secret
            {
                *username = created.username;
                *password = created.token;
            }
        }
        Ok(())
    }
}

/// A provider token from `variable`, or a hidden prompt on a terminal.
fn provider_token(variable: &str, provider: &str) -> anyhow::Result<String> {
    match std::env::var(variable) {
        Ok(token) if !token.is_empty() => Ok(token),
        _ => prompt_secret(
            &format!("Please enter your {provider} personal access token (PAT)"),
            &format!("{variable} is not set and stdin is not a terminal to ask for the token"),
        ),
    }
}

/// A provider client; GitLab's is kept concrete for its deploy tokens.
enum Client {
    GitHub(GitHub),
    GitLab(GitLab),
    Bitbucket(Bitbucket),
}

impl Client {
    fn provider(&self) -> &dyn GitProvider {
        match self {
            Self::GitHub(client) => client,
            Self::GitLab(client) => client,
            Self::Bitbucket(client) => client,
        }
    }
}

/// Which hosting API, and the GitLab-only settings.
enum Host<'a> {
    GitHub(Flavor, &'a str),
    GitLab {
        hostname: &'a str,
        visibility: &'a str,
        deploy_token_auth: bool,
    },
    /// Bitbucket Server and the user the API and Git act as.
    Bitbucket {
        hostname: &'a str,
        user: &'a str,
    },
}

impl<'a> Host<'a> {
    fn hostname(&self) -> &'a str {
        match self {
            Host::GitHub(_, hostname)
            | Host::GitLab { hostname, .. }
            | Host::Bitbucket { hostname, .. } => hostname,
        }
    }
}

/// `bootstrap bitbucket-server`: its flags in the shape the other providers
/// share, then the common path.
async fn resolve_bitbucket(
    ctx: &Ctx,
    common: &BootstrapCommonArgs,
    args: &BootstrapBitbucketArgs,
) -> anyhow::Result<(BootstrapOptions, ProviderRun)> {
    if args.hostname.is_empty() {
        bail!("invalid hostname \"\"");
    }
    let user = if args.personal {
        &args.owner
    } else {
        &args.username
    };
    let repo = ProviderRepoArgs {
        owner: args.owner.clone(),
        repository: args.repository.clone(),
        team: args.group.clone(),
        personal: args.personal,
        private: args.private,
        interval: args.interval,
        path: args.path.clone(),
        read_write_key: args.read_write_key,
        reconcile: args.reconcile,
    };
    let host = Host::Bitbucket {
        hostname: &args.hostname,
        user,
    };
    resolve_within_deadline(ctx, common, host, &repo).await
}

/// The checks and settings of `bootstrap gitlab`, then the common path.
async fn resolve_gitlab(
    ctx: &Ctx,
    common: &BootstrapCommonArgs,
    args: &BootstrapGitlabArgs,
) -> anyhow::Result<(BootstrapOptions, ProviderRun)> {
    if !args.repo.repository.is_empty() && !gitlab::valid_project_name(&args.repo.repository) {
        bail!(
            "{} is an invalid project name for gitlab.\nIt can contain only letters, digits, emojis, '_', '.', dash, space. It must start with letter, digit, emoji or '_'.",
            args.repo.repository
        );
    }
    if common.token_auth && args.deploy_token_auth {
        bail!("--token-auth and --deploy-token-auth cannot be set both.");
    }
    let mut visibility = args.visibility.as_str();
    if !args.repo.private {
        visibility = "public";
        ctx.printer
            .out("Using visibility public as --private=false\n")
            .context("unable to write to stdout")?;
    }
    let host = Host::GitLab {
        hostname: &args.hostname,
        visibility,
        deploy_token_auth: args.deploy_token_auth,
    };
    resolve_within_deadline(ctx, common, host, &args.repo).await
}

async fn resolve_provider(
    ctx: &Ctx,
    common: &BootstrapCommonArgs,
    host: Host<'_>,
    args: &ProviderRepoArgs,
) -> anyhow::Result<(BootstrapOptions, ProviderRun)> {
    let namespace = ctx.global.namespace.clone();
    let target_path = normalize_path(&args.path)?;
    let (install, registry_creds) = resolve_install(common, &namespace)?;
    let command = match &host {
        Host::GitHub(Flavor::GitHub, _) => "github",
        Host::GitHub(Flavor::Gitea, _) => "gitea",
        Host::GitLab { .. } => "gitlab",
        Host::Bitbucket { .. } => "bitbucket-server",
    };
    // Before the token prompt and any request: the providers have no
    // --password, so a reused private key must be unencrypted.
    let signer = resolve_signer(common, command, None)?;
    // As upstream, GitLab and Bitbucket Server take the deploy key from
    // --private-key-file; GitHub and Gitea always generate one. Neither
    // has --password, so the key must be unencrypted.
    let given_key = match host {
        Host::GitLab { .. } | Host::Bitbucket { .. } => private_key(common, "").map_err(|e| {
            match e.downcast_ref::<SecretError>() {
                Some(SecretError::PassphraseProtected) => anyhow::anyhow!(
                    "{e:#}; 'bootstrap {command}' has no --password to decrypt it: pass an unencrypted key"
                ),
                _ => e,
            }
        })?,
        Host::GitHub(..) => {
            if common.private_key_file().is_some() {
                ctx.printer.warning(&format!(
                    "--private-key-file is ignored by 'bootstrap {command}': it generates the deploy key itself"
                ));
            }
            None
        }
    };
    if args.owner.is_empty() {
        bail!("--owner is required");
    }
    if args.repository.is_empty() {
        bail!("--repository is required");
    }
    let printer = &ctx.printer;
    let mut repository = RepositoryRef {
        owner: args.owner.clone(),
        name: args.repository.clone(),
        personal: args.personal,
    };
    let (token, hostname, visibility) = match &host {
        Host::GitHub(flavor, hostname) => (
            provider_token(flavor.token_variable(), flavor.name())?,
            *hostname,
            if args.private { "private" } else { "public" },
        ),
        Host::GitLab {
            hostname,
            visibility,
            ..
        } => (
            provider_token(gitlab::TOKEN_VARIABLE, gitlab::NAME)?,
            *hostname,
            *visibility,
        ),
        Host::Bitbucket { hostname, .. } => (
            provider_token(bitbucket::TOKEN_VARIABLE, bitbucket::NAME)?,
            *hostname,
            if args.private { "private" } else { "public" },
        ),
    };
    // As upstream, Gitea never asks.
    if !matches!(host, Host::GitHub(Flavor::Gitea, _)) {
        confirm_existing_install(ctx, common).await?;
    }
    // Trusted for HTTPS to the provider API and the Git server.
    let ca = ca_bundle(common)?;
    let git_ca = ca.clone();
    let client = match &host {
        Host::GitHub(flavor, hostname) => {
            printer.action(&format!("connecting to {hostname}"));
            Client::GitHub(GitHub::new(*flavor, hostname, &token, ca.as_deref())?)
        }
        Host::GitLab { hostname, .. } => {
            let client = GitLab::new(hostname, &token, ca.as_deref())?;
            printer.action(&format!("connecting to {}", client.base()));
            Client::GitLab(client)
        }
        Host::Bitbucket { hostname, user } => {
            let client = Bitbucket::new(
                hostname,
                user,
                &token,
                ca.as_deref(),
                (ctx.deadline, ctx.global.timeout),
            )?;
            printer.action(&format!("connecting to {}", client.host()));
            // Every call names the project by its key.
            repository.owner = client.project_key(&args.owner, args.personal).await?;
            Client::Bitbucket(client)
        }
    };
    let provider = client.provider();
    let default_permission = match host {
        Host::Bitbucket { .. } => "push",
        _ => "maintain",
    };
    let teams: Vec<(&str, &str)> = if args.personal {
        Vec::new()
    } else {
        args.team
            .iter()
            .map(|spec| split_team(spec, default_permission))
            .collect()
    };
    // Read-only look-ups make the plan; a dry run prints it, a run carries
    // out exactly its changes (`ProviderRun::apply`).
    let (provider_plan, planned) =
        ProviderPlan::lookup(provider, &repository, visibility, &teams, args.reconcile).await?;
    let mut plan = provider_plan;
    // The user Git authenticates as, and the token-auth Secret's username.
    let (git_user, secret_user) = match &host {
        Host::Bitbucket { user, .. } => (user.to_string(), user.to_string()),
        _ => (args.owner.clone(), "git".to_string()),
    };
    let host_name = hostname
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    let title = deploy_key_title(
        &namespace,
        &common.branch,
        &common.secret_name,
        &target_path,
    );
    let deploy_token = match (&host, &client) {
        (
            Host::GitLab {
                deploy_token_auth: true,
                ..
            },
            Client::GitLab(gitlab),
        ) => Some(gitlab),
        _ => None,
    };
    let (sync_url, secret) = if let Some(gitlab) = deploy_token {
        let replaces = if plan.repository_exists {
            gitlab.active_deploy_tokens(&repository, &title).await?
        } else {
            Vec::new()
        };
        plan.steps.push(ProviderStep::DeployToken {
            name: title.clone(),
            replaces,
        });
        plan.new_credentials = Some("a new deploy token");
        // The token exists only once created: applying the plan fills in
        // the Secret's contents.
        let secret = SecretPlan::Basic {
            username: String::new(),
            password: String::new(),
            ca,
        };
        (planned.clone_url.clone(), secret)
    } else if common.token_auth {
        let secret = SecretPlan::Basic {
            username: secret_user,
            password: token.clone(),
            ca,
        };
        (planned.clone_url.clone(), secret)
    } else {
        let ssh_host = if common.ssh_hostname.is_empty() {
            host_name.clone()
        } else {
            common.ssh_hostname.clone()
        };
        let (scan_host, port) = split_host_port(&ssh_host, 22)?;
        let url = format!(
            "ssh://git@{ssh_host}/{}/{}",
            repository.owner, repository.name
        );
        let secret = SecretPlan::Ssh {
            key: given_key,
            spec: key_spec(common),
            host: scan_host,
            port,
            password: String::new(),
        };
        (url, secret)
    };
    let sync = SyncOptions {
        namespace: namespace.clone(),
        url: sync_url,
        branch: common.branch.clone(),
        interval: args.interval,
        secret_name: common.secret_name.clone(),
        target_path: target_path.clone(),
        recurse_submodules: common.recurse_submodules,
        sparse_checkout: common.sparse_checkout.clone(),
    };
    let options = BootstrapOptions {
        install,
        registry_creds,
        sync,
        repository_url: planned.clone_url.clone(),
        git_auth: GitAuth::Basic {
            username: git_user,
            password: token,
        },
        git_ca,
        author: author(common),
        signer,
        commit_message_appendix: common.commit_message_appendix.clone(),
        secret,
        silent: true,
        deadline: ctx.deadline,
        timeout: ctx.global.timeout,
        verbose: ctx.global.verbose,
    };
    let run = ProviderRun {
        client,
        hostname: hostname.to_string(),
        repository,
        visibility: visibility.to_string(),
        https_sync: !matches!(options.secret, SecretPlan::Ssh { .. }),
        planned,
        title,
        read_only: !args.read_write_key,
        plan,
    };
    Ok((options, run))
}

/// Asks before taking over a Flux installation another tool manages, unless
/// `--force` is given. A dry run changes nothing, so it never asks.
async fn confirm_existing_install(ctx: &Ctx, common: &BootstrapCommonArgs) -> anyhow::Result<()> {
    if common.force || common.dry_run {
        return Ok(());
    }
    let client = ctx.kube.client().await?;
    let info = cluster_info(&client, &Deadline::after(ctx.global.timeout))
        .await
        .map_err(|e| anyhow::anyhow!("cluster info unavailable: {e}"))?;
    confirm_foreign_install(&ctx.printer, &info, "bootstrap cancelled")
}

/// Install options and the install flags' checks, shared by every provider.
fn resolve_install(
    common: &BootstrapCommonArgs,
    namespace: &str,
) -> anyhow::Result<(InstallOptions, Option<RegistryCreds>)> {
    let (install, creds) = install_flags::resolve(&common.install, namespace)?;
    for required in ["source-controller", "kustomize-controller"] {
        if !install.components.iter().any(|c| c == required) {
            bail!("component {required} is required");
        }
    }
    Ok((install, creds))
}

/// The signing flags checked, and the key they name loaded and decrypted,
/// before anything is cloned, pushed or applied. `password` is the
/// `--password` of `bootstrap git` (the providers have none).
fn resolve_signer(
    common: &BootstrapCommonArgs,
    command: &str,
    password: Option<&str>,
) -> anyhow::Result<Option<Signer>> {
    let flags = SigningFlags {
        gpg_key_ring: path_flag(&common.gpg_key_ring).map(PathBuf::from),
        gpg_passphrase: common.gpg_passphrase.clone(),
        gpg_key_id: common.gpg_key_id.clone(),
        ssh_signing_key_file: path_flag(&common.ssh_signing_key_file).map(PathBuf::from),
        ssh_signing_password: common.ssh_signing_password.clone(),
        ssh_signing_reuse_private_key: common.ssh_signing_reuse_private_key,
        private_key_file: common.private_key_file().map(PathBuf::from),
        private_key_password: password.map(String::from),
    };
    Ok(flags.load(command)?)
}

/// The PEM bundle of `--ca-file`, if given: trusted for HTTPS to the
/// provider API and the Git server, and put in the sync Secret.
fn ca_bundle(common: &BootstrapCommonArgs) -> anyhow::Result<Option<String>> {
    common
        .ca_file()
        .map(|path| read_file(path, "CA file"))
        .transpose()
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<String> {
    crate::input::read_path_to_string(path)
        .with_context(|| format!("unable to read {what} {}", path.display()))
}

fn author(common: &BootstrapCommonArgs) -> Author {
    Author {
        name: common.author_name.clone(),
        email: common.author_email.clone(),
    }
}

fn key_spec(common: &BootstrapCommonArgs) -> KeySpec {
    KeySpec {
        algorithm: common.ssh_key_algorithm,
        rsa_bits: common.ssh_rsa_bits,
        curve: common.ssh_ecdsa_curve,
    }
}

fn private_key(common: &BootstrapCommonArgs, password: &str) -> anyhow::Result<Option<KeyPair>> {
    let Some(path) = common.private_key_file() else {
        return Ok(None);
    };
    let pem = read_file(path, "private key file")?;
    let key = load_private_key(&pem, password)
        .with_context(|| format!("unable to load private key file {}", path.display()))?;
    Ok(Some(key))
}

/// Reads a secret from the terminal with echo off; fails without a terminal
/// so that CI runs never hang on a prompt.
pub fn prompt_secret(prompt: &str, hint: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("{hint}");
    }
    crate::output::progress::settle();
    dialoguer::Password::new()
        .with_prompt(prompt)
        .allow_empty_password(true)
        .interact()
        .context("unable to read the answer")
}

/// `host` and `port` of an `--ssh-hostname` value (`host[:port]`).
fn split_host_port(value: &str, default_port: u16) -> anyhow::Result<(String, u16)> {
    match value.rsplit_once(':') {
        Some((host, port)) if !host.contains(']') || host.ends_with(']') => {
            let port = port
                .parse()
                .with_context(|| format!("invalid port in --ssh-hostname {value:?}"))?;
            Ok((host.trim_matches(['[', ']']).to_string(), port))
        }
        _ => Ok((value.to_string(), default_port)),
    }
}

fn resolve_git(
    ctx: &Ctx,
    common: &BootstrapCommonArgs,
    args: &BootstrapGitArgs,
) -> anyhow::Result<BootstrapOptions> {
    let namespace = ctx.global.namespace.clone();
    let target_path = normalize_path(&args.path)?;
    let (install, registry_creds) = resolve_install(common, &namespace)?;
    if args.url.is_empty() {
        bail!("url is required");
    }
    let signer = resolve_signer(common, "git", Some(&args.password))?;
    let mut sync = SyncOptions {
        namespace,
        url: String::new(),
        branch: common.branch.clone(),
        interval: args.interval,
        secret_name: common.secret_name.clone(),
        target_path,
        recurse_submodules: common.recurse_submodules,
        sparse_checkout: common.sparse_checkout.clone(),
    };
    let ca = ca_bundle(common)?;
    let git_ca = ca.clone();
    let bearer = args.with_bearer_token;
    let token_auth = common.token_auth || bearer;
    refuse_local_repository(&args.url)?;
    let (repository_url, git_auth, secret) = {
        let url = url::Url::parse(&args.url)
            .with_context(|| format!("invalid --url {:?}", redact_raw(&args.url)))?;
        let scheme = url.scheme().to_string();
        if !matches!(scheme.as_str(), "ssh" | "http" | "https") {
            bail!("scheme \"{scheme}\" is not supported");
        }
        if scheme == "http" && !args.allow_insecure_http {
            bail!("scheme http is insecure, pass --allow-insecure-http=true to allow it");
        }
        if bearer {
            check_bearer_only(args, &url)?;
        }
        check_codecommit(&url, token_auth, common.private_key_file().is_some())?;
        // Credentials in an http(s) URL are used through libgit2's
        // credential callback: never printed, never in the clone's
        // `.git/config`, never in the cluster's GitRepository.
        let (url, url_credentials) = split_credentials(url);
        let mut password = args.password.clone();
        let mut username = args.username.clone();
        // With --token-auth the URL's credentials are the ones the cluster
        // gets too, unless --password gives others.
        if token_auth
            && password.is_empty()
            && let Some((url_user, url_password)) = &url_credentials
        {
            password = url_password.clone();
            if username == "git" && !url_user.is_empty() {
                username = url_user.clone();
            }
        }
        if token_auth && password.is_empty() {
            let flag = if bearer {
                "--with-bearer-token"
            } else {
                "--token-auth"
            };
            password = prompt_secret(
                "Please enter your Git repository password: ",
                &format!(
                    "a password or token is required with {flag}: set GIT_PASSWORD or pass --password"
                ),
            )?;
        }
        let key = private_key(common, &password)?;
        if token_auth {
            if scheme == "ssh" {
                bail!("--token-auth needs an http(s) URL, got {}", redacted(&url));
            }
            let mut sync_url = url.clone();
            let _ = sync_url.set_username("");
            let _ = sync_url.set_password(None);
            if !args.allow_insecure_http {
                let _ = sync_url.set_scheme("https");
            }
            sync.url = sync_url.to_string();
            let (auth, secret) = if bearer {
                let auth = GitAuth::Bearer {
                    token: password.clone(),
                };
                (
                    auth,
                    SecretPlan::Bearer {
                        token: password,
                        ca,
                    },
                )
            } else {
                let auth = GitAuth::Basic {
                    username: username.clone(),
                    password: password.clone(),
                };
                let secret = SecretPlan::Basic {
                    username,
                    password,
                    ca,
                };
                (auth, secret)
            };
            (sync.url.clone(), auth, secret)
        } else {
            // SSH sync, whatever scheme the CLI itself uses to push.
            let user = if args.username != "git" {
                args.username.clone()
            } else if !url.username().is_empty() {
                url.username().to_string()
            } else if let Some((url_user, _)) = &url_credentials
                && !url_user.is_empty()
            {
                url_user.clone()
            } else {
                "git".to_string()
            };
            let url_port = url.port();
            let host = url.host_str().unwrap_or_default().to_string();
            let (ssh_host, ssh_port) = if common.ssh_hostname.is_empty() {
                (
                    host.clone(),
                    if scheme == "ssh" {
                        url_port.unwrap_or(22)
                    } else {
                        22
                    },
                )
            } else {
                split_host_port(&common.ssh_hostname, 22)?
            };
            let authority = if common.ssh_hostname.is_empty() {
                match url_port {
                    Some(port) => format!("{host}:{port}"),
                    None => host.clone(),
                }
            } else {
                common.ssh_hostname.clone()
            };
            sync.url = format!("ssh://{user}@{authority}{}", url.path());
            let auth = if scheme == "ssh" {
                match &key {
                    Some(pair) => GitAuth::SshKey {
                        username: user.clone(),
                        private_key: pair.private_key.clone(),
                        passphrase: (!password.is_empty()).then(|| password.clone()),
                        // Filled in by a live scan before the clone.
                        known_hosts: String::new(),
                        // Set from --ssh-hostkey-algos by `run`.
                        host_key_algorithms: Vec::new(),
                    },
                    None => bail!(
                        "--private-key-file is required for an ssh:// URL: the key the CLI pushes with (the cluster gets the same key)"
                    ),
                }
            } else if password.is_empty() {
                match url_credentials {
                    Some((username, password)) => GitAuth::Basic { username, password },
                    None => GitAuth::None,
                }
            } else {
                GitAuth::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }
            };
            let secret = SecretPlan::Ssh {
                key,
                spec: key_spec(common),
                host: ssh_host,
                port: ssh_port,
                password: if common.private_key_file().is_some() {
                    password
                } else {
                    String::new()
                },
            };
            (url.to_string(), auth, secret)
        }
    };
    Ok(BootstrapOptions {
        install,
        registry_creds,
        sync,
        repository_url,
        git_auth,
        git_ca,
        author: author(common),
        signer,
        commit_message_appendix: common.commit_message_appendix.clone(),
        secret,
        silent: args.silent,
        deadline: ctx.deadline,
        timeout: ctx.global.timeout,
        verbose: ctx.global.verbose,
    })
}

/// `--with-bearer-token` sends only the token: basic-auth credentials next
/// to it (a `--username` other than the default `git`, or a user or
/// password in the URL) are refused rather than silently dropped.
fn check_bearer_only(args: &BootstrapGitArgs, url: &url::Url) -> anyhow::Result<()> {
    if url.scheme() == "ssh" {
        bail!(
            "--with-bearer-token needs an http(s) --url, got {}: bearer tokens are sent over HTTP(S) only",
            redacted(url)
        );
    }
    if args.username != "git" {
        bail!(
            "--with-bearer-token and --username={} cannot be used together: the token is sent as a bearer token, not with basic auth; drop --username",
            args.username
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "--with-bearer-token and credentials in --url cannot be used together: remove the user info from {} and pass the token with --password or GIT_PASSWORD",
            redacted(url)
        );
    }
    Ok(())
}

/// `url` with a password in it masked, for error messages; over HTTP(S)
/// the user name goes too (a token is often given as the user name).
fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("REDACTED"));
    }
    if matches!(url.scheme(), "http" | "https") && !url.username().is_empty() {
        let _ = shown.set_username("REDACTED");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

/// A `--url` that did not parse, with anything that looks like user info
/// (between `://` and the last `@` of the authority) masked.
fn redact_raw(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://REDACTED{}", &rest[at..]),
        None => raw.to_string(),
    }
}

/// An http(s) URL without its user info, and that user info
/// (percent-decoded) when there was any. Other schemes are returned as is:
/// an SSH URL's user is a login name, not a secret.
fn split_credentials(mut url: url::Url) -> (url::Url, Option<(String, String)>) {
    if !matches!(url.scheme(), "http" | "https")
        || (url.username().is_empty() && url.password().is_none())
    {
        return (url, None);
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let user = decode(url.username());
    let password = decode(url.password().unwrap_or_default());
    let _ = url.set_username("");
    let _ = url.set_password(None);
    (url, Some((user, password)))
}

/// AWS CodeCommit's rules, checked before any request. Over SSH the user
/// in the URL is the SSH key ID of an IAM user's uploaded key, so the key
/// must be given. Over HTTPS upstream asks AWS for temporary Git
/// credentials; this CLI has no AWS client, so it needs the IAM user's
/// HTTPS Git credentials with --token-auth instead.
fn check_codecommit(url: &url::Url, token_auth: bool, has_private_key: bool) -> anyhow::Result<()> {
    let host = url.host_str().unwrap_or_default();
    if !(host.contains("git-codecommit") && host.contains("amazonaws.com")) {
        return Ok(());
    }
    if url.scheme() == "ssh" {
        match url.username() {
            "" => bail!("invalid AWS CodeCommit url: ssh username should be specified in the url"),
            "git" => bail!(
                "invalid AWS CodeCommit url: ssh username should be the SSH key ID for the provided private key"
            ),
            _ => {}
        }
        if !has_private_key {
            bail!(
                "AWS CodeCommit over SSH needs --private-key-file: the key whose SSH key ID is the URL's user"
            );
        }
    } else if !token_auth {
        bail!(
            "AWS CodeCommit over HTTPS needs --token-auth with the IAM user's HTTPS Git credentials (--username and --password); temporary credentials from the AWS credential chain are not supported"
        );
    }
    Ok(())
}

/// Refuses a `file://` URL or a path on this machine, as upstream does: the
/// cluster's source-controller could not fetch it, and a real API server
/// refuses such a GitRepository URL.
fn refuse_local_repository(raw: &str) -> anyhow::Result<()> {
    let scheme = if raw.starts_with("file://") {
        "file"
    } else if raw.contains("://") || is_scp_like(raw) {
        return Ok(());
    } else {
        ""
    };
    bail!(
        "scheme \"{scheme}\" is not supported: the cluster fetches from --url, so it cannot be a repository on this machine; serve it over ssh://, https:// or http:// (with --allow-insecure-http)"
    )
}

/// `user@host:path`, Git's short SSH form.
fn is_scp_like(raw: &str) -> bool {
    match raw.split_once(':') {
        Some((before, _)) => before.contains('@') && !before.contains('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecommit_urls_follow_aws_rules() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        let ssh = "ssh://git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet";
        assert!(
            check_codecommit(&url(ssh), false, true)
                .unwrap_err()
                .to_string()
                .ends_with("ssh username should be specified in the url")
        );
        let git_user = "ssh://git@git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet";
        assert!(
            check_codecommit(&url(git_user), false, true)
                .unwrap_err()
                .to_string()
                .ends_with("should be the SSH key ID for the provided private key")
        );
        let key_id =
            "ssh://APKAEIBAERJR2EXAMPLE@git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet";
        assert!(check_codecommit(&url(key_id), false, false).is_err());
        assert!(check_codecommit(&url(key_id), false, true).is_ok());
        let https = "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet";
        assert!(check_codecommit(&url(https), false, false).is_err());
        assert!(check_codecommit(&url(https), true, false).is_ok());
        let other = "ssh://git@example.com/fleet.git";
        assert!(check_codecommit(&url(other), false, false).is_ok());
    }

    #[test]
    fn scp_like_urls_are_not_paths() {
        assert!(is_scp_like("git@github.com:org/repo"));
        assert!(!is_scp_like("./repo"));
        assert!(!is_scp_like("/srv/a@b:c/repo"));
    }

    #[test]
    fn ssh_hostname_may_carry_a_port() {
        assert_eq!(
            split_host_port("git.example.com:7999", 22).unwrap(),
            ("git.example.com".to_string(), 7999)
        );
        assert_eq!(
            split_host_port("git.example.com", 22).unwrap(),
            ("git.example.com".to_string(), 22)
        );
    }

    #[test]
    fn passwords_in_urls_are_masked_in_messages() {
        let url = url::Url::parse("https://me:s3cret@git.example.com/fleet.git").unwrap();
        assert_eq!(redacted(&url), "https://REDACTED@git.example.com/fleet.git");
        let url = url::Url::parse("ssh://me:s3cret@git.example.com/fleet.git").unwrap();
        assert_eq!(
            redacted(&url),
            "ssh://me:REDACTED@git.example.com/fleet.git"
        );
        let url = url::Url::parse("https://me@git.example.com/fleet.git").unwrap();
        assert_eq!(redacted(&url), "https://REDACTED@git.example.com/fleet.git");
        let url = url::Url::parse("ssh://git@git.example.com/fleet.git").unwrap();
        assert_eq!(redacted(&url), "ssh://git@git.example.com/fleet.git");
        assert_eq!(
            redact_raw("http://alice:T0K@host:99999/r.git"),
            "http://REDACTED@host:99999/r.git"
        );
        assert_eq!(redact_raw("http://host/a@b"), "http://host/a@b");
    }

    #[test]
    fn url_credentials_leave_the_url() {
        let url = url::Url::parse("https://alice:p%40ss+w@git.example.com/fleet.git").unwrap();
        let (clean, creds) = split_credentials(url);
        assert_eq!(clean.as_str(), "https://git.example.com/fleet.git");
        assert_eq!(creds, Some(("alice".into(), "p@ss+w".into())));
        let url = url::Url::parse("ssh://git@git.example.com/fleet.git").unwrap();
        assert_eq!(split_credentials(url.clone()), (url, None));
    }

    #[test]
    fn repositories_on_this_machine_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        for (raw, scheme) in [(format!("file://{path}"), "file"), (path, "")] {
            let err = refuse_local_repository(&raw).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("scheme \"{scheme}\" is not supported: ")),
                "{err}"
            );
        }
        for remote in ["https://example.com/x", "ssh://git@h/x", "git@h:x"] {
            assert!(refuse_local_repository(remote).is_ok(), "{remote}");
        }
    }
}
