//! GitLab (gitlab.com or self-managed) through the REST API v4: projects in
//! groups or user namespaces, group shares, deploy keys and deploy tokens.

use std::borrow::Cow;

use gitlab::api::projects::deploy_keys::{DeleteDeployKey, DeployKeys};
use gitlab::api::projects::{Project, UnshareProject};
use gitlab::api::users::CurrentUser;
use gitlab::api::{
    ApiError, AsyncClient, AsyncQuery, BodyError, Endpoint, RestClient, groups::Group,
};
use http::Method;
use serde_json::{Value, json};
use url::Url;

use super::http::JsonApi;
use super::{
    Access, GitProvider, NewDeployKey, ProviderError, RegisteredKey, Repository, RepositoryRef,
    TeamAccess, TeamGrant, string_field,
};

pub const NAME: &str = "GitLab";
/// The environment variable holding the token.
pub const TOKEN_VARIABLE: &str = "GITLAB_TOKEN";

pub struct GitLab {
    api: Api,
    /// `https://host` (or the scheme given with `--hostname`).
    base_url: String,
}

/// The `gitlab` crate's client traits over [`JsonApi`]: the crate's typed
/// endpoints build the requests, the project's hyper and rustls client
/// sends them (with the `PRIVATE-TOKEN` header).
struct Api {
    http: JsonApi,
    /// `https://host/api/v4/`.
    rest: Url,
}

impl RestClient for Api {
    type Error = ProviderError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.rest.join(endpoint)?)
    }
}

#[async_trait::async_trait]
impl AsyncClient for Api {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<bytes::Bytes>, ApiError<Self::Error>> {
        let mut request = request
            .header(http::header::USER_AGENT, "flux-rs")
            .body(body)
            .map_err(|error| {
                ApiError::client(ProviderError::Unreachable {
                    url: self.rest.to_string(),
                    message: error.to_string(),
                })
            })?;
        request
            .headers_mut()
            .entry(http::header::ACCEPT)
            .or_insert(http::HeaderValue::from_static("application/json"));
        // The crate's URLs end in an empty query (`path?`) when there are no
        // parameters.
        if let Some(bare) = request.uri().to_string().strip_suffix('?') {
            *request.uri_mut() = bare.parse().map_err(|error: http::uri::InvalidUri| {
                ApiError::client(ProviderError::Unreachable {
                    url: bare.to_string(),
                    message: error.to_string(),
                })
            })?;
        }
        self.http
            .send_request(request)
            .await
            .map_err(ApiError::client)
    }
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

/// A GitLab REST call the `gitlab` crate has no typed endpoint for, or
/// whose typed endpoint sends a form body: the documented JSON body is sent
/// as is.
struct JsonCall {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl JsonCall {
    fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
        }
    }

    fn post(path: String, body: Value) -> Self {
        Self {
            method: Method::POST,
            path,
            body: Some(body),
        }
    }

    fn delete(path: String) -> Self {
        Self {
            method: Method::DELETE,
            path,
            body: None,
        }
    }
}

impl Endpoint for JsonCall {
    fn method(&self) -> Method {
        self.method.clone()
    }

    fn endpoint(&self) -> Cow<'static, str> {
        self.path.clone().into()
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        Ok(self
            .body
            .as_ref()
            .map(|body| ("application/json", body.to_string().into_bytes())))
    }
}

/// The status and GitLab's message of a failed call, as the API gave them
/// (`message`, else `error`); `None` when no answer came.
fn failure(error: &ApiError<ProviderError>) -> Option<(u16, String)> {
    match error {
        ApiError::GitlabWithStatus { status, msg } => Some((status.as_u16(), msg.clone())),
        ApiError::GitlabObjectWithStatus { status, obj } => {
            Some((status.as_u16(), obj.to_string()))
        }
        ApiError::GitlabUnrecognizedWithStatus { status, obj } => Some((
            status.as_u16(),
            obj["error"].as_str().unwrap_or_default().to_string(),
        )),
        ApiError::GitlabService { status, data } => {
            let text = String::from_utf8_lossy(data);
            let message = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Null) | Err(_) => String::new(),
                Ok(_) => text.trim().to_string(),
            };
            Some((status.as_u16(), message))
        }
        _ => None,
    }
}

