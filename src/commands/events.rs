//! `flux events`: the Kubernetes Events recorded for Flux objects, oldest
//! first, optionally for one object and the objects it refers to.

use anyhow::{Context, anyhow, bail};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use serde_json::Value;

use crate::cli::EventsArgs;
use crate::cluster::health::{Deadline, from_watcher};
use crate::cluster::objects::{self, ObjectError};
use crate::cluster::reconnect::Reachability;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::{self, KindSpec};
use crate::output::table;

/// Page size when listing events.
const PAGE_SIZE: u32 = 500;

/// One set of events to read: a namespace (all with `None`) narrowed by a
/// field selector on the involved object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    namespace: Option<String>,
    fields: Option<String>,
}

fn involved(kind: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("involvedObject.kind={kind},involvedObject.name={name}"),
        None => format!("involvedObject.kind={kind}"),
    }
}

/// A reference from one Flux object to another: (kind, name, namespace).
type Ref = (String, String, String);

fn str_at<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The objects whose events belong with `object`'s: a Kustomization's
/// source, a HelmRelease's chart and its source, an Alert's provider, an
/// ImagePolicy's repository, a HelmChart's source.
fn references(kind: &str, object: &Value) -> Vec<Ref> {
    let namespace = str_at(object, "/metadata/namespace").unwrap_or_default();
    let name = str_at(object, "/metadata/name").unwrap_or_default();
    let at = |base: &str, fixed_kind: Option<&str>| -> Option<Ref> {
        let kind = fixed_kind.or_else(|| str_at(object, &format!("{base}/kind")))?;
        let name = str_at(object, &format!("{base}/name"))?;
        let ns = str_at(object, &format!("{base}/namespace")).unwrap_or(namespace);
        Some((kind.to_string(), name.to_string(), ns.to_string()))
    };
    match kind {
        "Kustomization" => at("/spec/sourceRef", None).into_iter().collect(),
        "HelmRelease" => {
            if let Some(chart) = at("/spec/chartRef", None) {
                return vec![chart];
            }
            // The controller names the chart it generates `<ns>-<name>`
            // and puts it next to the source.
            at("/spec/chart/spec/sourceRef", None)
                .into_iter()
                .flat_map(|source| {
                    let chart = (
                        "HelmChart".to_string(),
                        format!("{namespace}-{name}"),
                        source.2.clone(),
                    );
                    [source, chart]
                })
                .collect()
        }
        "Alert" => at("/spec/providerRef", Some("Provider"))
            .map(|(k, n, _)| (k, n, namespace.to_string()))
            .into_iter()
            .collect(),
        "ImagePolicy" => at("/spec/imageRepositoryRef", Some("ImageRepository"))
            .into_iter()
            .collect(),
        "HelmChart" => at("/spec/sourceRef", None).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// `Kind` or `Kind/name`; a bare word is a kind.
fn parse_for(selector: &str) -> anyhow::Result<(&'static KindSpec, Option<&str>)> {
    let (kind, name) = match selector.split_once('/') {
        Some((kind, name)) if !name.contains('/') => (kind, Some(name).filter(|n| !n.is_empty())),
        Some(_) => ("", None),
        None => (selector, None),
    };
    if kind.is_empty() {
        bail!("--for selector must be of format <kind>[/<name>]");
    }
    let spec =
        kinds::by_kind(kind).ok_or_else(|| anyhow!("'{kind}' is not a recognized Flux kind"))?;
    Ok((spec, name))
}

fn check_types(types: &[String]) -> anyhow::Result<()> {
    for t in types {
        if !t.eq_ignore_ascii_case("Normal") && !t.eq_ignore_ascii_case("Warning") {
            bail!("type '{t}' not supported. Supported types are Normal, Warning");
        }
    }
    Ok(())
}

/// Events about objects that are not Flux kinds, or of unwanted types, are left out.
fn wanted(event: &Event, types: &[String]) -> bool {
    let kind = event.involved_object.kind.as_deref().unwrap_or_default();
    let type_ = event.type_.as_deref().unwrap_or_default();
    kinds::by_kind(kind).is_some()
        && (types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(type_)))
}

/// When the event last happened: the series, else lastTimestamp, else eventTime.
fn event_time(event: &Event) -> Option<jiff::Timestamp> {
    event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0)
        .or_else(|| event.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
}

/// Elapsed time the way kubectl approximates it (`45s`, `3m20s`, `5h`, `2d3h`, `1y10d`).
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if days < 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if days < 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

fn since(at: Option<jiff::Timestamp>, now: jiff::Timestamp) -> String {
    match at {
        Some(at) => human_duration(now.as_second() - at.as_second()),
        None => "<unknown>".into(),
    }
}

/// The LAST SEEN cell: `2m`, or `2m (x3 over 10m)` for repeated events.
fn last_seen(event: &Event, now: jiff::Timestamp) -> String {
    let first = match &event.event_time {
        Some(t) => since(Some(t.0), now),
        None => since(event.first_timestamp.as_ref().map(|t| t.0), now),
    };
    if let Some(series) = &event.series {
        let last = since(series.last_observed_time.as_ref().map(|t| t.0), now);
        return format!("{last} (x{} over {first})", series.count.unwrap_or(0));
    }
    match event.count {
        Some(count) if count > 1 => {
            let last = since(event.last_timestamp.as_ref().map(|t| t.0), now);
            format!("{last} (x{count} over {first})")
        }
        _ => first,
    }
}

fn row(event: &Event, show_namespace: bool, now: jiff::Timestamp) -> Vec<String> {
    let mut row = Vec::with_capacity(6);
    if show_namespace {
        row.push(event.metadata.namespace.clone().unwrap_or_default());
    }
    let object = &event.involved_object;
    row.extend([
        last_seen(event, now),
        event.type_.clone().unwrap_or_default(),
        event.reason.clone().unwrap_or_default(),
        format!(
            "{}/{}",
            object.kind.as_deref().unwrap_or_default(),
            object.name.as_deref().unwrap_or_default()
        ),
        event.message.clone().unwrap_or_default(),
    ]);
    row
}

fn headers(show_namespace: bool) -> Vec<&'static str> {
    let mut headers = vec!["Last seen", "Type", "Reason", "Object", "Message"];
    if show_namespace {
        headers.insert(0, "Namespace");
    }
    headers
}

