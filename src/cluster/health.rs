//! The state of a Flux installation: what the CRDs say about it, whether the
//! controllers' Deployments have rolled out (kstatus rules, watched rather
//! than polled), and a deadline that bounds every call to the API server.
//! Used by `check`, `install` and `uninstall`.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::time::Instant;

use super::objects::ObjectError;
use super::reconnect::Reachability;
use crate::duration::GoDuration;

/// The label every object of the install set carries.
pub const PART_OF_SELECTOR: &str = "app.kubernetes.io/part-of=flux";

/// The CRD whose labels describe the installation.
pub const INFO_CRD: &str = "gitrepositories.source.toolkit.fluxcd.io";

/// Sorts a kube error into the messages users get for cluster problems.
pub fn classify(err: kube::Error) -> ObjectError {
    match err {
        kube::Error::Api(status) => match status.code {
            401 => ObjectError::Unauthorized,
            403 => ObjectError::Forbidden(status.message),
            _ => ObjectError::Api(status.message),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            ObjectError::Unreachable(super::transport::describe_kube(&err).unwrap_or_default())
        }
        other => ObjectError::Api(other.to_string()),
    }
}

/// Sorts a watcher's error as [`classify`] sorts a request's.
pub fn from_watcher(err: watcher::Error) -> ObjectError {
    match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => classify(e),
        other => ObjectError::Api(other.to_string()),
    }
}

/// When a command has to give up: `--timeout` after it started. The kube
/// client's own connect timeout is far longer, so every call is bounded here.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
}

/// Most of the head start a deadline keeps on the process-wide `--timeout`.
const MAX_MARGIN: Duration = Duration::from_millis(250);

impl Deadline {
    /// Ends a moment before `timeout` is up, so a command reports what it
    /// was waiting for (or ends a stream quietly) before the process-wide
    /// bound cuts it short.
    pub fn after(timeout: Duration) -> Self {
        let margin = (timeout / 20).min(MAX_MARGIN);
        Self {
            at: Instant::now() + timeout - margin,
            timeout,
        }
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The timeout as the user wrote it (`5m0s`).
    pub fn timeout(&self) -> String {
        GoDuration::new(self.timeout).to_string()
    }

    /// Why a call made after the deadline failed (without the "unable to
    /// reach" prefix, for errors that add their own).
    pub fn elapsed_message(&self) -> String {
        format!("no answer within {} (see --timeout)", self.timeout())
    }

    /// Runs one API call, failing with a clear error once the deadline passes.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout_at(self.at, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(CallError::Failed {
                not_found: matches!(&err, kube::Error::Api(status) if status.code == 404),
                error: classify(err),
            }),
            Err(_) => Err(CallError::Elapsed(self.elapsed_message())),
        }
    }
}

/// An API call that failed or did not finish in time.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("unable to reach the Kubernetes API server: {0}")]
    Elapsed(String),
    #[error("{error}")]
    Failed { error: ObjectError, not_found: bool },
}

impl CallError {
    /// Whether the API server answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Failed {
                not_found: true,
                ..
            }
        )
    }

    /// Whether the server could not be reached at all, so further calls are pointless.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::Elapsed(_)
                | Self::Failed {
                    error: ObjectError::Unreachable(_) | ObjectError::Unauthorized,
                    ..
                }
        )
    }
}

/// What the Flux CRDs say about the installation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The Flux CRDs are present.
    pub installed: bool,
    /// Value of `app.kubernetes.io/version` (e.g. `v2.9.4`).
    pub version: String,
    /// Value of `app.kubernetes.io/part-of` (`flux`).
    pub part_of: String,
    /// Value of `app.kubernetes.io/managed-by`, when set.
    pub managed_by: Option<String>,
    /// Installed by `flux bootstrap`.
    pub bootstrapped: bool,
}

impl ClusterInfo {
    /// `flux-v2.9.4`, or the bare version when part-of is unset.
    pub fn distribution(&self) -> String {
        match self.part_of.as_str() {
            "" => self.version.clone(),
            part_of => format!("{part_of}-{}", self.version),
        }
    }

    /// The tool managing the installation, when it is not the flux CLI.
    pub fn foreign_manager(&self) -> Option<&str> {
        self.managed_by
            .as_deref()
            .filter(|m| !m.is_empty() && *m != "flux")
    }
}

