//! Bitbucket Server (and Data Center) through the REST API 1.0 and the SSH
//! keys API: repositories in projects or personal (`~user`) spaces, group
//! permissions and access keys. The repository's `owner` is the project key.

use hyper::Method;
use serde_json::{Value, json};

use super::{BoxFuture, GitProvider, JsonApi, ProviderError, Repository, RepositoryRef};
use crate::bootstrap::git::{Author, GitAuth, WorkTree};

pub const NAME: &str = "Bitbucket";
/// The environment variable holding the token.
pub const TOKEN_VARIABLE: &str = "BITBUCKET_TOKEN";

pub struct Bitbucket {
    api: JsonApi,
    /// `host[:port]` without the scheme.
    host: String,
    /// The user the API and Git act as.
    user: String,
    token: String,
}

/// Bitbucket's repository permission for a `--group` permission.
fn repo_permission(permission: &str) -> &'static str {
    match permission {
        "pull" | "triage" => "REPO_READ",
        "admin" => "REPO_ADMIN",
        _ => "REPO_WRITE",
    }
}

/// Orders `*_READ` < `*_WRITE` < `*_ADMIN` (repository or project level).
fn rank(permission: &str) -> u8 {
    if permission.ends_with("_ADMIN") {
        3
    } else if permission.ends_with("_WRITE") {
        2
    } else if permission.ends_with("_READ") {
        1
    } else {
        0
    }
}

