//! Server-side printing: `meta.k8s.io/v1 Table` responses, which kubectl asks for on `get`.

use serde_json::{Value, json};

use crate::registry::ResourceDef;

/// Age as kubectl shows it (duration.HumanDuration).
pub fn human_age(created: &str) -> String {
    let Ok(t) = created.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let s = (jiff::Timestamp::now().as_second() - t.as_second()).max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 => format!("{d}d{}h", h % 24),
        _ if d < 730 => format!("{d}d"),
        _ => format!("{}y{}d", d / 365, d % 365),
    }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `[n]`, `[*]`, `[?(@.k=="v")]`.
pub fn jsonpath<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                cur = cur.get(&r[..end])?;
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            let items = cur.as_array()?;
            cur = if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')'))
            {
                let (key, want) = filter.split_once("==")?;
                let want = want.trim().trim_matches(|c| c == '"' || c == '\'');
                items
                    .iter()
                    .find(|i| i.get(key.trim()).and_then(Value::as_str) == Some(want))?
            } else if inner == "*" {
                items.first()?
            } else {
                items.get(inner.parse::<usize>().ok()?)?
            };
        } else {
            return None;
        }
    }
    Some(cur)
}

struct Column {
    name: String,
    kind: String,
    description: String,
    priority: i64,
    path: Option<String>,
}

fn column(name: &str, kind: &str, path: Option<&str>) -> Column {
    Column {
        name: name.into(),
        kind: kind.into(),
        description: String::new(),
        priority: 0,
        path: path.map(String::from),
    }
}

fn columns(def: &ResourceDef, version: &str) -> Vec<Column> {
    let mut cols = vec![Column {
        name: "Name".into(),
        kind: "string".into(),
        description: "Name must be unique within a namespace.".into(),
        priority: 0,
        path: Some(".metadata.name".into()),
    }];
    let crd_cols = def
        .version(version)
        .map(|v| v.columns.clone())
        .unwrap_or_default();
    if !crd_cols.is_empty() {
        for c in crd_cols {
            cols.push(Column {
                name: c["name"].as_str().unwrap_or_default().into(),
                kind: c["type"].as_str().unwrap_or("string").into(),
                description: c["description"].as_str().unwrap_or_default().into(),
                priority: c["priority"].as_i64().unwrap_or(0),
                path: c["jsonPath"].as_str().map(String::from),
            });
        }
        return cols;
    }
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "pods") => {
            cols.extend([
                column("Ready", "string", None),
                column("Status", "string", Some(".status.phase")),
            ]);
            cols.push(column("Restarts", "string", None));
        }
        ("apps", "deployments") => {
            cols.extend([
                column("Ready", "string", None),
                column("Up-to-date", "integer", Some(".status.updatedReplicas")),
                column("Available", "integer", Some(".status.availableReplicas")),
            ]);
        }
        ("", "namespaces") => cols.push(column("Status", "string", Some(".status.phase"))),
        _ => {}
    }
    if def.builtin {
        cols.push(column("Age", "date", Some(".metadata.creationTimestamp")));
    }
    cols
}

fn cell(def: &ResourceDef, col: &Column, obj: &Value) -> Value {
    match (def.plural.as_str(), col.name.as_str(), &col.path) {
        ("pods", "Ready", _) => {
            let statuses = obj["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let ready = statuses.iter().filter(|s| s["ready"] == true).count();
            json!(format!(
                "{ready}/{}",
                obj["spec"]["containers"].as_array().map_or(0, Vec::len)
            ))
        }
        ("pods", "Restarts", _) => json!("0"),
        ("deployments", "Ready", _) => json!(format!(
            "{}/{}",
            obj["status"]["readyReplicas"].as_i64().unwrap_or(0),
            obj["spec"]["replicas"].as_i64().unwrap_or(1)
        )),
        (_, _, Some(path)) => match jsonpath(obj, path) {
            Some(Value::String(s)) if col.kind == "date" => json!(human_age(s)),
            Some(v) => v.clone(),
            None if col.kind == "integer" => json!(0),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// A Table of `objects`; `include` is the includeObject parameter (None, Metadata or Object).
pub fn table(
    def: &ResourceDef,
    version: &str,
    objects: &[Value],
    rv: &str,
    include: &str,
) -> Value {
    let cols = columns(def, version);
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| {
            let format = if c.name == "Name" { "name" } else { "" };
            json!({"name": c.name, "type": if c.kind == "date" { "string" } else { c.kind.as_str() }, "format": format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols.iter().map(|c| cell(def, c, o)).collect();
            let object = match include {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            let mut row = json!({"cells": cells});
            if !object.is_null() {
                row["object"] = object;
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": defs, "rows": rows})
}
