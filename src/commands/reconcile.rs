use std::future::Future;
use std::pin::Pin;

use anyhow::{anyhow, bail};
use kube::api::ListParams;
use serde_json::Value;

use crate::cli::target::Target;
use crate::cli::verbs::{ReconcileArgs, ReconcileCommand};
use crate::cluster::objects;
use crate::cluster::request::{request_patch, request_token};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::{self, KindSpec, SourceLookup};

#[derive(Clone, Copy)]
struct Options {
    with_source: bool,
    force: bool,
    reset: bool,
    /// Several objects run at once: each line names its object, where
    /// upstream's single-object lines name only the kind.
    named: bool,
}

impl Options {
    /// `Kustomization`, or `Kustomization apps` when lines must be told apart.
    fn subject(&self, spec: &KindSpec, name: &str) -> String {
        if self.named {
            format!("{} {name}", spec.kind)
        } else {
            spec.kind.to_string()
        }
    }
}

type Step<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + 'a>>;

/// Reconciles one object, its source first when asked, printing upstream's lines.
fn reconcile_object<'a>(
    ctx: &'a Ctx,
    spec: &'static KindSpec,
    namespace: String,
    name: String,
    options: Options,
) -> Step<'a> {
    Box::pin(async move {
        let client = ctx.kube.client().await?;
        let api = objects::api(client, spec, Some(&namespace));
        let object = objects::get(spec, &api, &name).await?;
        if spec.with_source.is_none() && spec.reconcile_unsupported(&object) {
            ctx.printer
                .success("reconciliation not supported by the object");
            return Ok(());
        }
        if object["spec"]["suspend"].as_bool() == Some(true) {
            bail!("resource is suspended");
        }
        if options.with_source
            && let Some(lookup) = spec.with_source
        {
            let (source, source_ns, source_name, nested) = source_of(lookup, &object, &namespace)?;
            let nested = Options {
                with_source: nested,
                force: false,
                reset: false,
                named: options.named,
            };
            reconcile_object(ctx, source, source_ns, source_name, nested).await?;
        }
        let handled_before = object["status"]["lastHandledReconcileAt"]
            .as_str()
            .unwrap_or("")
            .to_string();
        ctx.printer.action(&format!(
            "annotating {} {name} in {namespace} namespace",
            spec.kind
        ));
        let force = options.force && spec.forceable;
        let reset = options.reset && spec.forceable;
        objects::merge_patch(
            spec,
            &api,
            &name,
            &request_patch(&request_token(), force, reset),
        )
        .await?;
        let subject = options.subject(spec, &name);
        ctx.printer.success(&format!("{subject} annotated"));
        ctx.printer
            .waiting(&format!("waiting for {subject} reconciliation"));
        let done = objects::wait_for(spec, &api, &namespace, &name, ctx.remaining(), |o| {
            kinds::reconcile_progress(o, &handled_before)
        })
        .await?;
        let ready = kinds::condition(&done, "Ready")
            .ok_or_else(|| anyhow!("status can't be determined"))?;
        if ready["status"] != "True" {
            let message = ready["message"].as_str().unwrap_or("");
            // Upstream quotes the message only for kinds without a source step.
            if spec.with_source.is_some() {
                bail!("{} reconciliation failed: {message}", spec.kind);
            }
            bail!("{} reconciliation failed: '{message}'", spec.kind);
        }
        let success = spec
            .reconcile_success
            .expect("reconcilable kinds have a success message");
        let line = success(&done);
        if options.named {
            ctx.printer.success(&format!("{subject}: {line}"));
        } else {
            ctx.printer.success(&line);
        }
        Ok(())
    })
}

