//! managedFields: field sets per manager, server-side apply merging and conflicts.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::registry::ResourceDef;

/// A field path: elements are `f:<field>` or `k:<json key of a list item>`.
type Path = Vec<String>;

/// Fields every object has that no manager owns.
fn unowned(path: &[String]) -> bool {
    match path {
        [a] => a == "f:apiVersion" || a == "f:kind",
        [m, f] if m == "f:metadata" => matches!(
            f.as_str(),
            "f:name"
                | "f:namespace"
                | "f:uid"
                | "f:resourceVersion"
                | "f:generation"
                | "f:creationTimestamp"
                | "f:managedFields"
                | "f:deletionTimestamp"
                | "f:deletionGracePeriodSeconds"
                | "f:selfLink"
        ),
        _ => false,
    }
}

/// The field that identifies items of a list, like the strategic-merge keys of the built-in types.
pub fn list_key(field: &str, items: &[Value]) -> Option<&'static str> {
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return None;
    }
    let all_have = |k: &str| items.iter().all(|i| i.get(k).is_some());
    let key = match field {
        "ports" if all_have("containerPort") => "containerPort",
        "ports" => "port",
        "volumeMounts" | "volumeDevices" => "mountPath",
        "conditions" => "type",
        "imagePullSecrets" | "containers" | "initContainers" | "env" | "volumes" => "name",
        _ => "name",
    };
    all_have(key).then_some(key)
}

fn item_key(key: &str, item: &Value) -> String {
    let mut m = Map::new();
    m.insert(key.to_string(), item[key].clone());
    format!("k:{}", Value::Object(m))
}

/// Every owned path in `v`: leaves, and list items addressed by key.
fn paths(v: &Value, status: bool) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    if let Some(m) = v.as_object() {
        for (k, c) in m {
            if k == "status" && !status || k != "status" && status && k != "metadata" {
                continue;
            }
            walk(c, k, vec![format!("f:{k}")], &mut out);
        }
    }
    out.retain(|p| !unowned(p));
    if status {
        out.retain(|p| p[0] == "f:status");
    }
    out
}

fn walk(v: &Value, name: &str, path: Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                walk(c, k, p, out);
            }
        }
        Value::Array(items) => match list_key(name, items) {
            Some(key) => {
                for item in items {
                    let mut p = path.clone();
                    p.push(item_key(key, item));
                    out.insert(p.clone());
                    walk(item, "", p, out);
                }
            }
            None => {
                out.insert(path);
            }
        },
        _ => {
            out.insert(path);
        }
    }
}

fn to_fields_v1(set: &BTreeSet<Path>) -> Value {
    let mut root = json!({});
    for p in set {
        let mut node = &mut root;
        for e in p {
            node = node
                .as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .entry(e.clone())
                .or_insert(json!({}));
        }
        if p.last().is_some_and(|e| e.starts_with("k:")) {
            node["."] = json!({});
        }
    }
    root
}

fn from_fields_v1(v: &Value, prefix: Path, out: &mut BTreeSet<Path>) {
    let Some(m) = v.as_object() else { return };
    if m.is_empty() {
        if !prefix.is_empty() {
            out.insert(prefix);
        }
        return;
    }
    for (k, c) in m {
        if k == "." {
            out.insert(prefix.clone());
        } else {
            let mut p = prefix.clone();
            p.push(k.clone());
            from_fields_v1(c, p, out);
        }
    }
}

struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    subresource: String,
    time: String,
    set: BTreeSet<Path>,
}

fn entries(obj: Option<&Value>) -> Vec<Entry> {
    let Some(mf) = obj.and_then(|o| o["metadata"]["managedFields"].as_array()) else {
        return vec![];
    };
    mf.iter()
        .map(|e| {
            let mut set = BTreeSet::new();
            from_fields_v1(&e["fieldsV1"], vec![], &mut set);
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            Entry {
                manager: s("manager"),
                operation: s("operation"),
                api_version: s("apiVersion"),
                subresource: s("subresource"),
                time: s("time"),
                set,
            }
        })
        .collect()
}

fn write_entries(obj: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.set),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if list.is_empty() {
        obj["metadata"]
            .as_object_mut()
            .map(|m| m.remove("managedFields"));
    } else {
        obj["metadata"]["managedFields"] = Value::Array(list);
    }
}

fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for e in path {
        cur = if let Some(f) = e.strip_prefix("f:") {
            cur.get(f)?
        } else {
            let key: Map<String, Value> = serde_json::from_str(e.strip_prefix("k:")?).ok()?;
            cur.as_array()?
                .iter()
                .find(|i| key.iter().all(|(k, kv)| i.get(k) == Some(kv)))?
        };
    }
    Some(cur)
}

fn set_path(v: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = value;
        return;
    };
    if let Some(f) = first.strip_prefix("f:") {
        if !v.is_object() {
            *v = json!({});
        }
        let child = v
            .as_object_mut()
            .expect("just made an object")
            .entry(f.to_string())
            .or_insert(Value::Null);
        if rest.is_empty() {
            *child = value;
        } else {
            set_path(child, rest, value);
        }
    } else if let Some(Ok(key)) = first
        .strip_prefix("k:")
        .map(serde_json::from_str::<Map<String, Value>>)
    {
        if !v.is_array() {
            *v = json!([]);
        }
        let arr = v.as_array_mut().expect("just made an array");
        let pos = arr
            .iter()
            .position(|i| key.iter().all(|(k, kv)| i.get(k) == Some(kv)));
        let idx = match pos {
            Some(i) => i,
            None => {
                arr.push(Value::Object(key.clone()));
                arr.len() - 1
            }
        };
        if rest.is_empty() {
            // The item node itself: make sure it exists and carries its key.
            if !arr[idx].is_object() {
                arr[idx] = Value::Object(key);
            }
        } else {
            set_path(&mut arr[idx], rest, value);
        }
    }
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for e in parent {
        let next = if let Some(f) = e.strip_prefix("f:") {
            cur.get_mut(f)
        } else {
            let key: Option<Map<String, Value>> = e
                .strip_prefix("k:")
                .and_then(|k| serde_json::from_str(k).ok());
            key.and_then(|key| {
                cur.as_array_mut()?
                    .iter_mut()
                    .find(|i| key.iter().all(|(k, kv)| i.get(k) == Some(kv)))
            })
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        cur.as_object_mut().map(|m| m.remove(f));
    } else if let Some(Ok(key)) = last
        .strip_prefix("k:")
        .map(serde_json::from_str::<Map<String, Value>>)
        && let Some(a) = cur.as_array_mut()
    {
        a.retain(|i| !key.iter().all(|(k, kv)| i.get(k) == Some(kv)));
    }
}

fn display(path: &[String]) -> String {
    let mut s = String::new();
    for e in path {
        if let Some(f) = e.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(Ok(key)) = e
            .strip_prefix("k:")
            .map(serde_json::from_str::<Map<String, Value>>)
        {
            let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        }
    }
    s
}

fn api_version_of(obj: &Value) -> String {
    obj["apiVersion"].as_str().unwrap_or_default().to_string()
}

/// Records the fields an Update operation changed as owned by `manager`, taking them from others.
pub fn track_update(old: Option<&Value>, new: &mut Value, manager: &str, status: bool, now: &str) {
    // managedFields a request sets replace the live ones, as the API server
    // takes them (`flux migrate` rewrites their apiVersions); a request
    // without them keeps the live ones.
    let sent = entries(Some(new));
    let mut es = if sent.is_empty() { entries(old) } else { sent };
    let changed: BTreeSet<Path> = paths(new, status)
        .into_iter()
        .filter(|p| old.and_then(|o| get_path(o, p)) != get_path(new, p))
        .collect();
    if !changed.is_empty() {
        for e in es.iter_mut() {
            e.set.retain(|p| !changed.contains(p));
        }
        let sub = if status { "status" } else { "" };
        match es
            .iter_mut()
            .find(|e| e.manager == manager && e.operation == "Update" && e.subresource == sub)
        {
            Some(e) => {
                e.set.extend(changed);
                e.time = now.to_string();
            }
            None => es.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: api_version_of(new),
                subresource: sub.into(),
                time: now.to_string(),
                set: changed,
            }),
        }
    }
    write_entries(new, es);
}

