//! Git hosting providers: the repository, its deploy key and team access,
//! behind one trait so the bootstrap run does not care which host it is.

pub mod bitbucket;
pub mod github;
pub mod gitlab;
mod http;

use std::future::Future;
use std::pin::Pin;

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
        let field = |name: &str| {
            info[name]
                .as_str()
                .map(String::from)
                .ok_or_else(|| ProviderError::Decode {
                    path: path.to_string(),
                    message: format!("no {name}"),
                })
        };
        Ok(Self {
            html_url: field(web)?,
            clone_url: field(clone)?,
            created,
        })
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The calls bootstrap makes to a Git host.
pub trait GitProvider {
    /// Finds the repository, creating it (empty, default branch `main`,
    /// `visibility` private, internal or public) when it does not exist.
    fn ensure_repository<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        visibility: &'a str,
    ) -> BoxFuture<'a, Result<Repository, ProviderError>>;

    /// Grants `team` `permission` on an organisation repository; `false`
    /// when it already had access and `reconcile` is off.
    fn ensure_team<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        team: &'a str,
        permission: &'a str,
        reconcile: bool,
    ) -> BoxFuture<'a, Result<bool, ProviderError>>;

    /// Makes `public_key` the deploy key titled `title`, replacing a key
    /// with the same title; `false` when it was already there.
    fn ensure_deploy_key<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        title: &'a str,
        public_key: &'a str,
        read_only: bool,
    ) -> BoxFuture<'a, Result<bool, ProviderError>>;
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
    fn teams_may_carry_a_permission() {
        assert_eq!(split_team("devs", "maintain"), ("devs", "maintain"));
        assert_eq!(split_team("devs:pull", "maintain"), ("devs", "pull"));
    }
}
