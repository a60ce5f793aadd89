//! `flux create helmrelease` (alias `hr`).

use flux_api::common::ValuesReferenceKind;
use flux_api::helm::{
    HelmReleaseChart, HelmReleaseChartRef, HelmReleaseChartRefKind, HelmReleaseChartSourceRef,
    HelmReleaseChartSpec, HelmReleaseCrdsPolicy, HelmReleaseInstall, HelmReleaseUpgrade,
    HelmReleaseValuesFrom,
};
use flux_api::{HelmRelease, HelmReleaseSpec};
use serde_json::{Map, Value};

use super::source_chart::parse_chart_source;
use super::{
    api_enum, depends_on, flag_error, go_duration, kube_config, live, non_empty, object_meta,
    read_file,
};
use crate::cli::CreateHelmReleaseArgs;
use crate::commands::Ctx;
use crate::render::create::{
    CreateError, check_name, export_document, invalid, parse_kind_name, parse_kind_name_namespace,
    parse_labels,
};

/// Merges `new` into `base`: nested mappings merge key by key, anything
/// else from `new` replaces what `base` had.
pub fn merge_values(base: &mut Map<String, Value>, new: Map<String, Value>) {
    for (key, value) in new {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(old)), Value::Object(newer)) => merge_values(old, newer),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Reads one values file (`-` is stdin) into a mapping.
