//! GitHub and GitHub Enterprise through the REST API (v3), and Gitea,
//! whose API follows GitHub's apart from auth, create and team calls.

use hyper::Method;
use serde_json::{Value, json};

use super::{BoxFuture, GitProvider, JsonApi, ProviderError, Repository, RepositoryRef};

const TEAM_ACCEPT: &str = "application/vnd.github.v3.repository+json";

/// Which API dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    GitHub,
    Gitea,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Self::GitHub => "GitHub",
            Self::Gitea => "Gitea",
        }
    }

    /// The environment variable holding the token.
    pub fn token_variable(self) -> &'static str {
        match self {
            Self::GitHub => "GITHUB_TOKEN",
            Self::Gitea => "GITEA_TOKEN",
        }
    }
}

pub struct GitHub {
    api: JsonApi,
    hostname: String,
    flavor: Flavor,
}

/// The API base for `hostname`: api.github.com for github.com, the
/// Enterprise `/api/v3/` path otherwise, `/api/v1/` for Gitea. A hostname
/// with a scheme keeps it.
pub fn api_base(flavor: Flavor, hostname: &str) -> String {
    let suffix = match flavor {
        Flavor::GitHub if hostname == "github.com" => {
            return "https://api.github.com/".to_string();
        }
        Flavor::GitHub => "api/v3/",
        Flavor::Gitea => "api/v1/",
    };
    if hostname.starts_with("http://") || hostname.starts_with("https://") {
        return format!("{}/{suffix}", hostname.trim_end_matches('/'));
    }
    format!("https://{hostname}/{suffix}")
}

impl GitHub {
    pub fn new(flavor: Flavor, hostname: &str, token: &str) -> Result<Self, ProviderError> {
        let auth = match flavor {
            Flavor::GitHub => format!("Bearer {token}"),
            Flavor::Gitea => format!("token {token}"),
        };
        let api = JsonApi::new(&api_base(flavor, hostname), ("Authorization", auth))?;
        Ok(Self {
            api,
            hostname: hostname.to_string(),
            flavor,
        })
    }

