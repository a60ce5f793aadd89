//! The Flux controllers: sources, Kustomization, HelmRelease, Receiver and the image kinds.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::api::{self, Res, Seen};
use super::{Ctx, apply, blocking, build, event, git, helm, log, oci, sha256_hex};
use crate::store::{meta_str, now};

const SOURCE: &str = "source.toolkit.fluxcd.io";
const FINALIZER: &str = "finalizers.fluxcd.io";
const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";

/// (group, plural, controller) of every kind simulated here.
const KINDS: [(&str, &str, &str); 12] = [
    (SOURCE, "gitrepositories", "source-controller"),
    (SOURCE, "ocirepositories", "source-controller"),
    (SOURCE, "helmrepositories", "source-controller"),
    (SOURCE, "helmcharts", "source-controller"),
    (SOURCE, "buckets", "source-controller"),
    (
        "kustomize.toolkit.fluxcd.io",
        "kustomizations",
        "kustomize-controller",
    ),
    ("helm.toolkit.fluxcd.io", "helmreleases", "helm-controller"),
    (
        "notification.toolkit.fluxcd.io",
        "receivers",
        "notification-controller",
    ),
    (
        "image.toolkit.fluxcd.io",
        "imagerepositories",
        "image-reflector-controller",
    ),
    (
        "image.toolkit.fluxcd.io",
        "imagepolicies",
        "image-reflector-controller",
    ),
    (
        "image.toolkit.fluxcd.io",
        "imageupdateautomations",
        "image-automation-controller",
    ),
    (SOURCE_EXTENSIONS, "artifactgenerators", "source-watcher"),
];

const SOURCE_EXTENSIONS: &str = "source.extensions.fluxcd.io";

type Key = (String, String, String, String);

/// Kinds whose objects read the status of `plural`'s objects, and so are re-queued with them.
fn dependents(plural: &str) -> &'static [&'static str] {
    match plural {
        "gitrepositories" | "ocirepositories" | "buckets" => &[
            "kustomizations",
            "helmcharts",
            "helmreleases",
            "artifactgenerators",
        ],
        "helmrepositories" => &["helmcharts"],
        "helmcharts" => &["helmreleases"],
        "kustomizations" => &["kustomizations"],
        "helmreleases" => &["helmreleases"],
        "imagerepositories" => &["imagepolicies"],
        _ => &[],
    }
}

/// What became of a reconcile.
enum Step {
    Done,
    /// The object no longer exists.
    Gone,
    /// The API server could not be reached or read; try again shortly.
    Retry,
}

pub async fn run(ctx: Arc<Ctx>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (g, p, _) in KINDS {
        let (ctx, tx, shutdown) = (ctx.clone(), tx.clone(), shutdown.clone());
        tokio::spawn(async move { ctx.api.watch(g, p, tx, shutdown).await });
    }
    drop(tx);
    // Every object the watches reported, with its `spec.interval`.
    let mut known: HashMap<Key, Duration> = HashMap::new();
    let mut dirty: BTreeSet<Key> = BTreeSet::new();
    let mut retry: BTreeSet<Key> = BTreeSet::new();
    let mut last_run: HashMap<Key, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        // Take everything queued, then work through it.
        while let Ok(seen) = rx.try_recv() {
            queue(&mut known, &mut dirty, seen);
        }
        if let Some(key) = dirty.pop_first() {
            let step = tokio::select! {
                step = reconcile(&ctx, &key) => step,
                _ = shutdown.changed() => return,
            };
            match step {
                Step::Done => {}
                Step::Gone => {
                    known.remove(&key);
                    last_run.remove(&key);
                    continue;
                }
                Step::Retry => {
                    retry.insert(key.clone());
                }
            }
            last_run.insert(key, Instant::now());
            continue;
        }
        tokio::select! {
            seen = rx.recv() => match seen {
                Some(seen) => queue(&mut known, &mut dirty, seen),
                None => return,
            },
            _ = tick.tick() => due(&known, &mut dirty, &mut retry, &last_run),
            _ = shutdown.changed() => return,
        }
    }
}

/// Go durations as in `spec.interval` ("1m", "1h30m", "10s", "500ms").
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..u] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += value * secs;
        rest = &rest[u..];
    }
    Some(Duration::from_secs_f64(total))
}

/// Queues the objects whose `spec.interval` has passed since they were last reconciled, as the
/// controllers requeue after every successful reconcile, and those whose reconcile could not
/// reach the API server.
fn due(
    known: &HashMap<Key, Duration>,
    dirty: &mut BTreeSet<Key>,
    retry: &mut BTreeSet<Key>,
    last_run: &HashMap<Key, Instant>,
) {
    for (key, interval) in known {
        if last_run
            .get(key)
            .is_some_and(|t| t.elapsed() >= (*interval).max(Duration::from_secs(1)))
        {
            dirty.insert(key.clone());
        }
    }
    for key in std::mem::take(retry) {
        if known.contains_key(&key) {
            dirty.insert(key);
        }
    }
}

fn controller_of(group: &str, plural: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(g, p, _)| *g == group && *p == plural)
        .map(|(_, _, c)| *c)
}

fn queue(known: &mut HashMap<Key, Duration>, dirty: &mut BTreeSet<Key>, seen: Seen) {
    let Seen {
        group,
        plural,
        obj,
        deleted,
    } = seen;
    let key: Key = (
        group.into(),
        plural.into(),
        meta_str(&obj, "namespace").into(),
        meta_str(&obj, "name").into(),
    );
    if deleted {
        known.remove(&key);
    } else {
        let interval = obj["spec"]["interval"]
            .as_str()
            .and_then(parse_duration)
            .unwrap_or(Duration::from_secs(600));
        known.insert(key.clone(), interval);
        dirty.insert(key);
    }
    for dep in dependents(plural) {
        dirty.extend(known.keys().filter(|k| k.1 == *dep).cloned());
    }
}