pub fn read_values(path: &str) -> Result<Map<String, Value>, CreateError> {
    let bytes = if path == "-" {
        crate::input::read_bounded(std::io::stdin().lock())
            .map_err(|e| invalid(format!("reading values from {path} failed: {e}")))?
    } else {
        read_file(path).map_err(|e| invalid(format!("reading values from {path} failed: {e}")))?
    };
    let text = String::from_utf8_lossy(&bytes);
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = crate::render::yaml::from_str(&text)
        .map_err(|e| invalid(format!("converting values to JSON from {path} failed: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(invalid(format!(
            "unmarshaling values from {path} failed: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        _ => "object",
    }
}

fn chart_ref(value: &str) -> Result<HelmReleaseChartRef, CreateError> {
    let parsed = parse_kind_name_namespace(value);
    let kind = match parsed.kind.as_str() {
        "OCIRepository" => HelmReleaseChartRefKind::OCIRepository,
        "HelmChart" => HelmReleaseChartRefKind::HelmChart,
        other => {
            return Err(invalid(format!(
                "chart reference kind '{other}' is not supported, must be one of: OCIRepository, HelmChart"
            )));
        }
    };
    Ok(HelmReleaseChartRef {
        kind,
        name: parsed.name,
        namespace: parsed.namespace,
        api_version: None,
    })
}

fn values_from(value: &str) -> Result<HelmReleaseValuesFrom, CreateError> {
    let parsed = parse_kind_name(value);
    if parsed.kind.is_empty() {
        return Err(invalid(format!(
            "invalid Kubernetes object reference '{value}', must be in format <kind>/<name>"
        )));
    }
    let kind = if parsed.kind.eq_ignore_ascii_case("Secret") {
        ValuesReferenceKind::Secret
    } else if parsed.kind.eq_ignore_ascii_case("ConfigMap") {
        ValuesReferenceKind::ConfigMap
    } else {
        return Err(invalid(format!(
            "reference kind '{}' is not supported, must be one of: Secret, ConfigMap",
            parsed.kind
        )));
    };
    Ok(HelmReleaseValuesFrom {
        kind,
        name: parsed.name,
        ..HelmReleaseValuesFrom::default()
    })
}

/// Builds the HelmRelease. Live mode announces the generation between the
/// label check and the remaining checks, as upstream; `announce` is called
/// at that point.
pub fn build(
    args: &CreateHelmReleaseArgs,
    namespace: &str,
    announce: impl FnOnce(),
) -> Result<HelmRelease, CreateError> {
    let source = match &args.source {
        Some(v) => Some(parse_chart_source(v, true).map_err(|e| flag_error("source", v, e))?),
        None => None,
    };
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    let storage_namespace = if args.storage_namespace.is_empty() {
        args.target_namespace.clone()
    } else {
        args.storage_namespace.clone()
    };
    if args.chart.chart.is_empty() && args.chart_ref.is_empty() {
        return Err(invalid("chart or chart-ref is required"));
    }
    if !args.chart.chart.is_empty() && !args.chart_ref.is_empty() {
        return Err(invalid(
            "cannot use --chart in combination with --chart-ref",
        ));
    }
    let labels = parse_labels(&common.label)?;
    announce();
    if !matches!(
        args.reconcile_strategy.as_str(),
        "Revision" | "ChartVersion"
    ) {
        return Err(invalid(format!(
            "'{}' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
            args.reconcile_strategy
        )));
    }
    let chart_ref = if args.chart_ref.is_empty() {
        None
    } else {
        Some(chart_ref(&args.chart_ref)?)
    };
    let mut values = Map::new();
    for path in &args.values {
        merge_values(&mut values, read_values(path)?);
    }
    let values_from = args
        .values_from
        .iter()
        .map(|v| values_from(v))
        .collect::<Result<Vec<_>, _>>()?;
    let chart = if args.chart.chart.is_empty() {
        None
    } else {
        // A chart without --source cannot be expressed in the typed API
        // (upstream writes an empty sourceRef that the API server refuses).
        let (kind, source) = source.ok_or_else(|| invalid("chart source is required"))?;
        Some(HelmReleaseChart {
            spec: HelmReleaseChartSpec {
                chart: args.chart.chart.clone(),
                version: non_empty(&args.chart.chart_version),
                interval: (!args.chart_interval.as_std().is_zero())
                    .then(|| go_duration(args.chart_interval)),
                reconcile_strategy: Some(api_enum("reconcile strategy", &args.reconcile_strategy)?),
                source_ref: HelmReleaseChartSourceRef {
                    kind,
                    name: source.name,
                    namespace: source.namespace,
                    api_version: None,
                },
                ..HelmReleaseChartSpec::default()
            },
            metadata: None,
        })
    };
    let crds: Option<HelmReleaseCrdsPolicy> = match &args.crds {
        Some(c) => Some(api_enum("upgrade CRDs policy", c)?),
        None => None,
    };
    let install = (args.create_target_namespace || crds.is_some()).then(|| HelmReleaseInstall {
        create_namespace: args.create_target_namespace.then_some(true),
        crds: crds.map(|_| HelmReleaseCrdsPolicy::Create),
        ..HelmReleaseInstall::default()
    });
    let spec = HelmReleaseSpec {
        interval: go_duration(args.common.interval),
        chart,
        chart_ref,
        release_name: non_empty(&args.release_name),
        target_namespace: non_empty(&args.target_namespace),
        storage_namespace: non_empty(&storage_namespace),
        depends_on: depends_on(&args.depends_on),
        service_account_name: non_empty(&args.service_account),
        install,
        upgrade: crds.map(|c| HelmReleaseUpgrade {
            crds: Some(c),
            ..HelmReleaseUpgrade::default()
        }),
        kube_config: kube_config(&args.kubeconfig_secret_ref),
        values: (!values.is_empty()).then_some(Value::Object(values)),
        values_from: (!values_from.is_empty()).then_some(values_from),
        ..HelmReleaseSpec::default()
    };
    Ok(HelmRelease {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateHelmReleaseArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace, || {})?)?)
}

/// `✔ applied revision`: the chart version of the latest release, else the
/// revision last attempted.
fn applied_revision(release: &serde_json::Value) -> &str {
    let status = &release["status"];
    status["history"][0]["chartVersion"]
        .as_str()
        .or_else(|| status["lastAttemptedRevision"].as_str())
        .unwrap_or_default()
}

pub async fn apply(ctx: &Ctx, args: &CreateHelmReleaseArgs) -> anyhow::Result<()> {
    let release = build(args, &ctx.global.namespace, || {
        ctx.printer.generate("generating HelmRelease")
    })?;
    let client = ctx.kube.client().await?;
    let lines = live::Lines::plain("HelmRelease");
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&release)?, &lines).await?;
    let name = release.metadata.name.unwrap_or_default();
    ctx.printer.success(&format!("HelmRelease {name} is ready"));
    ctx.printer
        .success(&format!("applied revision {}", applied_revision(&ready)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_merge_deeply_and_later_files_win() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": [1]})
            .as_object()
            .unwrap()
            .clone();
        let new = json!({"a": {"c": 3}, "d": [2]})
            .as_object()
            .unwrap()
            .clone();
        merge_values(&mut base, new);
        assert_eq!(
            Value::Object(base),
            json!({"a": {"b": 1, "c": 3}, "d": [2]})
        );
    }

    #[test]
    fn chart_ref_kind_is_exact() {
        assert!(chart_ref("OCIRepository/podinfo.flux-system").is_ok());
        assert_eq!(
            chart_ref("ocirepository/podinfo").unwrap_err().to_string(),
            "chart reference kind 'ocirepository' is not supported, must be one of: OCIRepository, HelmChart"
        );
    }

    #[test]
    fn values_from_kinds() {
        assert_eq!(
            values_from("configmap/x").unwrap().kind,
            ValuesReferenceKind::ConfigMap
        );
        assert!(values_from("x").is_err());
        assert!(values_from("Pod/x").is_err());
    }
}
