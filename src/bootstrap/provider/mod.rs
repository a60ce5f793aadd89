//! Git hosting providers: the repository, its deploy key and team access,
//! behind one trait so the bootstrap run does not care which host it is.

pub mod bitbucket;
pub mod github;
pub mod gitlab;
pub(crate) mod http;

pub use http::JsonApi;

/// A provider API failure, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the {provider} API rejected the token (401 Unauthorized): check {variable}")]
    Unauthorized {
        provider: &'static str,
        variable: &'static str,
    },
    #[error("{method} {path}: {status} {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("unable to reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("failed to get Git repository \"{reference}\": provider error: {error}")]
    Get {
        reference: String,
        error: Box<ProviderError>,
    },
    #[error("failed to create new Git repository \"{reference}\": {error}")]
    Create {
        reference: String,
        error: Box<ProviderError>,
    },
    #[error(
        "the specified owner '{owner}' doesn't match the identity associated with the given token"
    )]
    OwnerMismatch { owner: String },
    #[error("unexpected answer from {path}: {message}")]
    Decode { path: String, message: String },
    #[error("unable to use --ca-file: {message}")]
    CaFile { message: String },
}

impl ProviderError {
    /// Names the repository a failed look-up was about; a rejected token
    /// is reported as is, since it is not about that repository.
    pub fn getting(self, reference: &str) -> Self {
        match self {
            unauthorized @ Self::Unauthorized { .. } => unauthorized,
            error => Self::Get {
                reference: reference.to_string(),
                error: Box::new(error),
            },
        }
    }

    /// Names the repository a failed create was about (see [`Self::getting`]).
    pub fn creating(self, reference: &str) -> Self {
        match self {
            unauthorized @ Self::Unauthorized { .. } => unauthorized,
            error => Self::Create {
                reference: reference.to_string(),
                error: Box::new(error),
            },
        }
    }
}

/// Which repository, and whose.
#[derive(Debug, Clone)]
pub struct RepositoryRef {
    pub owner: String,
    pub name: String,
    pub personal: bool,
}

/// What the provider says about the repository.
#[derive(Debug, Clone)]
pub struct Repository {
    pub html_url: String,
    /// HTTPS clone URL (what the CLI pushes to).
    pub clone_url: String,
    pub created: bool,
}

impl Repository {
    /// Reads the web and HTTPS clone URLs from the provider's JSON fields
    /// `web` and `clone`; `path` names the API path for errors.
    pub fn from_json(
        info: &serde_json::Value,
        path: &str,
        web: &str,
        clone: &str,
        created: bool,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            html_url: string_field(info, web, path)?,
            clone_url: string_field(info, clone, path)?,
            created,
        })
    }
}

/// The string field `name` of an API answer from `path`.
pub fn string_field(
    answer: &serde_json::Value,
    name: &str,
    path: &str,
) -> Result<String, ProviderError> {
    answer[name]
        .as_str()
        .map(String::from)
        .ok_or_else(|| ProviderError::Decode {
            path: path.to_string(),
            message: format!("no {name}"),
        })
}

/// A team's access to a repository, compared with the wanted permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The team has no access.
    Missing,
    /// The team has the wanted permission (for Gitea, whose teams carry
    /// their own permission, any access).
    Wanted,
    /// The team has another permission, as the provider names it.
    Other(String),
}

/// What a look-up found about a team, with what granting needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamAccess {
    pub access: Access,
    /// The provider's id of the team, where granting names it by id.
    pub team_id: Option<u64>,
}

impl TeamAccess {
    /// Whether a run grants the permission: when the team has no access,
    /// or (with `reconcile`) another permission.
    pub fn needs_grant(&self, reconcile: bool) -> bool {
        match self.access {
            Access::Missing => true,
            Access::Wanted => false,
            Access::Other(_) => reconcile,
        }
    }
}

/// A deploy key registered on the repository (a GitLab deploy key, a
/// Bitbucket access key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    pub id: u64,
    pub title: String,
    /// `<type> <base64> [comment]`.
    pub key: String,
    pub read_only: bool,
}

impl RegisteredKey {
    /// Whether this is `public_key` with the wanted access; comments, which
    /// providers drop or replace, do not count.
    pub fn matches(&self, public_key: &str, read_only: bool) -> bool {
        self.read_only == read_only && key_material(&self.key) == key_material(public_key)
    }
}

/// `<type> <base64>` of an OpenSSH public key, without its comment.
pub fn key_material(public_key: &str) -> String {
    public_key
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Access of `team` asked for: `permission`, in the provider's words.
#[derive(Debug, Clone, Copy)]
pub struct TeamGrant<'a> {
    pub team: &'a str,
    pub permission: &'a str,
}

