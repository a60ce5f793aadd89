//! Client-go exec credential plugins (`users[].user.exec` in kubeconfig),
//! run here rather than by the client library so that:
//!
//! - the plugin runs as a child of the async runtime: `--timeout` and
//!   Ctrl-C end the wait and kill the plugin;
//! - a failing plugin is reported as kubectl reports it — the command and
//!   its exit status; the plugin's own stderr reaches the terminal directly —
//!   and never with its stdout (which may hold a token), args or env values.

use std::io::IsTerminal;
use std::process::Stdio;

use base64::Engine;
use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode};
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// The largest ExecCredential accepted on a plugin's stdout.
const MAX_OUTPUT: u64 = 1 << 20;

/// The apiVersion sent when the kubeconfig names none.
const DEFAULT_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// Why an exec credential plugin gave no credential. No variant carries the
/// plugin's stdout, arguments or environment.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "getting credentials: the kubeconfig user's exec section has no command; set users[].user.exec.command"
    )]
    MissingCommand,
    #[error("getting credentials: exec: executable {command} not found{hint}")]
    NotFound { command: String, hint: String },
    #[error("getting credentials: exec: executable {command} could not be started: {source}")]
    Start {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "getting credentials: exec: plugin {command} needs an interactive terminal (interactiveMode: Always) but standard input is not one"
    )]
    NeedsTerminal { command: String },
    #[error("getting credentials: exec: executable {command} failed with {status}")]
    Failed { command: String, status: String },
    #[error("getting credentials: exec: reading the output of {command}: {source}")]
    Read {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "getting credentials: exec: plugin {command} printed more than {} bytes; an ExecCredential is far smaller",
        MAX_OUTPUT
    )]
    TooLarge { command: String },
    #[error(
        "getting credentials: exec: plugin {command} did not print a valid ExecCredential: {reason}"
    )]
    Invalid { command: String, reason: String },
}

/// A credential returned by a plugin.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    Token(String),
    Certificate { cert_pem: String, key_pem: String },
}

/// If `auth` uses an exec plugin, runs it and replaces the exec section with
/// the credential it returned (a token, or a client certificate and key).
pub async fn resolve(auth: &mut AuthInfo) -> Result<(), ExecError> {
    // A token or basic auth set beside exec wins, as it does in client-go.
    if auth.token.is_some() || auth.token_file.is_some() || auth.username.is_some() {
        return Ok(());
    }
    let Some(exec) = auth.exec.take() else {
        return Ok(());
    };
    match run(&exec).await? {
        Credential::Token(token) => auth.token = Some(token.into()),
        Credential::Certificate { cert_pem, key_pem } => {
            let b64 = base64::engine::general_purpose::STANDARD;
            auth.client_certificate = None;
            auth.client_key = None;
            auth.client_certificate_data = Some(b64.encode(cert_pem));
            auth.client_key_data = Some(b64.encode(key_pem).into());
        }
    }
    Ok(())
}

