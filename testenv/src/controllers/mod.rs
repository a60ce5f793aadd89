//! Simulated controllers: the Flux toolkit controllers and a Deployment controller. They run as
//! tokio tasks fed by store events and write what the real controllers write to status.

mod apply;
mod build;
mod deployment;
mod flux;
mod git;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::logs::Logs;
use crate::store::{Store, WriteOpts, meta_str, now, random_suffix};

pub use apply::apply_docs;
pub use build::parse_docs;

pub struct Ctx {
    pub store: Arc<Store>,
    pub logs: Arc<Logs>,
    pub reconcile_delay: Duration,
    pub deployment_delay: Duration,
    /// Local fetches of loopback Git servers.
    pub git_cache: PathBuf,
}

/// Starts the controllers; they stop when `shutdown` flips.
pub fn spawn(ctx: Arc<Ctx>, shutdown: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(flux::run(ctx.clone(), shutdown.clone()));
    tokio::spawn(deployment::run(ctx, shutdown));
}

pub fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn uuid() -> String {
    let h = sha256_hex(format!("{}{}", random_suffix(16), now()).as_bytes());
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Appends a JSON log line in controller-runtime's format to the pods of `controller` in
/// flux-system (if it runs there).
pub fn log(ctx: &Ctx, controller: &str, level: &str, msg: &str, obj: &Value) {
    let Some(pods) = ctx.store.def("", "pods") else {
        return;
    };
    let (items, _) = ctx.store.list(&pods, Some("flux-system"));
    let targets: Vec<String> = items
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"].as_str() == Some(controller))
        .map(|p| meta_str(p, "name").to_string())
        .collect();
    if targets.is_empty() {
        return;
    }
    let kind = obj["kind"].as_str().unwrap_or_default();
    let group = obj["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    let (name, ns) = (meta_str(obj, "name"), meta_str(obj, "namespace"));
    let mut line = json!({
        "level": level,
        "ts": jiff::Timestamp::now().to_string(),
        "msg": msg,
        "controller": kind.to_lowercase(),
        "controllerGroup": group,
        "controllerKind": kind,
        "name": name,
        "namespace": ns,
        "reconcileID": uuid(),
    });
    line[kind] = json!({"name": name, "namespace": ns});
    let text = line.to_string();
    for pod in targets {
        ctx.logs.append("flux-system", &pod, text.clone());
    }
}

/// Records a core/v1 Event about `obj`, as the controllers' event recorders do.
pub fn event(ctx: &Ctx, component: &str, obj: &Value, warning: bool, reason: &str, message: &str) {
    let Some(def) = ctx.store.def("", "events") else {
        return;
    };
    let ns = match meta_str(obj, "namespace") {
        "" => "default",
        n => n,
    };
    let now = now();
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{}", meta_str(obj, "name"), &sha256_hex(format!("{now}{message}{}", random_suffix(8)).as_bytes())[..16]), "namespace": ns},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta_str(obj, "name"),
            "namespace": meta_str(obj, "namespace"),
            "uid": meta_str(obj, "uid"),
            "resourceVersion": meta_str(obj, "resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": format!("{component}-{}", random_suffix(5)),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let _ = ctx.store.create(&def, ns, ev, &WriteOpts::default());
}
