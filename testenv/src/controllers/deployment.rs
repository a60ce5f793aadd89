//! Deployments become available after a delay, with Running pods that have logs.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Ctx, git::fnv};
use crate::store::{DeleteOpts, EventType, WriteOpts, meta_str, now, random_suffix};

fn pod_template_hash(template: &Value) -> String {
    let h = fnv(template.to_string().as_bytes());
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHA[((h >> (i * 6)) % ALPHA.len() as u64) as usize] as char)
        .collect()
}

pub async fn run(ctx: Arc<Ctx>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut rx = ctx.store.subscribe();
    let mut pending: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if ev.group == "apps" && ev.plural == "deployments" && ev.etype != EventType::Deleted {
                        let o = &ev.object;
                        let done = o["status"]["observedGeneration"] == o["metadata"]["generation"]
                            && o["status"]["availableReplicas"] == o["spec"]["replicas"];
                        if !done {
                            pending.insert((meta_str(o, "namespace").to_string(), meta_str(o, "name").to_string()));
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let Some(def) = ctx.store.def("apps", "deployments") else { continue };
                    for d in ctx.store.list(&def, None).0 {
                        pending.insert((meta_str(&d, "namespace").to_string(), meta_str(&d, "name").to_string()));
                    }
                }
                Err(_) => return,
            },
            _ = tokio::time::sleep(ctx.deployment_delay), if !pending.is_empty() => {
                for (ns, name) in std::mem::take(&mut pending) {
                    reconcile(&ctx, &ns, &name);
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

fn reconcile(ctx: &Ctx, ns: &str, name: &str) {
    let (Some(ddef), Some(pdef)) = (
        ctx.store.def("apps", "deployments"),
        ctx.store.def("", "pods"),
    ) else {
        return;
    };
    let Ok(d) = ctx.store.get(&ddef, ns, name) else {
        return;
    };
    let replicas = d["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
    let template = &d["spec"]["template"];
    let hash = pod_template_hash(template);
    let uid = meta_str(&d, "uid").to_string();
    let (pods, _) = ctx.store.list(&pdef, Some(ns));
    let owned: Vec<Arc<Value>> = pods
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
        let _ = ctx
            .store
            .delete(&pdef, ns, meta_str(p, "name"), &DeleteOpts::default());
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
        // Status is dropped on create; the kubelet reports it through /status.
        let pod_status = pod["status"].clone();
        let created = ctx
            .store
            .create(&pdef, ns, pod, &WriteOpts::default())
            .is_ok();
        let kubelet = WriteOpts {
            status: true,
            manager: Some("kubelet".into()),
            ..Default::default()
        };
        let reported = created
            && ctx
                .store
                .modify(&pdef, ns, &pod_name, &kubelet, |cur| {
                    let mut o = cur.cloned().unwrap_or(Value::Null);
                    o["status"] = pod_status;
                    Ok(o)
                })
                .is_ok();
        if reported {
            let image = containers
                .first()
                .and_then(|c| c["image"].as_str())
                .unwrap_or_default();
            let line = json!({"level": "info", "ts": jiff::Timestamp::now().to_string(), "logger": "setup", "msg": "starting manager", "image": image});
            ctx.logs.append(ns, &pod_name, line.to_string());
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
    let opts = WriteOpts {
        status: true,
        manager: Some("kube-controller-manager".into()),
        ..Default::default()
    };
    let _ = ctx.store.modify(&ddef, ns, name, &opts, |cur| {
        let mut o = cur.cloned().unwrap_or(Value::Null);
        o["status"] = status;
        Ok(o)
    });
}
