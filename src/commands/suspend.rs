//! `suspend` and `resume`: one algorithm, differing in the patch and in
//! whether resumed objects are waited for.

use anyhow::bail;
use serde_json::{Value, json};

use crate::cli::target::{KindCommand, Target, Verb};
use crate::cli::verbs::{ResumeVerb, SuspendVerb};
use crate::cluster::objects::{self, ObjectError};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::{self, KindSpec};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Suspend,
    Resume,
}

impl Action {
    fn patch(self) -> Value {
        match self {
            Self::Suspend => json!({"spec": {"suspend": true}}),
            // Removing the field rather than writing false keeps exports clean.
            Self::Resume => json!({"spec": {"suspend": null}}),
        }
    }

    fn progressive(self) -> &'static str {
        match self {
            Self::Suspend => "suspending",
            Self::Resume => "resuming",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Resume => "resumed",
        }
    }
}

fn target<V: Verb>(command: &KindCommand<V>) -> anyhow::Result<&'static KindSpec> {
    match command.target {
        Target::Kind(spec) => Ok(spec),
        Target::All(_) => bail!("expected a single resource type, but found all"),
    }
}

/// Patches the named objects (or all of them); returns the patched objects
/// and whether any name was missing.
async fn patch_objects(
    ctx: &Ctx,
    spec: &'static KindSpec,
    names: &[String],
    all: bool,
    action: Action,
) -> anyhow::Result<(Vec<Value>, bool)> {
    if names.is_empty() && !all {
        bail!("{} name is required", spec.human);
    }
    for name in names {
        crate::validate::check_object_name(name)?;
    }
    let namespace = &ctx.global.namespace;
    let client = ctx.kube.client().await?;
    let api = objects::api(client, spec, Some(namespace));
    let targets: Vec<String> = if all {
        objects::list_names(spec, &api, namespace, &Default::default()).await?
    } else {
        let mut unique: Vec<String> = Vec::new();
        for name in names {
            if !unique.contains(name) {
                unique.push(name.clone());
            }
        }
        unique
    };
    let mut patched = Vec::new();
    let mut missing = false;
    for name in targets {
        match objects::get(spec, &api, &name).await {
            Ok(_) => {}
            Err(ObjectError::NotFound { .. }) => {
                missing = true;
                ctx.printer.failure(&match action {
                    Action::Suspend => {
                        format!("{} {name} not found in {namespace} namespace", spec.kind)
                    }
                    Action::Resume => format!(
                        "{} object '{name}' not found in {namespace} namespace",
                        spec.kind
                    ),
                });
                continue;
            }
            Err(err) if err.is_permanent() => return Err(err.into()),
            Err(err) => {
                ctx.printer.failure(&format!(
                    "failed {} {} {name} in {namespace} namespace: {err}",
                    action.progressive(),
                    spec.kind
                ));
                missing = true;
                continue;
            }
        }
        ctx.printer.action(&format!(
            "{} {} {name} in {namespace} namespace",
            action.progressive(),
            spec.human
        ));
        let object = objects::merge_patch(spec, &api, &name, &action.patch()).await?;
        ctx.printer
            .success(&format!("{} {}", spec.human, action.past()));
        patched.push(object);
    }
    Ok((patched, missing))
}

pub async fn suspend(ctx: &Ctx, command: &KindCommand<SuspendVerb>) -> anyhow::Result<ExitStatus> {
    let spec = target(command)?;
    let args = &command.args;
    let (_, missing) = patch_objects(ctx, spec, &args.names, args.all, Action::Suspend).await?;
    // Missing names were reported line by line; the exit code says so too.
    Ok(if missing {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The line printed once a resumed object is ready.
fn resumed_message(spec: &KindSpec, object: &Value) -> String {
    match spec.reconcile_success {
        Some(success) => success(object),
        None => format!("{} reconciliation completed", spec.kind),
    }
}

pub async fn resume(ctx: &Ctx, command: &KindCommand<ResumeVerb>) -> anyhow::Result<ExitStatus> {
    let spec = target(command)?;
    let args = &command.args;
    // Upstream waits for a single name unless told otherwise.
    let wait = args.wait.unwrap_or(args.names.len() == 1 && !args.all);
    let (patched, missing) =
        patch_objects(ctx, spec, &args.names, args.all, Action::Resume).await?;
    if !wait || patched.is_empty() {
        return Ok(if missing {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        });
    }
    let namespace = ctx.global.namespace.clone();
    let client = ctx.kube.client().await?;
    let api = objects::api(client, spec, Some(&namespace));
    let mut names: Vec<String> = patched
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    let waits = names.iter().map(|name| {
        ctx.printer
            .waiting(&format!("waiting for {} reconciliation", spec.kind));
        objects::wait_for(spec, &api, &namespace, name, ctx.remaining(), |o| {
            kinds::readiness(spec, o)
        })
    });
    let results = futures::future::join_all(waits).await;
    let mut failed = 0;
    for (name, result) in names.iter().zip(results) {
        match result {
            Ok(object) => {
                ctx.printer
                    .success(&format!("{} {name} reconciliation completed", spec.kind));
                ctx.printer.success(&resumed_message(spec, &object));
            }
            Err(err) => {
                failed += 1;
                if let Some(detail) = err.timeout_detail() {
                    ctx.printer.warning(&detail);
                }
                ctx.printer.failure(&format!(
                    "{} {name} reconciliation failed: {err}",
                    spec.kind
                ));
            }
        }
    }
    if failed > 0 {
        bail!("reconciliation failed for {failed} {}(s)", spec.kind);
    }
    Ok(if missing {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_removes_the_suspend_field() {
        assert_eq!(Action::Resume.patch(), json!({"spec": {"suspend": null}}));
        assert_eq!(Action::Suspend.patch(), json!({"spec": {"suspend": true}}));
    }

    #[test]
    fn kinds_without_a_reconcile_message_report_completion() {
        let alert = kinds::by_kind("Alert").unwrap();
        assert_eq!(
            resumed_message(alert, &json!({})),
            "Alert reconciliation completed"
        );
    }
}