async fn run(exec: &ExecConfig) -> Result<Credential, ExecError> {
    let command = exec.command.clone().ok_or(ExecError::MissingCommand)?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let interactive = match exec.interactive_mode {
        Some(ExecInteractiveMode::Never) => false,
        Some(ExecInteractiveMode::Always) if !stdin_is_terminal => {
            return Err(ExecError::NeedsTerminal { command });
        }
        _ => stdin_is_terminal,
    };
    let api_version = exec
        .api_version
        .clone()
        .unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
    let mut spec = serde_json::json!({ "interactive": interactive });
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
        && let Ok(cluster) = serde_json::to_value(cluster)
    {
        spec["cluster"] = cluster;
    }
    let info = serde_json::json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "spec": spec,
    });

    let mut cmd = tokio::process::Command::new(&command);
    cmd.args(exec.args.iter().flatten());
    // Cloud plugins reach their token endpoints through the user's proxy.
    cmd.envs(crate::proxy::child_env().iter().map(|(k, v)| (k, v)));
    for entry in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (entry.get("name"), entry.get("value")) {
            cmd.env(name, value);
        }
    }
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        // The plugin's own messages (prompts, its reason for failing) go
        // to the user's terminal, as kubectl lets them.
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ExecError::NotFound {
                command: command.clone(),
                hint: exec
                    .install_hint
                    .as_deref()
                    .map(|h| format!("\n\n{}", h.trim_end()))
                    .unwrap_or_default(),
            }
        } else {
            ExecError::Start {
                command: command.clone(),
                source,
            }
        }
    })?;
    let mut stdout = Vec::new();
    if let Some(out) = child.stdout.take() {
        out.take(MAX_OUTPUT + 1)
            .read_to_end(&mut stdout)
            .await
            .map_err(|source| ExecError::Read {
                command: command.clone(),
                source,
            })?;
    }
    if stdout.len() as u64 > MAX_OUTPUT {
        return Err(ExecError::TooLarge { command });
    }
    let status = child.wait().await.map_err(|source| ExecError::Read {
        command: command.clone(),
        source,
    })?;
    if !status.success() {
        return Err(ExecError::Failed {
            command,
            status: describe_status(status),
        });
    }
    parse(&stdout, &api_version).map_err(|reason| ExecError::Invalid { command, reason })
}

fn describe_status(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal {signal}");
        }
    }
    status.to_string()
}

/// Reads the credential from a plugin's stdout. The reasons name fields,
/// never values: a misplaced token must not end up in an error message.
fn parse(stdout: &[u8], api_version: &str) -> Result<Credential, String> {
    let value: Value = serde_json::from_slice(stdout)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    let returned = value.get("apiVersion").and_then(Value::as_str);
    if returned != Some(api_version) {
        return Err(match returned {
            Some(other) => format!("apiVersion {other:?}, but {api_version:?} was asked for"),
            None => format!("no apiVersion (want {api_version:?})"),
        });
    }
    let Some(status) = value.get("status").filter(|s| s.is_object()) else {
        return Err("no status object".into());
    };
    let field = |name: &str| -> Result<Option<String>, String> {
        match status.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("status.{name} is not a string")),
        }
    };
    let token = field("token")?;
    let cert = field("clientCertificateData")?;
    let key = field("clientKeyData")?;
    match (token, cert, key) {
        (_, Some(cert_pem), Some(key_pem)) => Ok(Credential::Certificate { cert_pem, key_pem }),
        (_, Some(_), None) => {
            Err("status.clientCertificateData without status.clientKeyData".into())
        }
        (_, None, Some(_)) => {
            Err("status.clientKeyData without status.clientCertificateData".into())
        }
        (Some(token), None, None) => Ok(Credential::Token(token)),
        (None, None, None) => {
            Err("status has neither token nor clientCertificateData and clientKeyData".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "client.authentication.k8s.io/v1";

    #[test]
    fn a_token_or_a_certificate_is_read() {
        let out = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t0k"}}"#;
        assert_eq!(parse(out, V1), Ok(Credential::Token("t0k".into())));
        let out = br#"{"apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"C","clientKeyData":"K"}}"#;
        assert_eq!(
            parse(out, V1),
            Ok(Credential::Certificate {
                cert_pem: "C".into(),
                key_pem: "K".into()
            })
        );
    }

    #[test]
    fn reasons_never_quote_the_output() {
        for out in [
            &br#"{"apiVersion":"client.authentication.k8s.io/v1","status":{"token":["SECRET"]}}"#[..],
            br#"{"apiVersion":"client.authentication.k8s.io/v1","status":"SECRET"}"#,
            br#"SECRET"#,
            br#"{"SECRET": 1"#,
            br#"{"apiVersion":"client.authentication.k8s.io/v1","status":{"clientKeyData":"SECRET"}}"#,
        ] {
            let reason = parse(out, V1).unwrap_err();
            assert!(!reason.contains("SECRET"), "{reason}");
        }
    }

    #[test]
    fn the_api_version_must_match_the_request() {
        let out =
            br#"{"apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}"#;
        assert!(parse(out, V1).unwrap_err().contains("was asked for"));
    }
}
