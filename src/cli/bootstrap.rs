use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::install::InstallFlags;
use super::value::{file_path, go_bool, path_flag};
use crate::duration::GoDuration;
use crate::secret::{EcdsaCurve, KeyAlgorithm};

// Deploy Flux on a cluster the GitOps way: commit the Flux manifests to a
// Git repository, install them, and make the cluster follow the repository.
//
// Running it again is safe: nothing is committed when the manifests are up
// to date, an existing source secret is kept, and an interrupted run is
// finished.
#[derive(Debug, Args)]
pub struct BootstrapCommand {
    #[command(flatten)]
    pub common: BootstrapCommonArgs,

    #[command(subcommand)]
    pub provider: BootstrapProvider,
}

#[derive(Debug, Subcommand)]
pub enum BootstrapProvider {
    /// Bootstrap with any Git server, or a repository on this machine.
    Git(BootstrapGitArgs),
    /// Bootstrap with a GitHub (or GitHub Enterprise) repository, created when missing.
    Github(BootstrapGithubArgs),
    /// Bootstrap with a Gitea repository, created when missing.
    Gitea(BootstrapGiteaArgs),
    /// Bootstrap with a GitLab project, created when missing.
    Gitlab(BootstrapGitlabArgs),
    /// Bootstrap with a Bitbucket Server repository, created when missing.
    BitbucketServer(BootstrapBitbucketArgs),
}

// Flags shared by every `bootstrap` provider.
#[derive(Debug, Clone, Args)]
pub struct BootstrapCommonArgs {
    #[command(flatten)]
    pub install: InstallFlags,

    /// Git branch to commit to and sync from; created when it does not exist.
    #[arg(long, global = true, default_value = "main")]
    pub branch: String,

    /// Make the GitRepository check out Git submodules too.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub recurse_submodules: bool,

    /// Directories the GitRepository checks out (sparse checkout); all when empty.
    #[arg(long, global = true, value_delimiter = ',', value_name = "DIRS")]
    pub sparse_checkout: Vec<String>,

    /// Authenticate with a username and password (or token) over HTTPS instead of an SSH deploy key.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub token_auth: bool,

    /// Name of the Secret the GitRepository authenticates with.
    #[arg(long, global = true, default_value = "flux-system")]
    pub secret_name: String,

    /// SSH public key algorithm (rsa, ecdsa, ed25519).
    #[arg(long, global = true, default_value = "ecdsa", value_parser = |s: &str| s.parse::<KeyAlgorithm>(), value_name = "ALGORITHM")]
    pub ssh_key_algorithm: KeyAlgorithm,

    /// SSH RSA public key bit size (multiples of 8, min 1024).
    #[arg(long, global = true, default_value = "2048", value_parser = rsa_bits, value_name = "BITS")]
    pub ssh_rsa_bits: usize,

    /// SSH ECDSA public key curve (p256, p384, p521).
    #[arg(long, global = true, default_value = "p384", value_parser = |s: &str| s.parse::<EcdsaCurve>(), value_name = "CURVE")]
    pub ssh_ecdsa_curve: EcdsaCurve,

    /// Host key algorithms the CLI's own Git-over-SSH client offers, most preferred first (e.g. rsa-sha2-512,rsa-sha2-256 for Azure DevOps); the known_hosts scan is not affected.
    #[arg(long, global = true, value_delimiter = ',', value_name = "ALGOS")]
    pub ssh_hostkey_algos: Vec<String>,

    /// SSH host (optionally host:port) when it differs from the URL's host.
    #[arg(long, global = true, default_value = "", value_name = "HOST")]
    pub ssh_hostname: String,

    /// CA bundle for HTTPS to the Git server; stored as ca.crt in token modes.
    #[arg(long, global = true, value_name = "PATH", value_parser = file_path())]
    pub ca_file: Option<PathBuf>,

    /// Private key for the Git server (instead of generating a deploy key).
    #[arg(long, global = true, value_name = "PATH", value_parser = file_path())]
    pub private_key_file: Option<PathBuf>,

    /// Commit author name.
    #[arg(long, global = true, default_value = "Flux")]
    pub author_name: String,

    /// Commit author email.
    #[arg(long, global = true, default_value = "")]
    pub author_email: String,

    /// OpenPGP key ring (ASCII-armored or binary) holding the secret key that signs the commits.
    #[arg(long, global = true, value_name = "PATH", value_parser = file_path())]
    pub gpg_key_ring: Option<PathBuf>,

    /// Passphrase of the OpenPGP secret key.
    #[arg(long, global = true, default_value = "", value_name = "PASSPHRASE")]
    pub gpg_passphrase: String,

    /// Id of the OpenPGP key that signs (16 hex characters, optional 0x); default: the first key of the ring.
    #[arg(long, global = true, default_value = "", value_name = "ID")]
    pub gpg_key_id: String,

    /// SSH private key that signs the commits (SSHSIG, as git with gpg.format=ssh).
    #[arg(long, global = true, value_name = "PATH", value_parser = file_path())]
    pub ssh_signing_key_file: Option<PathBuf>,