fn plural_of(kind: &str) -> &'static str {
    match kind {
        "GitRepository" => "gitrepositories",
        "OCIRepository" => "ocirepositories",
        "HelmRepository" => "helmrepositories",
        "HelmChart" => "helmcharts",
        "Bucket" => "buckets",
        "ExternalArtifact" => "externalartifacts",
        _ => "",
    }
}

fn condition(obj: &Value, t: &str) -> Option<Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
        .cloned()
}

fn is_ready(obj: &Value) -> bool {
    condition(obj, "Ready").is_some_and(|c| c["status"] == "True")
        && obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
}

/// What a reconcile arrived at.
struct Outcome {
    ready: bool,
    reason: String,
    message: String,
    /// Status fields besides conditions, observedGeneration and lastHandled*.
    fields: Map<String, Value>,
    /// Extra conditions (ArtifactInStorage, Released, ...).
    extra: Vec<(String, bool, String)>,
}

impl Outcome {
    fn ok(reason: &str, message: String) -> Self {
        Outcome {
            ready: true,
            reason: reason.into(),
            message,
            fields: Map::new(),
            extra: vec![],
        }
    }
    fn fail(reason: &str, message: String) -> Self {
        Outcome {
            ready: false,
            reason: reason.into(),
            message,
            fields: Map::new(),
            extra: vec![],
        }
    }
    fn with(mut self, k: &str, v: Value) -> Self {
        self.fields.insert(k.into(), v);
        self
    }
}

fn cond(t: &str, ok: bool, reason: &str, message: &str, generation: &Value, now: &str) -> Value {
    json!({
        "type": t,
        "status": if ok { "True" } else { "False" },
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now,
    })
}

/// Status without the timestamps that change on every write.
fn stable(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "lastTransitionTime"
                            | "lastUpdateTime"
                            | "scanTime"
                            | "lastAutomationRunTime"
                            | "lastDeployed"
                            | "firstDeployed"
                    )
                })
                .map(|(k, v)| (k.clone(), stable(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(stable).collect()),
        other => other.clone(),
    }
}

async fn write_status(ctx: &Ctx, res: &Res, obj: &Value, controller: &str, status: Value) -> bool {
    ctx.api
        .update(res, obj, controller, true, |o| o["status"] = status.clone())
        .await
        .unwrap_or(false)
}

