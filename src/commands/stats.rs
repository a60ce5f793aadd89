//! `flux stats`: per Flux kind, how many objects run, fail and are
//! suspended, and how much artifact storage the sources use.

use anyhow::Context;
use kube::api::ListParams;
use serde_json::Value;

use crate::cli::StatsArgs;
use crate::cluster::objects;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds;
use crate::output::table;

/// The rows of the report, in upstream's order.
const KINDS: [&str; 13] = [
    "GitRepository",
    "OCIRepository",
    "HelmRepository",
    "HelmChart",
    "Bucket",
    "Kustomization",
    "HelmRelease",
    "Alert",
    "Provider",
    "Receiver",
    "ImageUpdateAutomation",
    "ImagePolicy",
    "ImageRepository",
];

/// The counts of one kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    total: usize,
    suspended: usize,
    failing: usize,
    storage: i64,
}

impl Counts {
    fn add(&mut self, object: &Value) {
        self.total += 1;
        if object["spec"]["suspend"].as_bool() == Some(true) {
            self.suspended += 1;
        }
        self.failing += object["status"]["conditions"]
            .as_array()
            .map(|conditions| {
                conditions
                    .iter()
                    .filter(|c| c["type"] == "Ready" && c["status"] == "False")
                    .count()
            })
            .unwrap_or(0);
        if let Some(size) = object["status"]["artifact"]["size"].as_i64() {
            self.storage += size;
        }
    }

    fn row(&self, kind: &str) -> Vec<String> {
        vec![
            kind.to_string(),
            (self.total - self.suspended).to_string(),
            self.failing.to_string(),
            self.suspended.to_string(),
            size(self.storage),
        ]
    }
}

/// Bytes in binary units with one decimal, `-` for none (upstream's rounding).
fn size(bytes: i64) -> String {
    const UNIT: i64 = 1024;
    if bytes == 0 {
        return "-".to_string();
    }
    if bytes < UNIT {
        return format!("{bytes} B");
    }
    let (mut div, mut exp) = (UNIT, 0);
    let mut n = bytes / UNIT;
    while n >= UNIT {
        div *= UNIT;
        exp += 1;
        n /= UNIT;
    }
    let unit = ["K", "M", "G", "T", "P", "E"][exp];
    format!("{:.1} {unit}iB", bytes as f64 / div as f64)
}

/// Counts the objects of `kind`; none when the kind cannot be listed (CRD
/// missing, no permission), as upstream shows it.
async fn count(client: kube::Client, kind: &str, namespace: Option<&str>) -> Counts {
    let spec = kinds::by_kind(kind).expect("a registered kind");
    let api = objects::api(client, spec, namespace);
    let mut counts = Counts::default();
    let listed = objects::for_each_page(spec, &api, &ListParams::default(), |page| {
        page.iter().for_each(|object| counts.add(object));
    })
    .await;
    if listed.is_err() {
        return Counts::default();
    }
    counts
}

pub async fn run(ctx: &Ctx, args: &StatsArgs) -> anyhow::Result<ExitStatus> {
    let client = ctx.kube.client().await?;
    let namespace = (!args.all_namespaces).then_some(ctx.global.namespace.as_str());
    // The kinds are listed at once: the command costs about its largest list.
    let counts = futures::future::join_all(
        KINDS
            .iter()
            .map(|kind| count(client.clone(), kind, namespace)),
    )
    .await;
    let rows: Vec<Vec<String>> = KINDS
        .iter()
        .zip(&counts)
        .map(|(kind, counts)| counts.row(kind))
        .collect();
    let header = ["Reconcilers", "Running", "Failing", "Suspended", "Storage"];
    ctx.printer
        .out(&table::render(Some(&header), &rows))
        .context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_use_binary_units_with_one_decimal() {
        for (bytes, shown) in [
            (0, "-"),
            (1, "1 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (12 * 1024 * 1024, "12.0 MiB"),
            (1024 * 1024 - 1, "1024.0 KiB"),
            (3 * 1024_i64.pow(4), "3.0 TiB"),
        ] {
            assert_eq!(size(bytes), shown, "{bytes}");
        }
    }

    #[test]
    fn failing_objects_are_running_and_suspended_ones_are_not() {
        let mut counts = Counts::default();
        counts.add(&json!({"status": {"conditions": [{"type": "Ready", "status": "False"}], "artifact": {"size": 10}}}));
        counts.add(&json!({"spec": {"suspend": true}, "status": {"artifact": {"size": 5}}}));
        counts.add(&json!({"status": {"conditions": [{"type": "ready", "status": "False"}]}}));
        assert_eq!(
            counts.row("GitRepository"),
            ["GitRepository", "2", "1", "1", "15 B"]
        );
    }
}
