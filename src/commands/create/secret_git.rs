//! `flux create secret git`: SSH keys with the host's known_hosts line, or
//! HTTP(S) basic auth / bearer token, with an optional CA.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;

use super::source_git::git_url_scheme;
use super::{path_flag, read_flag_file, read_text, secret_object};
use crate::cli::{CreateSecretGitArgs, GitAuthArgs, SshKeyArgs};
use crate::render::create::{
    check_name, export_secret_document, invalid, parse_labels, url_parse_error,
};
use crate::secret::{
    KeyPair, KeySpec, SCAN_TIMEOUT, generate_keypair_off_runtime, load_private_key,
    scan_known_hosts,
};

/// The key pair for an SSH Git secret: from `--private-key-file`
/// (decrypted with `password` when given) or freshly generated.
async fn ssh_key_pair(
    private_key_file: &Option<PathBuf>,
    password: &str,
    ssh: &SshKeyArgs,
) -> anyhow::Result<KeyPair> {
    let Some(private_key_file) = path_flag(private_key_file) else {
        return Ok(generate_keypair_off_runtime(KeySpec {
            algorithm: ssh.ssh_key_algorithm,
            rsa_bits: ssh.ssh_rsa_bits,
            curve: ssh.ssh_ecdsa_curve,
        })
        .await?);
    };
    let pem = read_text(private_key_file)
        .map_err(|e| invalid(format!("failed to open private key file: {e}")))?;
    Ok(load_private_key(&pem, password)?)
}

/// Host and port of an SSH Git URL (port 22 when absent).
fn ssh_host_port(raw: &str) -> anyhow::Result<(String, u16)> {
    let url = url::Url::parse(raw)
        .map_err(|e| invalid(format!("git URL parse failed: {}", url_parse_error(raw, e))))?;
    let host = url.host_str().unwrap_or_default().to_string();
    Ok((host, url.port().unwrap_or(22)))
}

/// The entries of an SSH Git credentials secret: the key pair, the
/// server's known_hosts line and the key's passphrase (`-p`) when given.
pub async fn ssh_secret_data(
    url: &str,
    private_key_file: &Option<PathBuf>,
    auth: &GitAuthArgs,
    ssh: &SshKeyArgs,
) -> anyhow::Result<BTreeMap<String, String>> {
    let password = &auth.password;
    let pair = ssh_key_pair(private_key_file, password, ssh).await?;
    let (host, port) = ssh_host_port(url)?;
    let known_hosts = scan_known_hosts(&host, port, SCAN_TIMEOUT).await?;
    let mut data = BTreeMap::from([
        ("identity".to_string(), pair.private_key),
        ("identity.pub".to_string(), pair.public_key),
        ("known_hosts".to_string(), known_hosts),
    ]);
    if !password.is_empty() {
        data.insert("password".to_string(), password.clone());
    }
    Ok(data)
}

pub async fn build(args: &CreateSecretGitArgs, namespace: &str) -> anyhow::Result<Secret> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if args.url.is_empty() {
        return Err(invalid("url is required").into());
    }
    let scheme = git_url_scheme(&args.url)?;
    let labels = parse_labels(&common.label)?;
    let mut data = BTreeMap::new();
    match scheme.as_str() {
        "ssh" => {
            data =
                ssh_secret_data(&args.url, &args.private_key_file, &args.auth, &args.ssh).await?;
        }
        "http" | "https" => {
            let basic = !args.auth.username.is_empty() && !args.auth.password.is_empty();
            let token = !args.bearer_token.is_empty();
            if !basic && !token {
                return Err(invalid(
                    "for Git over HTTP/S the username and password, or a bearer token is required",
                )
                .into());
            }
            if basic && token {
                return Err(
                    invalid("user credentials and bearer token cannot be used together").into(),
                );
            }
            if basic {
                data.insert("username".to_string(), args.auth.username.clone());
                data.insert("password".to_string(), args.auth.password.clone());
            }
            if token {
                data.insert("bearerToken".to_string(), args.bearer_token.clone());
            }
            if let Some(ca) = read_flag_file(&args.ca_crt_file, "unable to read TLS CA file")? {
                data.insert("ca.crt".to_string(), ca);
            }
        }
        other => {
            return Err(invalid(format!(
                "git URL scheme '{other}' not supported, can be: ssh, http and https"
            ))
            .into());
        }
    }
    Ok(secret_object(name, namespace, labels, data))
}

pub async fn export(args: &CreateSecretGitArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(
        &build(args, namespace).await?,
        true,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_port_defaults_to_22() {
        assert_eq!(
            ssh_host_port("ssh://git@github.com/org/repo").unwrap(),
            ("github.com".to_string(), 22)
        );
        assert_eq!(
            ssh_host_port("ssh://git@git.example.com:2222/repo").unwrap(),
            ("git.example.com".to_string(), 2222)
        );
    }
}
