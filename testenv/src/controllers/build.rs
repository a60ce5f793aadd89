//! Builds the manifests at a path of a source tree the way
//! kustomize-controller does: a directory with a kustomization file is built
//! by the kustomize engine (crate `kustomize`), any other directory
//! contributes every YAML file it holds, recursively.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

const KUSTOMIZATION: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

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
    if KUSTOMIZATION
        .iter()
        .any(|k| in_dir(files, dir, k).is_some())
    {
        let mut fs = kustomize::MemFs::new();
        for (path, text) in files {
            fs.add_file(path, text.as_bytes());
        }
        let root = std::path::Path::new("/").join(dir);
        let built =
            kustomize::build(&fs, &root).map_err(|e| format!("kustomize build failed: {e}"))?;
        return parse_docs(&built.to_yaml(), &format!("the build of '{dir}'"));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    /// An overlay with a generator and a patch builds as kustomize builds
    /// it: the ConfigMap gets its hash suffix and the Deployment follows.
    #[test]
    fn overlays_build_with_the_kustomize_engine() {
        let docs = build(
            files(&[
                ("base/kustomization.yaml", "resources:\n- app.yaml\n"),
                (
                    "base/app.yaml",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: settings\n",
                ),
                (
                    "kustomization.yaml",
                    "namespace: apps\nresources:\n- base\nconfigMapGenerator:\n- name: settings\n  literals:\n  - color=${COLOR}\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      replicas: 3\n",
                ),
            ]),
            Some(&serde_json::json!({"COLOR": "blue"}).as_object().unwrap().clone()),
        )
        .unwrap();
        let config = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
        let name = config["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with("settings-") && name.len() > "settings-".len(),
            "{name}"
        );
        assert_eq!(config["data"]["color"], "blue");
        let web = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
        assert_eq!(web["spec"]["replicas"], 3);
        assert_eq!(web["metadata"]["namespace"], "apps");
        assert_eq!(
            web["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            name
        );
    }

    #[test]
    fn a_build_error_names_kustomize() {
        let err = build(
            files(&[("kustomization.yaml", "resources:\n- missing.yaml\n")]),
            None,
        )
        .unwrap_err();
        assert!(err.starts_with("kustomize build failed: "), "{err}");
    }
}
