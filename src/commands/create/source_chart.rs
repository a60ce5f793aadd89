//! `flux create source chart`.

use flux_api::common::HelmChartSourceKind;
use flux_api::source::{HelmChartSourceRef, HelmChartVerify};
use flux_api::{HelmChart, HelmChartSpec};

use super::source_oci::verification;
use super::{api_enum, flag_error, go_duration, live, non_empty, object_meta};
use crate::cli::CreateSourceChartArgs;
use crate::commands::Ctx;
use crate::output::Printer;
use crate::render::create::{
    CreateError, KindName, check_name, export_document, invalid, parse_kind_name, parse_labels,
};

const CHART_SOURCE_KINDS: [(&str, HelmChartSourceKind); 3] = [
    ("HelmRepository", HelmChartSourceKind::HelmRepository),
    ("GitRepository", HelmChartSourceKind::GitRepository),
    ("Bucket", HelmChartSourceKind::Bucket),
];

/// Checks `--source <kind>/<name>` of a chart and normalises the kind.
/// `format` describes the accepted syntax in the empty-value message.
pub fn parse_chart_source(
    value: &str,
    with_namespace: bool,
) -> Result<(HelmChartSourceKind, KindName), String> {
    if value.trim().is_empty() {
        let format = if with_namespace {
            "'<kind>/<name>.<namespace>'"
        } else {
            "'<kind>/<name>'"
        };
        return Err(format!(
            "no helm chart source given, please specify source that contains the chart in the format {format}, where kind must be one of: (HelmRepository, GitRepository, Bucket)"
        ));
    }
    let parsed = if with_namespace {
        crate::render::create::parse_kind_name_namespace(value)
    } else {
        parse_kind_name(value)
    };
    if parsed.kind.is_empty() || parsed.name.is_empty() {
        return Err(format!(
            "invalid helm chart source '{value}', must be in format <kind>/<name>"
        ));
    }
    let kind = CHART_SOURCE_KINDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&parsed.kind))
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            format!(
                "source kind '{}' is not supported, must be one of: HelmRepository, GitRepository, Bucket",
                parsed.kind
            )
        })?;
    Ok((kind, parsed))
}

/// Builds the HelmChart. Upstream announces the generation on stderr even
/// in export mode, between the required-flag checks and the label check;
/// `announce` is called at that point.
pub fn build(
    args: &CreateSourceChartArgs,
    namespace: &str,
    announce: impl FnOnce(),
) -> Result<HelmChart, CreateError> {
    let source = match &args.source {
        Some(v) => Some(parse_chart_source(v, false).map_err(|e| flag_error("source", v, e))?),
        None => None,
    };
    let common = &args.common.base.common;
    let name = check_name(common.name.as_deref())?;
    let (kind, source) = source.ok_or_else(|| invalid("chart source is required"))?;
    if args.chart.chart.is_empty() {
        return Err(invalid("chart name or path is required"));
    }
    announce();
    let labels = parse_labels(&common.label)?;
    // Upstream checks the OCI command's subject here, so a lone
    // --verify-subject passes; only the issuer is checked.
    let verify = verification(args.verify_provider.as_ref(), &args.verify, false)?.map(|v| {
        HelmChartVerify {
            provider: v.provider,
            secret_ref: v.secret_ref,
            match_oidc_identity: v.match_oidc_identity,
        }
    });
    // HelmChart has no timeout field: --fetch-timeout is accepted and unused, as upstream.
    let spec = HelmChartSpec {
        chart: args.chart.chart.clone(),
        version: non_empty(&args.chart.chart_version),
        interval: go_duration(args.common.base.interval),
        reconcile_strategy: if args.reconcile_strategy.is_empty() {
            None
        } else {
            Some(api_enum("reconcile strategy", &args.reconcile_strategy)?)
        },
        source_ref: HelmChartSourceRef {
            kind,
            name: source.name,
            api_version: None,
        },
        verify,
        ..HelmChartSpec::default()
    };
    Ok(HelmChart {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(
    args: &CreateSourceChartArgs,
    namespace: &str,
    printer: &Printer,
) -> anyhow::Result<String> {
    let chart = build(args, namespace, || {
        printer.generate("generating HelmChart source")
    })?;
    Ok(export_document(&chart)?)
}

pub async fn apply(ctx: &Ctx, args: &CreateSourceChartArgs) -> anyhow::Result<()> {
    let chart = build(args, &ctx.global.namespace, || {
        ctx.printer.generate("generating HelmChart source")
    })?;
    let client = ctx.kube.client().await?;
    let lines = live::Lines {
        applied: "source",
        ..live::Lines::plain("HelmChart source")
    };
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&chart)?, &lines).await?;
    ctx.printer
        .success("HelmChart source reconciliation completed");
    live::fetched_revision(
        ctx,
        &ready,
        "HelmChart source reconciliation completed but no artifact was found",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_source_kind_is_case_insensitive() {
        let (kind, parsed) = parse_chart_source("helmrepository/podinfo", false).unwrap();
        assert_eq!(kind, HelmChartSourceKind::HelmRepository);
        assert_eq!(parsed.name, "podinfo");
        assert_eq!(
            parse_chart_source("podinfo", false).unwrap_err(),
            "invalid helm chart source 'podinfo', must be in format <kind>/<name>"
        );
        assert_eq!(
            parse_chart_source("OCIRepository/x", false).unwrap_err(),
            "source kind 'OCIRepository' is not supported, must be one of: HelmRepository, GitRepository, Bucket"
        );
        let (_, parsed) = parse_chart_source("GitRepository/repo.apps", true).unwrap();
        assert_eq!(parsed.namespace.as_deref(), Some("apps"));
    }
}
