//! GitLab (gitlab.com or self-managed) through the REST API v4: projects in
//! groups or user namespaces, group shares, deploy keys and deploy tokens.

use hyper::Method;
use serde_json::{Value, json};

use super::{
    Access, BoxFuture, GitProvider, JsonApi, ProviderError, RegisteredKey, Repository,
    RepositoryRef, TeamAccess,
};

pub const NAME: &str = "GitLab";
/// The environment variable holding the token.
pub const TOKEN_VARIABLE: &str = "GITLAB_TOKEN";

pub struct GitLab {
    api: JsonApi,
    /// `https://host` (or the scheme given with `--hostname`).
    base_url: String,
}

/// A deploy token as GitLab returns it once, on creation.
pub struct DeployToken {
    pub username: String,
    pub token: String,
}

/// `--hostname` with a scheme: `https://` unless one was given.
pub fn base_url(hostname: &str) -> String {
    let hostname = hostname.trim_end_matches('/');
    if hostname.starts_with("http://") || hostname.starts_with("https://") {
        hostname.to_string()
    } else {
        format!("https://{hostname}")
    }
}

/// Whether GitLab accepts `name` as a project name: it starts with a
/// letter, digit, emoji or `_`, and goes on with those, `-` and `.`.
pub fn valid_project_name(name: &str) -> bool {
    let wide = |c: char| ('\u{00A9}'..='\u{1F9FF}').contains(&c);
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphanumeric() || first == '_' || wide(first))
        && chars.all(|c| c.is_ascii_alphanumeric() || wide(c) || matches!(c, '_' | '-' | '.'))
}

/// Percent-encodes a path segment (`/` included), as GitLab wants project
/// and group paths in URLs.
fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// GitLab's access level for a team permission.
fn access_level(permission: &str) -> u64 {
    match permission {
        "pull" => 10,
        "triage" => 20,
        "push" => 30,
        "admin" => 50,
        _ => 40,
    }
}

/// The `--team` permission of a GitLab access level.
fn permission_name(level: u64) -> String {
    match level {
        10 => "pull".into(),
        20 => "triage".into(),
        30 => "push".into(),
        40 => "maintain".into(),
        50 => "admin".into(),
        other => format!("access level {other}"),
    }
}

impl GitLab {
    pub fn new(hostname: &str, token: &str) -> Result<Self, ProviderError> {
        let base_url = base_url(hostname);
        let api = JsonApi::new(
            &format!("{base_url}/api/v4/"),
            ("PRIVATE-TOKEN", token.to_string()),
        )?;
        Ok(Self { api, base_url })
    }

