//! `flux create alert`.

use flux_api::common::LocalObjectReference;
use flux_api::notification::AlertEventSource;
use flux_api::{Alert, AlertSpec};

use super::{api_enum, live, object_meta};
use crate::cli::CreateAlertArgs;
use crate::commands::Ctx;
use crate::render::create::{
    CreateError, check_name, export_document, invalid, parse_kind_name_namespace, parse_labels,
};

pub fn build(args: &CreateAlertArgs, namespace: &str) -> Result<Alert, CreateError> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if args.provider_ref.is_empty() {
        return Err(invalid("provider ref is required"));
    }
    let mut sources = Vec::new();
    for item in &args.event_source {
        let parsed = parse_kind_name_namespace(item);
        if parsed.kind.is_empty() {
            return Err(invalid(format!(
                "invalid event source '{item}', must be in format <kind>/<name>"
            )));
        }
        sources.push(AlertEventSource {
            kind: api_enum("event source kind", &parsed.kind)?,
            name: parsed.name,
            namespace: parsed.namespace,
            ..AlertEventSource::default()
        });
    }
    if sources.is_empty() {
        return Err(invalid("at least one event source is required"));
    }
    let labels = parse_labels(&common.label)?;
    let spec = AlertSpec {
        provider_ref: LocalObjectReference {
            name: args.provider_ref.clone(),
        },
        event_severity: if args.event_severity.is_empty() {
            None
        } else {
            Some(api_enum("event severity", &args.event_severity)?)
        },
        event_sources: sources,
        ..AlertSpec::default()
    };
    Ok(Alert {
        metadata: object_meta(name, namespace, labels),
        spec,
    })
}

pub fn export(args: &CreateAlertArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

pub async fn apply(ctx: &Ctx, args: &CreateAlertArgs) -> anyhow::Result<()> {
    let alert = build(args, &ctx.global.namespace)?;
    ctx.printer.generate("generating Alert");
    let client = ctx.kube.client().await?;
    let lines = live::Lines::plain("Alert");
    live::apply_and_wait(ctx, &client, &live::to_json(&alert)?, &lines).await?;
    let name = alert.metadata.name.unwrap_or_default();
    ctx.printer.success(&format!("Alert {name} is ready"));
    Ok(())
}
