//! `flux logs`: read the controllers' JSON log lines, keep the entries that
//! match the filters and print them in upstream's one-line format.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde::Deserialize;

use crate::cli::{LogLevel, LogsArgs};
use crate::cluster::health::{Deadline, PART_OF_SELECTOR, classify};
use crate::cluster::objects::ObjectError;
use crate::cluster::reconnect::Reachability;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::output::Printer;

/// One controller log entry; only the fields the output uses.
#[derive(Debug, Default, Deserialize)]
struct Entry {
    #[serde(default)]
    ts: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    error: String,
    #[serde(default, rename = "reconciler kind")]
    reconciler_kind: String,
    #[serde(default, rename = "controllerKind")]
    controller_kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

impl Entry {
    fn kind(&self) -> &str {
        if self.reconciler_kind.is_empty() {
            &self.controller_kind
        } else {
            &self.reconciler_kind
        }
    }
}

/// Which entries to print.
#[derive(Debug, Clone)]
struct Filter {
    level: Option<LogLevel>,
    kind: String,
    name: String,
    /// `None` with -A.
    namespace: Option<String>,
}

impl Filter {
    fn matches(&self, entry: &Entry) -> bool {
        self.level
            .is_none_or(|level| entry.level == level.to_string())
            && (self.kind.is_empty()
                || entry.reconciler_kind.eq_ignore_ascii_case(&self.kind)
                || entry.controller_kind.eq_ignore_ascii_case(&self.kind))
            && (self.name.is_empty() || entry.name.eq_ignore_ascii_case(&self.name))
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| entry.namespace.eq_ignore_ascii_case(ns))
    }
}

/// ANSI colour of a level on a terminal.
fn level_colour(level: &str) -> Option<&'static str> {
    match level {
        "error" => Some("31"),
        "info" => Some("32"),
        "debug" => Some("2"),
        _ => None,
    }
}

/// `<ts> <level> <kind>[/<name>.<namespace>] - <msg> <error>`: upstream's
/// template, including the space before an empty error.
fn format_entry(entry: &Entry, colour: bool) -> String {
    let level = match level_colour(&entry.level).filter(|_| colour) {
        Some(code) => format!("\x1b[{code}m{}\x1b[0m", entry.level),
        None => entry.level.clone(),
    };
    let object = if entry.name.is_empty() {
        entry.kind().to_string()
    } else {
        format!("{}/{}.{}", entry.kind(), entry.name, entry.namespace)
    };
    format!(
        "{} {level} {object} - {} {}\n",
        entry.ts, entry.msg, entry.error
    )
}

/// What to do with one raw log line.
enum Line {
    Print(String),
    Skip,
    /// Not valid JSON: the pod's stream is abandoned, as upstream does.
    Invalid(serde_json::Error),
}

fn process(raw: &str, filter: &Filter, colour: bool) -> Line {
    if !raw.starts_with('{') {
        return Line::Skip;
    }
    match serde_json::from_str::<Entry>(raw) {
        Ok(entry) if filter.matches(&entry) => Line::Print(format_entry(&entry, colour)),
        Ok(_) => Line::Skip,
        Err(err) => Line::Invalid(err),
    }
}

/// Sort key of a pod, smallest first.
type PodRank = (
    bool,
    u8,
    bool,
    Option<jiff::Timestamp>,
    std::cmp::Reverse<i32>,
    Option<jiff::Timestamp>,
);

/// Orders a Deployment's pods like kubectl picks the one to read: scheduled
/// first, then Running before Unknown before Pending, ready, ready longest,
/// most restarts, oldest.
fn pod_rank(pod: &Pod) -> PodRank {
    let status = pod.status.as_ref();
    let scheduled = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") => 0,
        Some("Unknown") => 1,
        Some("Pending") => 2,
        _ => 3,
    };
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "True"));
    let ready_since = ready
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    let restarts: i32 = status
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0);
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    (
        !scheduled,
        phase,
        ready.is_none(),
        ready_since,
        std::cmp::Reverse(restarts),
        created,
    )
}