impl GitLab {
    /// A client for `hostname` (`https://` unless it has a scheme), trusting
    /// the `--ca-file` PEM bundle `ca_pem` besides the system roots. No
    /// request is made until the first call.
    pub fn new(hostname: &str, token: &str, ca_pem: Option<&str>) -> Result<Self, ProviderError> {
        let base_url = base_url(hostname);
        let rest = format!("{base_url}/api/v4/");
        let auth = ("PRIVATE-TOKEN", token.to_string());
        let http = JsonApi::with_ca(&rest, auth, ca_pem)?;
        let rest = Url::parse(&rest).map_err(|error| ProviderError::Unreachable {
            url: rest.clone(),
            message: error.to_string(),
        })?;
        Ok(Self {
            api: Api { http, rest },
            base_url,
        })
    }

    /// `https://host`, as the "connecting to" line shows it.
    pub fn base(&self) -> &str {
        &self.base_url
    }

    fn error(&self, method: &Method, path: &str, error: ApiError<ProviderError>) -> ProviderError {
        match failure(&error) {
            Some((401, _)) => ProviderError::Unauthorized {
                provider: NAME,
                variable: TOKEN_VARIABLE,
            },
            Some((status, message)) => ProviderError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status,
                message,
            },
            None => match error {
                ApiError::Client { source } => source,
                other => ProviderError::Decode {
                    path: path.to_string(),
                    message: other.to_string(),
                },
            },
        }
    }

    /// Sends `endpoint`, giving its JSON answer.
    async fn query<E: Endpoint + Sync>(&self, endpoint: E) -> Result<Value, ProviderError> {
        endpoint
            .query_async(&self.api)
            .await
            .map_err(|error| self.error(&endpoint.method(), &endpoint.endpoint(), error))
    }

    /// Sends `endpoint`, whose answer (maybe empty) is not needed.
    async fn run<E: Endpoint + Sync>(&self, endpoint: E) -> Result<(), ProviderError> {
        let method = endpoint.method();
        let path = endpoint.endpoint().into_owned();
        gitlab::api::ignore(endpoint)
            .query_async(&self.api)
            .await
            .map_err(|error| self.error(&method, &path, error))
    }

    /// The full path of the project, the group part lower-cased for
    /// look-ups as upstream does (the crate encodes it).
    fn lookup_path(repo: &RepositoryRef) -> String {
        format!("{}/{}", repo.owner.to_lowercase(), repo.name)
    }

    fn project_path(repo: &RepositoryRef) -> String {
        format!("{}/{}", repo.owner, repo.name)
    }

    fn reference(&self, repo: &RepositoryRef) -> String {
        let host = self
            .base_url
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        format!("{host}/{}/{}", repo.owner, repo.name)
    }

    fn project(path: String) -> Result<Project<'static>, ProviderError> {
        Project::builder()
            .project(path)
            .build()
            .map_err(|error| built("projects", error))
    }

    async fn group_id(&self, group: &str) -> Result<u64, ProviderError> {
        let endpoint = Group::builder()
            .group(group.to_string())
            .build()
            .map_err(|error| built("groups", error))?;
        Ok(self.query(endpoint).await?["id"]
            .as_u64()
            .unwrap_or_default())
    }

    fn keys_path(repo: &RepositoryRef) -> String {
        format!("projects/{}/deploy_keys", encode(&Self::project_path(repo)))
    }

    /// The crate has no project deploy token endpoints.
    fn tokens_path(repo: &RepositoryRef) -> String {
        format!(
            "projects/{}/deploy_tokens",
            encode(&Self::project_path(repo))
        )
    }

    /// The active (neither expired nor revoked) deploy tokens named `name`;
    /// GitLab lists them without their values.
    pub async fn active_deploy_tokens(
        &self,
        repo: &RepositoryRef,
        name: &str,
    ) -> Result<Vec<u64>, ProviderError> {
        let tokens = self.query(JsonCall::get(Self::tokens_path(repo))).await?;
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

    /// Creates the read-only deploy token `name`, deleting the tokens
    /// `replaces` (the active ones of that name a look-up found) first:
    /// GitLab shows a token's value only when creating it, so every run
    /// makes a new one.
    pub async fn replace_deploy_token(
        &self,
        repo: &RepositoryRef,
        name: &str,
        replaces: &[u64],
    ) -> Result<DeployToken, ProviderError> {
        let tokens_path = Self::tokens_path(repo);
        for id in replaces {
            self.run(JsonCall::delete(format!("{tokens_path}/{id}")))
                .await?;
        }
        let body = json!({"name": name, "scopes": ["read_repository"]});
        let created = self
            .query(JsonCall::post(tokens_path.clone(), body))
            .await?;
        Ok(DeployToken {
            username: string_field(&created, "username", &tokens_path)?,
            token: string_field(&created, "token", &tokens_path)?,
        })
    }
}