fn api(client: &kube::Client, scope: &Scope) -> Api<Event> {
    match &scope.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn list_events(
    client: &kube::Client,
    scope: &Scope,
    deadline: &Deadline,
) -> anyhow::Result<Vec<Event>> {
    let api = api(client, scope);
    let mut params = ListParams::default().limit(PAGE_SIZE);
    if let Some(fields) = &scope.fields {
        params = params.fields(fields);
    }
    let mut events = Vec::new();
    loop {
        let page = deadline
            .call(api.list(&params))
            .await
            .context("error getting events")?;
        events.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(events),
        }
    }
}

/// The scopes to read and whether rows need a namespace column.
async fn scopes(
    ctx: &Ctx,
    client: &kube::Client,
    args: &EventsArgs,
    deadline: &Deadline,
) -> anyhow::Result<(Vec<Scope>, bool)> {
    let namespace = &ctx.global.namespace;
    let listed = (!args.all_namespaces).then(|| namespace.clone());
    let Some(selector) = &args.for_object else {
        let scope = Scope {
            namespace: listed,
            fields: None,
        };
        return Ok((vec![scope], args.all_namespaces));
    };
    let (spec, name) = parse_for(selector)?;
    let mut scopes = vec![Scope {
        namespace: listed,
        fields: Some(involved(spec.kind, name)),
    }];
    let mut show_namespace = args.all_namespaces;
    if let Some(name) = name {
        let objects_api = objects::api(client.clone(), spec, Some(namespace));
        let object =
            tokio::time::timeout_at(deadline.instant(), objects::get(spec, &objects_api, name))
                .await
                .unwrap_or_else(|_| Err(ObjectError::Unreachable(deadline.elapsed_message())))?;
        for (kind, name, ns) in references(spec.kind, &object) {
            show_namespace |= ns != *namespace;
            scopes.push(Scope {
                namespace: Some(ns),
                fields: Some(involved(&kind, Some(&name))),
            });
        }
    }
    Ok((scopes, show_namespace))
}