/// Server-side apply of `applied` by `manager` onto `live`.
pub fn apply(
    def: &ResourceDef,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    status: bool,
) -> ApiResult<Value> {
    let (group, plural) = (def.group.as_str(), def.plural.as_str());
    let now = &crate::store::now();
    let name = applied["metadata"]["name"].as_str().unwrap_or_default();
    let new_set = paths(applied, status);
    let sub = if status { "status" } else { "" };
    let mut es = entries(live);
    let mut result = match live {
        None => {
            let mut r = applied.clone();
            r["metadata"]
                .as_object_mut()
                .map(|m| m.remove("managedFields"));
            r
        }
        Some(live) => {
            let mut conflicts = vec![];
            for e in es.iter() {
                if e.manager == manager && e.operation == "Apply" {
                    continue;
                }
                for p in e.set.intersection(&new_set) {
                    if p.last().is_some_and(|l| l.starts_with("k:")) {
                        continue;
                    }
                    if get_path(live, p) != get_path(applied, p) {
                        conflicts.push((e.manager.clone(), e.api_version.clone(), p.clone()));
                    }
                }
            }
            if !conflicts.is_empty() && !force {
                let n = conflicts.len();
                let lines: Vec<String> = conflicts
                    .iter()
                    .map(|(m, av, p)| format!("conflict with \"{m}\" using {av}: {}", display(p)))
                    .collect();
                let message = if n == 1 {
                    format!("Apply failed with 1 conflict: {}", lines[0])
                } else {
                    format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
                };
                let causes = conflicts
                    .iter()
                    .map(|(m, av, p)| {
                        json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {av}"), "field": display(p)})
                    })
                    .collect();
                return Err(ApiError::apply_conflict(
                    group, plural, name, message, causes,
                ));
            }
            for (m, _, p) in &conflicts {
                for e in es.iter_mut().filter(|e| &e.manager == m) {
                    e.set.remove(p);
                }
            }
            let mut r = live.clone();
            let prev: BTreeSet<Path> = es
                .iter()
                .find(|e| e.manager == manager && e.operation == "Apply" && e.subresource == sub)
                .map(|e| e.set.clone())
                .unwrap_or_default();
            // Fields this manager applied before and no longer does are removed unless someone else owns them.
            let mut dropped: Vec<&Path> = prev
                .difference(&new_set)
                .filter(|p| {
                    !es.iter().any(|e| {
                        !(e.manager == manager && e.operation == "Apply") && e.set.contains(*p)
                    })
                })
                .collect();
            // Whole list items first: removing an item's key field before
            // the item would leave the item unmatchable, half removed.
            dropped.sort_by_key(|p| {
                (
                    !p.last().is_some_and(|l| l.starts_with("k:")),
                    std::cmp::Reverse(p.len()),
                )
            });
            for p in dropped {
                remove_path(&mut r, p);
            }
            for p in &new_set {
                let is_leaf = !new_set
                    .iter()
                    .any(|q| q.len() > p.len() && q.starts_with(p));
                if let (true, Some(v)) = (is_leaf, get_path(applied, p)) {
                    set_path(&mut r, p, v.clone());
                }
            }
            for k in ["name", "namespace"] {
                if let Some(v) = applied["metadata"].get(k) {
                    r["metadata"][k] = v.clone();
                }
            }
            r
        }
    };
    es.retain(|e| !(e.manager == manager && e.operation == "Apply" && e.subresource == sub));
    es.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: api_version_of(applied),
        subresource: sub.into(),
        time: now.to_string(),
        set: new_set,
    });
    write_entries(&mut result, es);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Re-applying a keyed list item with a new key drops the old item
    /// whole, as kube-apiserver does (a Service port changed 9899 → 9898).
    #[test]
    fn a_reapplied_list_item_with_a_new_key_replaces_the_old_one() {
        let def = crate::registry::builtins()
            .into_iter()
            .find(|d| d.plural == "services")
            .unwrap();
        let svc = |port: u16| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
                "spec": {"ports": [
                    {"name": "http", "port": port, "protocol": "TCP", "targetPort": "http"},
                    {"name": "grpc", "port": 9999, "protocol": "TCP", "targetPort": "grpc"}]}})
        };
        let first = apply(&def, None, &svc(9899), "m", true, false).unwrap();
        let second = apply(&def, Some(&first), &svc(9898), "m", true, false).unwrap();
        let ports: Vec<&Value> = second["spec"]["ports"].as_array().unwrap().iter().collect();
        let expected = svc(9898);
        let expected: Vec<&Value> = expected["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(ports.len(), 2, "{ports:?}");
        for port in expected {
            assert!(ports.contains(&port), "{port} missing from {ports:?}");
        }
    }
}
