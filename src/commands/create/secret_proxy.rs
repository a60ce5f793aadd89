//! `flux create secret proxy`: proxy address and credentials.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::{secret_object, with_type};
use crate::cli::CreateSecretProxyArgs;
use crate::render::create::{check_name, export_secret_document, invalid, parse_labels};

pub fn build(args: &CreateSecretProxyArgs, namespace: &str) -> anyhow::Result<Secret> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    let labels = parse_labels(&common.label)?;
    if args.address.is_empty() {
        return Err(invalid("address is required").into());
    }
    url::Url::parse(&args.address).map_err(|e| invalid(format!("invalid proxy address: {e}")))?;
    let mut data = BTreeMap::from([("address".to_string(), args.address.clone())]);
    if !args.auth.username.is_empty() {
        data.insert("username".to_string(), args.auth.username.clone());
    }
    if !args.auth.password.is_empty() {
        data.insert("password".to_string(), args.auth.password.clone());
    }
    Ok(with_type(
        secret_object(name, namespace, labels, data),
        Some("Opaque"),
    ))
}

pub fn export(args: &CreateSecretProxyArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, true)?)
}
