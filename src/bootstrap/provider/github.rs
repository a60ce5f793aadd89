//! GitHub and GitHub Enterprise through the REST API (v3), and Gitea,
//! whose API follows GitHub's apart from auth, create and team calls.

use std::sync::Arc;

use http::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use http_body_util::BodyExt;
use hyper::Method;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use serde_json::{Value, json};

use super::http::https_connector;
use super::{
    Access, GitProvider, JsonApi, NewDeployKey, ProviderError, RegisteredKey, Repository,
    RepositoryRef, TeamAccess, TeamGrant,
};
use crate::error::error_chain;

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

/// How requests reach the API: octocrab for GitHub, the small JSON client
/// for Gitea (whose `Authorization: token` scheme octocrab does not speak).
/// Paths and bodies are built once, by [`GitHub`], for both: octocrab's
/// typed handlers speak only GitHub's dialect, so using them would mean a
/// second copy of every call (and of its tests) for Gitea. octocrab still
/// owns the GitHub side: base URI, headers, the request/response cycle.
enum Transport {
    GitHub { client: Box<Octocrab>, base: String },
    Gitea(Box<JsonApi>),
}

impl Transport {
    /// An octocrab client on our own hyper/rustls connector (system roots
    /// plus `--ca-file`), with `base` (ending with `/`) as its base URI and
    /// `Authorization: Bearer <token>` on every request.
    fn github(base: &str, token: &str, ca_pem: Option<&str>) -> Result<Self, ProviderError> {
        let invalid = |message: String| ProviderError::Unreachable {
            url: base.to_string(),
            message,
        };
        let base_uri: http::Uri = base.parse().map_err(|e| invalid(format!("{e}")))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| invalid("the token is not a valid HTTP header value".to_string()))?;
        auth.set_sensitive(true);
        let headers = vec![
            (USER_AGENT, HeaderValue::from_static("flux-rs")),
            (AUTHORIZATION, auth),
        ];
        let http = Client::builder(TokioExecutor::new()).build(https_connector(ca_pem)?);
        let client = OctocrabBuilder::new_empty()
            .with_service(http)
            .with_layer(&BaseUriLayer::new(base_uri))
            .with_layer(&ExtraHeadersLayer::new(Arc::new(headers)))
            .with_auth(AuthState::None)
            .build()
            .unwrap_or_else(|never| match never {});
        Ok(Self::GitHub {
            client: Box::new(client),
            base: base.to_string(),
        })
    }

    /// Sends a request; any status is returned with the parsed body
    /// (`Null` when empty or not JSON).
    async fn send(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ProviderError> {
        let (client, base) = match self {
            Self::Gitea(api) => return api.send(method, path, accept, body).await,
            Self::GitHub { client, base } => (client, base),
        };
        let path = path.trim_start_matches('/');
        let unreachable = |error: octocrab::Error| ProviderError::Unreachable {
            url: format!("{base}{path}"),
            message: error_chain(&error),
        };
        let request = http::Request::builder()
            .method(method)
            .uri(format!("/{path}"))
            .header(ACCEPT, accept.unwrap_or("application/json"));
        let request = client.build_request(request, body).map_err(unreachable)?;
        let response = client.execute(request).await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(unreachable)?
            .to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

pub struct GitHub {
    api: Transport,
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
    /// `ca_pem`: the `--ca-file` bundle, trusted besides the system roots.
    /// Call within a Tokio runtime (octocrab spawns its request buffer).
    pub fn new(
        flavor: Flavor,
        hostname: &str,
        token: &str,
        ca_pem: Option<&str>,
    ) -> Result<Self, ProviderError> {
        let base = api_base(flavor, hostname);
        let api = match flavor {
            Flavor::GitHub => Transport::github(&base, token, ca_pem)?,
            Flavor::Gitea => Transport::Gitea(Box::new(JsonApi::with_ca(
                &base,
                ("Authorization", format!("token {token}")),
                ca_pem,
            )?)),
        };
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

    fn repo_path(repo: &RepositoryRef) -> String {
        format!("repos/{}/{}", repo.owner, repo.name)
    }

    /// The web address of the host: github.com for api.github.com, the
    /// hostname (with its scheme, https by default) otherwise.
    fn web_base(&self) -> String {
        let host = self.hostname.trim_end_matches('/');
        if host.starts_with("http://") || host.starts_with("https://") {
            host.to_string()
        } else {
            format!("https://{host}")
        }
    }

    /// Gitea teams carry their own permission: only membership is set.
    fn team_path(&self, repo: &RepositoryRef, team: &str) -> String {
        match self.flavor {
            Flavor::Gitea => format!("repos/{}/{}/teams/{team}", repo.owner, repo.name),
            Flavor::GitHub => {
                format!("orgs/{0}/teams/{team}/repos/{0}/{1}", repo.owner, repo.name)
            }
        }
    }

    fn keys_path(repo: &RepositoryRef) -> String {
        format!("repos/{}/{}/keys", repo.owner, repo.name)
    }
}

#[async_trait::async_trait(?Send)]
impl GitProvider for GitHub {
    fn name(&self) -> &'static str {
        self.flavor.name()
    }

    async fn find_repository(
        &self,
        repo: &RepositoryRef,
    ) -> Result<Option<Repository>, ProviderError> {
        let path = Self::repo_path(repo);
        let (status, found) = self
            .call(Method::GET, &path, None, None, &[200, 404])
            .await
            .map_err(|error| error.getting(&self.reference(repo)))?;
        if status == 404 {
            return Ok(None);
        }
        Repository::from_json(&found, &path, "html_url", "clone_url", false).map(Some)
    }

    async fn create_repository(
        &self,
        repo: &RepositoryRef,
        visibility: &str,
    ) -> Result<Repository, ProviderError> {
        let private = visibility != "public";
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
        let info = create
            .await
            .map_err(|error| error.creating(&self.reference(repo)))?;
        Repository::from_json(&info, &Self::repo_path(repo), "html_url", "clone_url", true)
    }

    fn planned_repository(&self, repo: &RepositoryRef, visibility: &str) -> (Repository, String) {
        let html_url = format!("{}/{}/{}", self.web_base(), repo.owner, repo.name);
        let visibility = if visibility == "public" {
            "public"
        } else {
            "private"
        };
        let how = match self.flavor {
            Flavor::GitHub => visibility.to_string(),
            Flavor::Gitea => format!("{visibility}, default branch main"),
        };
        let planned = Repository {
            clone_url: format!("{html_url}.git"),
            html_url,
            created: true,
        };
        (planned, how)
    }

    fn grants_permission(&self) -> bool {
        self.flavor == Flavor::GitHub
    }

    async fn team_access(
        &self,
        repo: &RepositoryRef,
        grant: TeamGrant<'_>,
    ) -> Result<TeamAccess, ProviderError> {
        let accept = (self.flavor == Flavor::GitHub).then_some(TEAM_ACCEPT);
        let (status, found) = self
            .call(
                Method::GET,
                &self.team_path(repo, grant.team),
                accept,
                None,
                &[200, 404],
            )
            .await?;
        let access = match (status, self.flavor) {
            (404, _) => Access::Missing,
            (_, Flavor::Gitea) => Access::Wanted,
            (_, Flavor::GitHub) => match found["role_name"].as_str().unwrap_or_default() {
                current if current == grant.permission => Access::Wanted,
                current => Access::Other(current.to_string()),
            },
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
        let body = match self.flavor {
            Flavor::Gitea => None,
            Flavor::GitHub => Some(json!({"permission": grant.permission})),
        };
        self.call(
            Method::PUT,
            &self.team_path(repo, grant.team),
            None,
            body.as_ref(),
            &[204],
        )
        .await?;
        Ok(())
    }

    async fn deploy_keys(&self, repo: &RepositoryRef) -> Result<Vec<RegisteredKey>, ProviderError> {
        let keys_path = Self::keys_path(repo);
        let mut registered = Vec::new();
        for page in 1.. {
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
            registered.extend(keys.iter().map(|key| RegisteredKey {
                id: key["id"].as_u64().unwrap_or_default(),
                title: key["title"].as_str().unwrap_or_default().to_string(),
                key: key["key"].as_str().unwrap_or_default().to_string(),
                read_only: key["read_only"].as_bool().unwrap_or(false),
            }));
            if keys.len() < 100 {
                break;
            }
        }
        Ok(registered)
    }

    async fn add_deploy_key(
        &self,
        repo: &RepositoryRef,
        key: NewDeployKey<'_>,
    ) -> Result<(), ProviderError> {
        let body =
            json!({"title": key.title, "key": key.public_key.trim(), "read_only": key.read_only});
        self.call(
            Method::POST,
            &Self::keys_path(repo),
            None,
            Some(&body),
            &[201],
        )
        .await?;
        Ok(())
    }

    async fn remove_deploy_key(&self, repo: &RepositoryRef, id: u64) -> Result<(), ProviderError> {
        let path = format!("{}/{id}", Self::keys_path(repo));
        self.call(Method::DELETE, &path, None, None, &[204]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_follows_the_hostname() {
        let cases = [
            (Flavor::GitHub, "github.com", "https://api.github.com/"),
            (
                Flavor::GitHub,
                "ghe.example.com",
                "https://ghe.example.com/api/v3/",
            ),
            (
                Flavor::GitHub,
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/api/v3/",
            ),
            (Flavor::Gitea, "gitea.com", "https://gitea.com/api/v1/"),
        ];
        for (flavor, hostname, base) in cases {
            assert_eq!(api_base(flavor, hostname), base, "{hostname}");
        }
    }

    // octocrab's client needs a Tokio runtime when it is built.
    #[tokio::test]
    async fn planned_repositories_follow_the_host() {
        let repo = RepositoryRef {
            owner: "acme".into(),
            name: "fleet".into(),
            personal: false,
        };
        let github = GitHub::new(Flavor::GitHub, "github.com", "t", None).unwrap();
        let (planned, how) = github.planned_repository(&repo, "private");
        assert_eq!(planned.html_url, "https://github.com/acme/fleet");
        assert_eq!(planned.clone_url, "https://github.com/acme/fleet.git");
        assert_eq!(how, "private");
        let gitea = GitHub::new(Flavor::Gitea, "http://127.0.0.1:3000/", "t", None).unwrap();
        let (planned, how) = gitea.planned_repository(&repo, "public");
        assert_eq!(planned.clone_url, "http://127.0.0.1:3000/acme/fleet.git");
        assert_eq!(how, "public, default branch main");
        assert!(!gitea.grants_permission());
    }

    /// A one-answer-per-connection HTTPS server on 127.0.0.1 with a
    /// certificate of a fresh CA; returns its port and the CA's PEM.
    fn https_server() -> (u16, String) {
        use std::io::{Read, Write};
        let certs = testenv::tls::generate().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Ok(conn) = rustls::ServerConnection::new(certs.server.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => request.push(byte[0]),
                        _ => break,
                    }
                }
                if !request.ends_with(b"\r\n\r\n") {
                    continue; // the client refused the certificate
                }
                let body =
                    r#"{"html_url":"https://h/acme/fleet","clone_url":"https://h/acme/fleet.git"}"#;
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        (port, certs.ca_pem)
    }

    #[tokio::test]
    async fn the_api_over_https_trusts_the_ca_file_and_only_it() {
        let (port, ca) = https_server();
        let hostname = format!("https://127.0.0.1:{port}");
        let repo = RepositoryRef {
            owner: "acme".into(),
            name: "fleet".into(),
            personal: false,
        };
        for flavor in [Flavor::GitHub, Flavor::Gitea] {
            let trusting = GitHub::new(flavor, &hostname, "t", Some(&ca)).unwrap();
            let found = trusting.find_repository(&repo).await.unwrap().unwrap();
            assert_eq!(found.clone_url, "https://h/acme/fleet.git");
            let untrusting = GitHub::new(flavor, &hostname, "t", None).unwrap();
            let error = untrusting.find_repository(&repo).await.unwrap_err();
            let error = error.to_string();
            assert!(error.contains("unable to reach"), "{flavor:?}: {error}");
            assert!(error.contains("certificate"), "{flavor:?}: {error}");
        }
    }
}
