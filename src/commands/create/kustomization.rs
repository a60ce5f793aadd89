//! `flux create kustomization` (alias `ks`).

use flux_api::common::NamespacedObjectKindReference;
use flux_api::kustomize::{
    KustomizationDecryption, KustomizationDecryptionProvider, KustomizationSourceKind,
    KustomizationSourceRef,
};
use flux_api::{Kustomization, KustomizationSpec};

use super::{
    depends_on, flag_error, go_duration, kube_config, live, local_ref, non_empty, object_meta,
};
use crate::cli::CreateKustomizationArgs;
use crate::commands::Ctx;
use crate::output::Printer;
use crate::render::create::{
    CreateError, KindName, check_name, export_document, invalid, parse_health_check,
    parse_kind_name_namespace, parse_labels, safe_relative_path,
};

const SOURCE_KINDS: [(&str, KustomizationSourceKind); 3] = [
    ("OCIRepository", KustomizationSourceKind::OCIRepository),
    ("GitRepository", KustomizationSourceKind::GitRepository),
    ("Bucket", KustomizationSourceKind::Bucket),
];

/// `[<kind>/]<name>[.<namespace>]`; the kind defaults to GitRepository.
pub fn parse_kustomization_source(
    value: &str,
) -> Result<(KustomizationSourceKind, KindName), String> {
    if value.trim().is_empty() {
        return Err("no Kustomization source given, please specify source that contains the Kubernetes manifests in the format '[<kind>/]<name>.<namespace>', where kind must be one of: (OCIRepository, GitRepository, Bucket), if kind is not specified it defaults to GitRepository".into());
    }
    let mut parsed = parse_kind_name_namespace(value);
    if parsed.kind.is_empty() {
        if SOURCE_KINDS
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(value))
        {
            return Err(format!("no kind specified for source '{value}'"));
        }
        parsed.kind = "GitRepository".into();
    }
    let (canonical, kind) = SOURCE_KINDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&parsed.kind))
        .ok_or_else(|| {
            format!(
                "source kind '{}' is not supported, must be one of: OCIRepository, GitRepository, Bucket",
                parsed.kind
            )
        })?;
    if parsed.name.is_empty() {
        return Err(format!("no name given for source of kind '{canonical}'"));
    }
    parsed.kind = canonical.to_string();
    Ok((*kind, parsed))
}

/// Builds the Kustomization. Live mode announces the generation after the
/// path and source checks, as upstream; `announce` is called at that point.
pub fn build(
    args: &CreateKustomizationArgs,
    namespace: &str,
    announce: impl FnOnce(),
) -> Result<Kustomization, CreateError> {
    let source = match &args.source {
        Some(v) => Some(parse_kustomization_source(v).map_err(|e| flag_error("source", v, e))?),
        None => None,
    };
    let path = safe_relative_path(&args.path);
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if path.is_empty() {
        return Err(invalid("path is required"));
    }
    if !path.starts_with("./") {
        return Err(invalid("path must begin with ./"));
    }
    let (kind, source) = source.ok_or_else(|| invalid("source is required"))?;
    announce();
    let labels = parse_labels(&common.label)?;
    let health_checks = if args.wait {
        Vec::new()
    } else {
        args.health_check
            .iter()
            .map(|hc| parse_health_check(hc))
            .collect::<Result<Vec<_>, _>>()?
    };
    let timeout =
        (args.wait || !health_checks.is_empty()).then(|| go_duration(args.health_check_timeout));
    let decryption = args
        .decryption_provider
        .as_ref()
        .map(|_| KustomizationDecryption {
            provider: KustomizationDecryptionProvider::Sops,
            secret_ref: local_ref(&args.decryption_secret),
            service_account_name: None,
        });
    let spec = KustomizationSpec {
        interval: go_duration(args.common.interval),
        path: Some(path),
        prune: args.prune,
        source_ref: KustomizationSourceRef {
            kind,
            name: source.name,
            namespace: source.namespace,
            api_version: None,
        },
        health_checks: (!health_checks.is_empty()).then(|| {
            health_checks
                .into_iter()
                .map(|hc| NamespacedObjectKindReference {
                    api_version: hc.api_version,
                    kind: hc.kind,
                    name: hc.name,
                    namespace: Some(hc.namespace),
                })
                .collect()
        }),
        wait: args.wait.then_some(true),
        timeout,
        depends_on: depends_on(&args.depends_on),
        service_account_name: non_empty(&args.service_account),
        decryption,
        target_namespace: non_empty(&args.target_namespace),
        kube_config: kube_config(&args.kubeconfig_secret_ref),
        retry_interval: (!args.retry_interval.as_std().is_zero())
            .then(|| go_duration(args.retry_interval)),
        ..KustomizationSpec::default()
    };
    Ok(Kustomization {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

/// Upstream's flag parser prints this on stdout whenever --validation is used.
const VALIDATION_DEPRECATED: &str = "Flag --validation has been deprecated, this arg is no longer used, all resources are validated using server-side apply dry-run\n";

pub fn export(
    args: &CreateKustomizationArgs,
    namespace: &str,
    printer: &Printer,
) -> anyhow::Result<String> {
    if args.validation.is_some() {
        printer.out(VALIDATION_DEPRECATED)?;
    }
    Ok(export_document(&build(args, namespace, || {})?)?)
}

pub async fn apply(ctx: &Ctx, args: &CreateKustomizationArgs) -> anyhow::Result<()> {
    if args.validation.is_some() {
        ctx.printer.out(VALIDATION_DEPRECATED)?;
    }
    let kustomization = build(args, &ctx.global.namespace, || {
        ctx.printer.generate("generating Kustomization")
    })?;
    let client = ctx.kube.client().await?;
    let lines = live::Lines::plain("Kustomization");
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&kustomization)?, &lines).await?;
    let name = kustomization.metadata.name.unwrap_or_default();
    ctx.printer
        .success(&format!("Kustomization {name} is ready"));
    let revision = ready["status"]["lastAppliedRevision"]
        .as_str()
        .unwrap_or_default();
    ctx.printer.success(&format!("applied revision {revision}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kind_defaults_to_git_and_namespace_is_parsed() {
        let (kind, parsed) = parse_kustomization_source("podinfo.apps").unwrap();
        assert_eq!(kind, KustomizationSourceKind::GitRepository);
        assert_eq!(
            (parsed.name.as_str(), parsed.namespace.as_deref()),
            ("podinfo", Some("apps"))
        );
        let (kind, _) = parse_kustomization_source("ocirepository/podinfo").unwrap();
        assert_eq!(kind, KustomizationSourceKind::OCIRepository);
    }

    #[test]
    fn source_errors() {
        assert_eq!(
            parse_kustomization_source("GitRepository").unwrap_err(),
            "no kind specified for source 'GitRepository'"
        );
        assert_eq!(
            parse_kustomization_source("Bucket/").unwrap_err(),
            "no name given for source of kind 'Bucket'"
        );
        assert_eq!(
            parse_kustomization_source("HelmRepository/x").unwrap_err(),
            "source kind 'HelmRepository' is not supported, must be one of: OCIRepository, GitRepository, Bucket"
        );
        assert!(
            parse_kustomization_source(" ")
                .unwrap_err()
                .starts_with("no Kustomization source given")
        );
    }
}
