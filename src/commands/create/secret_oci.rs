//! `flux create secret oci`: an image pull secret.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::image_repository::check_image_repository;
use super::{secret_object, with_type};
use crate::cli::CreateSecretOciArgs;
use crate::render::create::{check_name, export_secret_document, invalid};
use crate::secret::docker_config_json;

/// Accepts `[registry/]repository[:tag][@digest]`.
fn check_reference(reference: &str) -> Result<(), String> {
    let without_digest = reference.split('@').next().unwrap_or_default();
    let repository = match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    };
    check_image_repository(repository)
        .map_err(|_| format!("could not parse reference: {reference}"))
}

pub fn build(args: &CreateSecretOciArgs, namespace: &str) -> anyhow::Result<Secret> {
    let name = check_name(args.common.common.name.as_deref())?;
    if args.url.is_empty() {
        return Err(invalid("--url is required").into());
    }
    if args.auth.username.is_empty() {
        return Err(invalid("--username is required").into());
    }
    if args.auth.password.is_empty() {
        return Err(invalid("--password is required").into());
    }
    check_reference(&args.url).map_err(|e| invalid(format!("error parsing url: '{e}'")))?;
    let data = BTreeMap::from([(
        ".dockerconfigjson".to_string(),
        docker_config_json(&args.url, &args.auth.username, &args.auth.password),
    )]);
    // Upstream does not put --label labels on image pull secrets.
    Ok(with_type(
        secret_object(name, namespace, BTreeMap::new(), data),
        Some("kubernetes.io/dockerconfigjson"),
    ))
}

pub fn export(args: &CreateSecretOciArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, true)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_may_carry_registry_port_tag_and_digest() {
        assert!(check_reference("ghcr.io").is_ok());
        assert!(check_reference("localhost:5000/app:v1@sha256:abc").is_ok());
        assert_eq!(
            check_reference("Bad/Repo").unwrap_err(),
            "could not parse reference: Bad/Repo"
        );
    }
}