fn query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Bitbucket {
    pub fn new(hostname: &str, user: &str, token: &str) -> Result<Self, ProviderError> {
        let hostname = hostname.trim_end_matches('/');
        let base = if hostname.starts_with("http://") || hostname.starts_with("https://") {
            format!("{hostname}/rest/")
        } else {
            format!("https://{hostname}/rest/")
        };
        let api = JsonApi::new(&base, ("Authorization", format!("Bearer {token}")))?;
        Ok(Self {
            api,
            host: hostname
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .to_string(),
            user: user.to_string(),
            token: token.to_string(),
        })
    }

    /// `host[:port]`, as the "connecting to" line shows it.
    pub fn host(&self) -> &str {
        &self.host
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        ok: &[u16],
    ) -> Result<(u16, Value), ProviderError> {
        let (status, value) = self.api.send(method.clone(), path, None, body).await?;
        if status == 401 {
            return Err(ProviderError::Unauthorized {
                provider: NAME,
                variable: TOKEN_VARIABLE,
            });
        }
        if !ok.contains(&status) {
            let message = value["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            return Err(ProviderError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status,
                message,
            });
        }
        Ok((status, value))
    }

    /// The key of the project named `owner`, or `~user` for a personal
    /// repository.
    pub async fn project_key(&self, owner: &str, personal: bool) -> Result<String, ProviderError> {
        if personal {
            return Ok(format!("~{owner}"));
        }
        let path = format!("api/1.0/projects?name={}", query(owner));
        let (_, found) = self.call(Method::GET, &path, None, &[200]).await?;
        found["values"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| {
                p["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(owner))
            })
            .and_then(|p| p["key"].as_str())
            .map(String::from)
            .ok_or(ProviderError::Status {
                method: "GET".into(),
                path,
                status: 404,
                message: format!("no project named {owner}"),
            })
    }

    fn repo_path(repo: &RepositoryRef) -> String {
        format!("api/1.0/projects/{}/repos/{}", repo.owner, repo.name)
    }

    async fn repository(&self, repo: &RepositoryRef) -> Result<Repository, ProviderError> {
        let path = Self::repo_path(repo);
        let reference = format!("{}/{}/{}", self.host, repo.owner, repo.name);
        let found = async {
            let (status, found) = self.call(Method::GET, &path, None, &[200, 404]).await?;
            if status == 200 {
                self.call(
                    Method::GET,
                    &format!("{path}/branches/default"),
                    None,
                    &[200, 204, 404],
                )
                .await?;
            }
            Ok((status, found))
        };
        let (status, found) = found
            .await
            .map_err(|error: ProviderError| error.getting(&reference))?;
        let (created, info) = if status == 200 {
            (false, found)
        } else {
            let info = self
                .create(repo)
                .await
                .map_err(|error| error.creating(&reference))?;
            (true, info)
        };
        let clone_url = info["links"]["clone"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["name"] == "http")
            .and_then(|l| l["href"].as_str());
        let html_url = info["links"]["self"][0]["href"].as_str();
        match (html_url, clone_url) {
            (Some(html), Some(clone)) => Ok(Repository {
                html_url: html.to_string(),
                clone_url: clone.to_string(),
                created,
            }),
            _ => Err(ProviderError::Decode {
                path,
                message: "no self or http clone link".into(),
            }),
        }
    }

    /// Creates the repository as Bitbucket's library does: an empty
    /// initial commit on `master`, then `main` from it as the default branch.
    async fn create(&self, repo: &RepositoryRef) -> Result<Value, ProviderError> {
        let body = json!({"name": repo.name, "scmId": "git"});
        let (_, info) = self
            .call(
                Method::POST,
                &format!("api/1.0/projects/{}/repos", repo.owner),
                Some(&body),
                &[201],
            )
            .await?;
        let (_, user) = self
            .call(
                Method::GET,
                &format!("api/1.0/users/{}", query(&self.user)),
                None,
                &[200],
            )
            .await?;
        let author = Author {
            name: user["displayName"]
                .as_str()
                .unwrap_or(&self.user)
                .to_string(),
            email: user["emailAddress"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        let clone_url = info["links"]["clone"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["name"] == "http")
            .and_then(|l| l["href"].as_str())
            .unwrap_or_default()
            .to_string();
        let auth = GitAuth::Basic {
            username: self.user.clone(),
            password: self.token.clone(),
        };
        let initial = || -> Result<(), crate::bootstrap::GitError> {
            let (tree, _) = WorkTree::clone(&clone_url, "master", &auth)?;
            // Bitbucket's own initial commit, as its UI makes: never signed.
            tree.commit("Initial commit", &author, None)?;
            tree.push()
        };
        initial().map_err(|e| ProviderError::Unreachable {
            url: clone_url.clone(),
            message: format!("unable to push the initial commit: {e}"),
        })?;
        let path = Self::repo_path(repo);
        self.call(
            Method::POST,
            &format!("{path}/branches"),
            Some(&json!({"name": "refs/heads/main", "startPoint": "refs/heads/master"})),
            &[200, 201],
        )
        .await?;
        self.call(
            Method::PUT,
            &format!("{path}/branches/default"),
            Some(&json!({"id": "refs/heads/main"})),
            &[200, 204],
        )
        .await?;
        Ok(info)
    }

    async fn group(
        &self,
        repo: &RepositoryRef,
        group: &str,
        permission: &str,
        reconcile: bool,
    ) -> Result<bool, ProviderError> {
        let wanted = repo_permission(permission);
        let path = Self::repo_path(repo);
        let mut current = 0;
        for level in [
            format!("{path}/permissions/groups?filter={}", query(group)),
            format!(
                "api/1.0/projects/{}/permissions/groups?filter={}",
                repo.owner,
                query(group)
            ),
        ] {
            let (_, found) = self.call(Method::GET, &level, None, &[200]).await?;
            for entry in found["values"].as_array().into_iter().flatten() {
                if entry["group"]["name"].as_str() == Some(group) {
                    current = current.max(rank(entry["permission"].as_str().unwrap_or("")));
                }
            }
        }
        if current > 0 && (!reconcile || current == rank(wanted)) {
            return Ok(false);
        }
        self.call(
            Method::PUT,
            &format!(
                "{path}/permissions/groups?name={}&permission={wanted}",
                query(group)
            ),
            None,
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
        let keys_path = format!("keys/1.0/projects/{}/repos/{}/ssh", repo.owner, repo.name);
        // `<type> <base64>`: the comment is replaced by the title.
        let material: Vec<&str> = public_key.split_whitespace().take(2).collect();
        let material = material.join(" ");
        let permission = if read_only { "REPO_READ" } else { "REPO_WRITE" };
        let (_, keys) = self.call(Method::GET, &keys_path, None, &[200]).await?;
        for entry in keys["values"].as_array().into_iter().flatten() {
            let key = &entry["key"];
            if key["label"].as_str() != Some(title) {
                continue;
            }
            let text = key["text"].as_str().unwrap_or_default();
            if text.starts_with(&material) && entry["permission"].as_str() == Some(permission) {
                return Ok(false);
            }
            let id = key["id"].as_u64().unwrap_or_default();
            self.call(Method::DELETE, &format!("{keys_path}/{id}"), None, &[204])
                .await?;
        }
        let body = json!({
            "key": {"text": format!("{material} {title}")},
            "permission": permission,
        });
        self.call(Method::POST, &keys_path, Some(&body), &[201])
            .await?;
        Ok(true)
    }
}

impl GitProvider for Bitbucket {
    fn ensure_repository<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        // Bitbucket's library ignores the visibility (a known upstream
        // defect): repositories are created with the project's default.
        _visibility: &'a str,
    ) -> BoxFuture<'a, Result<Repository, ProviderError>> {
        Box::pin(self.repository(repo))
    }

    fn ensure_team<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        team: &'a str,
        permission: &'a str,
        reconcile: bool,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(self.group(repo, team, permission, reconcile))
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
    fn group_permissions_map_to_bitbucket_levels() {
        assert_eq!(repo_permission("pull"), "REPO_READ");
        assert_eq!(repo_permission("push"), "REPO_WRITE");
        assert_eq!(repo_permission("admin"), "REPO_ADMIN");
        assert!(rank("PROJECT_ADMIN") > rank("REPO_WRITE"));
        assert!(rank("REPO_WRITE") > rank("PROJECT_READ"));
    }
}
