//! `flux check`: the Kubernetes version, then (without --pre) the Flux
//! distribution, the controllers' rollout and the CRDs, with upstream's lines.
//! Problems are reported as lines and an exit status of 1, not as errors.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};

use crate::cli::CheckArgs;
use crate::cluster::health::{
    self, CallError, ClusterInfo, Deadline, INFO_CRD, PART_OF_SELECTOR, cluster_info,
};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::output::Printer;
use crate::render::components::FLUX_VERSION;

/// The oldest Kubernetes release Flux v2.9 supports (pre-releases included).
const MIN_KUBERNETES: (u64, u64, u64) = (1, 33, 0);
const MIN_KUBERNETES_RANGE: &str = ">=1.33.0-0";

/// A Kubernetes `gitVersion` split into its numeric core and the text
/// printed for it (leading `v` dropped, pre-release and build kept).
#[derive(Debug, PartialEq, Eq)]
struct KubeVersion {
    core: (u64, u64, u64),
    display: String,
}

/// Reads `v1.33.1+k3s1` or `1.34.0-rc.1`: three numeric parts, then an
/// optional pre-release and build suffix.
fn parse_kube_version(git_version: &str) -> Option<KubeVersion> {
    let display = git_version.strip_prefix('v').unwrap_or(git_version);
    let core_end = display.find(['-', '+']).unwrap_or(display.len());
    let mut parts = display[..core_end].split('.').map(|p| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    });
    let core = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some(KubeVersion {
        core,
        display: display.to_string(),
    })
}

/// The Kubernetes step; `Err` when the server could not be asked at all.
async fn kubernetes_check(
    printer: &Printer,
    client: &kube::Client,
    deadline: &Deadline,
) -> Result<bool, CallError> {
    let info = match deadline.call(client.apiserver_version()).await {
        Ok(info) => info,
        Err(err) => {
            printer.failure(&format!("Kubernetes API call failed: {err}"));
            return Err(err);
        }
    };
    let Some(version) = parse_kube_version(&info.git_version) else {
        printer.failure("Kubernetes version can't be determined");
        return Ok(false);
    };
    if version.core < MIN_KUBERNETES {
        printer.failure(&format!(
            "Kubernetes version {} does not match {MIN_KUBERNETES_RANGE}",
            info.git_version
        ));
        return Ok(false);
    }
    printer.success(&format!(
        "Kubernetes {} {MIN_KUBERNETES_RANGE}",
        version.display
    ));
    Ok(true)
}

/// The distribution step; `None` when the Flux CRDs could not be read.
async fn version_check(
    printer: &Printer,
    client: &kube::Client,
    deadline: &Deadline,
) -> Option<ClusterInfo> {
    printer.action("checking version in cluster");
    let info = match cluster_info(client, deadline).await {
        Ok(info) if info.installed => info,
        Ok(_) => {
            // Upstream prints the API server's NotFound message here.
            printer.failure(&format!(
                "checking failed: customresourcedefinitions.apiextensions.k8s.io \"{INFO_CRD}\" not found"
            ));
            return None;
        }
        Err(err) => {
            printer.failure(&format!("checking failed: {err}"));
            return None;
        }
    };
    let distribution = info.distribution();
    if !distribution.is_empty() {
        printer.success(&format!("distribution: {distribution}"));
    }
    printer.success(&format!("bootstrapped: {}", info.bootstrapped));
    if !info.version.is_empty() && info.version != FLUX_VERSION {
        printer.warning(&format!(
            "the cluster runs Flux {} but this CLI embeds {FLUX_VERSION}: upgrade the cluster with 'flux install' (or 'flux bootstrap'), or use a CLI of the same version",
            info.version
        ));
    }
    Some(info)
}

