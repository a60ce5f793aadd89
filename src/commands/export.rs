use anyhow::{Context, anyhow, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde_json::{Value, json};

use crate::cli::target::Target;
use crate::cli::verbs::ExportCommand;
use crate::cluster::objects;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::Group;
use crate::render::{export, yaml};

/// One exported document: `---`, the YAML, a newline (upstream's framing).
pub fn document(value: &Value) -> String {
    format!("---\n{}", yaml::to_string(value))
}

/// The referenced Secret as `--with-credentials` prints it.
fn secret_document(secret: &Secret) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret.metadata.name, "namespace": secret.metadata.namespace},
        "data": secret.data,
        "type": secret.type_,
    })
}

pub async fn run(ctx: &Ctx, command: &ExportCommand) -> anyhow::Result<ExitStatus> {
    let Target::Kind(spec) = command.target.target else {
        bail!("expected a single resource type, but found all");
    };
    let args = &command.target.args;
    if args.with_credentials && spec.cli_group != Group::Source {
        bail!("--with-credentials is only available for sources");
    }
    if args.names.is_empty() && !args.all {
        bail!("name is required");
    }
    for name in &args.names {
        crate::validate::check_object_name(name)?;
    }
    let schema = export::spec_schema(&spec.resource_name())
        .ok_or_else(|| anyhow!("no schema for {}", spec.kind))?;
    let namespace = &ctx.global.namespace;
    let client = ctx.kube.client().await?;
    let api = objects::api(client.clone(), spec, Some(namespace));
    let items = if args.all {
        let items = objects::list(spec, &api, &Default::default()).await?;
        if items.is_empty() {
            bail!("no objects found in {namespace} namespace");
        }
        items
    } else {
        let mut items = Vec::new();
        for name in &args.names {
            items.push(objects::get(spec, &api, name).await?);
        }
        items
    };
    let secrets: Api<Secret> = Api::namespaced(client, namespace);
    let mut out = String::new();
    for item in &items {
        out.push_str(&document(&export::export_object(item, &schema)));
        if args.with_credentials
            && let Some(secret_name) = item["spec"]["secretRef"]["name"].as_str()
        {
            let secret = secrets
                .get(secret_name)
                .await
                .with_context(|| format!("failed to retrieve secret {secret_name}"))?;
            out.push_str(&document(&secret_document(&secret)));
        }
    }
    ctx.printer.out(&out).context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}
