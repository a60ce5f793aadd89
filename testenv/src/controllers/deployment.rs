//! Deployments become available after a delay, with Running pods that have logs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use tokio::sync::mpsc;

use super::api::Seen;
use super::{Ctx, git::fnv};
use crate::store::{meta_str, now, random_suffix};

fn pod_template_hash(template: &Value) -> String {
    let h = fnv(template.to_string().as_bytes());
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHA[((h >> (i * 6)) % ALPHA.len() as u64) as usize] as char)
        .collect()
}

pub async fn run(ctx: Arc<Ctx>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn({
        let (ctx, shutdown) = (ctx.clone(), shutdown.clone());
        async move { ctx.api.watch("apps", "deployments", tx, shutdown).await }
    });
    let mut pending: BTreeSet<(String, String)> = BTreeSet::new();
    // Deployments whose reconcile the API server failed, tried again each second.
    let mut retry: BTreeSet<(String, String)> = BTreeSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            seen = rx.recv() => match seen {
                Some(Seen { obj: o, deleted: false, .. }) => {
                    let done = o["status"]["observedGeneration"] == o["metadata"]["generation"]
                        && o["status"]["availableReplicas"] == o["spec"]["replicas"];
                    if !done {
                        pending.insert((meta_str(&o, "namespace").to_string(), meta_str(&o, "name").to_string()));
                    }
                }
                Some(_) => {}
                None => return,
            },
            _ = tokio::time::sleep(ctx.deployment_delay), if !pending.is_empty() => {
                for (ns, name) in std::mem::take(&mut pending) {
                    let reconciled = tokio::select! {
                        r = reconcile(&ctx, &ns, &name) => r,
                        _ = shutdown.changed() => return,
                    };
                    if !reconciled {
                        retry.insert((ns, name));
                    }
                }
            }
            _ = tick.tick(), if !retry.is_empty() => pending.append(&mut retry),
            _ = shutdown.changed() => return,
        }
    }
}

/// Creates the Deployment's pods and reports it available; false when the API server could not
/// be read or written.
async fn reconcile(ctx: &Ctx, ns: &str, name: &str) -> bool {
    let (Some(dres), Some(pres)) = (
        ctx.api.resolve("apps", "deployments").await,
        ctx.api.resolve("", "pods").await,
    ) else {
        return false;
    };
    let d = match ctx.api.get(&dres, ns, name).await {
        Ok(Some(d)) => d,
        Ok(None) => return true,
        Err(_) => return false,
    };
    let replicas = d["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
    let template = &d["spec"]["template"];
    let hash = pod_template_hash(template);
    let uid = meta_str(&d, "uid").to_string();
    let Ok(pods) = ctx.api.list("", "pods", Some(ns), None).await else {
        return false;
    };
    let owned: Vec<Value> = pods
        .into_iter()
        .filter(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["uid"] == json!(uid)))
        })
        .collect();
    let (current, stale): (Vec<_>, Vec<_>) = owned.into_iter().partition(|p| {
        p["metadata"]["labels"]["pod-template-hash"].as_str() == Some(hash.as_str())
    });
    for p in stale.iter().chain(current.iter().skip(replicas)) {
        // A pod left over is deleted on the next change.
        let _ = ctx.api.delete(&pres, ns, meta_str(p, "name")).await;
    }
    let now = now();
    for _ in current.len()..replicas {
        let pod_name = format!("{name}-{hash}-{}", random_suffix(5));
        let mut labels = template["metadata"]["labels"].clone();
        if !labels.is_object() {
            labels = json!({});
        }
        labels["pod-template-hash"] = json!(hash);
        let containers = template["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "restartCount": 0, "started": true, "state": {"running": {"startedAt": now}}}))
            .collect();
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": ns,
                "labels": labels,
                "annotations": template["metadata"]["annotations"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": template["spec"],
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "Ready", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                ],
                "containerStatuses": statuses,
                "podIP": format!("10.244.0.{}", fastrand::u8(2..250)),
                "startTime": now,
                "qosClass": "BestEffort",
            },
        });
        let mut pod = pod;
        if pod["metadata"]["annotations"].is_null() {
            pod["metadata"]
                .as_object_mut()
                .map(|m| m.remove("annotations"));
        }
        // Status is dropped on create; the kubelet reports it through /status. On a cluster
        // without one, creating pods may fail (no service account, say): the Deployment's
        // status below does not depend on them.
        let pod_status = pod["status"].clone();
        let reported = match ctx.api.create(&pres, ns, &pod).await {
            Ok(created) => ctx
                .api
                .update(&pres, &created, "kubelet", true, |o| {
                    o["status"] = pod_status.clone()
                })
                .await
                .unwrap_or(false),
            Err(_) => false,
        };
        if let Some(logs) = ctx.logs.as_ref().filter(|_| reported) {
            let image = containers
                .first()
                .and_then(|c| c["image"].as_str())
                .unwrap_or_default();
            let line = json!({"level": "info", "ts": jiff::Timestamp::now().to_string(), "logger": "setup", "msg": "starting manager", "image": image});
            logs.append(ns, &pod_name, line.to_string());
        }
    }
    let generation = d["metadata"]["generation"].clone();
    let status = json!({
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": now, "lastTransitionTime": now},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{name}-{hash}\" has successfully progressed."), "lastUpdateTime": now, "lastTransitionTime": now},
        ],
    });
    ctx.api
        .update(&dres, &d, "kube-controller-manager", true, |o| {
            o["status"] = status.clone()
        })
        .await
        .is_ok()
}