/// A label selector string for the Deployment's `matchLabels`.
fn selector(deployment: &Deployment) -> Option<String> {
    let labels = deployment
        .spec
        .as_ref()?
        .selector
        .match_labels
        .as_ref()
        .filter(|l| !l.is_empty())?;
    Some(
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// One pod per Flux controller, in the order the Deployments are listed.
async fn controller_pods(
    client: &kube::Client,
    namespace: &str,
    deadline: &Deadline,
) -> anyhow::Result<Vec<Pod>> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = deadline
        .call(deployments.list(&ListParams::default().labels(PART_OF_SELECTOR)))
        .await
        .with_context(|| format!("unable to list the Flux deployments in {namespace}"))?;
    let mut chosen = Vec::new();
    for deployment in &list.items {
        let Some(selector) = selector(deployment) else {
            continue;
        };
        let found = deadline
            .call(pods.list(&ListParams::default().labels(&selector)))
            .await
            .with_context(|| format!("unable to list the pods of {selector}"))?;
        if let Some(pod) = found.items.into_iter().min_by_key(pod_rank) {
            chosen.push(pod);
        }
    }
    if chosen.is_empty() {
        bail!(
            "no Flux pods found in namespace \"{namespace}\": is Flux installed there? 'flux check' tells, 'flux install' installs it"
        );
    }
    Ok(chosen)
}

/// Why reading a pod's log stopped early.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    /// Reported, and the other pods are still read.
    #[error("failed getting logs: {0}")]
    Logs(String),
    /// The API server is gone (`--follow`): ends the command.
    #[error("failed getting logs: {0}")]
    Lost(ObjectError),
    /// Ends the command (a closed pipe ends it quietly).
    #[error("unable to write to stdout")]
    Output(#[source] std::io::Error),
}

/// How long a followed log waits before opening its stream again.
const REOPEN_PAUSE: Duration = Duration::from_secs(1);

/// Reads one pod's log until it ends, printing what passes the filter.
/// With `--follow`, a stream that breaks is opened again from the moment
/// it broke, until the server has been gone too long.
async fn read_pod(
    pods: &Api<Pod>,
    pod: &Pod,
    params: &LogParams,
    filter: &Filter,
    printer: &Printer,
) -> Result<(), ReadError> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut params = params.clone();
    let containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    if containers > 1 {
        params.container = Some("manager".into());
    }
    let colour = printer.is_interactive();
    let mut reach = Reachability::default();
    loop {
        let stream = match pods.log_stream(&name, &params).await {
            Ok(stream) => stream,
            Err(err) if params.follow => {
                reach.failed(classify(err)).map_err(ReadError::Lost)?;
                tokio::time::sleep(REOPEN_PAUSE).await;
                continue;
            }
            Err(err) => return Err(ReadError::Logs(classify(err).to_string())),
        };
        reach.answered();
        let mut lines = stream.lines();
        let broken = loop {
            match lines.try_next().await {
                Ok(Some(raw)) => match process(&raw, filter, colour) {
                    Line::Print(text) => printer.out(&text).map_err(ReadError::Output)?,
                    Line::Skip => {}
                    Line::Invalid(err) => {
                        printer.failure(&format!("parse error: {err}"));
                        return Ok(());
                    }
                },
                // A server that goes away can also end the stream cleanly:
                // a followed log ends only when the server still answers.
                Ok(None) if params.follow => match pods.get(&name).await.map_err(classify) {
                    Err(err @ ObjectError::Unreachable(_)) => break err,
                    _ => return Ok(()),
                },
                Ok(None) => return Ok(()),
                Err(err) if !params.follow => return Err(ReadError::Logs(err.to_string())),
                Err(err) => break ObjectError::Unreachable(err.to_string()),
            }
        };
        // Resume where the stream broke, without the --tail lines again.
        params.since_time = Some(jiff::Timestamp::now());
        params.since_seconds = None;
        params.tail_lines = None;
        reach.failed(broken).map_err(ReadError::Lost)?;
    }
}

/// `--since`/`--since-time` as log parameters.
fn time_params(args: &LogsArgs, params: &mut LogParams) -> anyhow::Result<()> {
    match (&args.since, &args.since_time) {
        (Some(_), Some(_)) => {
            bail!("at most one of `sinceTime` or `sinceDuration` may be specified")
        }
        (Some(since), None) => {
            // Whole seconds, rounded up so a short --since still limits.
            let seconds = since.as_std().as_secs_f64().ceil() as i64;
            params.since_seconds = (seconds > 0).then_some(seconds);
        }
        (None, Some(time)) => {
            let at = time
                .parse::<jiff::Timestamp>()
                .map_err(|_| anyhow!("{time} is not a valid (RFC3339) time"))?;
            params.since_time = Some(at);
        }
        (None, None) => {}
    }
    Ok(())
}