    /// Passphrase of the SSH signing key.
    #[arg(
        long,
        global = true,
        default_value = "",
        value_name = "PASSPHRASE",
        alias = "ssh-signing-passphrase"
    )]
    pub ssh_signing_password: String,

    /// Sign the commits with the --private-key-file key (with bootstrap git, decrypted with --password).
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub ssh_signing_reuse_private_key: bool,

    /// Text appended to the commit messages after a blank line.
    #[arg(long, global = true, default_value = "", value_name = "TEXT")]
    pub commit_message_appendix: String,

    /// Take over an installation another tool manages without asking.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub force: bool,

    /// Print the plan (provider API calls, files to commit with diffs, objects to apply) and change nothing: the provider and the cluster are only read.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub dry_run: bool,
}

impl BootstrapCommonArgs {
    /// `--ca-file`, if given.
    pub fn ca_file(&self) -> Option<&Path> {
        path_flag(&self.ca_file)
    }

    /// `--private-key-file`, if given.
    pub fn private_key_file(&self) -> Option<&Path> {
        path_flag(&self.private_key_file)
    }
}

/// Bootstrap with a Git repository reached by URL: file:// or a local path,
/// ssh://, or http(s):// with --token-auth or --with-bearer-token.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A (bare) repository on this machine\n  flux bootstrap git --url=file:///srv/git/fleet.git --path=clusters/dev\n\n  # SSH with a key the server already trusts\n  flux bootstrap git --url=ssh://git@example.com/fleet.git --private-key-file=./id_ecdsa --silent\n\n  # HTTPS with a token\n  GIT_PASSWORD=... flux bootstrap git --url=https://example.com/fleet.git --token-auth --username=flux\n\n  # HTTPS with a bearer token\n  GIT_PASSWORD=... flux bootstrap git --url=https://example.com/fleet.git --with-bearer-token\n\n  # Show what would change\n  flux bootstrap git --url=file:///srv/git/fleet.git --dry-run"
)]
pub struct BootstrapGitArgs {
    /// Git repository URL.
    #[arg(long, default_value = "")]
    pub url: String,

    /// How often the GitRepository checks for new commits.
    #[arg(long, default_value = "1m0s", value_name = "DURATION")]
    pub interval: GoDuration,

    /// Directory in the repository that holds the cluster's configuration.
    #[arg(long, default_value = "")]
    pub path: String,

    /// Git username (HTTP(S) basic auth, or the SSH user).
    #[arg(short = 'u', long, default_value = "git")]
    pub username: String,

    /// Git password or token; read from $GIT_PASSWORD when not given.
    #[arg(
        short = 'p',
        long,
        env = "GIT_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    pub password: String,

    /// Do not ask for confirmation (e.g. to give a new deploy key access).
    #[arg(short = 's', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub silent: bool,

    /// Allow plain HTTP (credentials are then sent unencrypted).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub allow_insecure_http: bool,

    /// Send the password as a bearer token (Authorization: Bearer) instead of basic auth; implies --token-auth. The source Secret gets bearerToken. Not combinable with basic auth: --username other than git, or a user or password in --url.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub with_bearer_token: bool,
}

/// Bootstrap with a GitHub repository: it is created when missing, the
/// generated SSH key becomes its deploy key, and --team grants access.
/// The token comes from $GITHUB_TOKEN, or a hidden prompt on a terminal.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # An organisation repository, SSH deploy key\n  export GITHUB_TOKEN=<token>\n  flux bootstrap github --owner=acme --repository=fleet --path=clusters/prod\n\n  # A personal repository, HTTPS with the token\n  flux bootstrap github --owner=me --repository=fleet --personal --token-auth\n\n  # Show what would change, with read-only API requests\n  flux bootstrap github --owner=acme --repository=fleet --path=clusters/prod --dry-run"
)]
pub struct BootstrapGithubArgs {
    #[command(flatten)]
    pub repo: ProviderRepoArgs,

    /// GitHub hostname (GitHub Enterprise: your server).
    #[arg(long, default_value = "github.com")]
    pub hostname: String,
}

/// Bootstrap with a Gitea repository: it is created when missing, the
/// generated SSH key becomes its deploy key, and --team adds teams (with
/// their own permissions). The token comes from $GITEA_TOKEN, or a hidden
/// prompt on a terminal.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  export GITEA_TOKEN=<token>\n  flux bootstrap gitea --owner=acme --repository=fleet --hostname=gitea.example.com --path=clusters/prod"
)]
pub struct BootstrapGiteaArgs {
    #[command(flatten)]
    pub repo: ProviderRepoArgs,

    /// Gitea hostname (may include the scheme).
    #[arg(long, default_value = "gitea.com")]
    pub hostname: String,
}