/// The object `--with-source` reconciles first: (kind, namespace, name,
/// whether it has a source step of its own).
fn source_of(
    lookup: SourceLookup,
    object: &Value,
    namespace: &str,
) -> anyhow::Result<(&'static KindSpec, String, String, bool)> {
    let reference =
        |r: &Value, allowed: &[&str]| -> anyhow::Result<(&'static KindSpec, String, String)> {
            let kind = r["kind"].as_str().unwrap_or("");
            let spec = kinds::by_kind(kind)
                .filter(|s| allowed.contains(&s.kind))
                .ok_or_else(|| anyhow!("cannot reconcile source of kind {kind}"))?;
            let ns = r["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace)
                .to_string();
            Ok((spec, ns, r["name"].as_str().unwrap_or("").to_string()))
        };
    match lookup {
        SourceLookup::SourceRef => {
            let (spec, ns, name) = reference(
                &object["spec"]["sourceRef"],
                &["GitRepository", "OCIRepository", "Bucket"],
            )?;
            Ok((spec, ns, name, false))
        }
        SourceLookup::ChartSourceRef => {
            let mut source = object["spec"]["sourceRef"].clone();
            // A chart's source always lives in the chart's namespace.
            source["namespace"] = Value::Null;
            let (spec, ns, name) =
                reference(&source, &["HelmRepository", "GitRepository", "Bucket"])?;
            Ok((spec, ns, name, false))
        }
        SourceLookup::HelmReleaseChart => {
            let chart_ref = &object["spec"]["chartRef"];
            if chart_ref.is_object() {
                let (spec, ns, name) = reference(chart_ref, &["HelmChart", "OCIRepository"])?;
                let nested = spec.with_source.is_some();
                return Ok((spec, ns, name, nested));
            }
            let chart = kinds::by_kind("HelmChart").expect("HelmChart is registered");
            let ns = object["spec"]["chart"]["spec"]["sourceRef"]["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace)
                .to_string();
            let release = object["metadata"]["name"].as_str().unwrap_or("");
            Ok((chart, ns, format!("{namespace}-{release}"), true))
        }
    }
}

pub async fn run(ctx: &Ctx, command: &ReconcileCommand) -> anyhow::Result<ExitStatus> {
    let Target::Kind(spec) = command.target.target else {
        bail!("reconcile needs a kind");
    };
    let args: &ReconcileArgs = &command.target.args;
    if args.with_source && spec.with_source.is_none() {
        bail!("--with-source is only available for kustomizations, helmreleases and source charts");
    }
    if (args.force || args.reset) && !spec.forceable {
        bail!("--force and --reset are only available for helmreleases");
    }
    let namespace = ctx.global.namespace.clone();
    let names = if args.all || args.label_selector.is_some() {
        let client = ctx.kube.client().await?;
        let api = objects::api(client, spec, Some(&namespace));
        let mut params = ListParams::default();
        if let Some(selector) = &args.label_selector {
            params = params.labels(selector);
        }
        objects::list_names(spec, &api, &namespace, &params).await?
    } else {
        let mut names = args.names.clone();
        names.dedup();
        names
    };
    if names.is_empty() {
        bail!("{} name is required", spec.kind);
    }
    for name in &names {
        crate::validate::check_object_name(name)?;
    }
    let options = Options {
        with_source: args.with_source,
        force: args.force,
        reset: args.reset,
        named: names.len() > 1,
    };
    if let [name] = names.as_slice() {
        reconcile_object(ctx, spec, namespace, name.clone(), options).await?;
        return Ok(ExitStatus::Success);
    }
    let results = futures::future::join_all(
        names
            .iter()
            .map(|name| reconcile_object(ctx, spec, namespace.clone(), name.clone(), options)),
    )
    .await;
    let mut failed = 0;
    for (name, result) in names.iter().zip(results) {
        if let Err(err) = result {
            failed += 1;
            ctx.printer
                .failure(&format!("{} {name}: {err:#}", spec.kind));
        }
    }
    if failed > 0 {
        bail!("reconciliation failed for {failed} {}(s)", spec.kind);
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helm_release_source_is_the_generated_chart() {
        let release = json!({"metadata": {"name": "podinfo"}, "spec": {"chart": {"spec": {"sourceRef": {"kind": "GitRepository", "name": "podinfo"}}}}});
        let (spec, ns, name, nested) =
            source_of(SourceLookup::HelmReleaseChart, &release, "apps").unwrap();
        assert_eq!(
            (spec.kind, ns.as_str(), name.as_str(), nested),
            ("HelmChart", "apps", "apps-podinfo", true)
        );
        let by_ref = json!({"spec": {"chartRef": {"kind": "OCIRepository", "name": "podinfo", "namespace": "flux-system"}}});
        let (spec, ns, _, nested) =
            source_of(SourceLookup::HelmReleaseChart, &by_ref, "apps").unwrap();
        assert_eq!(
            (spec.kind, ns.as_str(), nested),
            ("OCIRepository", "flux-system", false)
        );
    }

    #[test]
    fn kustomization_source_must_be_reconcilable() {
        let ks = json!({"spec": {"sourceRef": {"kind": "ExternalArtifact", "name": "x"}}});
        let err = source_of(SourceLookup::SourceRef, &ks, "flux-system").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot reconcile source of kind ExternalArtifact"
        );
    }
}
