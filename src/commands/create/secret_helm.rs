//! `flux create secret helm`: TLS pair, basic auth or CA for a Helm repository.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::{read_flag_file, secret_object, with_type};
use crate::cli::{BasicAuthArgs, CreateSecretHelmArgs, TlsFileArgs};
use crate::render::create::{
    CreateError, check_name, export_secret_document, invalid, parse_labels,
};
use crate::secret::check_key_pair;

/// The files named by the TLS flags, read in upstream's order (CA, cert, key).
pub struct TlsFiles {
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
}

pub fn read_tls_files(args: &TlsFileArgs) -> Result<TlsFiles, CreateError> {
    Ok(TlsFiles {
        ca: read_flag_file(&args.ca_crt_file, "unable to read TLS CA file")?,
        cert: read_flag_file(&args.tls_crt_file, "failed to read cert file")?,
        key: read_flag_file(&args.tls_key_file, "failed to read key file")?,
    })
}

/// `tls.crt`/`tls.key` from a checked pair; errors when only one is given.
pub fn tls_pair(files: &TlsFiles) -> anyhow::Result<Option<(String, String)>> {
    match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            check_key_pair(cert.as_bytes(), key.as_bytes())?;
            Ok(Some((cert.clone(), key.clone())))
        }
        (Some(_), None) => Err(invalid("found certificate but missing private key").into()),
        (None, Some(_)) => Err(invalid("found private key but missing certificate").into()),
        (None, None) => Ok(None),
    }
}

/// The `-u`/`-p` pair of Helm credentials: both once either is given.
pub fn basic_auth(auth: &BasicAuthArgs) -> Result<Option<(String, String)>, CreateError> {
    if auth.username.is_empty() && auth.password.is_empty() {
        return Ok(None);
    }
    if auth.username.is_empty() {
        return Err(invalid("username is required"));
    }
    if auth.password.is_empty() {
        return Err(invalid("password is required"));
    }
    Ok(Some((auth.username.clone(), auth.password.clone())))
}

pub fn build(args: &CreateSecretHelmArgs, namespace: &str) -> anyhow::Result<Secret> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    let labels = parse_labels(&common.label)?;
    let files = read_tls_files(&args.tls)?;
    let mut data = BTreeMap::new();
    let secret_type = if let Some((cert, key)) = tls_pair(&files)? {
        data.insert("tls.crt".to_string(), cert);
        data.insert("tls.key".to_string(), key);
        Some("kubernetes.io/tls")
    } else if let Some((username, password)) = basic_auth(&args.auth)? {
        data.insert("username".to_string(), username);
        data.insert("password".to_string(), password);
        Some("kubernetes.io/basic-auth")
    } else if files.ca.is_some() {
        Some("Opaque")
    } else {
        None
    };
    if let Some(ca) = files.ca {
        data.insert("ca.crt".to_string(), ca);
    }
    Ok(with_type(
        secret_object(name, namespace, labels, data),
        secret_type,
    ))
}

pub fn export(args: &CreateSecretHelmArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, true)?)
}
