//! Live mode of `flux create`: upsert what the kind's `build` produced,
//! then watch it until its controller reports Ready, printing upstream's
//! progress lines. Everything here runs after the input was validated, so
//! bad input never reaches the cluster.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, PostParams};
use serde::Serialize;
use serde_json::Value;

use crate::cluster::objects::{self, ObjectError};
use crate::commands::Ctx;
use crate::kinds::{self, KindSpec, Progress};

/// How an existing object is brought up to date (upstream's two styles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// Replace labels and spec, and report "updated" even when nothing changed.
    Replace,
    /// Write only when labels or spec changed; report nothing otherwise (image kinds).
    ChangesOnly,
}

/// A failed write of a plain Kubernetes object (a secret, a tenant's objects).
#[derive(Debug, thiserror::Error)]
#[error("unable to apply {what} {name}: {reason}")]
pub struct WriteError {
    what: String,
    name: String,
    reason: String,
}

impl WriteError {
    pub fn new(what: &str, name: &str, err: kube::Error) -> Self {
        let reason = match err {
            kube::Error::Api(status) => status.message,
            kube::Error::HyperError(_) | kube::Error::Service(_) => format!(
                "unable to reach the Kubernetes API server: {}",
                crate::cluster::transport::describe_kube(&err).unwrap_or_default()
            ),
            other => other.to_string(),
        };
        Self {
            what: what.into(),
            name: name.into(),
            reason,
        }
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// The words a kind uses in its progress lines.
pub struct Lines {
    /// `► applying <applying>`.
    pub applying: &'static str,
    /// `✔ <applied> created|updated`.
    pub applied: &'static str,
    /// `◎ waiting for <waiting> reconciliation`.
    pub waiting: &'static str,
    pub upsert: Upsert,
}

impl Lines {
    /// The same words everywhere, as most kinds print them.
    pub const fn plain(label: &'static str) -> Self {
        Self {
            applying: label,
            applied: label,
            waiting: label,
            upsert: Upsert::Replace,
        }
    }
}

/// Ready conditions that mean "waiting for another object" rather than
/// failure: the controller retries by itself once the other one is ready
/// (a HelmRelease whose chart is still being fetched, for instance).
const WAITING_REASONS: [&str; 4] = [
    "DependencyNotReady",
    "SourceNotReady",
    "SourceUnavailable",
    "ArtifactFailed",
];

/// The object as JSON, without the fields Go leaves empty on new objects.
pub fn to_json<T: Serialize>(object: &T) -> anyhow::Result<Value> {
    let mut value = serde_json::to_value(object).context("unable to encode the object")?;
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = value["metadata"].as_object_mut() {
        meta.remove("creationTimestamp");
    }
    Ok(value)
}

fn kind_of(object: &Value) -> anyhow::Result<&'static KindSpec> {
    let kind = object["kind"].as_str().unwrap_or_default();
    kinds::by_kind(kind).ok_or_else(|| anyhow!("kind {kind} is not in the kind registry"))
}

fn name_of(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    let text = |key: &str| meta[key].as_str().unwrap_or_default().to_string();
    (text("namespace"), text("name"))
}

/// How many times a read-modify-write is tried when other writers keep
/// changing the object (409 Conflict) between the read and the write.
const CONFLICT_ATTEMPTS: u32 = 12;

/// A short random pause before reading again after a conflict, growing
/// with the attempt, so concurrent writers spread out instead of colliding
/// again.
async fn conflict_pause(attempt: u32) {
    use rand::Rng;
    let ms = rand::thread_rng().gen_range(10..=60) * u64::from(attempt.min(6));
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Creates `object`, or brings the existing one up to date as `mode` says.
/// Conflicting writes (someone else updated it meanwhile) and transient
/// failures are retried.
async fn upsert(
    client: &kube::Client,
    spec: &'static KindSpec,
    object: &Value,
    mode: Upsert,
) -> Result<Applied, ObjectError> {
    let (namespace, name) = name_of(object);
    let api = objects::api(client.clone(), spec, Some(&namespace));
    // A 404 on a write means the namespace is missing, not the object.
    let classify = |e| match e {
        kube::Error::Api(status) if status.code == 404 => ObjectError::Api(status.message),
        e => ObjectError::from_kube(spec, Some(&name), e),
    };
    let wanted: DynamicObject =
        serde_json::from_value(object.clone()).map_err(|e| ObjectError::Api(e.to_string()))?;
    let post = PostParams::default();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let existing = match objects::get(spec, &api, &name).await {
            Ok(existing) => existing,
            Err(ObjectError::NotFound { .. }) => {
                match objects::retrying(|| api.create(&post, &wanted)).await {
                    Ok(_) => return Ok(Applied::Created),
                    Err(kube::Error::Api(s)) if s.code == 409 && attempts < CONFLICT_ATTEMPTS => {
                        conflict_pause(attempts).await;
                        continue;
                    }
                    Err(e) => return Err(classify(e)),
                }
            }
            Err(e) => return Err(e),
        };
        let mut updated = existing.clone();
        match &object["metadata"]["labels"] {
            Value::Object(labels) => updated["metadata"]["labels"] = Value::Object(labels.clone()),
            _ => {
                if let Some(meta) = updated["metadata"].as_object_mut() {
                    meta.remove("labels");
                }
            }
        }
        updated["spec"] = object["spec"].clone();
        if mode == Upsert::ChangesOnly && updated == existing {
            return Ok(Applied::Unchanged);
        }
        let body: DynamicObject =
            serde_json::from_value(updated).map_err(|e| ObjectError::Api(e.to_string()))?;
        match objects::retrying(|| api.replace(&name, &post, &body)).await {
            Ok(written) => {
                // Server-side defaults can make a different-looking spec a
                // no-op; the server then keeps the resourceVersion.
                let unchanged = written.metadata.resource_version
                    == existing["metadata"]["resourceVersion"]
                        .as_str()
                        .map(str::to_string);
                return Ok(if mode == Upsert::ChangesOnly && unchanged {
                    Applied::Unchanged
                } else {
                    Applied::Updated
                });
            }
            Err(kube::Error::Api(s)) if s.code == 409 && attempts < CONFLICT_ATTEMPTS => {
                conflict_pause(attempts).await;
                continue;
            }
            Err(e) => return Err(classify(e)),
        }
    }
}

/// Creates `secret`, or replaces the existing one's `stringData` and merges
/// in its labels and annotations (the existing type is kept), as upstream.
pub async fn upsert_secret(client: &kube::Client, secret: &Secret) -> anyhow::Result<()> {
    let namespace = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let failed = |e| WriteError::new("secret", &format!("{namespace}/{name}"), e);
    let post = PostParams::default();
    for attempt in 1..=CONFLICT_ATTEMPTS {
        if attempt > 1 {
            conflict_pause(attempt - 1).await;
        }
        let found = objects::retrying(|| api.get_opt(&name)).await;
        let Some(mut existing) = found.map_err(failed)? else {
            match objects::retrying(|| api.create(&post, secret)).await {
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                result => {
                    result.map_err(failed)?;
                    return Ok(());
                }
            }
        };
        existing.string_data = secret.string_data.clone();
        merge(&mut existing.metadata.labels, &secret.metadata.labels);
        merge(
            &mut existing.metadata.annotations,
            &secret.metadata.annotations,
        );
        match objects::retrying(|| api.replace(&name, &post, &existing)).await {
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            result => {
                result.map_err(failed)?;
                return Ok(());
            }
        }
    }
    bail!("unable to apply secret {namespace}/{name}: it kept changing while being updated")
}

fn merge(into: &mut Option<BTreeMap<String, String>>, from: &Option<BTreeMap<String, String>>) {
    if let Some(from) = from {
        into.get_or_insert_with(BTreeMap::new)
            .extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// Whether the object has settled: upstream's readiness rules, plus a Ready
/// condition that must be True (a False one ends the wait with the
/// controller's message, unless it only waits for another object).
fn settled(spec: &KindSpec, object: &Value) -> Progress {
    match kinds::readiness(spec, object) {
        Progress::Done => {}
        other => return other,
    }
    let Some(ready) = kinds::condition(object, "Ready") else {
        // Kinds without a controller status (static readiness).
        return Progress::Done;
    };
    let reason = ready["reason"].as_str().unwrap_or_default();
    match ready["status"].as_str() {
        Some("True") => Progress::Done,
        Some("False") if !WAITING_REASONS.contains(&reason) => {
            Progress::Failed(ready["message"].as_str().unwrap_or_default().to_string())
        }
        _ => Progress::Pending,
    }
}

/// Upserts `object` and waits for it, printing the applying, created or
/// updated, and waiting lines. Returns the object as it was when Ready.
pub async fn apply_and_wait(
    ctx: &Ctx,
    client: &kube::Client,
    object: &Value,
    lines: &Lines,
) -> anyhow::Result<Value> {
    let spec = kind_of(object)?;
    let (namespace, name) = name_of(object);
    ctx.printer.action(&format!("applying {}", lines.applying));
    match upsert(client, spec, object, lines.upsert).await? {
        Applied::Created => ctx.printer.success(&format!("{} created", lines.applied)),
        Applied::Updated => ctx.printer.success(&format!("{} updated", lines.applied)),
        Applied::Unchanged => {}
    }
    ctx.printer
        .waiting(&format!("waiting for {} reconciliation", lines.waiting));
    let api = objects::api(client.clone(), spec, Some(&namespace));
    // A time-out keeps upstream's line; the warning before it (printed at
    // the end of the run) carries the object's last Ready reason and message.
    let outcome = objects::wait_for(spec, &api, &namespace, &name, ctx.remaining(), |o| {
        settled(spec, o)
    })
    .await;
    match outcome {
        Ok(object) => Ok(object),
        Err(ObjectError::Failed(message)) => {
            bail!("{} reconciliation failed: {message}", spec.kind)
        }
        Err(err) => Err(err.into()),
    }
}

/// `✔ fetched revision: <rev>` of a source, or `missing` as the error when
/// the source has no artifact.
pub fn fetched_revision(ctx: &Ctx, object: &Value, missing: &str) -> anyhow::Result<()> {
    let Some(revision) = object["status"]["artifact"]["revision"].as_str() else {
        bail!("{missing}");
    };
    ctx.printer
        .success(&format!("fetched revision: {revision}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(status: Value) -> Value {
        json!({"kind": "Kustomization", "metadata": {"generation": 1}, "status": status})
    }

    #[test]
    fn ready_false_fails_unless_it_waits_for_another_object() {
        let spec = kinds::by_kind("Kustomization").unwrap();
        let failed = object(json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "kustomize build failed", "observedGeneration": 1}
        ]}));
        assert_eq!(
            settled(spec, &failed),
            Progress::Failed("kustomize build failed".into())
        );
        let waiting = object(json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "False", "reason": "DependencyNotReady", "message": "dependency 'a/b' is not ready", "observedGeneration": 1}
        ]}));
        assert_eq!(settled(spec, &waiting), Progress::Pending);
        let ready = object(json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "ok", "observedGeneration": 1}
        ]}));
        assert_eq!(settled(spec, &ready), Progress::Done);
        assert_eq!(settled(spec, &object(json!({}))), Progress::Pending);
    }

    #[test]
    fn static_kinds_without_status_are_ready_at_once() {
        let spec = kinds::by_kind("Alert").unwrap();
        let alert = json!({"kind": "Alert", "metadata": {"generation": 1}});
        assert_eq!(settled(spec, &alert), Progress::Done);
    }

    #[test]
    fn json_of_new_objects_has_no_status() {
        let value = to_json(&json!({"kind": "X", "metadata": {"name": "a", "creationTimestamp": null}, "status": {}})).unwrap();
        assert_eq!(value, json!({"kind": "X", "metadata": {"name": "a"}}));
    }
}