/// A typed endpoint that could not be built (a missing field: a bug).
fn built(path: &str, error: impl std::fmt::Display) -> ProviderError {
    ProviderError::Decode {
        path: path.to_string(),
        message: error.to_string(),
    }
}

#[async_trait::async_trait(?Send)]
impl GitProvider for GitLab {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn find_repository(
        &self,
        repo: &RepositoryRef,
    ) -> Result<Option<Repository>, ProviderError> {
        let endpoint = Self::project(Self::lookup_path(repo))?;
        let path = endpoint.endpoint().into_owned();
        match self.query(endpoint).await {
            Ok(found) => {
                Repository::from_json(&found, &path, "web_url", "http_url_to_repo", false).map(Some)
            }
            Err(ProviderError::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error.getting(&self.reference(repo))),
        }
    }

    async fn create_repository(
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
                let endpoint = CurrentUser::builder()
                    .build()
                    .map_err(|error| built("user", error))?;
                let user = self.query(endpoint).await?;
                if !user["username"]
                    .as_str()
                    .is_some_and(|name| name.eq_ignore_ascii_case(&repo.owner))
                {
                    return Err(ProviderError::OwnerMismatch {
                        owner: repo.owner.clone(),
                    });
                }
            } else {
                body["namespace_id"] = json!(self.group_id(&repo.owner).await?);
            }
            // The crate's CreateProject sends a form; GitLab documents (and
            // upstream sends) this JSON body.
            self.query(JsonCall::post("projects".into(), body)).await
        };
        let info = create
            .await
            .map_err(|error| error.creating(&self.reference(repo)))?;
        let path = Self::project(Self::lookup_path(repo))?
            .endpoint()
            .into_owned();
        Repository::from_json(&info, &path, "web_url", "http_url_to_repo", true)
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

    async fn team_access(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
    ) -> Result<TeamAccess, ProviderError> {
        let group_id = self.group_id(grant.team).await?;
        let project = self.query(Self::project(Self::lookup_path(repo))?).await?;
        let shared = project["shared_with_groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["group_id"].as_u64() == Some(group_id));
        let access = match shared.map(|g| g["group_access_level"].as_u64().unwrap_or_default()) {
            None => Access::Missing,
            Some(level) if level == access_level(grant.permission) => Access::Wanted,
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
        grant: TeamGrant<'_>,
        current: &TeamAccess,
    ) -> Result<(), ProviderError> {
        let group_id = match current.team_id {
            Some(id) => id,
            None => self.group_id(grant.team).await?,
        };
        let unshare = || {
            UnshareProject::builder()
                .project(Self::project_path(repo))
                .group_id(group_id)
                .build()
                .map_err(|error| built("share", error))
        };
        // The crate's ShareProject sends a form: the documented JSON body.
        let share = || {
            JsonCall::post(
                format!("projects/{}/share", encode(&Self::project_path(repo))),
                json!({"group_id": group_id, "group_access": access_level(grant.permission)}),
            )
        };
        if matches!(current.access, Access::Other(_)) {
            // A share's level is changed by sharing again.
            self.run(unshare()?).await?;
        }
        match self.run(share()).await {
            Err(ProviderError::Status { status: 409, .. }) => {
                // Shared in the meantime, with another level: share again.
                self.run(unshare()?).await?;
                self.run(share()).await
            }
            other => other,
        }
    }

    async fn deploy_keys(&self, repo: &RepositoryRef) -> Result<Vec<RegisteredKey>, ProviderError> {
        let endpoint = DeployKeys::builder()
            .project(Self::project_path(repo))
            .build()
            .map_err(|error| built("deploy_keys", error))?;
        let keys = self.query(endpoint).await?;
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
        key: NewDeployKey<'_>,
    ) -> Result<(), ProviderError> {
        // The crate's CreateDeployKey sends a form: the documented JSON body.
        let body =
            json!({"title": key.title, "key": key.public_key.trim(), "can_push": !key.read_only});
        self.run(JsonCall::post(Self::keys_path(repo), body)).await
    }

    async fn remove_deploy_key(&self, repo: &RepositoryRef, id: u64) -> Result<(), ProviderError> {
        let endpoint = DeleteDeployKey::builder()
            .project(Self::project_path(repo))
            .deploy_key(id)
            .build()
            .map_err(|error| built("deploy_keys", error))?;
        self.run(endpoint).await
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