/// The controllers step: every Flux Deployment must roll out within the
/// deadline. Returns (passed, any controller found).
async fn controllers_check(ctx: &Ctx, client: &kube::Client, deadline: &Deadline) -> (bool, bool) {
    let printer = &ctx.printer;
    let namespace = &ctx.global.namespace;
    printer.action("checking controllers");
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let list = match deadline
        .call(api.list(&ListParams::default().labels(PART_OF_SELECTOR)))
        .await
    {
        Ok(list) => list.items,
        Err(err) => {
            // Upstream stays silent here; a failed list is still a failed check.
            printer.failure(&format!("unable to list the controllers: {err}"));
            return (false, false);
        }
    };
    if list.is_empty() {
        printer.failure(&format!(
            "no controllers found in the '{namespace}' namespace with the label selector '{PART_OF_SELECTOR}'"
        ));
        return (false, false);
    }
    let names: Vec<String> = list
        .iter()
        .map(|d| d.metadata.name.clone().unwrap_or_default())
        .collect();
    let images = |name: &str| -> Vec<String> {
        list.iter()
            .find(|d| d.metadata.name.as_deref() == Some(name))
            .and_then(|d| d.spec.as_ref())
            .and_then(|s| s.template.spec.as_ref())
            .map(|s| {
                s.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let outcome = health::wait_for_rollouts(&api, &names, deadline, |name, status| {
        if *status == health::Rollout::Current {
            printer.success(&status.line(name));
        } else {
            printer.failure(&status.line(name));
        }
        for image in images(name) {
            printer.action(&image);
        }
    })
    .await;
    match outcome {
        Ok(report) => {
            if let Some(err) = report.last_error.filter(|_| !report.ready) {
                printer.failure(&format!("watching the controllers failed: {err}"));
            }
            (report.ready, true)
        }
        Err(err) => {
            printer.failure(&format!("watching the controllers failed: {err}"));
            (false, true)
        }
    }
}

/// The CRDs step: every Flux CRD must have a stored version. Returns
/// (passed, any CRD found).
async fn crds_check(printer: &Printer, client: &kube::Client, deadline: &Deadline) -> (bool, bool) {
    printer.action("checking crds");
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = match deadline
        .call(api.list(&ListParams::default().labels(PART_OF_SELECTOR)))
        .await
    {
        Ok(list) => list.items,
        Err(err) => {
            printer.failure(&format!("unable to list the CRDs: {err}"));
            return (false, false);
        }
    };
    if crds.is_empty() {
        printer.failure(&format!(
            "no crds found with the label selector '{PART_OF_SELECTOR}'"
        ));
        return (false, false);
    }
    let mut ok = true;
    for crd in &crds {
        let name = crd.metadata.name.as_deref().unwrap_or_default();
        match crd
            .status
            .as_ref()
            .and_then(|s| s.stored_versions.as_ref())
            .and_then(|v| v.last())
        {
            Some(version) => printer.success(&format!("{name}/{version}")),
            None => {
                printer.failure(&format!("no stored versions for {name}"));
                ok = false;
            }
        }
    }
    (ok, true)
}

pub async fn run(ctx: &Ctx, args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let printer = &ctx.printer;
    let deadline = Deadline::after(ctx.global.timeout);
    printer.action("checking prerequisites");
    // Upstream asks GitHub here whether a newer CLI exists; flux-rs makes no
    // network calls besides the cluster's, so that check is skipped.
    let client = ctx
        .kube
        .client()
        .await
        .map_err(|e| anyhow::anyhow!("Kubernetes client initialization failed: {e}"))?;
    let kubernetes_ok = match kubernetes_check(printer, &client, &deadline).await {
        Ok(ok) => ok,
        // Without an API server every further step would fail the same way.
        Err(err) if err.is_unreachable() => {
            printer.failure("check failed");
            return Ok(ExitStatus::Failure);
        }
        Err(_) => false,
    };
    if args.pre {
        if !kubernetes_ok {
            return Ok(ExitStatus::Failure);
        }
        printer.success("prerequisites checks passed");
        return Ok(ExitStatus::Success);
    }
    let info = version_check(printer, &client, &deadline).await;
    let (controllers_ok, controllers_found) = controllers_check(ctx, &client, &deadline).await;
    let (crds_ok, crds_found) = crds_check(printer, &client, &deadline).await;
    if info.is_none() && !controllers_found && !crds_found {
        printer.warning("Flux is not installed in this cluster: run 'flux install' to install it");
    }
    if kubernetes_ok && info.is_some() && controllers_ok && crds_ok {
        printer.success("all checks passed");
        Ok(ExitStatus::Success)
    } else {
        printer.failure("check failed");
        Ok(ExitStatus::Failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_versions_parse_leniently() {
        let v = parse_kube_version("v1.33.1+k3s1").unwrap();
        assert_eq!((v.core, v.display.as_str()), ((1, 33, 1), "1.33.1+k3s1"));
        let v = parse_kube_version("1.34.0-rc.1").unwrap();
        assert_eq!((v.core, v.display.as_str()), ((1, 34, 0), "1.34.0-rc.1"));
        assert_eq!(parse_kube_version("v1.35"), None);
        assert_eq!(parse_kube_version("v1.35.0.1"), None);
        assert_eq!(parse_kube_version("v1.x.0"), None);
        assert_eq!(parse_kube_version(""), None);
    }

    #[test]
    fn the_minimum_admits_pre_releases_of_1_33() {
        let ok = |s: &str| parse_kube_version(s).unwrap().core >= MIN_KUBERNETES;
        assert!(ok("v1.33.0-rc.1"));
        assert!(ok("v1.33.0"));
        assert!(ok("v2.0.0"));
        assert!(!ok("v1.32.9"));
    }
}