    /// `https://host`, as the "connecting to" line shows it.
    pub fn base(&self) -> &str {
        &self.base_url
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
            let message = match &value["message"] {
                Value::String(text) => text.clone(),
                Value::Null => value["error"].as_str().unwrap_or_default().to_string(),
                other => other.to_string(),
            };
            return Err(ProviderError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status,
                message,
            });
        }
        Ok((status, value))
    }

    /// The encoded full path of the project, the group part lower-cased
    /// for look-ups as upstream does.
    fn lookup_path(repo: &RepositoryRef) -> String {
        encode(&format!("{}/{}", repo.owner.to_lowercase(), repo.name))
    }

    fn project_path(repo: &RepositoryRef) -> String {
        encode(&format!("{}/{}", repo.owner, repo.name))
    }

    fn reference(&self, repo: &RepositoryRef) -> String {
        let host = self
            .base_url
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        format!("{host}/{}/{}", repo.owner, repo.name)
    }

    async fn find(&self, repo: &RepositoryRef) -> Result<Option<Repository>, ProviderError> {
        let path = format!("projects/{}", Self::lookup_path(repo));
        let (status, found) = self
            .call(Method::GET, &path, None, &[200, 404])
            .await
            .map_err(|error| error.getting(&self.reference(repo)))?;
        if status == 404 {
            return Ok(None);
        }
        Repository::from_json(&found, &path, "web_url", "http_url_to_repo", false).map(Some)
    }

    async fn create(
        &self,
        repo: &RepositoryRef,
        visibility: &str,
    ) -> Result<Repository, ProviderError> {
        let create = async {
            let mut body = json!({
                "name": repo.name,
                "visibility": visibility,
                "default_branch": "main",
                "description": "",
            });
            if repo.personal {
                let (_, user) = self.call(Method::GET, "user", None, &[200]).await?;
                if !user["username"]
                    .as_str()
                    .is_some_and(|name| name.eq_ignore_ascii_case(&repo.owner))
                {
                    return Err(ProviderError::OwnerMismatch {
                        owner: repo.owner.clone(),
                    });
                }
            } else {
                let group = format!("groups/{}", encode(&repo.owner));
                let (_, group) = self.call(Method::GET, &group, None, &[200]).await?;
                body["namespace_id"] = group["id"].clone();
            }
            let (_, info) = self
                .call(Method::POST, "projects", Some(&body), &[201])
                .await?;
            Ok(info)
        };
        let info = create
            .await
            .map_err(|error| error.creating(&self.reference(repo)))?;
        let path = format!("projects/{}", Self::lookup_path(repo));
        Repository::from_json(&info, &path, "web_url", "http_url_to_repo", true)
    }

    async fn team_access(
        &self,
        repo: &RepositoryRef,
        team: &str,
        permission: &str,
    ) -> Result<TeamAccess, ProviderError> {
        let (_, group) = self
            .call(
                Method::GET,
                &format!("groups/{}", encode(team)),
                None,
                &[200],
            )
            .await?;
        let group_id = group["id"].as_u64().unwrap_or_default();
        let (_, project) = self
            .call(
                Method::GET,
                &format!("projects/{}", Self::lookup_path(repo)),
                None,
                &[200],
            )
            .await?;
        let shared = project["shared_with_groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["group_id"].as_u64() == Some(group_id));
        let access = match shared.map(|g| g["group_access_level"].as_u64().unwrap_or_default()) {
            None => Access::Missing,
            Some(level) if level == access_level(permission) => Access::Wanted,
            Some(level) => Access::Other(permission_name(level)),
        };
        Ok(TeamAccess {
            access,
            team_id: Some(group_id),
        })
    }

    async fn grant_team(
        &self,
        repo: &RepositoryRef,
        team: &str,
        permission: &str,
        current: &TeamAccess,
    ) -> Result<(), ProviderError> {
        let group_id = match current.team_id {
            Some(id) => id,
            None => {
                let path = format!("groups/{}", encode(team));
                let (_, group) = self.call(Method::GET, &path, None, &[200]).await?;
                group["id"].as_u64().unwrap_or_default()
            }
        };
        let share = format!("projects/{}/share", Self::project_path(repo));
        let unshare = format!("{share}/{group_id}");
        let body = json!({"group_id": group_id, "group_access": access_level(permission)});
        if matches!(current.access, Access::Other(_)) {
            // A share's level is changed by sharing again.
            self.call(Method::DELETE, &unshare, None, &[204]).await?;
        }
        let (status, _) = self
            .call(Method::POST, &share, Some(&body), &[201, 409])
            .await?;
        if status == 409 {
            // Shared in the meantime, with another level: share again.
            self.call(Method::DELETE, &unshare, None, &[204]).await?;
            self.call(Method::POST, &share, Some(&body), &[201]).await?;
        }
        Ok(())
    }

    fn keys_path(repo: &RepositoryRef) -> String {
        format!("projects/{}/deploy_keys", Self::project_path(repo))
    }

    async fn deploy_keys(&self, repo: &RepositoryRef) -> Result<Vec<RegisteredKey>, ProviderError> {
        let (_, keys) = self
            .call(Method::GET, &Self::keys_path(repo), None, &[200])
            .await?;
        Ok(keys
            .as_array()
            .into_iter()
            .flatten()
            .map(|key| RegisteredKey {
                id: key["id"].as_u64().unwrap_or_default(),
                title: key["title"].as_str().unwrap_or_default().to_string(),
                key: key["key"].as_str().unwrap_or_default().to_string(),
                read_only: !key["can_push"].as_bool().unwrap_or(false),
            })
            .collect())
    }

    async fn add_deploy_key(
        &self,
        repo: &RepositoryRef,
        title: &str,
        public_key: &str,
        read_only: bool,
    ) -> Result<(), ProviderError> {
        let body = json!({"title": title, "key": public_key.trim(), "can_push": !read_only});
        self.call(Method::POST, &Self::keys_path(repo), Some(&body), &[201])
            .await?;
        Ok(())
    }

    async fn remove_deploy_key(&self, repo: &RepositoryRef, id: u64) -> Result<(), ProviderError> {
        let path = format!("{}/{id}", Self::keys_path(repo));
        self.call(Method::DELETE, &path, None, &[204]).await?;
        Ok(())
    }

    fn tokens_path(repo: &RepositoryRef) -> String {
        format!("projects/{}/deploy_tokens", Self::project_path(repo))
    }

    /// The active (neither expired nor revoked) deploy tokens named `name`;
    /// GitLab lists them without their values.
    pub async fn active_deploy_tokens(
        &self,
        repo: &RepositoryRef,
        name: &str,
    ) -> Result<Vec<u64>, ProviderError> {
        let (_, tokens) = self
            .call(Method::GET, &Self::tokens_path(repo), None, &[200])
            .await?;
        Ok(tokens
            .as_array()
            .into_iter()
            .flatten()
            .filter(|token| {
                !token["expired"].as_bool().unwrap_or(false)
                    && !token["revoked"].as_bool().unwrap_or(false)
                    && token["name"].as_str() == Some(name)
            })
            .map(|token| token["id"].as_u64().unwrap_or_default())
            .collect())
    }

    /// Creates the read-only deploy token `name`, deleting an active one of
    /// that name first: GitLab shows a token's value only when creating it,
    /// so every run makes a new one.
    pub async fn rotate_deploy_token(
        &self,
        repo: &RepositoryRef,
        name: &str,
    ) -> Result<DeployToken, ProviderError> {
        let tokens_path = Self::tokens_path(repo);
        for id in self.active_deploy_tokens(repo, name).await? {
            self.call(Method::DELETE, &format!("{tokens_path}/{id}"), None, &[204])
                .await?;
        }
        let body = json!({"name": name, "scopes": ["read_repository"]});
        let (_, created) = self
            .call(Method::POST, &tokens_path, Some(&body), &[201])
            .await?;
        let field = |key: &str| {
            created[key]
                .as_str()
                .map(String::from)
                .ok_or_else(|| ProviderError::Decode {
                    path: tokens_path.clone(),
                    message: format!("no {key}"),
                })
        };
        Ok(DeployToken {
            username: field("username")?,
            token: field("token")?,
        })
    }
}