/// False when the write failed.
async fn set_finalizer(ctx: &Ctx, res: &Res, obj: &Value, present: bool) -> bool {
    let edit = |o: &mut Value| {
        let mut fins: Vec<Value> = o["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        fins.retain(|f| f != FINALIZER);
        if present {
            fins.push(json!(FINALIZER));
        }
        if fins.is_empty() {
            o["metadata"]
                .as_object_mut()
                .map(|m| m.remove("finalizers"));
        } else {
            o["metadata"]["finalizers"] = Value::Array(fins);
        }
    };
    ctx.api
        .update(res, obj, "flux-controller", false, edit)
        .await
        .is_ok()
}

async fn reconcile(ctx: &Ctx, key: &Key) -> Step {
    let (group, plural, ns, name) = key;
    let Some(res) = ctx.api.resolve(group, plural).await else {
        return Step::Retry;
    };
    let obj = match ctx.api.get(&res, ns, name).await {
        Ok(Some(o)) => o,
        Ok(None) => return Step::Gone,
        Err(_) => return Step::Retry,
    };
    let controller = controller_of(group, plural).unwrap_or("flux");
    let has_finalizer = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
    if obj["metadata"].get("deletionTimestamp").is_some() {
        if has_finalizer {
            finalize(ctx, &obj).await;
            if !set_finalizer(ctx, &res, &obj, false).await {
                return Step::Retry;
            }
            log(
                ctx,
                controller,
                "info",
                "garbage collection completed",
                &obj,
            )
            .await;
        }
        return Step::Done;
    }
    if obj["spec"]["suspend"].as_bool() == Some(true) {
        return Step::Done;
    }
    if !has_finalizer {
        // Queued again by the metadata write.
        return match set_finalizer(ctx, &res, &obj, true).await {
            true => Step::Done,
            false => Step::Retry,
        };
    }
    let annotations = obj["metadata"]["annotations"].clone();
    let requested = annotations[REQUESTED_AT].as_str().map(String::from);
    let status = obj["status"].clone();
    let request_pending =
        requested.is_some() && requested.as_deref() != status["lastHandledReconcileAt"].as_str();
    let generation = obj["metadata"]["generation"].clone();
    let plural_str = plural.as_str();
    // ArtifactGenerator's status has no observedGeneration (the API server drops it).
    let tracks_generation = plural_str != "artifactgenerators";
    let gen_changed = tracks_generation && status["observedGeneration"] != generation;
    let helm_pending = plural_str == "helmreleases"
        && (annotations[FORCE_AT]
            .as_str()
            .is_some_and(|f| Some(f) != status["lastHandledForceAt"].as_str())
            || annotations[RESET_AT]
                .as_str()
                .is_some_and(|r| Some(r) != status["lastHandledResetAt"].as_str()));
    let mut obj = obj;
    if (request_pending || gen_changed || helm_pending) && !ctx.reconcile_delay.is_zero() {
        // Progressing first, as kstatus-aware controllers report while they work.
        let mut s = status;
        if !s.is_object() {
            s = json!({});
        }
        let now = now();
        let mut conds: Vec<Value> = s["conditions"].as_array().cloned().unwrap_or_default();
        conds.retain(|c| c["type"] != "Ready" && c["type"] != "Reconciling");
        conds.insert(
            0,
            cond(
                "Reconciling",
                true,
                "Progressing",
                "Reconciliation in progress",
                &generation,
                &now,
            ),
        );
        conds.insert(0, json!({"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": "Reconciliation in progress", "observedGeneration": generation, "lastTransitionTime": now}));
        s["conditions"] = Value::Array(conds);
        write_status(ctx, &res, &obj, controller, s).await;
        tokio::time::sleep(ctx.reconcile_delay).await;
        match ctx.api.get(&res, ns, name).await {
            Ok(Some(o)) => obj = o,
            Ok(None) => return Step::Gone,
            Err(_) => return Step::Retry,
        }
    }
    let outcome = match plural_str {
        "gitrepositories" => git_repository(ctx, &obj).await,
        "ocirepositories" => oci_repository(&obj).await,
        "helmrepositories" => helm_repository(&obj),
        "helmcharts" => helm_chart(ctx, &obj).await,
        "buckets" => bucket(&obj),
        "kustomizations" => kustomization(ctx, &obj).await,
        "helmreleases" => helm_release(ctx, &obj).await,
        "receivers" => receiver(ctx, &obj).await,
        "imagerepositories" => image_repository(&obj),
        "imagepolicies" => image_policy(ctx, &obj).await,
        "artifactgenerators" => artifact_generator(ctx, &obj).await,
        _ => image_update_automation(),
    };
    // A Receiver waiting for its token Secret is tried again shortly, as upstream requeues
    // with backoff after an error.
    let done = match plural_str == "receivers" && !outcome.ready {
        true => Step::Retry,
        false => Step::Done,
    };
    let now = now();
    let old = &obj["status"];
    let mut status = json!({});
    for (k, v) in &outcome.fields {
        status[k] = v.clone();
    }
    let mut conds = vec![cond(
        "Ready",
        outcome.ready,
        &outcome.reason,
        &outcome.message,
        &generation,
        &now,
    )];
    for (t, ok, reason) in &outcome.extra {
        conds.push(cond(t, *ok, reason, &outcome.message, &generation, &now));
    }
    // A condition keeps its lastTransitionTime while its status holds.
    for c in conds.iter_mut() {
        if let Some(prev) = condition(&obj, c["type"].as_str().unwrap_or_default())
            && prev["status"] == c["status"]
            && prev["lastTransitionTime"].is_string()
        {
            c["lastTransitionTime"] = prev["lastTransitionTime"].clone();
        }
    }
    status["conditions"] = Value::Array(conds);
    if tracks_generation {
        status["observedGeneration"] = generation.clone();
    }
    for (field, value) in [
        ("lastHandledReconcileAt", requested.clone()),
        (
            "lastHandledForceAt",
            annotations[FORCE_AT].as_str().map(String::from),
        ),
        (
            "lastHandledResetAt",
            annotations[RESET_AT].as_str().map(String::from),
        ),
    ] {
        if field != "lastHandledReconcileAt" && plural_str != "helmreleases" {
            continue;
        }
        match value {
            Some(v) => status[field] = json!(v),
            None => {
                if let Some(v) = old.get(field) {
                    status[field] = v.clone();
                }
            }
        }
    }
    if stable(&status) == stable(old) {
        return done;
    }
    let ready_changed = condition(&obj, "Ready").is_none_or(|c| {
        c["status"] != status["conditions"][0]["status"] || c["message"] != json!(outcome.message)
    });
    if write_status(ctx, &res, &obj, controller, status).await && ready_changed {
        let event_reason =
            if outcome.ready && (plural_str.ends_with("repositories") || plural_str == "buckets") {
                "NewArtifact"
            } else {
                outcome.reason.as_str()
            };
        event(
            ctx,
            controller,
            &obj,
            !outcome.ready,
            event_reason,
            &outcome.message,
        )
        .await;
        log(
            ctx,
            controller,
            if outcome.ready { "info" } else { "error" },
            &outcome.message,
            &obj,
        )
        .await;
    }
    done
}

/// Cleanup on deletion: a Kustomization with prune deletes what it applied; a HelmRelease its chart.
async fn finalize(ctx: &Ctx, obj: &Value) {
    match obj["kind"].as_str() {
        Some("Kustomization") if obj["spec"]["prune"].as_bool() == Some(true) => {
            let old = obj["status"]["inventory"]["entries"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            apply::prune(&ctx.api, &old, &[]).await;
        }
        Some("HelmRelease") => {
            helm::uninstall(&ctx.api, obj).await;
            if let Some(chart) = obj["status"]["helmChart"].as_str()
                && let Some((ns, name)) = chart.split_once('/')
                && let Some(res) = ctx.api.resolve(SOURCE, "helmcharts").await
            {
                // Best effort, as helm-controller's: a chart left behind is harmless.
                let _ = ctx.api.delete(&res, ns, name).await;
            }
        }
        _ => {}
    }
}

fn artifact(kind_dir: &str, obj: &Value, revision: &str, file: &str) -> Value {
    let path = format!(
        "{kind_dir}/{}/{}/{file}",
        meta_str(obj, "namespace"),
        meta_str(obj, "name")
    );
    let digest = sha256_hex(format!("{path}{revision}").as_bytes());
    json!({
        "path": path,
        "url": format!("http://source-controller.flux-system.svc.cluster.local./{path}"),
        "revision": revision,
        "digest": format!("sha256:{digest}"),
        "lastUpdateTime": now(),
        "size": 1024 + (git::fnv(digest.as_bytes()) % 65536),
    })
}

fn source_ready(message: String, art: Value) -> Outcome {
    let mut o = Outcome::ok("Succeeded", message).with("artifact", art);
    o.extra
        .push(("ArtifactInStorage".into(), true, "Succeeded".into()));
    o
}

async fn git_repository(ctx: &Ctx, obj: &Value) -> Outcome {
    let url = obj["spec"]["url"].as_str().unwrap_or_default();
    let git_ref = obj["spec"]["ref"].clone();
    if url.is_empty() || !(url.contains("://") || url.starts_with('/') || url.contains('@')) {
        return Outcome::fail("URLInvalid", format!("invalid URL '{url}'"));
    }
    let auth = match git_auth(ctx, obj).await {
        Ok(a) => a,
        Err(m) => return Outcome::fail("AuthenticationFailed", m),
    };
    let resolved = if git::is_local(url) {
        let (url, git_ref, cache) = (url.to_string(), git_ref.clone(), ctx.git_cache.clone());
        blocking(move || git::resolve(&url, &git_ref, &auth, &cache)).await
    } else {
        // Unreachable from here: a stable made-up commit for the URL and ref.
        let commit: String = sha256_hex(format!("{url}{git_ref}").as_bytes())[..40].to_string();
        let s = |k: &str| {
            git_ref
                .get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let label = s("name")
            .or(s("tag"))
            .or(s("semver").map(|_| "v1.0.0".to_string()))
            .or(s("branch"));
        let revision = match (s("commit"), label) {
            (Some(c), Some(l)) => format!("{l}@sha1:{c}"),
            (Some(c), None) => format!("sha1:{c}"),
            (None, Some(l)) => format!("{l}@sha1:{commit}"),
            (None, None) => format!("master@sha1:{commit}"),
        };
        Ok(git::Resolved {
            revision,
            commit,
            repo: Default::default(),
        })
    };
    match resolved {
        Ok(r) => {
            let art = artifact(
                "gitrepository",
                obj,
                &r.revision,
                &format!("{}.tar.gz", r.commit),
            );
            source_ready(
                format!("stored artifact for revision '{}'", r.revision),
                art,
            )
        }
        Err(message) => {
            let mut o = Outcome::fail("GitOperationFailed", message);
            o.extra
                .push(("FetchFailed".into(), true, "GitOperationFailed".into()));
            if let Some(a) = obj["status"].get("artifact") {
                o = o.with("artifact", a.clone());
            }
            o
        }
    }
}

/// The decoded data of a GitRepository's `spec.secretRef` Secret, in its namespace.
async fn git_auth(ctx: &Ctx, obj: &Value) -> Result<git::Auth, String> {
    let Some(name) = obj["spec"]["secretRef"]["name"].as_str() else {
        return Ok(git::Auth::new());
    };
    let ns = meta_str(obj, "namespace");
    let secret = ctx.api.find("", "secrets", ns, name).await.ok_or_else(|| {
        format!("failed to get secret '{ns}/{name}': secrets \"{name}\" not found")
    })?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(secret["data"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let bytes = b64.decode(v.as_str()?).ok()?;
            Some((k.clone(), String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect())
}

async fn oci_repository(obj: &Value) -> Outcome {
    // The schema admits oci:// URLs only.
    let url = obj["spec"]["url"].as_str().unwrap_or_default();
    let r = &obj["spec"]["ref"];
    if oci::is_local(url) {
        // A registry on this machine is really pulled: the revision is the
        // manifest's digest, as source-controller records it.
        let (url_owned, r_owned) = (url.to_string(), r.clone());
        return match blocking(move || oci::pull(&url_owned, &r_owned)).await {
            Ok(pulled) => {
                let hex = &pulled.revision[pulled.revision.len() - 64..];
                let art = artifact(
                    "ocirepository",
                    obj,
                    &pulled.revision,
                    &format!("{}.tar.gz", &hex[..32]),
                );
                source_ready(
                    format!("stored artifact for digest '{}'", pulled.revision),
                    art,
                )
            }
            Err(message) => {
                let mut o = Outcome::fail("OCIArtifactPullFailed", message);
                o.extra
                    .push(("FetchFailed".into(), true, "OCIArtifactPullFailed".into()));
                if let Some(a) = obj["status"].get("artifact") {
                    o = o.with("artifact", a.clone());
                }
                o
            }
        };
    }
    let digest = sha256_hex(format!("{url}{r}").as_bytes());
    let revision = match (
        r["digest"].as_str(),
        r["tag"].as_str(),
        r["semver"].as_str(),
    ) {
        (Some(d), _, _) => d.to_string(),
        (None, Some(t), _) => format!("{t}@sha256:{digest}"),
        (None, None, Some(_)) => format!("1.0.0@sha256:{digest}"),
        _ => format!("latest@sha256:{digest}"),
    };
    let art = artifact(
        "ocirepository",
        obj,
        &revision,
        &format!("{}.tar.gz", &digest[..32]),
    );
    source_ready(format!("stored artifact for digest '{revision}'"), art)
}

fn helm_repository(obj: &Value) -> Outcome {
    let url = obj["spec"]["url"].as_str().unwrap_or_default();
    if obj["spec"]["type"] == "oci" {
        if !url.starts_with("oci://") {
            return Outcome::fail(
                "URLInvalid",
                format!("URL must be in format 'oci://<domain>/<org>/<repo>': {url}"),
            );
        }
        return Outcome::ok("Succeeded", "Helm repository is ready".into());
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Outcome::fail(
            "URLInvalid",
            format!(
                "invalid Helm repository URL: scheme \"{}\" not supported",
                url.split("://").next().unwrap_or_default()
            ),
        );
    }
    let revision = format!("sha256:{}", sha256_hex(url.as_bytes()));
    let art = artifact(
        "helmrepository",
        obj,
        &revision,
        &format!("index-{}.yaml", &revision[7..23]),
    );
    source_ready(format!("stored artifact: revision '{revision}'"), art)
}

fn bucket(obj: &Value) -> Outcome {
    let spec = &obj["spec"];
    let revision = format!(
        "sha256:{}",
        sha256_hex(
            format!(
                "{}{}{}",
                spec["endpoint"], spec["bucketName"], spec["prefix"]
            )
            .as_bytes()
        )
    );
    let art = artifact(
        "bucket",
        obj,
        &revision,
        &format!("{}.tar.gz", &revision[7..39]),
    );
    source_ready(format!("stored artifact for revision '{revision}'"), art)
}

/// The source a Kustomization or HelmChart points at, if it has an artifact.
async fn source_artifact(
    ctx: &Ctx,
    obj: &Value,
    source_ref: &Value,
) -> Result<(Value, Value), Outcome> {
    let kind = source_ref["kind"].as_str().unwrap_or_default();
    let name = source_ref["name"].as_str().unwrap_or_default();
    let ns = source_ref["namespace"]
        .as_str()
        .unwrap_or(meta_str(obj, "namespace"));
    let Some(src) = ctx.api.find(SOURCE, plural_of(kind), ns, name).await else {
        return Err(Outcome::fail(
            "ArtifactFailed",
            format!("Source '{kind}/{ns}/{name}' not found"),
        ));
    };
    match src["status"].get("artifact").filter(|_| is_ready(&src)) {
        Some(a) => {
            let a = a.clone();
            Ok((src, a))
        }
        None => Err(Outcome::fail(
            "ArtifactFailed",
            "Source artifact not found, retrying in 30s".into(),
        )),
    }
}

/// source-watcher: one ExternalArtifact per `spec.artifacts[]` entry, made
/// from the revisions of the sources, listed in `status.inventory`.
async fn artifact_generator(ctx: &Ctx, obj: &Value) -> Outcome {
    let (name, ns) = (meta_str(obj, "name"), meta_str(obj, "namespace"));
    let mut revisions = String::new();
    for source in obj["spec"]["sources"].as_array().into_iter().flatten() {
        match source_artifact(ctx, obj, source).await {
            Ok((_, art)) => revisions.push_str(art["revision"].as_str().unwrap_or_default()),
            Err(mut o) => {
                o.reason = "SourceFetchFailed".into();
                return o;
            }
        }
    }
    let Some(res) = ctx.api.resolve(SOURCE, "externalartifacts").await else {
        return Outcome::fail(
            "ReconciliationFailed",
            "ExternalArtifact kind is not installed".into(),
        );
    };
    let mut inventory = Vec::new();
    for entry in obj["spec"]["artifacts"].as_array().into_iter().flatten() {
        let artifact_name = entry["name"].as_str().unwrap_or_default();
        let doc = json!({
            "apiVersion": format!("{SOURCE}/v1"),
            "kind": "ExternalArtifact",
            "metadata": {"name": artifact_name, "namespace": ns},
            "spec": {"sourceRef": {
                "apiVersion": format!("{SOURCE_EXTENSIONS}/v1beta1"),
                "kind": "ArtifactGenerator",
                "name": name,
                "namespace": ns,
            }},
        });
        let applied = match ctx.api.apply(&res, ns, &doc, "source-watcher").await {
            Ok(applied) => applied,
            Err(e) => return Outcome::fail("ReconciliationFailed", api::message(&e)),
        };
        let digest = sha256_hex(format!("{artifact_name}{entry}{revisions}").as_bytes());
        let filename = format!("{}.tar.gz", &digest[..32]);
        let art = artifact(
            "externalartifact",
            &applied,
            &format!("latest@sha256:{digest}"),
            &filename,
        );
        let generation = applied["metadata"]["generation"].clone();
        let message = format!("stored artifact for revision 'latest@sha256:{digest}'");
        let status = json!({
            "artifact": art,
            "conditions": [cond("Ready", true, "Succeeded", &message, &generation, &now())],
            "observedGeneration": generation,
        });
        if stable(&status) != stable(&applied["status"]) {
            // An unwritten status shows on the ExternalArtifact; the next
            // reconcile writes it again.
            write_status(ctx, &res, &applied, "source-watcher", status).await;
        }
        inventory.push(json!({
            "name": artifact_name,
            "namespace": ns,
            "digest": art["digest"],
            "filename": filename,
        }));
    }
    let count = inventory.len();
    Outcome::ok(
        "Succeeded",
        format!("reconciliation succeeded, generated {count} artifact(s)"),
    )
    .with("inventory", Value::Array(inventory))
}

async fn helm_chart(ctx: &Ctx, obj: &Value) -> Outcome {
    let spec = &obj["spec"];
    let chart = spec["chart"].as_str().unwrap_or_default();
    let (src, art) = match source_artifact(ctx, obj, &spec["sourceRef"]).await {
        Ok(s) => s,
        Err(mut o) => {
            o.reason = "SourceUnavailable".into();
            return o;
        }
    };
    let wanted = spec["version"].as_str().unwrap_or("*");
    let version = if src["kind"] == "GitRepository" {
        // The version in the chart's own Chart.yaml.
        let url = src["spec"]["url"].as_str().unwrap_or_default().to_string();
        let auth = match git::is_local(&url) {
            true => git_auth(ctx, &src).await.ok(),
            false => None,
        };
        let (git_ref, cache, dir) = (
            src["spec"]["ref"].clone(),
            ctx.git_cache.clone(),
            chart.to_string(),
        );
        let found = match auth {
            Some(auth) => {
                blocking(move || {
                    let r = git::resolve(&url, &git_ref, &auth, &cache)?;
                    let files = git::files(&r, &dir)?;
                    Ok(files
                        .into_iter()
                        .find(|(p, _)| p == "Chart.yaml")
                        .and_then(|(_, text)| serde_saphyr::from_str::<Value>(&text).ok())
                        .and_then(|c| c["version"].as_str().map(String::from)))
                })
                .await
            }
            None => Ok(None),
        };
        found.ok().flatten().unwrap_or_else(|| "0.1.0".into())
    } else if semver::Version::parse(wanted).is_ok() {
        wanted.to_string()
    } else {
        "1.0.0".to_string()
    };
    let revision = version;
    let name = chart.rsplit('/').next().unwrap_or(chart);
    let a = artifact(
        "helmchart",
        obj,
        &revision,
        &format!("{name}-{revision}.tgz"),
    );
    let mut o = Outcome::ok(
        "ChartPullSucceeded",
        format!("pulled '{name}' chart with version '{revision}'"),
    )
    .with("artifact", a);
    o.extra
        .push(("ArtifactInStorage".into(), true, "Succeeded".into()));
    o.fields.insert("observedChartName".into(), json!(name));
    o.fields.insert(
        "observedSourceArtifactRevision".into(),
        art["revision"].clone(),
    );
    o
}

async fn dependencies_ready(
    ctx: &Ctx,
    obj: &Value,
    group: &str,
    plural: &str,
) -> Result<(), Outcome> {
    for d in obj["spec"]["dependsOn"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap_or_default();
        let ns = d["namespace"]
            .as_str()
            .unwrap_or(meta_str(obj, "namespace"));
        let ready = ctx
            .api
            .find(group, plural, ns, name)
            .await
            .is_some_and(|o| is_ready(&o));
        if !ready {
            return Err(Outcome::fail(
                "DependencyNotReady",
                format!("dependency '{ns}/{name}' is not ready"),
            ));
        }
    }
    Ok(())
}

async fn kustomization(ctx: &Ctx, obj: &Value) -> Outcome {
    let spec = &obj["spec"];
    let keep = |mut o: Outcome| {
        for f in ["inventory", "lastAppliedRevision", "lastAttemptedRevision"] {
            if let Some(v) = obj["status"].get(f) {
                o.fields.entry(f).or_insert(v.clone());
            }
        }
        o
    };
    if let Err(o) =
        dependencies_ready(ctx, obj, "kustomize.toolkit.fluxcd.io", "kustomizations").await
    {
        return keep(o);
    }
    let (src, art) = match source_artifact(ctx, obj, &spec["sourceRef"]).await {
        Ok(s) => s,
        Err(o) => return keep(o),
    };
    let revision = art["revision"].as_str().unwrap_or_default().to_string();
    let fail = |m: String| {
        keep(Outcome::fail("BuildFailed", m).with("lastAttemptedRevision", json!(revision)))
    };
    let url = src["spec"]["url"].as_str().unwrap_or_default();
    let docs = if src["kind"] == "GitRepository" && git::is_local(url) {
        let auth = match git_auth(ctx, &src).await {
            Ok(a) => a,
            Err(m) => return fail(m),
        };
        let (url, git_ref, cache) = (
            url.to_string(),
            src["spec"]["ref"].clone(),
            ctx.git_cache.clone(),
        );
        let path = spec["path"].as_str().unwrap_or("./").to_string();
        let substitute = spec["postBuild"]["substitute"].as_object().cloned();
        let built = blocking(move || {
            let resolved = git::resolve(&url, &git_ref, &auth, &cache)?;
            let files = git::files(&resolved, &path)?;
            build::build(files, substitute.as_ref())
        });
        match built.await {
            Ok(d) => d,
            Err(m) => return fail(m),
        }
    } else if src["kind"] == "OCIRepository" && oci::is_local(url) {
        let (url, oci_ref) = (url.to_string(), src["spec"]["ref"].clone());
        let path = spec["path"].as_str().unwrap_or("./").to_string();
        let substitute = spec["postBuild"]["substitute"].as_object().cloned();
        let built = blocking(move || {
            let pulled = oci::pull(&url, &oci_ref)?;
            build::build(oci::under(pulled.files, &path)?, substitute.as_ref())
        });
        match built.await {
            Ok(d) => d,
            Err(m) => return fail(m),
        }
    } else {
        // Sources without local content contribute nothing to apply.
        vec![]
    };
    let (name, ns) = (meta_str(obj, "name"), meta_str(obj, "namespace"));
    let labels = [
        ("kustomize.toolkit.fluxcd.io/name", name),
        ("kustomize.toolkit.fluxcd.io/namespace", ns),
    ];
    let inventory = match apply::apply_docs(
        &ctx.api,
        docs,
        "kustomize-controller",
        &labels,
        spec["targetNamespace"].as_str(),
    )
    .await
    {
        Ok(i) => i,
        Err(m) => {
            return keep(
                Outcome::fail("ReconciliationFailed", m)
                    .with("lastAttemptedRevision", json!(revision)),
            );
        }
    };
    if spec["prune"].as_bool() == Some(true) {
        let old = obj["status"]["inventory"]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        apply::prune(&ctx.api, &old, &inventory).await;
    }
    Outcome::ok(
        "ReconciliationSucceeded",
        format!("Applied revision: {revision}"),
    )
    .with("lastAppliedRevision", json!(revision))
    .with("lastAttemptedRevision", json!(revision))
    .with("inventory", json!({"entries": inventory}))
}

async fn helm_release(ctx: &Ctx, obj: &Value) -> Outcome {
    let spec = &obj["spec"];
    let (name, ns) = (meta_str(obj, "name"), meta_str(obj, "namespace"));
    let keep = |mut o: Outcome| {
        for f in [
            "history",
            "lastAttemptedRevision",
            "helmChart",
            "lastAttemptedGeneration",
            "lastAttemptedConfigDigest",
            "lastAttemptedReleaseAction",
            "storageNamespace",
        ] {
            if let Some(v) = obj["status"].get(f) {
                o.fields.entry(f).or_insert(v.clone());
            }
        }
        o
    };
    if let Err(o) = dependencies_ready(ctx, obj, "helm.toolkit.fluxcd.io", "helmreleases").await {
        return keep(o);
    }
    let (chart_obj, helm_chart) = if let Some(chart_ref) =
        spec.get("chartRef").filter(|c| c.is_object())
    {
        let kind = chart_ref["kind"].as_str().unwrap_or_default();
        let rns = chart_ref["namespace"].as_str().unwrap_or(ns);
        let rname = chart_ref["name"].as_str().unwrap_or_default();
        match ctx.api.find(SOURCE, plural_of(kind), rns, rname).await {
            Some(o) => (o, None),
            None => {
                return keep(Outcome::fail(
                    "SourceNotReady",
                    format!("could not get Source object: {kind} '{rns}/{rname}' not found"),
                ));
            }
        }
    } else {
        let cs = &spec["chart"]["spec"];
        let src_ns = cs["sourceRef"]["namespace"].as_str().unwrap_or(ns);
        let chart_name = format!("{ns}-{name}");
        let Some(res) = ctx.api.resolve(SOURCE, "helmcharts").await else {
            return keep(Outcome::fail(
                "SourceNotReady",
                "HelmChart kind is not installed".into(),
            ));
        };
        let mut chart_spec = json!({
            "chart": cs["chart"],
            "version": cs["version"].as_str().unwrap_or("*"),
            "sourceRef": {"kind": cs["sourceRef"]["kind"], "name": cs["sourceRef"]["name"]},
            "interval": cs["interval"].as_str().unwrap_or(spec["interval"].as_str().unwrap_or("10m")),
            "reconcileStrategy": cs["reconcileStrategy"].as_str().unwrap_or("ChartVersion"),
        });
        if let Some(v) = cs.get("valuesFiles") {
            chart_spec["valuesFiles"] = v.clone();
        }
        let doc = json!({
            "apiVersion": format!("{SOURCE}/v1"),
            "kind": "HelmChart",
            "metadata": {"name": chart_name, "namespace": src_ns, "labels": {"helm.toolkit.fluxcd.io/name": name, "helm.toolkit.fluxcd.io/namespace": ns}},
            "spec": chart_spec,
        });
        match ctx.api.apply(&res, src_ns, &doc, "helm-controller").await {
            Ok(o) => (o, Some(format!("{src_ns}/{chart_name}"))),
            Err(e) => return keep(Outcome::fail("SourceNotReady", api::message(&e))),
        }
    };
    let chart_kind = chart_obj["kind"].as_str().unwrap_or_default().to_string();
    if !is_ready(&chart_obj) {
        let mut o = keep(Outcome::fail(
            "SourceNotReady",
            format!(
                "{chart_kind} '{}/{}' is not ready",
                meta_str(&chart_obj, "namespace"),
                meta_str(&chart_obj, "name")
            ),
        ));
        if let Some(h) = &helm_chart {
            o.fields.insert("helmChart".into(), json!(h));
        }
        return o;
    }
    let revision = chart_obj["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or("0.1.0")
        .to_string();
    let chart_name = chart_obj["status"]["observedChartName"]
        .as_str()
        .or(chart_obj["spec"]["chart"].as_str())
        .unwrap_or(meta_str(&chart_obj, "name"))
        .to_string();
    let release = spec["releaseName"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| match spec["targetNamespace"].as_str() {
            Some(t) => format!("{t}-{name}"),
            None => name.to_string(),
        });
    // Defaults to the HelmRelease's namespace, not the target namespace.
    let storage_ns = spec["storageNamespace"].as_str().unwrap_or(ns).to_string();
    let config_digest = format!(
        "sha256:{}",
        sha256_hex(spec["values"].to_string().as_bytes())
    );
    let history: Vec<Value> = obj["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let last = history.first();
    let force = spec_annotation_pending(obj, FORCE_AT, "lastHandledForceAt");
    let changed = last.is_none_or(|l| {
        l["chartVersion"] != json!(revision) || l["configDigest"] != json!(config_digest)
    }) || force;
    let mut o = if changed {
        let version = last.and_then(|l| l["version"].as_u64()).unwrap_or(0) + 1;
        let action = if last.is_none() { "install" } else { "upgrade" };
        let now = now();
        let release_ns = spec["targetNamespace"].as_str().unwrap_or(ns);
        let first_deployed = last
            .and_then(|l| l["firstDeployed"].as_str())
            .unwrap_or(&now)
            .to_string();
        let written = helm::release(
            &ctx.api,
            &helm::Release {
                name: &release,
                namespace: release_ns,
                storage_namespace: &storage_ns,
                version,
                chart_name: &chart_name,
                chart_version: &revision,
                values: &spec["values"],
                owner: (name, ns),
                first_deployed: &first_deployed,
                now: &now,
                max_history: spec["maxHistory"].as_u64().unwrap_or(5),
                create_namespace: spec["install"]["createNamespace"].as_bool() == Some(true),
            },
        )
        .await;
        if let Err(e) = written {
            let reason = if action == "install" {
                "InstallFailed"
            } else {
                "UpgradeFailed"
            };
            let mut o = keep(
                Outcome::fail(
                    reason,
                    format!(
                        "Helm {action} failed for release {release_ns}/{release} with chart {chart_name}@{revision}: {e}"
                    ),
                )
                .with("lastAttemptedRevision", json!(revision))
                .with("lastAttemptedReleaseAction", json!(action)),
            );
            o.extra.push(("Released".into(), false, reason.into()));
            if let Some(h) = &helm_chart {
                o.fields.insert("helmChart".into(), json!(h));
            }
            return o;
        }
        let snapshot = json!({
            "name": release,
            "namespace": spec["targetNamespace"].as_str().unwrap_or(ns),
            "version": version,
            "status": "deployed",
            "chartName": chart_name,
            "chartVersion": revision,
            "appVersion": revision,
            "configDigest": config_digest,
            "digest": format!("sha256:{}", sha256_hex(format!("{release}{version}{revision}{config_digest}").as_bytes())),
            "firstDeployed": last.map(|l| l["firstDeployed"].clone()).unwrap_or(json!(now)),
            "lastDeployed": now,
        });
        let mut h = vec![snapshot];
        h.extend(history.iter().take(4).map(|s| {
            let mut s = s.clone();
            s["status"] = json!("superseded");
            s
        }));
        let (reason, verb) = if action == "install" {
            ("InstallSucceeded", "install")
        } else {
            ("UpgradeSucceeded", "upgrade")
        };
        let msg = format!(
            "Helm {verb} succeeded for release {}/{release}.v{version} with chart {chart_name}@{revision}",
            spec["targetNamespace"].as_str().unwrap_or(ns)
        );
        Outcome::ok(reason, msg)
            .with("history", Value::Array(h))
            .with("lastAttemptedReleaseAction", json!(action))
    } else {
        let prev = condition(obj, "Ready");
        let reason = prev
            .as_ref()
            .and_then(|c| c["reason"].as_str())
            .unwrap_or("InstallSucceeded")
            .to_string();
        let msg = prev
            .as_ref()
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string();
        keep(Outcome::ok(&reason, msg))
    };
    let reason = o.reason.clone();
    o.extra.push(("Released".into(), true, reason));
    o = o
        .with("lastAttemptedRevision", json!(revision))
        .with(
            "lastAttemptedGeneration",
            obj["metadata"]["generation"].clone(),
        )
        .with("lastAttemptedConfigDigest", json!(config_digest))
        .with("storageNamespace", json!(storage_ns))
        .with("installFailures", json!(0))
        .with("upgradeFailures", json!(0));
    if let Some(h) = helm_chart {
        o = o.with("helmChart", json!(h));
    }
    o
}

fn spec_annotation_pending(obj: &Value, annotation: &str, handled: &str) -> bool {
    obj["metadata"]["annotations"][annotation]
        .as_str()
        .is_some_and(|v| Some(v) != obj["status"][handled].as_str())
}

/// notification-controller derives the webhook path from the token in the `spec.secretRef`
/// Secret (none for generic-oidc); without the token the Receiver is not ready and has no path.
async fn receiver(ctx: &Ctx, obj: &Value) -> Outcome {
    let token = match obj["spec"]["secretRef"]["name"].as_str() {
        Some(secret) => {
            let ns = meta_str(obj, "namespace");
            match super::receiver::read_token(ctx, ns, secret).await {
                Ok(t) => t,
                Err(e) => return Outcome::fail("TokenNotFound", e),
            }
        }
        None => String::new(),
    };
    let path = format!(
        "/hook/{}",
        sha256_hex(
            format!(
                "{token}{}{}",
                meta_str(obj, "name"),
                meta_str(obj, "namespace")
            )
            .as_bytes()
        )
    );
    Outcome::ok(
        "Succeeded",
        format!("Receiver initialized for path: {path}"),
    )
    .with("webhookPath", json!(path))
}

/// The tags a simulated registry has for every image.
const TAGS: [&str; 5] = ["1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0-rc.1"];

fn image_repository(obj: &Value) -> Outcome {
    let image = obj["spec"]["image"].as_str().unwrap_or_default();
    if image.is_empty() || image.contains("://") {
        return Outcome::fail(
            "ImageURLInvalid",
            format!("could not parse reference: {image}"),
        );
    }
    let canonical = if image
        .split('/')
        .next()
        .is_some_and(|h| h.contains('.') || h.contains(':'))
    {
        image.to_string()
    } else if image.contains('/') {
        format!("index.docker.io/{image}")
    } else {
        format!("index.docker.io/library/{image}")
    };
    let mut latest: Vec<&str> = TAGS.to_vec();
    latest.reverse();
    Outcome::ok(
        "Succeeded",
        format!("successful scan: found {} tags", TAGS.len()),
    )
    .with("canonicalImageName", json!(canonical))
    .with(
        "lastScanResult",
        json!({"tagCount": TAGS.len(), "scanTime": now(), "latestTags": latest}),
    )
}

async fn image_policy(ctx: &Ctx, obj: &Value) -> Outcome {
    let r = &obj["spec"]["imageRepositoryRef"];
    let ns = r["namespace"]
        .as_str()
        .unwrap_or(meta_str(obj, "namespace"));
    let name = r["name"].as_str().unwrap_or_default();
    let Some(repo) = ctx
        .api
        .find("image.toolkit.fluxcd.io", "imagerepositories", ns, name)
        .await
    else {
        return Outcome::fail(
            "DependencyNotReady",
            format!("referenced ImageRepository '{ns}/{name}' not found"),
        );
    };
    if !is_ready(&repo) {
        return Outcome::fail(
            "DependencyNotReady",
            format!("referenced ImageRepository '{ns}/{name}' is not ready"),
        );
    }
    let policy = &obj["spec"]["policy"];
    let tag = if let Some(range) = policy["semver"]["range"].as_str() {
        let Some(req) = git::semver_req(range) else {
            return Outcome::fail(
                "InvalidPolicy",
                format!("invalid policy: semver parse error: improper constraint: {range}"),
            );
        };
        TAGS.iter()
            .filter_map(|t| semver::Version::parse(t).ok().filter(|v| req.matches(v)))
            .max()
            .map(|v| v.to_string())
    } else if let Some(order) = policy["alphabetical"]["order"].as_str() {
        if order == "desc" {
            TAGS.iter().min()
        } else {
            TAGS.iter().max()
        }
        .map(|t| t.to_string())
    } else {
        TAGS.iter().max().map(|t| t.to_string())
    };
    let image = repo["spec"]["image"].as_str().unwrap_or_default();
    match tag {
        Some(tag) => Outcome::ok(
            "Succeeded",
            format!("Latest image tag for {image} resolved to {tag}"),
        )
        .with("latestRef", json!({"name": image, "tag": tag})),
        None => Outcome::fail(
            "ReconciliationFailed",
            "unable to determine latest version from provided list".into(),
        ),
    }
}

fn image_update_automation() -> Outcome {
    Outcome::ok("Succeeded", "repository up-to-date".into())
        .with("lastAutomationRunTime", json!(now()))
}
