//! The source Secret the GitRepository authenticates with. It is created
//! once and then left alone: a re-run generates no new key unless the
//! credentials given on the command line differ from the stored ones.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;

use super::{Bootstrap, BootstrapError, DeployKey, KeyStep, SourceSecretStep};
use crate::cluster::apply::apply_all;
use crate::secret::{
    KeyPair, KeySpec, SCAN_TIMEOUT, generate_keypair_off_runtime, scan_known_hosts,
};

/// What goes into the source Secret.
#[derive(Clone)]
pub enum SecretPlan {
    /// An SSH deploy key: the given one, or a new one of `spec`, plus the
    /// host key of `host:port`.
    Ssh {
        key: Option<KeyPair>,
        spec: KeySpec,
        host: String,
        port: u16,
        /// Passphrase of the given key, stored as `password`.
        password: String,
    },
    /// HTTP(S) basic auth (a provider token is the password).
    Basic {
        username: String,
        password: String,
        ca: Option<String>,
    },
    /// HTTP(S) bearer token (`bearerToken`).
    Bearer { token: String, ca: Option<String> },
}

impl std::fmt::Debug for SecretPlan {
    // Keys and passwords never reach logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ssh {
                key, host, port, ..
            } => write!(
                f,
                "Ssh {{ given_key: {}, host: {host}:{port} }}",
                key.is_some()
            ),
            Self::Basic { username, .. } => write!(f, "Basic {{ username: {username} }}"),
            Self::Bearer { .. } => f.write_str("Bearer"),
        }
    }
}

impl SecretPlan {
    /// Whether the command line carries credential material; without it an
    /// existing Secret is always kept.
    pub(super) fn explicit(&self) -> bool {
        match self {
            Self::Ssh { key, .. } => key.is_some(),
            Self::Basic { .. } | Self::Bearer { .. } => true,
        }
    }

    /// A few words on the Secret's contents, for the dry-run plan.
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Self::Ssh { key: Some(_), .. } => "the given SSH key and the host's known_hosts",
            Self::Ssh { key: None, .. } => "a new SSH key and the host's known_hosts",
            Self::Basic { .. } => "HTTP basic auth",
            Self::Bearer { .. } => "HTTP bearer token",
        }
    }

    /// Whether `existing` already holds the explicit credentials.
    pub(super) fn stored_in(&self, existing: &Secret) -> bool {
        let data = existing.data.clone().unwrap_or_default();
        let get = |key: &str| {
            data.get(key)
                .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        };
        match self {
            Self::Ssh { key, password, .. } => {
                key.as_ref()
                    .is_some_and(|k| get("identity").as_deref() == Some(k.private_key.as_str()))
                    && get("password").unwrap_or_default() == *password
            }
            Self::Basic {
                username,
                password,
                ca,
            } => {
                get("username").unwrap_or_default() == *username
                    && get("password").unwrap_or_default() == *password
                    && get("ca.crt") == *ca
            }
            Self::Bearer { token, ca } => {
                get("bearerToken").as_ref() == Some(token) && get("ca.crt") == *ca
            }
        }
    }
}

/// Carries out the plan's source secret `step`, printing upstream's lines:
/// a new SSH key is registered as the provider's deploy key as the plan's
/// key step says (`registration`), or (plain Git) shown for the user to add.
pub async fn reconcile(
    run: &Bootstrap<'_>,
    client: &kube::Client,
    step: &SourceSecretStep,
    registration: Option<(&DeployKey<'_>, &KeyStep)>,
) -> Result<(), BootstrapError> {
    let options = run.options;
    let ns = &options.sync.namespace;
    let name = &options.sync.secret_name;
    let printer = run.printer;
    printer.action(&format!(
        "determining if source secret \"{ns}/{name}\" exists"
    ));
    if !step.writes() {
        printer.success("source secret up to date");
        return Ok(());
    }
    printer.action("generating source secret");
    let mut data = BTreeMap::new();
    match &options.secret {
        SecretPlan::Ssh {
            key,
            spec,
            host,
            port,
            password,
        } => {
            let pair = match key {
                Some(pair) => pair.clone(),
                None => generate_keypair_off_runtime(*spec).await?,
            };
            let known_hosts = scan_known_hosts(host, *port, SCAN_TIMEOUT).await?;
            printer.success(&format!("public key: {}", pair.public_key.trim()));
            match registration {
                Some((deploy, key_step)) => {
                    let wrote = deploy.apply(key_step, &pair.public_key).await?;
                    if wrote {
                        printer.success(&format!(
                            "configured deploy key \"{}\" for \"{}\"",
                            deploy.title, deploy.html_url
                        ));
                    }
                }
                None if key.is_none() && !options.silent => {
                    let question = "Please give the key access to your repository";
                    match (run.confirm)(question) {
                        Ok(true) => {}
                        Ok(false) => return Err(BootstrapError::Aborted),
                        Err(err) => return Err(BootstrapError::Prompt(err.to_string())),
                    }
                }
                None => {}
            }
            data.insert("identity", pair.private_key);
            data.insert("identity.pub", pair.public_key);
            data.insert("known_hosts", known_hosts);
            if !password.is_empty() {
                data.insert("password", password.clone());
            }
        }
        SecretPlan::Basic {
            username,
            password,
            ca,
        } => {
            if !username.is_empty() && !password.is_empty() {
                data.insert("username", username.clone());
                data.insert("password", password.clone());
            }
            if let Some(ca) = ca {
                data.insert("ca.crt", ca.clone());
            }
        }
        SecretPlan::Bearer { token, ca } => {
            data.insert("bearerToken", token.clone());
            if let Some(ca) = ca {
                data.insert("ca.crt", ca.clone());
            }
        }
    }
    printer.action(&format!("applying source secret \"{ns}/{name}\""));
    // `data` (base64) rather than stringData, so that server-side apply
    // replaces exactly the keys bootstrap owns.
    let encoded: BTreeMap<&str, String> = data
        .into_iter()
        .map(|(k, v)| (k, STANDARD.encode(v)))
        .collect();
    let object = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "data": encoded,
    });
    apply_all(client, &[object], ns).await?;
    printer.success("reconciled source secret");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn secret(data: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    #[test]
    fn a_bearer_plan_is_stored_only_as_bearer_token_and_its_ca() {
        let plan = SecretPlan::Bearer {
            token: "t0k".into(),
            ca: Some("CA".into()),
        };
        assert_eq!(format!("{plan:?}"), "Bearer");
        assert!(plan.explicit());
        assert!(plan.stored_in(&secret(&[("bearerToken", "t0k"), ("ca.crt", "CA")])));
        assert!(!plan.stored_in(&secret(&[("bearerToken", "t0k")])));
        assert!(!plan.stored_in(&secret(&[("bearerToken", "other"), ("ca.crt", "CA")])));
        // A Secret from a basic-auth run has no bearerToken: it is rewritten.
        assert!(!plan.stored_in(&secret(&[("username", "git"), ("password", "t0k")])));
    }
}