pub async fn run(ctx: &Ctx, args: &LogsArgs) -> anyhow::Result<ExitStatus> {
    let client = ctx.kube.client().await?;
    if !args.extra.is_empty() {
        bail!("no argument required");
    }
    let mut params = LogParams {
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        ..LogParams::default()
    };
    time_params(args, &mut params)?;
    let filter = Filter {
        level: args.level,
        kind: args.kind.clone(),
        name: args.name.clone(),
        namespace: (!args.all_namespaces).then(|| ctx.global.namespace.clone()),
    };
    let deadline = Deadline::after(ctx.global.timeout);
    let pods = controller_pods(&client, &args.flux_namespace, &deadline).await?;
    let api: Api<Pod> = Api::namespaced(client, &args.flux_namespace);
    let printer = &ctx.printer;
    if args.follow {
        // Every controller at once, lines interleaved as they arrive; the
        // streams end when --timeout passes, which is not an error.
        let all = futures::future::try_join_all(pods.iter().map(|pod| async {
            match read_pod(&api, pod, &params, &filter, printer).await {
                Err(ReadError::Logs(err)) => {
                    printer.failure(&format!("failed getting logs: {err}"));
                    Ok(())
                }
                other => other,
            }
        }));
        if let Ok(outcome) = tokio::time::timeout_at(deadline.instant(), all).await {
            outcome?;
        }
        return Ok(ExitStatus::Success);
    }
    let read_all = async {
        let mut complete = true;
        for pod in &pods {
            match read_pod(&api, pod, &params, &filter, printer).await {
                Ok(()) => {}
                Err(ReadError::Logs(err)) => {
                    printer.failure(&format!("failed getting logs: {err}"));
                    complete = false;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(complete)
    };
    let complete = tokio::time::timeout_at(deadline.instant(), read_all)
        .await
        .map_err(|_| {
            anyhow!(
                "failed to collect logs from all Flux pods: not finished within {} (see --timeout)",
                deadline.timeout()
            )
        })??;
    if !complete {
        bail!("failed to collect logs from all Flux pods");
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Filter {
        Filter {
            level: None,
            kind: String::new(),
            name: String::new(),
            namespace: None,
        }
    }

    #[test]
    fn lines_follow_upstreams_template() {
        let line = r#"{"level":"info","ts":"2022-08-02T12:55:34.419Z","msg":"no changes","reconciler kind":"GitRepository","name":"podinfo","namespace":"default"}"#;
        let Line::Print(text) = process(line, &filter(), false) else {
            panic!("line not printed")
        };
        assert_eq!(
            text,
            "2022-08-02T12:55:34.419Z info GitRepository/podinfo.default - no changes \n"
        );
        let line = r#"{"level":"error","ts":"t","msg":"m","error":"boom","controllerKind":"Kustomization"}"#;
        let Line::Print(text) = process(line, &filter(), false) else {
            panic!("line not printed")
        };
        assert_eq!(text, "t error Kustomization - m boom\n");
    }

    #[test]
    fn levels_are_coloured_only_when_asked() {
        let entry = Entry {
            level: "error".into(),
            ..Entry::default()
        };
        assert!(format_entry(&entry, true).contains("\x1b[31merror\x1b[0m"));
        assert!(!format_entry(&entry, false).contains('\x1b'));
    }

    #[test]
    fn filters_compare_kind_name_and_namespace_case_insensitively() {
        let entry: Entry = serde_json::from_str(
            r#"{"level":"error","controllerKind":"Kustomization","name":"PodInfo","namespace":"Flux-System"}"#,
        )
        .unwrap();
        let mut f = filter();
        f.kind = "kustomization".into();
        f.name = "podinfo".into();
        f.namespace = Some("flux-system".into());
        f.level = Some(LogLevel::Error);
        assert!(f.matches(&entry));
        f.level = Some(LogLevel::Info);
        assert!(!f.matches(&entry));
        f.level = None;
        f.namespace = Some("default".into());
        assert!(!f.matches(&entry));
    }

    #[test]
    fn entries_without_namespace_are_dropped_unless_all_namespaces() {
        let entry: Entry = serde_json::from_str(r#"{"msg":"starting manager"}"#).unwrap();
        let mut f = filter();
        assert!(f.matches(&entry));
        f.namespace = Some("flux-system".into());
        assert!(!f.matches(&entry));
    }

    #[test]
    fn non_json_lines_are_skipped_and_bad_json_stops_the_pod() {
        assert!(matches!(
            process("plain text", &filter(), false),
            Line::Skip
        ));
        assert!(matches!(
            process(r#"{"ts": 12}"#, &filter(), false),
            Line::Invalid(_)
        ));
    }

    #[test]
    fn since_flags_are_exclusive_and_validated() {
        let parse = |flags: &[&str]| {
            let cli = crate::cli::parse(["flux", "logs"].into_iter().chain(flags.iter().copied()))
                .unwrap();
            let Some(crate::cli::Command::Logs(args)) = cli.command else {
                panic!("not logs")
            };
            let mut params = LogParams::default();
            time_params(&args, &mut params).map(|()| params)
        };
        assert_eq!(parse(&["--since=2m"]).unwrap().since_seconds, Some(120));
        assert_eq!(
            parse(&["--since=2m", "--since-time=2024-01-01T00:00:00Z"])
                .unwrap_err()
                .to_string(),
            "at most one of `sinceTime` or `sinceDuration` may be specified"
        );
        assert_eq!(
            parse(&["--since-time=yesterday"]).unwrap_err().to_string(),
            "yesterday is not a valid (RFC3339) time"
        );
        assert!(parse(&["--since-time=2024-01-01T00:00:00.5Z"]).is_ok());
    }
}
