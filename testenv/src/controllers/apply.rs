//! Applying manifests into the store (server-side apply, forced, like kustomize-controller).

use serde_json::{Value, json};

use crate::fields;
use crate::store::{DeleteOpts, Store, WriteOpts};

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

/// Applies `docs`; returns the inventory entries, sorted. `labels` are added to every object.
pub fn apply_docs(
    store: &Store,
    mut docs: Vec<Value>,
    manager: &str,
    labels: &[(&str, &str)],
    target_ns: Option<&str>,
) -> Result<Vec<Value>, String> {
    docs.sort_by_key(|d| order(d["kind"].as_str().unwrap_or_default()));
    let mut inventory = vec![];
    for mut doc in docs {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if kind.is_empty() || api_version.is_empty() || name.is_empty() {
            return Err(format!(
                "failed to decode object: missing apiVersion, kind or metadata.name in {doc}"
            ));
        }
        let def = store
            .def_for_kind(&api_version, &kind)
            .ok_or_else(|| format!("{kind}/{name} dry-run failed: no matches for kind \"{kind}\" in version \"{api_version}\""))?;
        let ns = if def.namespaced {
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
            return Err(format!(
                "{kind}/{name}: metadata and metadata.labels must be maps"
            ));
        }
        for (k, v) in labels {
            doc["metadata"]["labels"][*k] = json!(v);
        }
        let opts = WriteOpts::default();
        store
            .modify(&def, &ns, &name, &opts, |cur| {
                fields::apply(&def, cur, &doc, manager, true, false)
            })
            .map_err(|e| {
                format!(
                    "{kind}/{}{name} apply failed: {}",
                    if ns.is_empty() {
                        String::new()
                    } else {
                        format!("{ns}/")
                    },
                    e.message
                )
            })?;
        let version = api_version.rsplit('/').next().unwrap_or_default();
        inventory.push(entry(&ns, &name, &def.group, &kind, version));
    }
    inventory.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    inventory.dedup_by(|a, b| a["id"] == b["id"]);
    Ok(inventory)
}

/// Deletes the objects of `old` inventory entries that are not in `new`.
pub fn prune(store: &Store, old: &[Value], new: &[Value]) {
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
        if let Some(def) = store.def_for_kind(&api_version, kind) {
            // Already gone is fine: pruning converges.
            let _ = store.delete(&def, ns, name, &DeleteOpts::default());
        }
    }
}
