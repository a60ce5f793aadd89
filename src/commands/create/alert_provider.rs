//! `flux create alert-provider`.

use flux_api::{Provider, ProviderSpec};

use super::{api_enum, live, local_ref, non_empty, object_meta};
use crate::cli::CreateAlertProviderArgs;
use crate::commands::Ctx;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};

pub fn build(args: &CreateAlertProviderArgs, namespace: &str) -> Result<Provider, CreateError> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if args.provider_type.is_empty() {
        return Err(invalid("Provider type is required"));
    }
    let labels = parse_labels(&common.label)?;
    let spec = ProviderSpec {
        r#type: api_enum("provider type", &args.provider_type)?,
        channel: non_empty(&args.channel),
        username: non_empty(&args.username),
        address: non_empty(&args.address),
        secret_ref: local_ref(&args.secret_ref),
        ..ProviderSpec::default()
    };
    Ok(Provider {
        metadata: object_meta(name, namespace, labels),
        spec,
    })
}

pub fn export(args: &CreateAlertProviderArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

pub async fn apply(ctx: &Ctx, args: &CreateAlertProviderArgs) -> anyhow::Result<()> {
    let provider = build(args, &ctx.global.namespace)?;
    ctx.printer.generate("generating Provider");
    let client = ctx.kube.client().await?;
    let lines = live::Lines::plain("Provider");
    live::apply_and_wait(ctx, &client, &live::to_json(&provider)?, &lines).await?;
    let name = provider.metadata.name.unwrap_or_default();
    ctx.printer.success(&format!("Provider {name} is ready"));
    Ok(())
}
