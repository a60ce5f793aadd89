//! Simulated controllers: the Flux toolkit controllers and a Deployment controller. They run as
//! tokio tasks fed by watches through the HTTP API and write what the real controllers write to
//! status.

mod api;
mod apply;
mod build;
mod deployment;
mod flux;
mod git;
mod helm;
mod oci;
mod receiver;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::logs::Logs;
use crate::store::{meta_str, now, random_suffix};

pub use apply::apply_to_store;
pub use build::parse_docs;

/// How the simulated controllers behave; see [`spawn_controllers`].
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// How long a simulated controller takes to handle a reconcile.
    pub reconcile_delay: Duration,
    /// How long a Deployment takes to become available.
    pub deployment_delay: Duration,
    /// Where local fetches of loopback Git servers are kept.
    pub git_cache: PathBuf,
    /// Where the controllers' pods' log lines go; None drops them (only testenv's own server
    /// serves pod logs).
    pub logs: Option<Arc<Logs>>,
    /// Where notification-controller's webhook receiver listens (port 0 picks a free one).
    pub receiver_addr: SocketAddr,
}

/// The address of notification-controller's webhook receiver by default: loopback, any port.
pub const DEFAULT_RECEIVER_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

pub struct Ctx {
    api: api::Api,
    logs: Option<Arc<Logs>>,
    reconcile_delay: Duration,
    deployment_delay: Duration,
    git_cache: PathBuf,
}

/// How long blocking work (a Git fetch, a manifest build) may take before the reconcile gives up.
const BLOCKING_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` on the blocking pool, so a hung Git server cannot stall the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    match tokio::time::timeout(BLOCKING_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("internal error: {e}")),
        Err(_) => Err(format!("timed out after {}s", BLOCKING_TIMEOUT.as_secs())),
    }
}

/// Server-side applies multi-document YAML through `client` as `manager`, CRDs and Namespaces
/// first, waiting for a CRD of the set to be served before its objects.
pub async fn apply_yaml(client: kube::Client, yaml: &str, manager: &str) -> Result<(), String> {
    let docs = parse_docs(yaml, "input")?;
    apply::apply_docs(&api::Api::new(client), docs, manager, &[], None).await?;
    Ok(())
}

/// Starts the simulated Flux controllers and the Deployment controller against the API server
/// `client` talks to (testenv's own or a real kube-apiserver), and notification-controller's
/// webhook receiver on `options.receiver_addr`; they stop when `shutdown` flips. Returns the
/// receiver's address. Must be called on a tokio runtime.
pub fn spawn_controllers(
    client: kube::Client,
    options: ControllerOptions,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(options.receiver_addr)?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let receiver_addr = listener.local_addr()?;
    let ctx = Arc::new(Ctx {
        api: api::Api::new(client),
        logs: options.logs,
        reconcile_delay: options.reconcile_delay,
        deployment_delay: options.deployment_delay,
        git_cache: options.git_cache,
    });
    tokio::spawn(flux::run(ctx.clone(), shutdown.clone()));
    tokio::spawn(receiver::serve(listener, ctx.clone(), shutdown.clone()));
    tokio::spawn(deployment::run(ctx, shutdown));
    Ok(receiver_addr)
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
pub async fn log(ctx: &Ctx, controller: &str, level: &str, msg: &str, obj: &Value) {
    let Some(logs) = &ctx.logs else {
        return;
    };
    let selector = format!("app={controller}");
    let Ok(pods) = ctx
        .api
        .list("", "pods", Some("flux-system"), Some(&selector))
        .await
    else {
        return;
    };
    let targets: Vec<String> = pods
        .iter()
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
        logs.append("flux-system", &pod, text.clone());
    }
}

/// Records a core/v1 Event about `obj`, as the controllers' event recorders do.
pub async fn event(
    ctx: &Ctx,
    component: &str,
    obj: &Value,
    warning: bool,
    reason: &str,
    message: &str,
) {
    let Some(res) = ctx.api.resolve("", "events").await else {
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
    // Events are best effort, as with the controllers' recorders.
    let _ = ctx.api.create(&res, ns, &ev).await;
}