impl GitProvider for GitLab {
    fn name(&self) -> &'static str {
        NAME
    }

    fn find_repository<'a>(
        &'a self,
        repo: &'a RepositoryRef,
    ) -> BoxFuture<'a, Result<Option<Repository>, ProviderError>> {
        Box::pin(self.find(repo))
    }

    fn create_repository<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        visibility: &'a str,
    ) -> BoxFuture<'a, Result<Repository, ProviderError>> {
        Box::pin(self.create(repo, visibility))
    }

    fn planned_repository(&self, repo: &RepositoryRef, visibility: &str) -> (Repository, String) {
        let html_url = format!("{}/{}/{}", self.base_url, repo.owner, repo.name);
        let planned = Repository {
            clone_url: format!("{html_url}.git"),
            html_url,
            created: true,
        };
        (planned, format!("{visibility}, default branch main"))
    }

    fn team_access<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        team: &'a str,
        permission: &'a str,
    ) -> BoxFuture<'a, Result<TeamAccess, ProviderError>> {
        Box::pin(self.team_access(repo, team, permission))
    }

    fn grant_team<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        team: &'a str,
        permission: &'a str,
        current: &'a TeamAccess,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.grant_team(repo, team, permission, current))
    }

    fn deploy_keys<'a>(
        &'a self,
        repo: &'a RepositoryRef,
    ) -> BoxFuture<'a, Result<Vec<RegisteredKey>, ProviderError>> {
        Box::pin(self.deploy_keys(repo))
    }

    fn add_deploy_key<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        title: &'a str,
        public_key: &'a str,
        read_only: bool,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.add_deploy_key(repo, title, public_key, read_only))
    }

    fn remove_deploy_key<'a>(
        &'a self,
        repo: &'a RepositoryRef,
        id: u64,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.remove_deploy_key(repo, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_follow_gitlab_rules() {
        for name in ["fleet", "_fleet", "fleet-infra.v2", "9lives", "🚀fleet"] {
            assert!(valid_project_name(name), "{name}");
        }
        for name in [
            "",
            "-fleet",
            ".fleet",
            "fleet/infra",
            "fleet infra",
            "fl@et",
        ] {
            assert!(!valid_project_name(name), "{name}");
        }
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode("group/sub/fleet"), "group%2Fsub%2Ffleet");
        assert_eq!(base_url("gitlab.com"), "https://gitlab.com");
        assert_eq!(base_url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
    }

    #[test]
    fn access_levels_read_back_as_permissions() {
        for permission in ["pull", "triage", "push", "maintain", "admin"] {
            assert_eq!(permission_name(access_level(permission)), permission);
        }
        assert_eq!(permission_name(5), "access level 5");
    }
}
