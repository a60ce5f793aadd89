//! `flux create secret tls`: a client certificate pair and/or a CA.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::secret_helm::{read_tls_files, tls_pair};
use super::{secret_object, with_type};
use crate::cli::CreateSecretTlsArgs;
use crate::render::create::{check_name, export_secret_document, invalid, parse_labels};

pub fn build(args: &CreateSecretTlsArgs, namespace: &str) -> anyhow::Result<Secret> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    let labels = parse_labels(&common.label)?;
    let files = read_tls_files(&args.tls)?;
    if files.ca.is_none() && files.cert.is_none() && files.key.is_none() {
        return Err(invalid("no CA certificate or client certificate pair found").into());
    }
    let mut data = BTreeMap::new();
    let secret_type = match tls_pair(&files)? {
        Some((cert, key)) => {
            data.insert("tls.crt".to_string(), cert);
            data.insert("tls.key".to_string(), key);
            "kubernetes.io/tls"
        }
        None => "Opaque",
    };
    if let Some(ca) = files.ca {
        data.insert("ca.crt".to_string(), ca);
    }
    Ok(with_type(
        secret_object(name, namespace, labels, data),
        Some(secret_type),
    ))
}

/// TLS secrets are the one kind printed without a trailing empty line.
pub fn export(args: &CreateSecretTlsArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, false)?)
}
