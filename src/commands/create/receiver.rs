//! `flux create receiver`.

use flux_api::notification::ReceiverResource;
use flux_api::{Receiver, ReceiverSpec};

use super::{api_enum, live, local_ref, object_meta};
use crate::cli::CreateReceiverArgs;
use crate::commands::Ctx;
use crate::render::create::{
    CreateError, check_name, export_document, invalid, parse_kind_name, parse_labels,
};

pub fn build(args: &CreateReceiverArgs, namespace: &str) -> Result<Receiver, CreateError> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    let receiver_type = args
        .receiver_type
        .as_deref()
        .ok_or_else(|| invalid("Receiver type is required"))?;
    if args.secret_ref.is_empty() {
        return Err(invalid("secret ref is required"));
    }
    let mut resources = Vec::new();
    for item in &args.resource {
        let parsed = parse_kind_name(item);
        if parsed.kind.is_empty() {
            return Err(invalid(format!(
                "invalid event source '{item}', must be in format <kind>/<name>"
            )));
        }
        resources.push(ReceiverResource {
            kind: api_enum("resource kind", &parsed.kind)?,
            name: parsed.name,
            ..ReceiverResource::default()
        });
    }
    if resources.is_empty() {
        return Err(invalid("atleast one resource is required"));
    }
    let labels = parse_labels(&common.label)?;
    let spec = ReceiverSpec {
        r#type: api_enum("receiver type", receiver_type)?,
        events: (!args.event.is_empty()).then(|| args.event.clone()),
        resources,
        secret_ref: local_ref(&args.secret_ref),
        ..ReceiverSpec::default()
    };
    Ok(Receiver {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateReceiverArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

pub async fn apply(ctx: &Ctx, args: &CreateReceiverArgs) -> anyhow::Result<()> {
    let receiver = build(args, &ctx.global.namespace)?;
    ctx.printer.generate("generating Receiver");
    let client = ctx.kube.client().await?;
    let lines = live::Lines::plain("Receiver");
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&receiver)?, &lines).await?;
    let name = receiver.metadata.name.unwrap_or_default();
    ctx.printer.success(&format!("Receiver {name} is ready"));
    let path = ready["status"]["webhookPath"].as_str().unwrap_or_default();
    ctx.printer
        .success(&format!("generated webhook URL {path}"));
    Ok(())
}
