//! The closing health report: the sync source and Kustomization at the
//! pushed commit, then the controllers' Deployments. All checks run even
//! when one fails, so the report is complete.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube::runtime::wait::await_condition;
use serde_json::Value;

use super::{Bootstrap, BootstrapError};
use crate::cluster::health::{Rollout, rollout_status};
use crate::cluster::objects;
use crate::kinds::{self, Progress};

/// Where each kind reports the revision it worked on.
const CHECKS: [(&str, &str); 2] = [
    ("GitRepository", "/status/artifact/revision"),
    ("Kustomization", "/status/lastAttemptedRevision"),
];

pub async fn report(
    run: &Bootstrap<'_>,
    client: &kube::Client,
    revision: &str,
) -> Result<(), BootstrapError> {
    let options = run.options;
    let printer = run.printer;
    let ns = &options.sync.namespace;
    let mut errors = Vec::new();
    // Each wait ends a moment before the run's deadline, so that it can say
    // what it was waiting for before the run as a whole is cut short.
    let remaining = || {
        options
            .deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .saturating_sub(REPORT_MARGIN)
    };
    for (kind, field) in CHECKS {
        printer.waiting(&format!(
            "waiting for {kind} \"{ns}/{ns}\" to be reconciled"
        ));
        let spec = kinds::by_kind(kind).expect("bootstrap kinds are in the registry");
        let api = objects::api(client.clone(), spec, Some(ns));
        let check = |object: &Value| progress(object, kind, field, revision);
        match objects::wait_for(spec, &api, ns, ns, remaining(), check).await {
            Ok(_) => printer.success(&format!("{kind} reconciled successfully")),
            Err(err) => {
                if let Some(detail) = err.timeout_detail() {
                    printer.warning(&detail);
                }
                printer.failure(&err.to_string());
                errors.push(format!(
                    "error while waiting for {kind} to be ready: '{err}'"
                ));
            }
        }
    }

    printer.action("confirming components are healthy");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let mut names: Vec<&String> = options.install.components.iter().collect();
    names.sort();
    let mut healthy = true;
    for name in names {
        let current =
            |d: Option<&Deployment>| d.is_some_and(|d| rollout_status(d) == Rollout::Current);
        let wait = await_condition(deployments.clone(), name, current);
        match tokio::time::timeout(remaining(), wait).await {
            Ok(Ok(_)) => printer.success(&format!("{name}: deployment ready")),
            _ => {
                healthy = false;
                let rollout = match deployments.get_opt(name).await {
                    Ok(Some(deployment)) => rollout_status(&deployment),
                    _ => Rollout::NotFound,
                };
                if let Some(detail) = rollout.detail(name) {
                    printer.warning(&detail);
                }
                printer.failure(&rollout.line(name));
            }
        }
    }
    if healthy {
        printer.success("all components are healthy");
    } else {
        errors.push("timed out waiting for all resources to be ready".to_string());
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(BootstrapError::Health {
            count: 1,
            errors: errors.remove(0),
        }),
        count => Err(BootstrapError::Health {
            count,
            errors: format!("[{}]", errors.join(", ")),
        }),
    }
}

/// Ready at the pushed revision is done. A failure counts only once the
/// controller has worked on that revision: an older failure (say, from
/// before the push) may still be on the object and must not end the wait.
fn progress(object: &Value, kind: &str, field: &str, revision: &str) -> Progress {
    let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    if object["spec"]["suspend"] == Value::Bool(true) {
        return Progress::Failed(format!("{kind} '{ns}/{name}' is suspended"));
    }
    let observed = object["status"]["observedGeneration"] == object["metadata"]["generation"];
    let at_revision = object.pointer(field).and_then(Value::as_str) == Some(revision);
    let Some(ready) = kinds::condition(object, "Ready") else {
        return Progress::Pending;
    };
    match (observed && at_revision, ready["status"].as_str()) {
        (true, Some("True")) => Progress::Done,
        (true, Some("False")) => {
            Progress::Failed(ready["message"].as_str().unwrap_or_default().to_string())
        }
        _ => Progress::Pending,
    }
}

/// How long before the run's deadline a wait gives up and reports.
const REPORT_MARGIN: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo(revision: &str, ready: &str) -> Value {
        json!({
            "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
            "spec": {},
            "status": {
                "observedGeneration": 1,
                "artifact": {"revision": revision},
                "conditions": [{"type": "Ready", "status": ready, "message": "boom"}],
            },
        })
    }

    #[test]
    fn only_the_pushed_revision_counts() {
        let field = "/status/artifact/revision";
        let want = "main@sha1:abc";
        assert_eq!(
            progress(&repo(want, "True"), "GitRepository", field, want),
            Progress::Done
        );
        assert_eq!(
            progress(&repo("main@sha1:old", "True"), "GitRepository", field, want),
            Progress::Pending
        );
        assert_eq!(
            progress(
                &repo("main@sha1:old", "False"),
                "GitRepository",
                field,
                want
            ),
            Progress::Pending
        );
        assert_eq!(
            progress(&repo(want, "False"), "GitRepository", field, want),
            Progress::Failed("boom".into())
        );
        let mut suspended = repo(want, "True");
        suspended["spec"]["suspend"] = json!(true);
        assert_eq!(
            progress(&suspended, "GitRepository", field, want),
            Progress::Failed("GitRepository 'flux-system/flux-system' is suspended".into())
        );
    }
}