/// Reads the installation's labels from the GitRepository CRD. A missing CRD
/// means Flux is not installed, which is not an error.
pub async fn cluster_info(
    client: &kube::Client,
    deadline: &Deadline,
) -> Result<ClusterInfo, CallError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = match deadline.call(crds.get_metadata(INFO_CRD)).await {
        Ok(crd) => crd,
        Err(err) if err.is_not_found() => return Ok(ClusterInfo::default()),
        Err(err) => return Err(err),
    };
    let labels = crd.metadata.labels.unwrap_or_default();
    let label = |key: &str| labels.get(key).cloned().unwrap_or_default();
    Ok(ClusterInfo {
        installed: true,
        version: label("app.kubernetes.io/version"),
        part_of: label("app.kubernetes.io/part-of"),
        managed_by: labels.get("app.kubernetes.io/managed-by").cloned(),
        // Upstream only looks at this label (the `…/name` one is ignored).
        bootstrapped: labels.contains_key("kustomize.toolkit.fluxcd.io/namespace"),
    })
}

/// Rollout status of a Deployment, by the kstatus rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Current,
    InProgress(String),
    Failed(String),
    NotFound,
}

impl Rollout {
    /// Whether waiting longer could change the outcome.
    fn settled(&self) -> bool {
        matches!(self, Self::Current | Self::Failed(_))
    }

    /// Why a rollout is not done, in kstatus's words, for the line before
    /// upstream's `deployment not ready`.
    pub fn detail(&self, name: &str) -> Option<String> {
        match self {
            Self::InProgress(why) | Self::Failed(why) => Some(format!("{name}: {why}")),
            Self::Current | Self::NotFound => None,
        }
    }

    /// The line printed for a component: `<name>: deployment ready`, etc.
    pub fn line(&self, name: &str) -> String {
        match self {
            Self::Current => format!("{name}: deployment ready"),
            Self::NotFound => format!("{name}: deployment not found"),
            Self::InProgress(_) | Self::Failed(_) => format!("{name}: deployment not ready"),
        }
    }
}

/// kstatus for a Deployment: replicas all updated, ready and available,
/// and the Progressing/Available conditions saying so.
pub fn rollout_status(deployment: &Deployment) -> Rollout {
    if deployment.metadata.deletion_timestamp.is_some() {
        return Rollout::InProgress("Deployment scheduled for deletion".into());
    }
    let Some(status) = &deployment.status else {
        return Rollout::InProgress("Deployment has no status yet".into());
    };
    let generation = deployment.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0);
    if observed != generation {
        return Rollout::InProgress(format!(
            "Deployment generation is {generation}, but latest observed generation is {observed}"
        ));
    }
    let spec = deployment.spec.as_ref();
    let wanted = spec.and_then(|s| s.replicas).unwrap_or(1);
    let replicas = status.replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let mut progressing = false;
    let mut is_available = false;
    for condition in status.conditions.iter().flatten() {
        match condition.type_.as_str() {
            "Progressing" if condition.reason.as_deref() == Some("ProgressDeadlineExceeded") => {
                return Rollout::Failed("Progress deadline exceeded".into());
            }
            "Progressing" => {
                progressing = condition.status == "True"
                    && condition.reason.as_deref() == Some("NewReplicaSetAvailable");
            }
            "Available" => is_available = condition.status == "True",
            _ => {}
        }
    }
    let pending = if wanted > replicas {
        Some(format!("Replicas: {replicas}/{wanted}"))
    } else if wanted > updated {
        Some(format!("Updated: {updated}/{wanted}"))
    } else if replicas > wanted {
        Some(format!("Pending termination: {}", replicas - wanted))
    } else if updated > available {
        Some(format!("Available: {available}/{updated}"))
    } else if wanted > ready {
        Some(format!("Ready: {ready}/{wanted}"))
    } else if spec.is_some_and(|s| s.progress_deadline_seconds.is_some()) && !progressing {
        Some("ReplicaSet not Available".into())
    } else if !is_available {
        Some("Deployment not Available".into())
    } else {
        None
    };
    pending.map_or(Rollout::Current, Rollout::InProgress)
}

/// How waiting for rollouts ended.
#[derive(Debug)]
pub struct RolloutReport {
    /// Every Deployment is current.
    pub ready: bool,
    /// The last error the watch hit, if the deadline passed while it retried.
    pub last_error: Option<String>,
}

