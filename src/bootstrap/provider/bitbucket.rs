//! Bitbucket Server (and Data Center) through the REST API 1.0 and the SSH
//! keys API: repositories in projects or personal (`~user`) spaces, group
//! permissions and access keys. The repository's `owner` is the project key.

use hyper::Method;
use serde_json::{Value, json};

use super::{
    Access, GitProvider, JsonApi, NewDeployKey, ProviderError, RegisteredKey, Repository,
    RepositoryRef, TeamAccess, TeamGrant, key_material,
};
use crate::bootstrap::git::{Author, GitAuth, WorkTree, off_runtime};

pub const NAME: &str = "Bitbucket";
/// The environment variable holding the token.
pub const TOKEN_VARIABLE: &str = "BITBUCKET_TOKEN";

pub struct Bitbucket {
    api: JsonApi,
    /// `host[:port]` without the scheme.
    host: String,
    /// `scheme://host[:port]`, the base of web and clone URLs.
    web_base: String,
    /// The user the API and Git act as.
    user: String,
    token: String,
    /// `--ca-file`, trusted for the initial push too.
    ca_pem: Option<String>,
    /// The run's deadline and `--timeout`, bounding the initial push.
    deadline: (tokio::time::Instant, std::time::Duration),
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
    /// A client for `hostname`'s REST API acting as `user`; `ca_pem` (from
    /// `--ca-file`) is trusted in addition to the system's roots. Git work
    /// ends by `deadline` (the run's, from `--timeout`).
    pub fn new(
        hostname: &str,
        user: &str,
        token: &str,
        ca_pem: Option<&str>,
        deadline: (tokio::time::Instant, std::time::Duration),
    ) -> Result<Self, ProviderError> {
        let hostname = hostname.trim_end_matches('/');
        let web_base = if hostname.starts_with("http://") || hostname.starts_with("https://") {
            hostname.to_string()
        } else {
            format!("https://{hostname}")
        };
        let api = JsonApi::with_ca(
            &format!("{web_base}/rest/"),
            ("Authorization", format!("Bearer {token}")),
            ca_pem,
        )?;
        Ok(Self {
            api,
            web_base,
            host: hostname
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .to_string(),
            user: user.to_string(),
            token: token.to_string(),
            ca_pem: ca_pem.map(str::to_string),
            deadline,
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

    fn reference(&self, repo: &RepositoryRef) -> String {
        format!("{}/{}/{}", self.host, repo.owner, repo.name)
    }

    /// Creates the repository as Bitbucket's library does: an empty
    /// initial commit on `master`, then `main` from it as the default branch.
    async fn create_info(&self, repo: &RepositoryRef) -> Result<Value, ProviderError> {
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
        let clone_url = http_clone_link(&info).unwrap_or_default().to_string();
        let auth = GitAuth::Basic {
            username: self.user.clone(),
            password: self.token.clone(),
        };
        let url = clone_url.clone();
        let ca = self.ca_pem.clone();
        let initial = move || -> Result<(), crate::bootstrap::GitError> {
            let (tree, _) = WorkTree::clone(&url, "master", &auth, ca.as_deref())?;
            // Bitbucket's own initial commit, as its UI makes: never signed.
            tree.commit("Initial commit", &author, None)?;
            tree.push()
        };
        let (deadline, timeout) = self.deadline;
        off_runtime(deadline, timeout, initial)
            .await
            .map_err(|e| ProviderError::Unreachable {
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

    fn keys_path(repo: &RepositoryRef) -> String {
        format!("keys/1.0/projects/{}/repos/{}/ssh", repo.owner, repo.name)
    }
}

/// The HTTP clone link of a repository as the API returns it.
fn http_clone_link(info: &Value) -> Option<&str> {
    info["links"]["clone"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["name"] == "http")
        .and_then(|l| l["href"].as_str())
}

/// The web (`self`) and HTTP clone links of a repository.
fn repository_from_links(
    info: &Value,
    path: &str,
    created: bool,
) -> Result<Repository, ProviderError> {
    match (
        info["links"]["self"][0]["href"].as_str(),
        http_clone_link(info),
    ) {
        (Some(html), Some(clone)) => Ok(Repository {
            html_url: html.to_string(),
            clone_url: clone.to_string(),
            created,
        }),
        _ => Err(ProviderError::Decode {
            path: path.to_string(),
            message: "no self or http clone link".into(),
        }),
    }
}

#[async_trait::async_trait(?Send)]
impl GitProvider for Bitbucket {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn find_repository(
        &self,
        repo: &RepositoryRef,
    ) -> Result<Option<Repository>, ProviderError> {
        let path = Self::repo_path(repo);
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
            .map_err(|error: ProviderError| error.getting(&self.reference(repo)))?;
        if status == 404 {
            return Ok(None);
        }
        repository_from_links(&found, &path, false).map(Some)
    }

    async fn create_repository(
        &self,
        repo: &RepositoryRef,
        // Bitbucket's library ignores the visibility (a known upstream
        // defect): repositories are created with the project's default.
        __visibility: &str,
    ) -> Result<Repository, ProviderError> {
        let info = self
            .create_info(repo)
            .await
            .map_err(|error| error.creating(&self.reference(repo)))?;
        repository_from_links(&info, &Self::repo_path(repo), true)
    }

    fn planned_repository(&self, repo: &RepositoryRef, _visibility: &str) -> (Repository, String) {
        // Bitbucket Server's URLs: slugs are lower case, web pages live
        // under /projects, clones under /scm.
        let slug = repo.name.to_lowercase();
        let planned = Repository {
            html_url: format!(
                "{}/projects/{}/repos/{slug}/browse",
                self.web_base, repo.owner
            ),
            clone_url: format!(
                "{}/scm/{}/{slug}.git",
                self.web_base,
                repo.owner.to_lowercase()
            ),
            created: true,
        };
        let how =
            "the project's default visibility, an initial commit on master, default branch main";
        (planned, how.to_string())
    }

    async fn team_access(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
    ) -> Result<TeamAccess, ProviderError> {
        let (group, path) = (grant.team, Self::repo_path(repo));
        let mut current: Option<String> = None;
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
                if entry["group"]["name"].as_str() != Some(group) {
                    continue;
                }
                let granted = entry["permission"].as_str().unwrap_or_default();
                if rank(granted) > current.as_deref().map_or(0, rank) {
                    current = Some(granted.to_string());
                }
            }
        }
        let access = match current {
            None => Access::Missing,
            Some(current) if rank(&current) == rank(repo_permission(grant.permission)) => {
                Access::Wanted
            }
            Some(current) => Access::Other(current),
        };
        Ok(TeamAccess {
            access,
            team_id: None,
        })
    }

    async fn grant_team(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
        _current: &TeamAccess,
    ) -> Result<(), ProviderError> {
        self.call(
            Method::PUT,
            &format!(
                "{}/permissions/groups?name={}&permission={}",
                Self::repo_path(repo),
                query(grant.team),
                repo_permission(grant.permission)
            ),
            None,
            &[204],
        )
        .await?;
        Ok(())
    }

    async fn deploy_keys(&self, repo: &RepositoryRef) -> Result<Vec<RegisteredKey>, ProviderError> {
        let (_, keys) = self
            .call(Method::GET, &Self::keys_path(repo), None, &[200])
            .await?;
        Ok(keys["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| RegisteredKey {
                id: entry["key"]["id"].as_u64().unwrap_or_default(),
                title: entry["key"]["label"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                key: entry["key"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                read_only: entry["permission"].as_str() == Some("REPO_READ"),
            })
            .collect())
    }

    async fn add_deploy_key(
        &self,
        repo: &RepositoryRef,
        key: NewDeployKey<'_>,
    ) -> Result<(), ProviderError> {
        // The key's comment is replaced by the title.
        let body = json!({
            "key": {"text": format!("{} {}", key_material(key.public_key), key.title)},
            "permission": if key.read_only { "REPO_READ" } else { "REPO_WRITE" },
        });
        self.call(Method::POST, &Self::keys_path(repo), Some(&body), &[201])
            .await?;
        Ok(())
    }

    async fn remove_deploy_key(&self, repo: &RepositoryRef, id: u64) -> Result<(), ProviderError> {
        let path = format!("{}/{id}", Self::keys_path(repo));
        self.call(Method::DELETE, &path, None, &[204]).await?;
        Ok(())
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
