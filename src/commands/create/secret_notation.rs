//! `flux create secret notation`: a Notation trust policy and its CA certificates.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::{path_flag, read_text, secret_object};
use crate::cli::CreateSecretNotationArgs;
use crate::render::create::{check_name, export_secret_document, invalid, parse_labels};
use crate::secret::validate_trust_policy;

pub fn build(args: &CreateSecretNotationArgs, namespace: &str) -> anyhow::Result<Secret> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if args.ca_cert_file.is_empty() {
        return Err(invalid("--ca-cert-file is required").into());
    }
    let Some(policy_path) = path_flag(&args.trust_policy_file) else {
        return Err(invalid("--trust-policy-file is required").into());
    };
    let labels = parse_labels(&common.label)?;
    let policy = read_text(policy_path)
        .map_err(|e| invalid(format!("unable to read trust policy file: {e}")))?;
    let document: serde_json::Value = serde_json::from_str(&policy).map_err(|e| {
        invalid(format!(
            "failed to unmarshal trust policy {}: {e}",
            policy_path.display()
        ))
    })?;
    validate_trust_policy(&document)?;
    // Every bad CA file is reported, not just the first.
    let mut problems = Vec::new();
    let mut data = BTreeMap::new();
    for path in &args.ca_cert_file {
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        if !(base.ends_with(".crt") || base.ends_with(".pem")) {
            problems.push(format!("{base} must end with either .crt or .pem"));
            continue;
        }
        match read_text(path) {
            Ok(ca) => {
                data.insert(base, ca);
            }
            Err(e) => problems.push(format!("unable to read TLS CA file: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems.join("\n")).into());
    }
    if data.is_empty() {
        return Err(invalid("no CA certs found").into());
    }
    data.insert("trustpolicy.json".to_string(), policy);
    Ok(secret_object(name, namespace, labels, data))
}

pub fn export(args: &CreateSecretNotationArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, true)?)
}
