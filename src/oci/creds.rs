//! Registry credentials: `--creds`, and the default keychain (Docker
//! config `auths`, `credHelpers`, `credsStore`; Podman's auth files).
//! Secrets never appear in errors: they only travel in [`Login`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;

/// Docker Hub's key in Docker config files.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Login {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// A registry bearer token, sent as is.
    Token(String),
}

impl std::fmt::Debug for Login {
    // Only the shape, never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::Anonymous => write!(f, "Anonymous"),
            Login::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Login::Token(_) => write!(f, "Token(***)"),
        }
    }
}

impl Login {
    /// `--creds`: `user:pass` (split on the first `:`) or a bare token.
    pub fn from_flag(creds: &str) -> Self {
        match creds.split_once(':') {
            Some((username, password)) => Login::Basic {
                username: username.to_string(),
                password: password.to_string(),
            },
            None => Login::Token(creds.to_string()),
        }
    }

    pub fn to_registry_auth(&self) -> oci_client::secrets::RegistryAuth {
        use oci_client::secrets::RegistryAuth;
        match self {
            Login::Anonymous => RegistryAuth::Anonymous,
            Login::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Login::Token(token) => RegistryAuth::Bearer(token.clone()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("reading Docker config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing Docker config {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error(
        "credential helper docker-credential-{helper} for {server} failed: {reason} (check `docker-credential-{helper} list`, or log in again with `docker login {server}`)"
    )]
    Helper {
        helper: String,
        server: String,
        reason: String,
    },
}

/// The environment the keychain reads, passed in so tests need not touch
/// the process environment.
#[derive(Debug, Clone, Default)]
pub struct KeychainEnv {
    pub home: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
}

impl KeychainEnv {
    pub fn from_process() -> Self {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            home: var("HOME"),
            docker_config: var("DOCKER_CONFIG"),
            registry_auth_file: var("REGISTRY_AUTH_FILE"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
        }
    }

    /// The file to read, in go-containerregistry's order.
    fn config_file(&self) -> Option<PathBuf> {
        let home_config = self.home.as_ref().map(|h| h.join(".docker/config.json"));
        let env_config = self.docker_config.as_ref().map(|d| d.join("config.json"));
        if home_config.as_ref().is_some_and(|p| p.exists())
            || env_config.as_ref().is_some_and(|p| p.exists())
        {
            // $DOCKER_CONFIG wins when set, like the Docker CLI.
            return match &self.docker_config {
                Some(dir) => Some(dir.join("config.json")),
                None => home_config,
            };
        }
        if let Some(file) = &self.registry_auth_file
            && file.exists()
        {
            return Some(file.clone());
        }
        let podman = self
            .xdg_runtime_dir
            .as_ref()
            .map(|d| d.join("containers/auth.json"))?;
        podman.exists().then_some(podman)
    }
}

#[derive(Default, serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
}

#[derive(Default, serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

/// Credentials of the default keychain for `repository` (`<registry>/<repo>`)
/// on `registry`: the repository's entry first, then the registry's.
pub fn from_keychain(
    env: &KeychainEnv,
    repository: &str,
    registry: &str,
) -> Result<Login, CredsError> {
    let Some(path) = env.config_file() else {
        return Ok(Login::Anonymous);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| CredsError::Read {
        path: shown.clone(),
        source,
    })?;
    let config: ConfigFile = serde_json::from_str(&text).map_err(|e| CredsError::Parse {
        path: shown,
        // serde_json's message names the line and column, never the value.
        reason: e.to_string(),
    })?;
    let registry_key = if registry == "index.docker.io" {
        DOCKER_HUB_KEY
    } else {
        registry
    };
    for key in [repository, registry_key] {
        let login = lookup(&config, key, &|helper, server| run_helper(helper, server))?;
        if login != Login::Anonymous {
            return Ok(login);
        }
    }
    Ok(Login::Anonymous)
}

type HelperFn<'a> = dyn Fn(&str, &str) -> Result<Login, CredsError> + 'a;

/// The Docker CLI's precedence: a registry's own helper, then the global
/// store, then the file's `auths`.
fn lookup(config: &ConfigFile, key: &str, helper: &HelperFn) -> Result<Login, CredsError> {
    if let Some(name) = config.cred_helpers.get(key) {
        return helper(name, key);
    }
    if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty()) {
        return helper(store, key);
    }
    let entry = config.auths.get(key).or_else(|| {
        config
            .auths
            .iter()
            .find(|(k, _)| hostname(k) == key)
            .map(|(_, v)| v)
    });
    Ok(entry.map(entry_login).unwrap_or(Login::Anonymous))
}

/// A Docker config key reduced to its host: scheme and path removed.
fn hostname(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn entry_login(entry: &AuthEntry) -> Login {
    if let Some(token) = entry.registrytoken.as_deref().filter(|t| !t.is_empty()) {
        return Login::Token(token.to_string());
    }
    let (mut username, mut password) = (
        entry.username.clone().unwrap_or_default(),
        entry.password.clone().unwrap_or_default(),
    );
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty())
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(auth.trim())
        && let Some((user, pass)) = String::from_utf8_lossy(&decoded).split_once(':')
    {
        username = user.to_string();
        password = pass.trim_end_matches('\0').to_string();
    }
    if let Some(identity) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        // An identity token is a refresh token for the registry's token
        // endpoint; oci-client sends it there as the basic-auth password.
        return Login::Basic {
            username: if username.is_empty() {
                "<token>".to_string()
            } else {
                username
            },
            password: identity.to_string(),
        };
    }
    if username.is_empty() && password.is_empty() {
        Login::Anonymous
    } else {
        Login::Basic { username, password }
    }
}