/// Watches the Deployments `names` until each has rolled out or failed, or
/// the deadline passes. `report` gets each name's final status in the order
/// of `names`, as soon as it and every name before it are settled, so
/// output is ordered yet appears as rollouts complete.
pub async fn wait_for_rollouts(
    api: &Api<Deployment>,
    names: &[String],
    deadline: &Deadline,
    mut report: impl FnMut(&str, &Rollout),
) -> Result<RolloutReport, ObjectError> {
    let mut states: BTreeMap<&str, Rollout> = names
        .iter()
        .map(|n| (n.as_str(), Rollout::NotFound))
        .collect();
    let mut next = 0;
    let mut last_error = None;
    let mut reach = Reachability::default();
    let mut stream = watcher::watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    let watch = async {
        loop {
            while let Some(name) = names.get(next) {
                if !states[name.as_str()].settled() {
                    break;
                }
                report(name, &states[name.as_str()]);
                next += 1;
            }
            if next == names.len() {
                return Ok(());
            }
            match reach.next(&mut stream).await? {
                None => return Err(ObjectError::Api("the watch ended unexpectedly".into())),
                Some(Ok(Event::Apply(d) | Event::InitApply(d))) => {
                    reach.answered();
                    let name = d.metadata.name.clone().unwrap_or_default();
                    if let Some(state) = states.get_mut(name.as_str()) {
                        *state = rollout_status(&d);
                    }
                    last_error = None;
                }
                Some(Ok(Event::Delete(d))) => {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    if let Some(state) = states.get_mut(name.as_str()) {
                        *state = Rollout::NotFound;
                    }
                }
                // Init comes before the list request is answered.
                Some(Ok(Event::Init)) => {}
                Some(Ok(Event::InitDone)) => reach.answered(),
                // The watcher re-lists and resumes by itself (with backoff);
                // only errors that retrying cannot fix, or a server gone for
                // good, end the wait.
                Some(Err(err)) => {
                    let err = from_watcher(err);
                    last_error = Some(err.to_string());
                    reach.failed(err)?;
                }
            }
        }
    };
    match tokio::time::timeout_at(deadline.instant(), watch).await {
        Ok(Err(err)) => return Err(err),
        // A server that is gone when time runs out is the cause to report.
        Err(_) => {
            if let Some(lost) = reach.lost() {
                return Err(lost);
            }
        }
        Ok(Ok(())) => {}
    }
    for name in &names[next..] {
        report(name, &states[name.as_str()]);
    }
    Ok(RolloutReport {
        ready: states.values().all(|s| *s == Rollout::Current),
        last_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "source-controller", "generation": 2},
            "spec": {
                "replicas": 1,
                "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": "source-controller"}},
                "template": {}
            },
            "status": status
        }))
        .unwrap()
    }

    fn available(reason: &str) -> serde_json::Value {
        json!({
            "observedGeneration": 2,
            "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": reason}
            ]
        })
    }

    #[test]
    fn a_rolled_out_deployment_is_current() {
        assert_eq!(
            rollout_status(&deployment(available("NewReplicaSetAvailable"))),
            Rollout::Current
        );
    }

    #[test]
    fn rollouts_in_progress_say_what_they_wait_for() {
        let mut status = available("ReplicaSetUpdated");
        assert_eq!(
            rollout_status(&deployment(status.clone())),
            Rollout::InProgress("ReplicaSet not Available".into())
        );
        status["observedGeneration"] = json!(1);
        assert_eq!(
            rollout_status(&deployment(status.clone())),
            Rollout::InProgress(
                "Deployment generation is 2, but latest observed generation is 1".into()
            )
        );
        status["observedGeneration"] = json!(2);
        status["readyReplicas"] = json!(0);
        assert_eq!(
            rollout_status(&deployment(status)),
            Rollout::InProgress("Ready: 0/1".into())
        );
        let mut no_status = deployment(json!({}));
        no_status.status = None;
        assert!(matches!(rollout_status(&no_status), Rollout::InProgress(_)));
    }

    #[test]
    fn an_exceeded_progress_deadline_fails() {
        assert_eq!(
            rollout_status(&deployment(available("ProgressDeadlineExceeded"))),
            Rollout::Failed("Progress deadline exceeded".into())
        );
    }

    #[test]
    fn component_lines_follow_upstream() {
        assert_eq!(Rollout::Current.line("a"), "a: deployment ready");
        assert_eq!(Rollout::NotFound.line("a"), "a: deployment not found");
        assert_eq!(
            Rollout::InProgress(String::new()).line("a"),
            "a: deployment not ready"
        );
    }

    #[test]
    fn distribution_and_managers_read_like_upstream() {
        let info = ClusterInfo {
            installed: true,
            version: "v2.9.4".into(),
            part_of: "flux".into(),
            managed_by: Some("flux".into()),
            bootstrapped: false,
        };
        assert_eq!(info.distribution(), "flux-v2.9.4");
        assert_eq!(info.foreign_manager(), None);
        let helm = ClusterInfo {
            part_of: String::new(),
            managed_by: Some("Helm".into()),
            ..info
        };
        assert_eq!(helm.distribution(), "v2.9.4");
        assert_eq!(helm.foreign_manager(), Some("Helm"));
    }
}