/// Bootstrap with a GitLab project: it is created when missing (in a group,
/// nested groups as --owner=group/subgroup, or with --personal in your
/// namespace), the generated SSH key becomes its deploy key, and --team
/// shares it with groups. With --deploy-token-auth the cluster reads over
/// HTTPS with a project deploy token, which is replaced on every run. The
/// token comes from $GITLAB_TOKEN, or a hidden prompt on a terminal.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A project in a subgroup, SSH deploy key\n  export GITLAB_TOKEN=<token>\n  flux bootstrap gitlab --owner=acme/platform --repository=fleet --path=clusters/prod\n\n  # A personal project, the cluster reads with a deploy token\n  flux bootstrap gitlab --owner=me --repository=fleet --personal --deploy-token-auth\n\n  # Self-managed GitLab, SSH on a custom port\n  flux bootstrap gitlab --owner=acme --repository=fleet --hostname=gitlab.example.com --ssh-hostname=gitlab.example.com:2222"
)]
pub struct BootstrapGitlabArgs {
    #[command(flatten)]
    pub repo: ProviderRepoArgs,

    /// GitLab hostname (self-managed: your server; may include the scheme).
    #[arg(long, default_value = "gitlab.com")]
    pub hostname: String,

    /// Visibility of a new project: private, internal or public.
    #[arg(long, default_value = "private", value_parser = ["private", "internal", "public"])]
    pub visibility: String,

    /// Let the cluster read over HTTPS with a GitLab deploy token (read_repository) instead of an SSH deploy key.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub deploy_token_auth: bool,
}

/// Bootstrap with a Bitbucket Server (or Data Center) repository: it is
/// created when missing (in the project named by --owner, or with
/// --personal in your own space), the generated SSH key becomes its access
/// key, and --group grants groups access. The token comes from
/// $BITBUCKET_TOKEN, or a hidden prompt on a terminal.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # A repository in a project, SSH on Bitbucket's usual port\n  export BITBUCKET_TOKEN=<token>\n  flux bootstrap bitbucket-server --owner=platform --username=flux --repository=fleet --hostname=bitbucket.example.com --ssh-hostname=bitbucket.example.com:7999 --group=devs --path=clusters/prod\n\n  # A personal repository, HTTPS with the token\n  flux bootstrap bitbucket-server --owner=me --personal --repository=fleet --hostname=bitbucket.example.com --token-auth"
)]
pub struct BootstrapBitbucketArgs {
    /// Project name, or the user with --personal.
    #[arg(long, default_value = "")]
    pub owner: String,

    /// Repository name.
    #[arg(long, default_value = "")]
    pub repository: String,

    /// Groups to grant access, as name[:permission] (pull, push, admin; default push).
    #[arg(long, value_delimiter = ',')]
    pub group: Vec<String>,

    /// The owner is a user, not a project.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub personal: bool,

    /// User the API and Git act as (the owner with --personal).
    #[arg(short = 'u', long, default_value = "git")]
    pub username: String,

    /// Accepted for compatibility: Bitbucket creates repositories with the project's visibility.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub private: bool,

    /// How often the GitRepository checks for new commits.
    #[arg(long, default_value = "1m0s", value_name = "DURATION")]
    pub interval: GoDuration,

    /// Bitbucket Server hostname (may include the scheme and port); required.
    #[arg(long, default_value = "")]
    pub hostname: String,

    /// Directory in the repository that holds the cluster's configuration.
    #[arg(long, default_value = "")]
    pub path: String,

    /// Give the access key write access.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub read_write_key: bool,

    /// Also reconcile the permissions of groups that already have access.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub reconcile: bool,
}

/// Repository flags shared by the Git hosting providers.
#[derive(Debug, Clone, Args)]
pub struct ProviderRepoArgs {
    /// User or organisation that owns the repository.
    #[arg(long, default_value = "")]
    pub owner: String,

    /// Repository name.
    #[arg(long, default_value = "")]
    pub repository: String,

    /// Teams to grant access, as name[:permission] (pull, triage, push, maintain, admin; default maintain).
    #[arg(long, value_delimiter = ',')]
    pub team: Vec<String>,

    /// The owner is a user, not an organisation.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub personal: bool,

    /// Create the repository as private (false: public).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub private: bool,

    /// How often the GitRepository checks for new commits.
    #[arg(long, default_value = "1m0s", value_name = "DURATION")]
    pub interval: GoDuration,

    /// Directory in the repository that holds the cluster's configuration.
    #[arg(long, default_value = "")]
    pub path: String,

    /// Give the deploy key write access.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub read_write_key: bool,

    /// Also reconcile the permissions of teams that already have access.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub reconcile: bool,
}

fn rsa_bits(value: &str) -> Result<usize, String> {
    if value.is_empty() {
        return Ok(2048);
    }
    match value.parse::<usize>() {
        Ok(bits) if bits > crate::secret::MAX_RSA_BITS && bits % 8 == 0 => {
            Err(crate::secret::rsa_bits_too_large(bits))
        }
        Ok(bits) if bits >= 1024 && bits % 8 == 0 => Ok(bits),
        _ => Err(format!(
            "RSA key bit size must be a multiple of 8 and at least 1024, got {value}"
        )),
    }
}