/// A deploy key to register.
#[derive(Debug, Clone, Copy)]
pub struct NewDeployKey<'a> {
    pub title: &'a str,
    /// `<type> <base64> [comment]`.
    pub public_key: &'a str,
    pub read_only: bool,
}

/// The calls bootstrap makes to a Git host. The look-ups only read (GET
/// requests), so that a plan can be made from them; `ensure_team` combines
/// a look-up with its write.
#[async_trait::async_trait(?Send)]
pub trait GitProvider {
    /// The provider's name, for messages.
    fn name(&self) -> &'static str;

    /// The repository, or `None` when it does not exist.
    async fn find_repository(
        &self,
        repo: &RepositoryRef,
    ) -> Result<Option<Repository>, ProviderError>;

    /// Creates the repository, empty, with default branch `main` and
    /// `visibility` private, internal or public.
    async fn create_repository(
        &self,
        repo: &RepositoryRef,
        visibility: &str,
    ) -> Result<Repository, ProviderError>;

    /// What [`Self::create_repository`] would make, without a request: the
    /// URLs the provider gives new repositories, and a few words on how it
    /// creates one (visibility, default branch).
    fn planned_repository(&self, repo: &RepositoryRef, visibility: &str) -> (Repository, String);

    /// Whether granting sets the permission; Gitea teams carry their own,
    /// so only membership is granted there.
    fn grants_permission(&self) -> bool {
        true
    }

    /// The access the grant's team has on an organisation repository.
    async fn team_access(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
    ) -> Result<TeamAccess, ProviderError>;

    /// Grants the team its permission, replacing the `current` access.
    async fn grant_team(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
        current: &TeamAccess,
    ) -> Result<(), ProviderError>;

    /// Every deploy key registered on the repository.
    async fn deploy_keys(&self, repo: &RepositoryRef) -> Result<Vec<RegisteredKey>, ProviderError>;

    /// Registers the deploy key.
    async fn add_deploy_key(
        &self,
        repo: &RepositoryRef,
        key: NewDeployKey<'_>,
    ) -> Result<(), ProviderError>;

    /// Removes the deploy key `id`.
    async fn remove_deploy_key(&self, repo: &RepositoryRef, id: u64) -> Result<(), ProviderError>;

    /// Grants the team its permission on an organisation repository;
    /// `false` when it already had access and `reconcile` is off.
    async fn ensure_team(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
        reconcile: bool,
    ) -> Result<bool, ProviderError> {
        let current = self.team_access(repo, grant).await?;
        if !current.needs_grant(reconcile) {
            return Ok(false);
        }
        self.grant_team(repo, grant, &current).await?;
        Ok(true)
    }
}

/// Upstream's deploy key title: the non-empty values of namespace, branch,
/// secret name and path, joined by `-`.
pub fn deploy_key_title(namespace: &str, branch: &str, secret: &str, path: &str) -> String {
    [namespace, branch, secret, path]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `name[:permission]` from `--team`.
pub fn split_team<'a>(spec: &'a str, default: &'a str) -> (&'a str, &'a str) {
    match spec.split_once(':') {
        Some((team, permission)) if !permission.contains(':') => (team, permission),
        _ => (spec, default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_key_titles_follow_upstream() {
        assert_eq!(
            deploy_key_title("flux-system", "main", "flux-system", "./clusters/prod"),
            "flux-system-main-flux-system-./clusters/prod"
        );
        assert_eq!(
            deploy_key_title("flux-system", "main", "flux-system", ""),
            "flux-system-main-flux-system"
        );
    }

    #[test]
    fn registered_keys_match_without_their_comment() {
        let key = RegisteredKey {
            id: 1,
            title: "t".into(),
            key: "ssh-ed25519 AAAAC3Nza title".into(),
            read_only: true,
        };
        assert!(key.matches("ssh-ed25519 AAAAC3Nza\n", true));
        assert!(key.matches("ssh-ed25519 AAAAC3Nza flux@host", true));
        assert!(!key.matches("ssh-ed25519 AAAAC3Nza", false));
        assert!(!key.matches("ssh-ed25519 AAAAother", true));
    }

    #[test]
    fn a_team_is_granted_when_missing_or_reconciled() {
        let access = |access| TeamAccess {
            access,
            team_id: None,
        };
        assert!(access(Access::Missing).needs_grant(false));
        assert!(!access(Access::Wanted).needs_grant(true));
        assert!(!access(Access::Other("pull".into())).needs_grant(false));
        assert!(access(Access::Other("pull".into())).needs_grant(true));
    }

    #[test]
    fn teams_may_carry_a_permission() {
        assert_eq!(split_team("devs", "maintain"), ("devs", "maintain"));
        assert_eq!(split_team("devs:pull", "maintain"), ("devs", "pull"));
    }
}
