//! Applying manifests with server-side apply, forced, as kustomize-controller does.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::{self, Api, Res};
use crate::fields;
use crate::store::{Store, WriteOpts};

/// How long to wait for a CRD applied in the same set to be served.
const CRD_WAIT: Duration = Duration::from_secs(30);

fn order(kind: &str) -> u8 {
    match kind {
        "CustomResourceDefinition" => 0,
        "Namespace" => 1,
        _ => 2,
    }
}

/// An inventory entry id: `<namespace>_<name>_<group>_<Kind>`.
fn entry(ns: &str, name: &str, group: &str, kind: &str, version: &str) -> Value {
    json!({"id": format!("{ns}_{name}_{group}_{kind}"), "v": version})
}

/// The checked apiVersion, kind and name of a manifest.
fn identity(doc: &Value) -> Result<(String, String, String), String> {
    let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let (api_version, kind, name) = (
        field(&doc["apiVersion"]),
        field(&doc["kind"]),
        field(&doc["metadata"]["name"]),
    );
    if kind.is_empty() || api_version.is_empty() || name.is_empty() {
        return Err(format!(
            "failed to decode object: missing apiVersion, kind or metadata.name in {doc}"
        ));
    }
    Ok((api_version, kind, name))
}

fn no_match(api_version: &str, kind: &str, name: &str) -> String {
    format!(
        "{kind}/{name} dry-run failed: no matches for kind \"{kind}\" in version \"{api_version}\""
    )
}

/// Settles a manifest's namespace (for namespaced kinds the target namespace, its own, or
/// default; none otherwise) and adds `labels`; returns the namespace.
fn prepare(
    doc: &mut Value,
    namespaced: bool,
    labels: &[(&str, &str)],
    target_ns: Option<&str>,
) -> Result<String, String> {
    let ns = if namespaced {
        let ns = target_ns
            .map(String::from)
            .or_else(|| doc["metadata"]["namespace"].as_str().map(String::from))
            .unwrap_or_else(|| "default".to_string());
        doc["metadata"]["namespace"] = json!(ns);
        ns
    } else {
        doc["metadata"]
            .as_object_mut()
            .map(|m| m.remove("namespace"));
        String::new()
    };
    if !doc["metadata"].is_object()
        || !(doc["metadata"]["labels"].is_object() || doc["metadata"]["labels"].is_null())
    {
        let (kind, name) = (&doc["kind"], &doc["metadata"]["name"]);
        return Err(format!(
            "{}/{}: metadata and metadata.labels must be maps",
            kind.as_str().unwrap_or_default(),
            name.as_str().unwrap_or_default()
        ));
    }
    for (k, v) in labels {
        doc["metadata"]["labels"][*k] = json!(v);
    }
    Ok(ns)
}

/// Applies `docs` straight into `store` as `manager` (for preloading a server, not a controller).
pub fn apply_to_store(store: &Store, mut docs: Vec<Value>, manager: &str) -> Result<(), String> {
    docs.sort_by_key(|d| order(d["kind"].as_str().unwrap_or_default()));
    for mut doc in docs {
        let (api_version, kind, name) = identity(&doc)?;
        let def = store
            .def_for_kind(&api_version, &kind)
            .ok_or_else(|| no_match(&api_version, &kind, &name))?;
        let ns = prepare(&mut doc, def.namespaced, &[], None)?;
        store
            .modify(&def, &ns, &name, &WriteOpts::default(), |cur| {
                fields::apply(&def, cur, &doc, manager, true, false)
            })
            .map_err(|e| format!("{kind}/{name} apply failed: {}", e.message))?;
    }
    Ok(())
}

/// The served resource for a kind; a kind whose CRD is in the set being applied is waited for.
async fn served(api: &Api, api_version: &str, kind: &str, defined_here: bool) -> Option<Res> {
    let deadline = Instant::now() + CRD_WAIT;
    loop {
        if let Some(r) = api.resolve_kind(api_version, kind).await {
            return Some(r);
        }
        if !defined_here || Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Applies `docs` through the API (CRDs and Namespaces first); returns the inventory entries,
/// sorted. `labels` are added to every object.
pub async fn apply_docs(
    api: &Api,
    mut docs: Vec<Value>,
    manager: &str,
    labels: &[(&str, &str)],
    target_ns: Option<&str>,
) -> Result<Vec<Value>, String> {
    docs.sort_by_key(|d| order(d["kind"].as_str().unwrap_or_default()));
    // (group, kind) of the CRDs in this set.
    let defined: Vec<(String, String)> = docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .map(|d| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (s(&d["spec"]["group"]), s(&d["spec"]["names"]["kind"]))
        })
        .collect();
    let mut inventory = vec![];
    for mut doc in docs {
        let (api_version, kind, name) = identity(&doc)?;
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let defined_here = defined.iter().any(|(g, k)| g == group && *k == kind);
        let res = served(api, &api_version, &kind, defined_here)
            .await
            .ok_or_else(|| no_match(&api_version, &kind, &name))?;
        let ns = prepare(&mut doc, res.namespaced, labels, target_ns)?;
        api.apply(&res, &ns, &doc, manager).await.map_err(|e| {
            format!(
                "{kind}/{}{name} apply failed: {}",
                if ns.is_empty() {
                    String::new()
                } else {
                    format!("{ns}/")
                },
                api::message(&e)
            )
        })?;
        let version = api_version.rsplit('/').next().unwrap_or_default();
        inventory.push(entry(&ns, &name, &res.ar.group, &kind, version));
    }
    inventory.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    inventory.dedup_by(|a, b| a["id"] == b["id"]);
    Ok(inventory)
}

/// Deletes the objects of `old` inventory entries that are not in `new`.
pub async fn prune(api: &Api, old: &[Value], new: &[Value]) {
    for e in old
        .iter()
        .filter(|e| !new.iter().any(|n| n["id"] == e["id"]))
    {
        let id = e["id"].as_str().unwrap_or_default();
        let parts: Vec<&str> = id.splitn(4, '_').collect();
        let [ns, name, group, kind] = parts.as_slice() else {
            continue;
        };
        let version = e["v"].as_str().unwrap_or("v1");
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        if let Some(res) = api.resolve_kind(&api_version, kind).await {
            // Best effort: an object that cannot be deleted is left behind (gone counts as
            // deleted).
            let _ = api.delete(&res, ns, name).await;
        }
    }
}
