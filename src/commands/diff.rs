//! `flux diff kustomization`: build as `flux build kustomization` does,
//! server-side dry-run apply every object as kustomize-controller would,
//! and report what would be created, changed or pruned.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::Context;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::Scope;
use serde_json::Value;

use crate::build::{self, BuildError, Options, dyff};
use crate::cli::{DiffCommand, DiffKind, DiffKsArgs};
use crate::cluster::apply::kind_rank;
use crate::commands::Ctx;
use crate::commands::build::{
    build_tree, check_kustomization_file, get_kustomization, options, read_kustomization_file,
    validate, with_live_status,
};
use crate::error::ExitStatus;

/// The field manager kustomize-controller applies with.
const FIELD_MANAGER: &str = "kustomize-controller";
const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";
const SSA_KEY: &str = "kustomize.toolkit.fluxcd.io/ssa";
const FORCE_KEY: &str = "kustomize.toolkit.fluxcd.io/force";
/// Objects whose GET and dry-run are in flight at once.
const IN_FLIGHT: usize = 16;

pub async fn run(ctx: &Ctx, command: &DiffCommand) -> anyhow::Result<ExitStatus> {
    let args = match &command.kind {
        DiffKind::Kustomization(args) => args,
        DiffKind::Artifact(args) => return crate::commands::artifact::diff(ctx, args).await,
    };
    let source = &args.source;
    if source.names.is_empty() {
        anyhow::bail!("kustomization name is required");
    }
    let (name, root) = match validate(source, false) {
        Ok(found) => found,
        Err(err) => return Ok(fail(ctx, &err.to_string())),
    };
    if !source.kustomization_file.is_empty() {
        check_kustomization_file(&source.kustomization_file)?;
    }
    if args.ignore_not_found && source.kustomization_file.is_empty() {
        return Ok(fail(
            ctx,
            "kustomization file is required when assuming new kustomizations",
        ));
    }
    let client = match ctx.kube.client().await {
        Ok(client) => client,
        Err(err) => return Ok(fail(ctx, &err.to_string())),
    };
    let namespace = &ctx.global.namespace;
    let ks = match kustomization(&client, args, &name, namespace).await {
        Ok(ks) => ks,
        Err(err) => return Ok(fail(ctx, &err.to_string())),
    };
    let options = options(source, false);
    let style = Style::detect();
    let spinner = (args.progress_bar && std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .then(|| Spinner::start(" Kustomization diffing... running dry-run"));
    let mut differ = Differ {
        client,
        options,
        recursive: args.recursive,
        resources: HashMap::new(),
        style,
        spinner,
    };
    let result = differ.diff(&ks, &root).await;
    if let Some(spinner) = differ.spinner.take() {
        spinner.stop().await;
    }
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(err) => return Ok(fail(ctx, &format!("{err:#}"))),
    };
    ctx.printer
        .out(&outcome.text)
        .context("unable to write to stdout")?;
    if !outcome.errors.is_empty() {
        return Ok(fail(ctx, &aggregate(&outcome.errors)));
    }
    if outcome.changed {
        ctx.printer
            .warning("identified at least one change, exiting with non-zero exit code");
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

fn fail(ctx: &Ctx, message: &str) -> ExitStatus {
    ctx.printer.failure(message);
    ExitStatus::DiffError
}

/// Kubernetes' aggregate error text: one message as is, several distinct
/// ones in brackets.
fn aggregate(errors: &[String]) -> String {
    let mut distinct: Vec<&String> = Vec::new();
    for e in errors {
        if !distinct.contains(&e) {
            distinct.push(e);
        }
    }
    match distinct.as_slice() {
        [one] => (*one).clone(),
        many => format!(
            "[{}]",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The Kustomization to diff: the cluster's, or the file's (with the
/// cluster's inventory when it has one).
async fn kustomization(
    client: &kube::Client,
    args: &DiffKsArgs,
    name: &str,
    namespace: &str,
) -> Result<Value, BuildError> {
    let file = &args.source.kustomization_file;
    let live = get_kustomization(client, name, namespace)
        .await
        .map_err(|e| BuildError::GetKustomization(e.to_string()))?;
    let from_file =
        || read_kustomization_file(file, name, namespace).map_err(BuildError::GetKustomization);
    match live {
        Some(live) if file.is_empty() => Ok(live),
        Some(live) => Ok(with_live_status(from_file()?, &live)),
        None if args.ignore_not_found => from_file(),
        None => Err(BuildError::GetKustomization(format!(
            "kustomizations.kustomize.toolkit.fluxcd.io {name:?} not found"
        ))),
    }
}

/// How the event lines look: coloured only when stdout is a terminal and
/// `TERM` is not `dumb` (upstream ignores `NO_COLOR` here).
#[derive(Clone, Copy)]
enum Style {
    Plain,
    /// 24-bit colours (`COLORTERM` truecolor or 24bit).
    TrueColor,
    /// The nearest of the 16 standard colours.
    Basic,
}

impl Style {
    fn detect() -> Self {
        use std::io::IsTerminal;
        let term = std::env::var(crate::env::TERM).unwrap_or_default();
        if !std::io::stdout().is_terminal() || term == "dumb" {
            return Style::Plain;
        }
        match std::env::var("COLORTERM").as_deref() {
            Ok("truecolor" | "24bit") => Style::TrueColor,
            _ => Style::Basic,
        }
    }

    /// `line` (without its newline) in the colour `rgb`, or `basic` (an SGR code).
    fn paint(self, line: &str, rgb: (u8, u8, u8), basic: u8) -> String {
        match self {
            Style::Plain => format!("{line}\n"),
            Style::TrueColor => format!("\x1b[38;2;{};{};{}m{line}\x1b[0m\n", rgb.0, rgb.1, rgb.2),
            Style::Basic => format!("\x1b[{basic}m{line}\x1b[0m\n"),
        }
    }

    fn created(self, line: &str) -> String {
        self.paint(line, (0, 128, 0), 32)
    }

    fn deleted(self, line: &str) -> String {
        self.paint(line, (255, 69, 0), 91)
    }

    fn skipped(self, line: &str) -> String {
        self.paint(line, (255, 165, 0), 93)
    }
}

/// Upstream's spinner on stdout while the diff runs (a terminal only).
struct Spinner {
    suffix: std::sync::Arc<std::sync::Mutex<String>>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Spinner {
    const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

    fn start(suffix: &str) -> Self {
        use std::io::Write;
        let suffix = std::sync::Arc::new(std::sync::Mutex::new(suffix.to_string()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let colored = std::env::var_os("NO_COLOR").is_none()
            && std::env::var(crate::env::TERM).is_ok_and(|t| t != "dumb");
        let shown = suffix.clone();
        let task = tokio::spawn(async move {
            let mut out = std::io::stdout();
            let _ = write!(out, "\x1b[?25l");
            let mut ticker = tokio::time::interval(std::time::Duration::from_millis(100));
            for frame in Self::FRAMES.iter().cycle() {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticker.tick() => {}
                }
                let frame = if colored {
                    format!("\x1b[37m{frame}\x1b[0m")
                } else {
                    frame.to_string()
                };
                let text = shown.lock().map(|s| s.clone()).unwrap_or_default();
                let _ = write!(out, "\r\x1b[K\r{frame}{text}");
                let _ = out.flush();
            }
            let _ = write!(out, "\r\x1b[K\x1b[?25h");
            let _ = out.flush();
        });
        Spinner { suffix, stop, task }
    }

    fn set(&self, text: &str) {
        if let Ok(mut suffix) = self.suffix.lock() {
            *suffix = text.to_string();
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// What a diff found: the lines to print, whether anything changed, the
/// per-object errors.
struct Outcome {
    text: String,
    changed: bool,
    errors: Vec<String>,
}

struct Differ {
    client: kube::Client,
    options: Options,
    recursive: bool,
    /// API resource and scope per `apiVersion`/`kind`, from discovery.
    resources: HashMap<(String, String), (ApiResource, bool)>,
    style: Style,
    spinner: Option<Spinner>,
}

impl Differ {
    fn progress(&self, text: &str) {
        if let Some(spinner) = &self.spinner {
            spinner.set(text);
        }
    }
}

/// `Kind/namespace/name`, or `Kind/name` without a namespace.
fn object_id(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default();
    let (name, namespace) = build::name_and_namespace(object);
    if namespace.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{namespace}/{name}")
    }
}

fn meta_value<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    ["labels", "annotations"].iter().find_map(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
    })
}

fn has_meta(object: &Value, key: &str, value: &str) -> bool {
    meta_value(object, key).is_some_and(|v| !v.is_empty() && v.eq_ignore_ascii_case(value))
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// kustomize-controller's normalisation of built-in kinds before apply:
/// default port protocols, Secret `stringData` folded into `data`, no
/// creation timestamp, no status.
fn normalize(object: &mut Value) {
    use base64::Engine;
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let api_version = object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let builtin =
        !group_of(&api_version).contains('.') || group_of(&api_version).ends_with(".k8s.io");
    if builtin {
        let pod_spec = match kind.as_str() {
            "Pod" => Some("/spec"),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                Some("/spec/template/spec")
            }
            "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
            _ => None,
        };
        if let Some(spec) = pod_spec.and_then(|p| object.pointer_mut(p)) {
            for list in ["containers", "initContainers"] {
                for container in spec
                    .get_mut(list)
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    default_protocols(container.get_mut("ports"));
                }
            }
        }
        if kind == "Service" {
            default_protocols(object.pointer_mut("/spec/ports"));
        }
        if kind == "Secret"
            && let Some(map) = object.as_object_mut()
            && let Some(Value::Object(string_data)) = map.remove("stringData")
        {
            let data = map
                .entry("data")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(data) = data.as_object_mut() {
                for (k, v) in string_data {
                    let text = v.as_str().unwrap_or_default().to_string();
                    data.insert(
                        k,
                        base64::engine::general_purpose::STANDARD
                            .encode(text)
                            .into(),
                    );
                }
            }
        }
    }
    if let Some(map) = object.as_object_mut() {
        if kind != "CustomResourceDefinition" {
            map.remove("status");
        }
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.insert("creationTimestamp".into(), Value::Null);
        }
    }
}

fn default_protocols(ports: Option<&mut Value>) {
    for port in ports.and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(port) = port.as_object_mut() {
            port.entry("protocol").or_insert_with(|| "TCP".into());
        }
    }
}

/// Kubernetes' semantic equality: a missing, null or empty map or list are equal.
fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    (empty(a) && empty(b)) || a == b
}

fn without_meta_and_status(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

fn is_drifted(live: &Value, merged: &Value) -> bool {
    !semantic_eq(
        live.pointer("/metadata/labels"),
        merged.pointer("/metadata/labels"),
    ) || !semantic_eq(
        live.pointer("/metadata/annotations"),
        merged.pointer("/metadata/annotations"),
    ) || without_meta_and_status(live) != without_meta_and_status(merged)
}

/// A `spec.ignore` rule's selector: anchored regular expressions, empty
/// fields match everything.
fn rule_matches(target: Option<&Value>, object: &Value) -> bool {
    let Some(target) = target else {
        return true;
    };
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let (name, namespace) = build::name_and_namespace(object);
    let kind = object["kind"].as_str().unwrap_or_default();
    let fields = [
        ("group", group),
        ("version", version),
        ("kind", kind),
        ("name", name.as_str()),
        ("namespace", namespace.as_str()),
    ];
    let regexes_match = fields.iter().all(|(field, value)| {
        match target
            .get(*field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            None => true,
            Some(pattern) => {
                regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
            }
        }
    });
    regexes_match
        && ["labelSelector", "annotationSelector"].iter().all(|field| {
            let meta = if *field == "labelSelector" {
                "labels"
            } else {
                "annotations"
            };
            match target
                .get(*field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                None => true,
                Some(selector) => {
                    selector_matches(selector, object.pointer(&format!("/metadata/{meta}")))
                }
            }
        })
}

/// Equality-based selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`.
fn selector_matches(selector: &str, values: Option<&Value>) -> bool {
    let get = |k: &str| values.and_then(|m| m.get(k)).and_then(Value::as_str);
    selector.split(',').map(str::trim).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once('=') {
            get(k.trim()) == Some(v.trim_start_matches('=').trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(term).is_some()
        }
    })
}

/// Removes the JSON pointers of the ignore rules that select `selected_by`.
fn strip_ignored(object: &mut Value, rules: &[Value], selected_by: &Value) {
    for rule in rules {
        if !rule_matches(rule.get("target"), selected_by) {
            continue;
        }
        for pointer in rule
            .get("paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(pointer) = pointer.as_str() else {
                continue;
            };
            if let Some((parent, last)) = pointer.rsplit_once('/') {
                let key = last.replace("~1", "/").replace("~0", "~");
                match object.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < items.len()
                        {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Masks Secret values in both objects: unchanged `***`, changed
/// `*** (before)`/`*** (after)`.
fn mask_secrets(live: &mut Value, merged: &mut Value) {
    let live_data = live["data"].clone();
    mask_against(live, &merged["data"], "*** (before)");
    mask_against(merged, &live_data, "*** (after)");
}

/// Masks the data of `object`: `changed` where `other` holds another value
/// for the key, `***` elsewhere.
fn mask_against(object: &mut Value, other: &Value, changed: &str) {
    if let Some(Value::Object(data)) = object.get_mut("data") {
        for (k, v) in data.iter_mut() {
            *v = match other.get(k) {
                Some(o) if o != v => changed.into(),
                _ => "***".into(),
            };
        }
    }
}

fn mask_all(object: &mut Value, mask: &str) {
    if let Some(Value::Object(data)) = object.get_mut("data") {
        for v in data.values_mut() {
            *v = mask.into();
        }
    }
}

fn data_keys(object: &Value) -> BTreeSet<String> {
    object
        .get("data")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Whether a desired Secret holds SOPS-masked values.
fn has_sops_mask(desired: &Value) -> bool {
    use base64::Engine;
    desired
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .any(|(_, v)| {
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .is_ok_and(|b| b.windows(8).any(|w| w == b"**SOPS**"))
        })
}

/// An HPA's `spec.metrics` without empty and repeated entries: the API
/// server can return them after a dry-run, and kustomize-controller does not
/// count them as drift.
fn dedupe_metrics(object: &mut Value) {
    let Some(Value::Array(metrics)) = object.pointer_mut("/spec/metrics") else {
        return;
    };
    let mut kept: Vec<Value> = Vec::with_capacity(metrics.len());
    for metric in metrics.drain(..) {
        let empty = metric.as_object().is_some_and(|m| m.is_empty());
        if !empty && !kept.contains(&metric) {
            kept.push(metric);
        }
    }
    *metrics = kept;
}

fn remove_managed_fields(object: &mut Value) {
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        meta.remove("managedFields");
    }
}

/// An inventory id: `namespace_name_group_kind`, `__` in the name for `:`.
fn parse_inventory_id(id: &str) -> Option<(String, String, String, String)> {
    let (namespace, rest) = id.split_once('_')?;
    let (rest, kind) = rest.rsplit_once('_')?;
    let (name, group) = rest.rsplit_once('_')?;
    Some((
        namespace.to_string(),
        name.replace("__", ":"),
        group.to_string(),
        kind.to_string(),
    ))
}

enum Action {
    Created,
    Configured(String),
    Unchanged,
    /// Named after the live object: `Kind/` when there is none (upstream's wording).
    Skipped(String),
}

impl Differ {
    async fn resource(&mut self, object: &Value) -> Result<(ApiResource, bool), String> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.resources.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .map_err(|e| {
                format!(
                    "{}: no matches for kind \"{kind}\" in version \"{api_version}\": {}",
                    object_id(object),
                    crate::cluster::transport::describe_kube(&e).unwrap_or_else(|| e.to_string())
                )
            })?;
        let found = (resource, caps.scope == Scope::Namespaced);
        self.resources.insert(key, found.clone());
        Ok(found)
    }

    /// The per-object diff: the action and, for a drift, the report.
    async fn diff_object(
        &self,
        desired: &Value,
        rules: &[Value],
        resource: Result<(ApiResource, bool), String>,
    ) -> Result<Action, String> {
        let (resource, namespaced) = resource?;
        let (name, namespace) = build::name_and_namespace(desired);
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(self.client.clone(), &namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        };
        let live = api
            .get(&name)
            .await
            .map(crate::cluster::objects::to_value)
            .unwrap_or_else(|_| Value::Object(Default::default()));
        let exists = live.pointer("/metadata/uid").is_some();
        if [desired, &live]
            .iter()
            .any(|o| has_meta(o, RECONCILE_KEY, "disabled") || has_meta(o, SSA_KEY, "ignore"))
            || (exists && has_meta(desired, SSA_KEY, "ifnotpresent"))
        {
            let kind = desired["kind"].as_str().unwrap_or_default();
            let subject = if exists {
                object_id(&live)
            } else {
                format!("{kind}/")
            };
            return Ok(Action::Skipped(subject));
        }
        let body: DynamicObject =
            serde_json::from_value(desired.clone()).map_err(|e| e.to_string())?;
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let mut merged = match api.patch(&name, &params, &Patch::Apply(&body)).await {
            Ok(object) => crate::cluster::objects::to_value(object),
            Err(kube::Error::Api(status))
                if status.message.contains("immutable")
                    && (has_meta(desired, FORCE_KEY, "enabled")
                        || has_meta(&live, FORCE_KEY, "enabled")) =>
            {
                return Ok(Action::Created);
            }
            Err(err) => return Err(dry_run_error(desired, &namespace, err)),
        };
        if merged
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Ok(Action::Created);
        }
        if desired.get("kind").and_then(Value::as_str) == Some("HorizontalPodAutoscaler") {
            dedupe_metrics(&mut merged);
        }
        let mut live = live;
        strip_ignored(&mut live, rules, &merged);
        let selector = merged.clone();
        strip_ignored(&mut merged, rules, &selector);
        if !is_drifted(&live, &merged) {
            return Ok(Action::Unchanged);
        }
        remove_managed_fields(&mut live);
        remove_managed_fields(&mut merged);
        let is_secret = desired.get("kind").and_then(Value::as_str) == Some("Secret");
        if is_secret && desired.get("apiVersion").and_then(Value::as_str) == Some("v1") {
            if has_sops_mask(desired) {
                // Encrypted values cannot be compared: only the keys can.
                if data_keys(&live) == data_keys(&merged) {
                    return Ok(Action::Unchanged);
                }
                mask_all(&mut live, "*****");
                mask_all(&mut merged, "*****");
            } else {
                mask_secrets(&mut live, &mut merged);
            }
        }
        Ok(Action::Configured(dyff::report(&live, &merged)))
    }

    async fn diff(&mut self, ks: &Value, root: &Path) -> anyhow::Result<Outcome> {
        let mut objects = build_tree(Some(&self.client), ks, root, &self.options, false).await?;
        let rules: Vec<Value> = ks
            .pointer("/spec/ignore")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let own = build::name_and_namespace(ks);
        let mut outcome = Outcome {
            text: String::new(),
            changed: false,
            errors: Vec::new(),
        };
        let mut inventory = BTreeSet::new();
        let mut resources = Vec::with_capacity(objects.len());
        for object in &mut objects {
            normalize(object);
            let (name, namespace) = build::name_and_namespace(object);
            let api_version = object["apiVersion"].as_str().unwrap_or_default();
            let kind = object["kind"].as_str().unwrap_or_default();
            inventory.insert((
                namespace,
                name,
                group_of(api_version).to_string(),
                kind.to_string(),
            ));
            resources.push(self.resource(object).await);
        }
        // The GET and dry-run of each object are independent: keep several
        // in flight instead of waiting for each round trip in turn.
        let this = &*self;
        let actions: Vec<Result<Action, String>> = futures::stream::iter(
            objects
                .iter()
                .zip(resources)
                .map(|(object, resource)| this.diff_object(object, &rules, resource)),
        )
        .buffered(IN_FLIGHT)
        .collect()
        .await;
        for (object, action) in objects.iter().zip(actions) {
            let (name, namespace) = build::name_and_namespace(object);
            let action = match action {
                Ok(action) => action,
                Err(err) => {
                    outcome.errors.push(err);
                    continue;
                }
            };
            let id = object_id(object);
            match &action {
                Action::Created => {
                    outcome
                        .text
                        .push_str(&self.style.created(&format!("► {id} created")));
                    outcome.changed = true;
                }
                Action::Configured(report) => {
                    outcome.text.push_str(&format!("► {id} drifted\n{report}"));
                    outcome.changed = true;
                }
                Action::Skipped(subject) => outcome
                    .text
                    .push_str(&self.style.skipped(&format!("► {subject} skipped"))),
                Action::Unchanged => {}
            }
            if self.recursive
                && !matches!(action, Action::Created)
                && build::is_flux_kustomization(object)
                && (name.clone(), namespace.clone()) != own
            {
                self.diff_child(object, &mut outcome).await;
            }
        }
        self.progress(" processing inventory");
        let prune = ks.pointer("/spec/prune") == Some(&Value::Bool(true));
        if prune && outcome.errors.is_empty() {
            let mut stale: Vec<(usize, String, String, String, String)> = ks
                .pointer("/status/inventory/entries")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("id").and_then(Value::as_str))
                .filter_map(parse_inventory_id)
                .filter(|entry| !inventory.contains(entry))
                .map(|(ns, name, group, kind)| (kind_rank(&kind), group, kind, ns, name))
                .collect();
            stale.sort();
            for (_, _, kind, ns, name) in stale {
                let id = if ns.is_empty() {
                    format!("{kind}/{name}")
                } else {
                    format!("{kind}/{ns}/{name}")
                };
                outcome
                    .text
                    .push_str(&self.style.deleted(&format!("► {id} deleted")));
                outcome.changed = true;
            }
        }
        Ok(outcome)
    }

    async fn diff_child(&mut self, child: &Value, outcome: &mut Outcome) {
        let id = object_id(child);
        if child
            .pointer("/spec/kubeConfig")
            .is_some_and(|v| !v.is_null())
        {
            outcome.text.push_str(&self.style.skipped(&format!(
                "⚠️ {id} skipped: diff not supported for remote clusters"
            )));
            return;
        }
        let result = async {
            let path = build::child_path(child, &self.options)?;
            let root = build::resolve_path(&path.to_string_lossy())?;
            let (name, namespace) = build::name_and_namespace(child);
            let live = get_kustomization(&self.client, &name, &namespace)
                .await
                .map_err(|e| BuildError::GetKustomization(e.to_string()))?
                .ok_or_else(|| {
                    BuildError::GetKustomization(format!(
                        "kustomizations.kustomize.toolkit.fluxcd.io {name:?} not found"
                    ))
                })?;
            Ok::<_, anyhow::Error>((live, root))
        }
        .await;
        let (live, root) = match result {
            Ok(found) => found,
            Err(err) => {
                outcome.errors.push(format!("{err:#}"));
                return;
            }
        };
        self.progress(&format!(
            " running dry-run in {}",
            build::name_and_namespace(&live).0
        ));
        let result = Box::pin(self.diff(&live, &root)).await;
        self.progress(" running dry-run");
        match result {
            Ok(child_outcome) => {
                if child_outcome.changed {
                    outcome.text.push_str(&format!("📁 {id} changed\n"));
                    outcome.text.push_str(&child_outcome.text);
                    outcome.changed = true;
                }
                outcome.errors.extend(child_outcome.errors);
            }
            Err(err) => outcome.errors.push(format!("{err:#}")),
        }
    }
}

/// ssa's wording of a failed dry-run.
fn dry_run_error(object: &Value, namespace: &str, err: kube::Error) -> String {
    let id = object_id(object);
    match err {
        kube::Error::Api(status) if status.code == 404 || status.reason == "NotFound" => {
            if namespace.is_empty() {
                format!("{id} namespace not specified: {}", status.message)
            } else {
                format!("{id} not found: {}", status.message)
            }
        }
        kube::Error::Api(status) if !status.reason.is_empty() => {
            format!(
                "{id} dry-run failed ({}): {}",
                status.reason, status.message
            )
        }
        kube::Error::Api(status) => format!("{id} dry-run failed: {}", status.message),
        other => format!("{id} dry-run failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inventory_ids_are_parsed_as_upstream() {
        assert_eq!(
            parse_inventory_id("default_podinfo_apps_Deployment"),
            Some((
                "default".into(),
                "podinfo".into(),
                "apps".into(),
                "Deployment".into()
            ))
        );
        assert_eq!(
            parse_inventory_id("_system__controller_rbac.authorization.k8s.io_ClusterRole"),
            Some((
                "".into(),
                "system:controller".into(),
                "rbac.authorization.k8s.io".into(),
                "ClusterRole".into()
            ))
        );
    }

    #[test]
    fn normalization_defaults_protocols_and_folds_string_data() {
        let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}]}, "status": {}});
        normalize(&mut svc);
        assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
        assert!(svc.get("status").is_none());
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"a": "b"}});
        normalize(&mut secret);
        assert_eq!(secret["data"], json!({"a": "Yg=="}));
        assert!(secret.get("stringData").is_none());
    }

    #[test]
    fn drift_ignores_empty_maps_and_metadata_noise() {
        let live = json!({"metadata": {"uid": "1", "labels": {}}, "spec": {"a": 1}});
        let merged = json!({"metadata": {"uid": "1"}, "spec": {"a": 1}});
        assert!(!is_drifted(&live, &merged));
        let merged = json!({"metadata": {"labels": {"x": "y"}}, "spec": {"a": 1}});
        assert!(is_drifted(&live, &merged));
    }

    #[test]
    fn hpa_metrics_lose_empty_and_repeated_entries() {
        let cpu = json!({"type": "Resource", "resource": {"name": "cpu"}});
        let mut hpa = json!({"spec": {"metrics": [cpu.clone(), {}, cpu.clone()]}});
        dedupe_metrics(&mut hpa);
        assert_eq!(hpa["spec"]["metrics"], json!([cpu]));
    }

    #[test]
    fn ignore_rules_select_by_anchored_regex() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "podinfo"}});
        assert!(rule_matches(Some(&json!({"kind": "Service"})), &svc));
        assert!(!rule_matches(Some(&json!({"kind": "Serv"})), &svc));
        assert!(rule_matches(Some(&json!({"name": "pod.*"})), &svc));
    }

    #[test]
    fn errors_aggregate_like_kubernetes() {
        assert_eq!(aggregate(&["a".into(), "a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
    }
}
