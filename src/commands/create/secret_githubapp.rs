//! `flux create secret githubapp`: GitHub App credentials for Git and providers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::{read_flag_file, secret_object, with_type};
use crate::cli::CreateSecretGithubAppArgs;
use crate::render::create::{check_name, export_secret_document, invalid};

pub fn build(args: &CreateSecretGithubAppArgs, namespace: &str) -> anyhow::Result<Secret> {
    let name = check_name(args.common.common.name.as_deref())?;
    let private_key = read_flag_file(&args.app_private_key, "unable to read private key file")?
        .unwrap_or_default();
    if args.app_id.is_empty() {
        return Err(invalid("githubAppID is required").into());
    }
    if private_key.is_empty() {
        return Err(invalid("githubAppPrivateKey is required").into());
    }
    let owner = !args.app_installation_owner.is_empty();
    let id = !args.app_installation_id.is_empty();
    if owner == id {
        return Err(invalid(
            "exactly one of githubAppInstallationOwner or githubAppInstallationID must be provided",
        )
        .into());
    }
    let mut data = BTreeMap::from([
        ("githubAppID".to_string(), args.app_id.clone()),
        ("githubAppPrivateKey".to_string(), private_key),
    ]);
    if owner {
        data.insert(
            "githubAppInstallationOwner".to_string(),
            args.app_installation_owner.clone(),
        );
    } else {
        data.insert(
            "githubAppInstallationID".to_string(),
            args.app_installation_id.clone(),
        );
    }
    if !args.app_base_url.is_empty() {
        data.insert("githubAppBaseURL".to_string(), args.app_base_url.clone());
    }
    // Upstream does not put --label labels on GitHub App secrets.
    Ok(with_type(
        secret_object(name, namespace, BTreeMap::new(), data),
        Some("Opaque"),
    ))
}

pub fn export(args: &CreateSecretGithubAppArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, true)?)
}