#[derive(serde::Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `docker-credential-<helper> get` with the server on stdin.
fn run_helper(helper: &str, server: &str) -> Result<Login, CredsError> {
    let fail = |reason: String| CredsError::Helper {
        helper: helper.to_string(),
        server: server.to_string(),
        reason,
    };
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper may answer without reading stdin and be gone already:
        // its exit status and output decide, not the closed pipe.
        match stdin.write_all(server.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("writing to {program}: {e}")));
            }
            _ => {}
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("waiting for {program}: {e}")))?;
    helper_login(output.status.success(), &output.stdout).map_err(fail)
}

/// A helper's answer; its output is never quoted in errors (it may hold
/// the secret).
fn helper_login(success: bool, stdout: &[u8]) -> Result<Login, String> {
    if !success {
        // The protocol's "no credentials" answer.
        if String::from_utf8_lossy(stdout).contains("credentials not found") {
            return Ok(Login::Anonymous);
        }
        return Err("it exited with an error".to_string());
    }
    let out: HelperOutput = serde_json::from_slice(stdout)
        .map_err(|_| "its output is not the JSON credential format".to_string())?;
    Ok(match (out.username.as_str(), out.secret.is_empty()) {
        (_, true) => Login::Anonymous,
        ("<token>", false) => Login::Basic {
            username: "<token>".to_string(),
            password: out.secret,
        },
        (_, false) => Login::Basic {
            username: out.username,
            password: out.secret,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ConfigFile {
        serde_json::from_str(json).unwrap()
    }

    fn no_helper(_: &str, _: &str) -> Result<Login, CredsError> {
        panic!("no helper expected")
    }

    fn basic(u: &str, p: &str) -> Login {
        Login::Basic {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn creds_flag_splits_on_the_first_colon() {
        assert_eq!(Login::from_flag("u:p:q"), basic("u", "p:q"));
        assert_eq!(Login::from_flag("tok"), Login::Token("tok".into()));
        assert!(!format!("{:?}", basic("u", "secret")).contains("secret"));
    }

    #[test]
    fn auths_entries_by_key_or_host() {
        let c = config(
            r#"{"auths":{"https://ghcr.io/v1/":{"auth":"dTpw"},"reg:5000":{"username":"a","password":"b"},"tok.io":{"registrytoken":"T"},"id.io":{"identitytoken":"I"}}}"#,
        );
        assert_eq!(lookup(&c, "ghcr.io", &no_helper).unwrap(), basic("u", "p"));
        assert_eq!(lookup(&c, "reg:5000", &no_helper).unwrap(), basic("a", "b"));
        assert_eq!(
            lookup(&c, "tok.io", &no_helper).unwrap(),
            Login::Token("T".into())
        );
        assert_eq!(
            lookup(&c, "id.io", &no_helper).unwrap(),
            basic("<token>", "I")
        );
        assert_eq!(
            lookup(&c, "other.io", &no_helper).unwrap(),
            Login::Anonymous
        );
    }

    #[test]
    fn helpers_take_precedence_over_auths() {
        let c = config(
            r#"{"auths":{"a.io":{"auth":"dTpw"}},"credHelpers":{"a.io":"one"},"credsStore":"two"}"#,
        );
        let seen = std::cell::RefCell::new(Vec::new());
        let helper = |h: &str, s: &str| {
            seen.borrow_mut().push(format!("{h} {s}"));
            Ok(basic("h", "s"))
        };
        assert_eq!(lookup(&c, "a.io", &helper).unwrap(), basic("h", "s"));
        assert_eq!(lookup(&c, "b.io", &helper).unwrap(), basic("h", "s"));
        assert_eq!(*seen.borrow(), ["one a.io", "two b.io"]);
    }

    #[test]
    fn helper_output() {
        assert_eq!(
            helper_login(true, br#"{"ServerURL":"x","Username":"u","Secret":"s"}"#).unwrap(),
            basic("u", "s")
        );
        assert_eq!(
            helper_login(false, b"credentials not found in native keychain\n").unwrap(),
            Login::Anonymous
        );
        let err = helper_login(false, b"boom secret").unwrap_err();
        assert!(!err.contains("secret"));
        assert!(helper_login(true, b"not json").is_err());
    }

    #[test]
    fn config_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".docker")).unwrap();
        let podman = dir.path().join("run/containers/auth.json");
        std::fs::create_dir_all(podman.parent().unwrap()).unwrap();
        std::fs::write(&podman, "{}").unwrap();
        let mut env = KeychainEnv {
            home: Some(home.clone()),
            xdg_runtime_dir: Some(dir.path().join("run")),
            ..Default::default()
        };
        assert_eq!(env.config_file(), Some(podman));
        std::fs::write(home.join(".docker/config.json"), "{}").unwrap();
        assert_eq!(env.config_file(), Some(home.join(".docker/config.json")));
        env.docker_config = Some(dir.path().join("dc"));
        assert_eq!(env.config_file(), Some(dir.path().join("dc/config.json")));
    }

    #[test]
    fn malformed_config_is_an_error_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".docker")).unwrap();
        std::fs::write(
            dir.path().join(".docker/config.json"),
            r#"{"auths":{"a.io":{"auth":"c2VjcmV0"}"#,
        )
        .unwrap();
        let env = KeychainEnv {
            home: Some(dir.path().into()),
            ..Default::default()
        };
        let err = from_keychain(&env, "a.io/x", "a.io")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("parsing Docker config "), "{err}");
        assert!(!err.contains("c2VjcmV0"));
    }
}