pub async fn run(ctx: &Ctx, args: &EventsArgs) -> anyhow::Result<ExitStatus> {
    check_types(&args.types)?;
    let deadline = Deadline::after(ctx.global.timeout);
    let client = ctx.kube.client().await?;
    let (scopes, show_namespace) = scopes(ctx, &client, args, &deadline).await?;
    if args.watch {
        return watch(ctx, &client, &scopes, args, show_namespace, &deadline).await;
    }
    let mut events = Vec::new();
    for scope in &scopes {
        events.extend(list_events(&client, scope, &deadline).await?);
    }
    events.retain(|e| wanted(e, &args.types));
    // Stable, so events of the same instant keep the API server's order.
    events.sort_by_key(event_time);
    if events.is_empty() {
        if args.all_namespaces {
            ctx.printer.failure("No events found.");
        } else {
            ctx.printer.failure(&format!(
                "No events found in {} namespace.",
                ctx.global.namespace
            ));
        }
        return Ok(ExitStatus::Success);
    }
    let now = jiff::Timestamp::now();
    let rows: Vec<Vec<String>> = events.iter().map(|e| row(e, show_namespace, now)).collect();
    ctx.printer
        .out(&table::render(Some(&headers(show_namespace)), &rows))
        .context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

/// Prints each event as it is recorded (existing ones first), one table per
/// event with the header once, until the deadline; then exits quietly.
async fn watch(
    ctx: &Ctx,
    client: &kube::Client,
    scopes: &[Scope],
    args: &EventsArgs,
    show_namespace: bool,
    deadline: &Deadline,
) -> anyhow::Result<ExitStatus> {
    let streams = scopes.iter().map(|scope| {
        let mut config = watcher::Config::default();
        if let Some(fields) = &scope.fields {
            config = config.fields(fields);
        }
        watcher::watcher(api(client, scope), config)
            .default_backoff()
            .boxed()
    });
    let mut merged = futures::stream::select_all(streams);
    let mut header = true;
    let mut connected = false;
    let mut last_error = None;
    let mut reach = Reachability::default();
    let printing = async {
        while let Some(item) = reach.next(&mut merged).await? {
            let event = match item {
                Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => e,
                // Init comes before the first list request is answered.
                Ok(watcher::Event::Init) => continue,
                Ok(watcher::Event::InitDone | watcher::Event::Delete(_)) => {
                    connected = true;
                    reach.answered();
                    continue;
                }
                Err(err) => {
                    let err = from_watcher(err);
                    last_error = Some(err.to_string());
                    reach.failed(err)?;
                    continue;
                }
            };
            connected = true;
            reach.answered();
            if !wanted(&event, &args.types) {
                continue;
            }
            let rows = [row(&event, show_namespace, jiff::Timestamp::now())];
            let header_row = header.then(|| headers(show_namespace));
            header = false;
            ctx.printer
                .out(&table::render(header_row.as_deref(), &rows))
                .map_err(WatchError::Output)?;
        }
        Ok(())
    };
    let finished = tokio::time::timeout_at(deadline.instant(), printing).await;
    match finished {
        Ok(Ok(())) => {}
        Ok(Err(WatchError::Output(err))) => {
            return Err(anyhow::Error::new(err).context("unable to write to stdout"));
        }
        Ok(Err(WatchError::Cluster(err))) => bail!("error watching events: {err}"),
        // A server that never answered, or is gone at the end, is an error;
        // otherwise the watch simply ran its course, as upstream's does.
        Err(_) => {
            if let Some(lost) = reach.lost() {
                bail!("error watching events: {lost}");
            }
            if !connected {
                let cause = last_error.unwrap_or_else(|| deadline.elapsed_message());
                bail!("error watching events: {cause}");
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// Why printing events stopped before the deadline.
#[derive(Debug, thiserror::Error)]
enum WatchError {
    #[error(transparent)]
    Cluster(#[from] ObjectError),
    #[error("unable to write to stdout")]
    Output(#[source] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_durations_match_kubectl() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (50 * 3600, "2d2h"),
            (8 * 86400, "8d"),
            (800 * 86400, "2y70d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (seconds, want) in cases {
            assert_eq!(human_duration(seconds), want, "{seconds}s");
        }
    }

    #[test]
    fn repeated_events_show_count_and_span() {
        let now: jiff::Timestamp = "2024-01-01T01:00:00Z".parse().unwrap();
        let event: Event = serde_json::from_value(json!({
            "metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Kustomization", "name": "apps"},
            "firstTimestamp": "2024-01-01T00:30:00Z",
            "lastTimestamp": "2024-01-01T00:58:00Z",
            "count": 3,
            "type": "Normal",
            "reason": "ReconciliationSucceeded",
            "message": "applied"
        }))
        .unwrap();
        assert_eq!(last_seen(&event, now), "2m (x3 over 30m)");
        assert_eq!(
            row(&event, true, now),
            [
                "default",
                "2m (x3 over 30m)",
                "Normal",
                "ReconciliationSucceeded",
                "Kustomization/apps",
                "applied"
            ]
        );
    }

    #[test]
    fn for_selectors_name_a_flux_kind() {
        let (spec, name) = parse_for("kustomization/apps").unwrap();
        assert_eq!((spec.kind, name), ("Kustomization", Some("apps")));
        assert_eq!(parse_for("HelmRelease").unwrap().1, None);
        assert_eq!(
            parse_for("Pod/x").unwrap_err().to_string(),
            "'Pod' is not a recognized Flux kind"
        );
        assert_eq!(
            parse_for("/x").unwrap_err().to_string(),
            "--for selector must be of format <kind>[/<name>]"
        );
    }

    #[test]
    fn types_are_normal_or_warning() {
        assert!(check_types(&["warning".into(), "Normal".into()]).is_ok());
        assert_eq!(
            check_types(&["Error".into()]).unwrap_err().to_string(),
            "type 'Error' not supported. Supported types are Normal, Warning"
        );
    }

    #[test]
    fn references_lead_to_sources_charts_and_providers() {
        let ks = json!({"metadata": {"name": "apps", "namespace": "team"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "flux-system"}}});
        assert_eq!(
            references("Kustomization", &ks),
            [("GitRepository".into(), "repo".into(), "flux-system".into())]
        );
        let hr = json!({"metadata": {"name": "web", "namespace": "team"},
            "spec": {"chart": {"spec": {"sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}});
        assert_eq!(
            references("HelmRelease", &hr),
            [
                ("HelmRepository".into(), "charts".into(), "team".into()),
                ("HelmChart".into(), "team-web".into(), "team".into())
            ]
        );
        let alert = json!({"metadata": {"name": "a", "namespace": "team"},
            "spec": {"providerRef": {"name": "slack"}}});
        assert_eq!(
            references("Alert", &alert),
            [("Provider".into(), "slack".into(), "team".into())]
        );
        assert!(references("GitRepository", &ks).is_empty());
    }
}