    /// Sends and turns 401 and unexpected statuses into errors.
    async fn call(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<&Value>,
        ok: &[u16],
    ) -> Result<(u16, Value), ProviderError> {
        let (status, value) = self.api.send(method.clone(), path, accept, body).await?;
        if status == 401 {
            return Err(ProviderError::Unauthorized {
                provider: self.flavor.name(),
                variable: self.flavor.token_variable(),
            });
        }
        if !ok.contains(&status) {
            return Err(ProviderError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status,
                message: value["message"].as_str().unwrap_or_default().to_string(),
            });
        }
        Ok((status, value))
    }

    fn reference(&self, repo: &RepositoryRef) -> String {
        let host = self
            .hostname
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        format!("{host}/{}/{}", repo.owner, repo.name)
    }

    async fn repository(
        &self,
        repo: &RepositoryRef,
        private: bool,
    ) -> Result<Repository, ProviderError> {
        let path = format!("repos/{}/{}", repo.owner, repo.name);
        let reference = self.reference(repo);
        let (status, found) = self
            .call(Method::GET, &path, None, None, &[200, 404])
            .await
            .map_err(|error| error.getting(&reference))?;
        let (created, info) = if status == 200 {
            (false, found)
        } else {
            let create = async {
                let body = match self.flavor {
                    Flavor::GitHub => {
                        let visibility = if private { "private" } else { "public" };
                        let mut body = json!({"name": repo.name, "visibility": visibility});
                        if private {
                            body["private"] = json!(true);
                        }
                        body
                    }
                    Flavor::Gitea => json!({
                        "name": repo.name,
                        "description": "",
                        "private": private,
                        "default_branch": "main",
                    }),
                };
                let target = if repo.personal {
                    let (_, user) = self.call(Method::GET, "user", None, None, &[200]).await?;
                    if !user["login"]
                        .as_str()
                        .is_some_and(|login| login.eq_ignore_ascii_case(&repo.owner))
                    {
                        return Err(ProviderError::OwnerMismatch {
                            owner: repo.owner.clone(),
                        });
                    }
                    "user/repos".to_string()
                } else {
                    format!("orgs/{}/repos", repo.owner)
                };
                let (_, info) = self
                    .call(Method::POST, &target, None, Some(&body), &[201])
                    .await?;
                Ok(info)
            };
            let info = create.await.map_err(|error| error.creating(&reference))?;
            (true, info)
        };
        Repository::from_json(&info, &path, "html_url", "clone_url", created)
    }

    async fn team(
        &self,
        repo: &RepositoryRef,
        team: &str,
        permission: &str,
        reconcile: bool,
    ) -> Result<bool, ProviderError> {
        if self.flavor == Flavor::Gitea {
            // Gitea teams carry their own permission: only membership is set.
            let path = format!("repos/{}/{}/teams/{team}", repo.owner, repo.name);
            let (status, _) = self
                .call(Method::GET, &path, None, None, &[200, 404])
                .await?;
            if status == 200 {
                return Ok(false);
            }
            self.call(Method::PUT, &path, None, None, &[204]).await?;
            return Ok(true);
        }
        let path = format!("orgs/{0}/teams/{team}/repos/{0}/{1}", repo.owner, repo.name);
        let (status, found) = self
            .call(Method::GET, &path, Some(TEAM_ACCEPT), None, &[200, 404])
            .await?;
        if status == 200 {
            let current = found["role_name"].as_str().unwrap_or_default();
            if !reconcile || current == permission {
                return Ok(false);
            }
        }
        self.call(
            Method::PUT,
            &path,
            None,
            Some(&json!({"permission": permission})),
            &[204],
        )
        .await?;
        Ok(true)
    }

    async fn deploy_key(
        &self,
        repo: &RepositoryRef,
        title: &str,
        public_key: &str,
        read_only: bool,
    ) -> Result<bool, ProviderError> {
        let keys_path = format!("repos/{}/{}/keys", repo.owner, repo.name);
        let wanted = public_key.trim();
        let mut page = 1;
        loop {
            let (_, keys) = self
                .call(
                    Method::GET,
                    &format!("{keys_path}?per_page=100&page={page}"),
                    None,
                    None,
                    &[200],
                )
                .await?;
            let keys = keys.as_array().cloned().unwrap_or_default();
            for key in &keys {
                if key["title"].as_str() != Some(title) {
                    continue;
                }
                if key["key"].as_str().map(str::trim) == Some(wanted)
                    && key["read_only"].as_bool() == Some(read_only)
                {
                    return Ok(false);
                }
                let id = key["id"].as_u64().unwrap_or_default();
                self.call(
                    Method::DELETE,
                    &format!("{keys_path}/{id}"),
                    None,
                    None,
                    &[204],
                )
                .await?;
            }
            if keys.len() < 100 {
                break;
            }
            page += 1;
        }
        let body = json!({"title": title, "key": wanted, "read_only": read_only});
        self.call(Method::POST, &keys_path, None, Some(&body), &[201])
            .await?;
        Ok(true)
    }
}

impl GitProvider for GitHub {
    fn ensure_repository<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        visibility: &'a str,
    ) -> BoxFuture<'a, Result<Repository, ProviderError>> {
        Box::pin(self.repository(repo, visibility != "public"))
    }

    fn ensure_team<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        team: &'a str,
        permission: &'a str,
        reconcile: bool,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(self.team(repo, team, permission, reconcile))
    }

    fn ensure_deploy_key<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        title: &'a str,
        public_key: &'a str,
        read_only: bool,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(self.deploy_key(repo, title, public_key, read_only))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_follows_the_hostname() {
        assert_eq!(
            api_base(Flavor::GitHub, "github.com"),
            "https://api.github.com/"
        );
        assert_eq!(
            api_base(Flavor::GitHub, "ghe.example.com"),
            "https://ghe.example.com/api/v3/"
        );
        assert_eq!(
            api_base(Flavor::GitHub, "http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/api/v3/"
        );
        assert_eq!(
            api_base(Flavor::Gitea, "gitea.com"),
            "https://gitea.com/api/v1/"
        );
    }
}
