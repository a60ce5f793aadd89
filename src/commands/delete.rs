use anyhow::{Context, bail};
use kube::runtime::conditions;
use kube::runtime::wait::await_condition;

use crate::cli::target::Target;
use crate::cli::verbs::DeleteCommand;
use crate::cluster::objects::{self, ObjectError};
use crate::commands::Ctx;
use crate::error::ExitStatus;

pub async fn run(ctx: &Ctx, command: &DeleteCommand) -> anyhow::Result<ExitStatus> {
    let Target::Kind(spec) = command.target.target else {
        bail!("expected a single resource type, but found all");
    };
    let args = &command.target.args;
    for name in &args.names {
        crate::validate::check_object_name(name)?;
    }
    let namespace = &ctx.global.namespace;
    let client = ctx.kube.client().await?;
    let api = objects::api(client, spec, Some(namespace));
    for name in &args.names {
        let object = objects::get(spec, &api, name).await?;
        if !args.silent
            && !crate::prompt::confirm(&format!(
                "Are you sure you want to delete this {}",
                spec.human
            ))?
        {
            bail!("aborting");
        }
        ctx.printer.action(&format!(
            "deleting {} {name} in {namespace} namespace",
            spec.human
        ));
        api.delete(name, &Default::default())
            .await
            .map_err(|e| ObjectError::from_kube(spec, Some(name), e))?;
        if args.wait {
            let uid = object["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            ctx.printer
                .waiting(&format!("waiting for {} {name} to be deleted", spec.kind));
            tokio::time::timeout(
                ctx.global.timeout,
                await_condition(api.clone(), name, conditions::is_deleted(&uid)),
            )
            .await
            .map_err(|_| ObjectError::Timeout {
                kind: spec.kind,
                namespace: namespace.clone(),
                name: name.clone(),
                last_status: String::new(),
                last_error: String::new(),
            })?
            .with_context(|| format!("unable to watch {} {namespace}/{name}", spec.kind))?;
        }
        ctx.printer.success(&format!("{} deleted", spec.human));
    }
    Ok(ExitStatus::Success)
}
