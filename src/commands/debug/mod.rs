//! `flux debug helmrelease|kustomization`: the status, history, final Helm
//! values or post-build variables of one object.

mod values;

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use serde_json::{Map, Value};

use crate::cli::{DebugCommand, DebugHelmReleaseArgs, DebugKustomizationArgs};
use crate::cluster::objects::{self, retrying};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds;
use crate::render::yaml;

const HELM_STATUS_DOC: &str = "# Status documentation: https://fluxcd.io/flux/components/helm/helmreleases/#helmrelease-status\n";
const HELM_HISTORY_DOC: &str =
    "# History documentation: https://fluxcd.io/flux/components/helm/helmreleases/#history\n";
const KS_STATUS_DOC: &str = "# Status documentation: https://fluxcd.io/flux/components/kustomize/kustomizations/#kustomization-status\n";
const KS_HISTORY_DOC: &str = "# History documentation: https://fluxcd.io/flux/components/kustomize/kustomizations/#history\n";

pub async fn run(ctx: &Ctx, command: &DebugCommand) -> anyhow::Result<ExitStatus> {
    let out = match command {
        DebugCommand::HelmRelease(args) => helm_release(ctx, args).await?,
        DebugCommand::Kustomization(args) => kustomization(ctx, args).await?,
    };
    ctx.printer.out(&out).context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

/// The single name cobra's `ExactArgs(1)` lets through.
pub fn exactly_one(names: &[String]) -> anyhow::Result<&str> {
    match names {
        [name] => Ok(name),
        _ => bail!("accepts 1 arg(s), received {}", names.len()),
    }
}

async fn get_object(ctx: &Ctx, kind: &str, name: &str) -> anyhow::Result<Value> {
    let spec = kinds::by_kind(kind).expect("a registered kind");
    let client = ctx.kube.client().await?;
    let api = objects::api(client, spec, Some(&ctx.global.namespace));
    Ok(objects::get(spec, &api, name).await?)
}

/// The status as upstream's typed struct prints it: every top-level field
/// is `omitempty` (a stored `installFailures: 0` is not shown), and every
/// Helm history entry has `deleted` (a Go time that is never omitted, null
/// when unset).
fn typed_status(kind: &str, status: &Value) -> Value {
    let mut status = match status {
        Value::Object(map) => {
            let mut map = map.clone();
            map.retain(|_, value| !crate::render::export::omitted_when_empty(value));
            Value::Object(map)
        }
        _ => Value::Object(Map::new()),
    };
    if kind == "HelmRelease"
        && let Some(history) = status.get_mut("history").and_then(Value::as_array_mut)
    {
        for snapshot in history.iter_mut().filter_map(Value::as_object_mut) {
            snapshot.entry("deleted").or_insert(Value::Null);
        }
    }
    status
}

fn history(kind: &str, object: &Value) -> String {
    let status = typed_status(kind, &object["status"]);
    match status.get("history") {
        Some(Value::Array(list)) if !list.is_empty() => {
            yaml::to_string(&Value::Array(list.clone()))
        }
        _ => "[]\n".to_string(),
    }
}

fn one_flag(flags: [bool; 3], names: &str) -> anyhow::Result<()> {
    if flags.iter().filter(|f| **f).count() != 1 {
        bail!("exactly one of {names} must be set");
    }
    Ok(())
}

async fn helm_release(ctx: &Ctx, args: &DebugHelmReleaseArgs) -> anyhow::Result<String> {
    let name = exactly_one(&args.names)?;
    one_flag(
        [args.show_status, args.show_values, args.show_history],
        "--show-status, --show-values, or --show-history",
    )?;
    crate::validate::check_object_name(name)?;
    let release = get_object(ctx, "HelmRelease", name).await?;
    if args.show_status {
        let status = typed_status("HelmRelease", &release["status"]);
        return Ok(format!("{HELM_STATUS_DOC}{}", yaml::to_string(&status)));
    }
    if args.show_history {
        return Ok(format!(
            "{HELM_HISTORY_DOC}{}",
            history("HelmRelease", &release)
        ));
    }
    let values = final_values(ctx, &release).await?;
    Ok(yaml::to_string(&Value::Object(values)))
}

async fn kustomization(ctx: &Ctx, args: &DebugKustomizationArgs) -> anyhow::Result<String> {
    let name = exactly_one(&args.names)?;
    one_flag(
        [args.show_status, args.show_vars, args.show_history],
        "--show-status, --show-vars, or --show-history",
    )?;
    crate::validate::check_object_name(name)?;
    let ks = get_object(ctx, "Kustomization", name).await?;
    if args.show_status {
        let status = typed_status("Kustomization", &ks["status"]);
        return Ok(format!("{KS_STATUS_DOC}{}", yaml::to_string(&status)));
    }
    if args.show_history {
        return Ok(format!("{KS_HISTORY_DOC}{}", history("Kustomization", &ks)));
    }
    let Some(post_build) = ks["spec"]["postBuild"].as_object() else {
        bail!("no post build substitutions found");
    };
    let client = ctx.kube.client().await?;
    let vars = substitution_vars(&client, &ctx.global.namespace, post_build).await?;
    Ok(vars
        .iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect())
}

/// The data of a ConfigMap or Secret, as text; `Ok(None)` when it does not exist.
async fn referenced_data(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, kube::Error> {
    let client = client.clone();
    let result = if kind == "Secret" {
        let api: Api<Secret> = Api::namespaced(client, namespace);
        retrying(|| api.get(name)).await.map(|secret| {
            secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                .collect()
        })
    } else {
        let api: Api<ConfigMap> = Api::namespaced(client, namespace);
        retrying(|| api.get(name))
            .await
            .map(|cm| cm.data.unwrap_or_default())
    };
    match result {
        Ok(data) => Ok(Some(data)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(err) => Err(err),
    }
}

fn kube_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// Post-build variables: `substituteFrom` in order (later ones win, newlines
/// removed, optional missing objects skipped), then `substitute`.
pub async fn substitution_vars(
    client: &kube::Client,
    namespace: &str,
    post_build: &Map<String, Value>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    let refs = post_build
        .get("substituteFrom")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for reference in &refs {
        let kind = reference["kind"].as_str().unwrap_or_default();
        if kind != "ConfigMap" && kind != "Secret" {
            continue;
        }
        let name = reference["name"].as_str().unwrap_or_default();
        let optional = reference["optional"].as_bool().unwrap_or(false);
        match referenced_data(client, namespace, kind, name).await {
            Ok(Some(data)) => {
                for (key, value) in data {
                    vars.insert(key, value.replace('\n', ""));
                }
            }
            Ok(None) if optional => {}
            Ok(None) => bail!(
                "substitute from '{kind}/{name}' error: {}s \"{name}\" not found",
                kind.to_lowercase()
            ),
            Err(err) => bail!(
                "substitute from '{kind}/{name}' error: {}",
                kube_message(&err)
            ),
        }
    }
    if let Some(inline) = post_build.get("substitute").and_then(Value::as_object) {
        for (key, value) in inline {
            let value = value.as_str().unwrap_or_default();
            vars.insert(key.clone(), value.replace('\n', ""));
        }
    }
    Ok(vars)
}

/// A `valuesFrom` reference that could not be used, in upstream's words.
fn reference_error(
    reference: &Value,
    namespace: &str,
    key: &str,
    reason: impl std::fmt::Display,
) -> anyhow::Error {
    let optional = if reference["optional"].as_bool() == Some(true) {
        " optional"
    } else {
        ""
    };
    anyhow::anyhow!(
        "could not resolve{optional} {} chart values reference '{namespace}/{}' with key '{key}': {reason}",
        reference["kind"].as_str().unwrap_or_default(),
        reference["name"].as_str().unwrap_or_default(),
    )
}

/// The values helm-controller would install the chart with.
async fn final_values(ctx: &Ctx, release: &Value) -> anyhow::Result<Map<String, Value>> {
    let namespace = release["metadata"]["namespace"]
        .as_str()
        .unwrap_or(&ctx.global.namespace)
        .to_string();
    let inline = release["spec"]["values"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let client = ctx.kube.client().await?;
    let mut result = Map::new();
    let mut fetched: BTreeMap<(String, String), Option<BTreeMap<String, String>>> = BTreeMap::new();
    let refs = release["spec"]["valuesFrom"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for reference in &refs {
        let kind = reference["kind"].as_str().unwrap_or_default();
        let name = reference["name"].as_str().unwrap_or_default();
        let key = reference["valuesKey"]
            .as_str()
            .filter(|k| !k.is_empty())
            .unwrap_or("values.yaml");
        let optional = reference["optional"].as_bool().unwrap_or(false);
        if kind != "ConfigMap" && kind != "Secret" {
            return Err(reference_error(
                reference,
                &namespace,
                key,
                "unsupported values reference kind",
            ));
        }
        let cache_key = (kind.to_string(), name.to_string());
        let data = match fetched.get(&cache_key) {
            Some(data) => data.clone(),
            None => {
                let data = referenced_data(&client, &namespace, kind, name)
                    .await
                    .map_err(|e| reference_error(reference, &namespace, key, kube_message(&e)))?;
                fetched.insert(cache_key, data.clone());
                data
            }
        };
        let Some(data) = data else {
            if optional {
                continue;
            }
            return Err(reference_error(
                reference,
                &namespace,
                key,
                "resource not found",
            ));
        };
        let Some(text) = data.get(key) else {
            if optional {
                continue;
            }
            return Err(reference_error(reference, &namespace, key, "key not found"));
        };
        if let Some(path) = reference["targetPath"].as_str().filter(|p| !p.is_empty()) {
            values::merge(&mut result, &inline);
            let literal = reference["literal"].as_bool().unwrap_or(false);
            let (mode, value) = values::mode_for(text, literal);
            values::set_path(&mut result, path, &value, mode).map_err(|e| {
                reference_error(
                    reference,
                    &namespace,
                    key,
                    format!("failed to merge value: {e}"),
                )
            })?;
            continue;
        }
        let parsed: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            yaml::from_str(text).map_err(|e| {
                reference_error(
                    reference,
                    &namespace,
                    key,
                    format!("failed to read values data: {e}"),
                )
            })?
        };
        match parsed {
            Value::Object(map) => values::merge(&mut result, &map),
            Value::Null => {}
            _ => {
                return Err(reference_error(
                    reference,
                    &namespace,
                    key,
                    "failed to read values data: the data is not a map of values",
                ));
            }
        }
    }
    values::merge(&mut result, &inline);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_prints_as_the_typed_struct() {
        let stored = json!({
            "observedGeneration": -1,
            "installFailures": 0,
            "lastAttemptedRevision": "",
            "history": [{"name": "a", "version": 1}],
        });
        assert_eq!(
            typed_status("HelmRelease", &stored),
            json!({"observedGeneration": -1, "history": [{"name": "a", "version": 1, "deleted": null}]})
        );
        assert_eq!(typed_status("Kustomization", &Value::Null), json!({}));
    }
}
