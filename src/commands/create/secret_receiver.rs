//! `flux create secret receiver`: the webhook token of a Receiver.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::secret_object;
use crate::cli::CreateSecretReceiverArgs;
use crate::render::create::{check_name, export_secret_document, invalid, parse_labels};
use crate::secret::{random_token, receiver_webhook_url};

/// Annotation notification-controller reads the webhook URL from.
pub const WEBHOOK_ANNOTATION: &str = "notification.toolkit.fluxcd.io/webhook";

pub fn build(args: &CreateSecretReceiverArgs, namespace: &str) -> anyhow::Result<Secret> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    let receiver_type = args
        .receiver_type
        .as_deref()
        .ok_or_else(|| invalid("--type is required"))?;
    if args.hostname.is_empty() {
        return Err(invalid("--hostname is required").into());
    }
    if receiver_type == "gcr" && args.email_claim.is_empty() {
        return Err(invalid("--email-claim is required for gcr receiver type").into());
    }
    let labels = parse_labels(&common.label)?;
    let token = if args.token.is_empty() {
        random_token()
    } else {
        args.token.clone()
    };
    let webhook = receiver_webhook_url(&args.hostname, &token, name, namespace);
    let mut data = BTreeMap::from([("token".to_string(), token)]);
    if receiver_type == "gcr" {
        data.insert("email".to_string(), args.email_claim.clone());
        let audience = if args.audience_claim.is_empty() {
            webhook.clone()
        } else {
            args.audience_claim.clone()
        };
        data.insert("audience".to_string(), audience);
    }
    let annotations = BTreeMap::from([(WEBHOOK_ANNOTATION.to_string(), webhook)]);
    let mut secret = secret_object(name, namespace, labels, data);
    secret.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ok(secret)
}

pub fn export(args: &CreateSecretReceiverArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_secret_document(&build(args, namespace)?, true)?)
}
