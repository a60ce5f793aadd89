//! A small kustomize: builds the manifests at a path of a source tree the way
//! kustomize-controller does (kustomization.yaml `resources:`, or every YAML file).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

const KUSTOMIZATION: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Kinds a kustomization `namespace:` does not apply to.
const CLUSTER_KINDS: [&str; 5] = [
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
];

fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn in_dir<'a>(files: &'a BTreeMap<String, String>, dir: &str, name: &str) -> Option<&'a String> {
    files.get(&join(dir, name))
}

/// Parses YAML documents, expanding `kind: List`.
pub fn parse_docs(text: &str, origin: &str) -> Result<Vec<Value>, String> {
    // The default budget stops at 1,024 documents; manifests (and benchmarks) can have more.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = budget.max_documents.max(text.len() / 8 + 1024);
    budget.max_events = budget.max_events.max(text.len() * 2);
    budget.max_nodes = budget.max_nodes.max(text.len());
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(text.len() * 2);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| format!("failed to decode {origin}: {e}"))?;
    let mut out = vec![];
    for d in docs {
        if !d.is_object() {
            continue;
        }
        if d["kind"] == "List"
            && let Some(items) = d["items"].as_array()
        {
            out.extend(items.iter().filter(|i| i.is_object()).cloned());
        } else {
            out.push(d);
        }
    }
    Ok(out)
}

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

fn build_dir(
    files: &BTreeMap<String, String>,
    dir: &str,
    depth: usize,
) -> Result<Vec<Value>, String> {
    if depth > 32 {
        return Err(format!("accumulating resources: cycle detected at '{dir}'"));
    }
    if let Some(k) = KUSTOMIZATION.iter().find_map(|k| in_dir(files, dir, k)) {
        let kust: Value = serde_saphyr::from_str(k)
            .map_err(|e| format!("failed to decode kustomization in '{dir}': {e}"))?;
        let mut docs = vec![];
        for r in kust["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let p = join(dir, r);
            if let Some(text) = files.get(&p) {
                docs.extend(parse_docs(text, &p)?);
            } else if files.keys().any(|f| f.starts_with(&format!("{p}/"))) {
                docs.extend(build_dir(files, &p, depth + 1)?);
            } else {
                return Err(format!(
                    "kustomize build failed: accumulating resources: accumulation err='accumulating resources from '{r}': open {p}: no such file or directory'"
                ));
            }
        }
        if let Some(ns) = kust["namespace"].as_str() {
            for d in docs.iter_mut() {
                if !CLUSTER_KINDS.contains(&d["kind"].as_str().unwrap_or_default()) {
                    d["metadata"]["namespace"] = json!(ns);
                }
            }
        }
        return Ok(docs);
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut docs = vec![];
    let mut subdirs = BTreeSet::new();
    for (path, text) in files
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
    {
        let rest = &path[prefix.len()..];
        match rest.split_once('/') {
            Some((sub, _)) => {
                subdirs.insert(sub.to_string());
            }
            None if is_manifest(rest) => docs.extend(parse_docs(text, path)?),
            None => {}
        }
    }
    for sub in subdirs {
        docs.extend(build_dir(files, &join(dir, &sub), depth + 1)?);
    }
    Ok(docs)
}

/// `${VAR}`, `${VAR:=default}` and `${VAR:-default}` substitution, as postBuild does.
pub fn substitute(text: &str, vars: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":=").or_else(|| expr.split_once(":-")) {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            match vars.get(name).and_then(Value::as_str) {
                Some(v) => out.push_str(v),
                None => out.push_str(default.unwrap_or_default()),
            }
        } else {
            out.push_str(&rest[start..start + 3 + end]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Builds `files` (paths relative to the kustomization path), substituting `vars` when given.
pub fn build(
    files: Vec<(String, String)>,
    vars: Option<&Map<String, Value>>,
) -> Result<Vec<Value>, String> {
    let files: BTreeMap<String, String> = files
        .into_iter()
        .map(|(p, t)| (p, vars.map(|v| substitute(&t, v)).unwrap_or(t)))
        .collect();
    build_dir(&files, "", 0)
}
