//! The kustomization a Flux Kustomization builds: the directory's own
//! kustomization file, or one generated from the directory's manifests,
//! with the Kustomization's spec (target namespace, patches, images, …)
//! merged in, as kustomize-controller prepares it.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::ignore::Ignore;

/// Kustomization file names kustomize recognises, in the order they are looked up.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("failed to decode Kubernetes YAML from {path}: {message}")]
    Decode { path: String, message: String },
    #[error("{0}")]
    Io(String),
    #[error("failed to read {path}: {message}")]
    Kustomization { path: String, message: String },
    #[error("component path '{0}' must be local and relative")]
    RemoteComponent(String),
}

/// The kustomization to build in `root` (absolute) and the file name it
/// goes under.
pub fn prepare(
    root: &Path,
    spec: &Value,
    ignore: &Ignore,
) -> Result<(&'static str, Map<String, Value>), GenerateError> {
    let existing = FILE_NAMES.iter().find(|name| root.join(name).is_file());
    let (name, mut k) = match existing {
        Some(name) => {
            let mut k = read_existing(&root.join(name))?;
            // kustomize-controller's workaround for kustomize refusing a
            // kustomization without resources; its side effect, origin
            // annotations on every object, is part of what it applies.
            if k.get("resources")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                k.insert("buildMetadata".into(), json!(["originAnnotations"]));
            }
            (*name, k)
        }
        None => (FILE_NAMES[0], generate(root, ignore)?),
    };
    for field in ["resources", "components", "crds"] {
        filter_ignored(&mut k, field, root, ignore)?;
    }
    merge_spec(&mut k, spec, root)?;
    // kustomize-controller builds without kustomize's legacy kind sort:
    // objects come out in the order they were accumulated, unless the
    // kustomization asks for an order itself.
    if k.get("sortOptions").is_none_or(Value::is_null) {
        k.insert("sortOptions".into(), json!({"order": "fifo"}));
    }
    Ok((name, k))
}

fn read_existing(path: &Path) -> Result<Map<String, Value>, GenerateError> {
    let fail = |message: String| GenerateError::Kustomization {
        path: path.display().to_string(),
        message,
    };
    let text = crate::input::read_path_to_string(path).map_err(|e| fail(e.to_string()))?;
    match crate::render::yaml::from_str::<Value>(&text).map_err(|e| fail(e.to_string()))? {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(fail("the kustomization is not a YAML mapping".into())),
    }
}

/// A kustomization listing the directory's manifests and the
/// subdirectories that hold a kustomization of their own.
fn generate(root: &Path, ignore: &Ignore) -> Result<Map<String, Value>, GenerateError> {
    let mut resources = Vec::new();
    walk(root, root, ignore, &mut resources)?;
    let mut k = Map::new();
    k.insert(
        "apiVersion".into(),
        "kustomize.config.k8s.io/v1beta1".into(),
    );
    k.insert("kind".into(), "Kustomization".into());
    if resources.is_empty() {
        // kustomize refuses an empty kustomization; a namespace makes it
        // valid and the build yields nothing.
        k.insert("namespace".into(), "_placeholder".into());
    } else {
        k.insert("resources".into(), Value::from(resources));
    }
    Ok(k)
}

fn walk(
    root: &Path,
    dir: &Path,
    ignore: &Ignore,
    out: &mut Vec<String>,
) -> Result<(), GenerateError> {
    let io = |e: std::io::Error| GenerateError::Io(format!("{}: {e}", dir.display()));
    let mut entries: Vec<(String, PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path(),
                is_dir,
            )
        })
        .collect();
    entries.sort();
    for (name, path, is_dir) in entries {
        let relative = || format!("./{}", path.strip_prefix(root).unwrap_or(&path).display());
        if is_dir {
            if FILE_NAMES.iter().any(|n| path.join(n).is_file()) {
                out.push(relative());
            } else {
                walk(root, &path, ignore, out)?;
            }
            continue;
        }
        let yaml = Path::new(&name)
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml");
        if !yaml || ignore.is_ignored(&path, false) {
            continue;
        }
        let decode = |message: String| GenerateError::Decode {
            path: path.display().to_string(),
            message,
        };
        let text = crate::input::read_path_to_string(&path).map_err(|e| decode(e.to_string()))?;
        kustomize::yaml::parse_documents(&text).map_err(|e| decode(e.to_string()))?;
        out.push(relative());
    }
    Ok(())
}

/// Whether a kustomization entry is a URL rather than a path.
fn is_url(entry: &str) -> bool {
    entry.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) && url::Url::parse(entry).is_ok()
}

fn filter_ignored(
    k: &mut Map<String, Value>,
    field: &str,
    root: &Path,
    ignore: &Ignore,
) -> Result<(), GenerateError> {
    let Some(Value::Array(entries)) = k.get_mut(field) else {
        return Ok(());
    };
    let mut kept = Vec::with_capacity(entries.len());
    for entry in entries.drain(..) {
        let Some(text) = entry.as_str() else {
            kept.push(entry);
            continue;
        };
        if field != "crds" && is_url(text) {
            kept.push(entry);
            continue;
        }
        let path = crate::build::clean(&root.join(text));
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| GenerateError::Io(format!("lstat {}: {}", path.display(), os_text(&e))))?;
        if !ignore.is_ignored(&path, meta.is_dir()) {
            kept.push(entry);
        }
    }
    *entries = kept;
    Ok(())
}

/// An I/O error as Go words it (`no such file or directory`).
pub fn os_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => {
            let mut t = text[..i].to_string();
            if let Some(first) = t.get(..1) {
                t.replace_range(..1, &first.to_lowercase());
            }
            t
        }
        None => text,
    }
}

fn non_empty<'a>(spec: &'a Value, key: &str) -> Option<&'a str> {
    spec.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Whether a component reference points outside the local tree.
fn is_remote(component: &str) -> bool {
    const REMOTE: [&str; 8] = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ];
    let lower = component.to_lowercase();
    REMOTE.iter().any(|p| lower.starts_with(p))
        || Path::new(component.strip_prefix("file://").unwrap_or(component)).is_absolute()
}

fn merge_spec(k: &mut Map<String, Value>, spec: &Value, root: &Path) -> Result<(), GenerateError> {
    if let Some(ns) = non_empty(spec, "targetNamespace") {
        k.insert("namespace".into(), ns.into());
    }
    for (from, to) in [("namePrefix", "namePrefix"), ("nameSuffix", "nameSuffix")] {
        if let Some(v) = non_empty(spec, from) {
            k.insert(to.into(), v.into());
        }
    }
    if let Some(Value::Array(patches)) = spec.get("patches") {
        let list = array_field(k, "patches");
        for patch in patches {
            let mut p = Map::new();
            if let Some(text) = non_empty(patch, "patch") {
                p.insert("patch".into(), text.into());
            }
            if let Some(Value::Object(target)) = patch.get("target") {
                let selector: Map<String, Value> = target
                    .iter()
                    .filter(|(_, v)| v.as_str().is_some_and(|s| !s.is_empty()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !selector.is_empty() {
                    p.insert("target".into(), Value::Object(selector));
                }
            }
            list.push(Value::Object(p));
        }
    }
    if let Some(Value::Array(components)) = spec.get("components") {
        let skip_missing = spec.get("ignoreMissingComponents") == Some(&Value::Bool(true));
        let mut added = Vec::new();
        for c in components.iter().filter_map(Value::as_str) {
            if is_remote(c) {
                return Err(GenerateError::RemoteComponent(c.to_string()));
            }
            if skip_missing && !root.join(c).is_dir() {
                continue;
            }
            added.push(Value::from(c));
        }
        array_field(k, "components").extend(added);
    }
    if let Some(Value::Array(images)) = spec.get("images") {
        for image in images {
            merge_image(array_field(k, "images"), image);
        }
    }
    if let Some(Value::Array(meta)) = spec.get("buildMetadata")
        && !meta.is_empty()
    {
        k.insert("buildMetadata".into(), Value::Array(meta.clone()));
    }
    Ok(())
}

fn array_field<'a>(k: &'a mut Map<String, Value>, field: &str) -> &'a mut Vec<Value> {
    let slot = k.entry(field).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut().expect("set to an array above")
}

fn merge_image(images: &mut Vec<Value>, image: &Value) {
    let name = image
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let field = |key: &str| non_empty(image, key).map(str::to_string);
    if let Some(existing) = images
        .iter_mut()
        .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
        .and_then(Value::as_object_mut)
    {
        if let Some(new_name) = field("newName") {
            existing.insert("newName".into(), new_name.into());
        }
        // A tag or a digest replaces both: they pin the image together.
        if field("newTag").is_some() || field("digest").is_some() {
            for key in ["newTag", "digest"] {
                match field(key) {
                    Some(v) => existing.insert(key.into(), v.into()),
                    None => existing.remove(key),
                };
            }
        }
        return;
    }
    let mut entry = Map::new();
    entry.insert("name".into(), name.into());
    for key in ["newName", "newTag", "digest"] {
        if let Some(v) = field(key) {
            entry.insert(key.into(), v.into());
        }
    }
    images.push(Value::Object(entry));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_merge_by_name_and_tag_and_digest_go_together() {
        let mut images = vec![json!({"name": "app", "newTag": "1.0", "digest": "sha256:a"})];
        merge_image(&mut images, &json!({"name": "app", "newTag": "2.0"}));
        merge_image(&mut images, &json!({"name": "other", "newName": "x/other"}));
        assert_eq!(
            images,
            vec![
                json!({"name": "app", "newTag": "2.0"}),
                json!({"name": "other", "newName": "x/other"})
            ]
        );
    }

    #[test]
    fn remote_components_are_refused() {
        for c in [
            "https://x/y",
            "GIT::x",
            "github.com/a/b",
            "/abs",
            "file:///abs",
        ] {
            assert!(is_remote(c), "{c}");
        }
        for c in ["../comp", "./c", "file://rel"] {
            assert!(!is_remote(c), "{c}");
        }
    }

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("https://github.com/x/y?ref=v1"));
        assert!(!is_url("./deployment.yaml"));
        assert!(!is_url("github.com/x/y"));
    }
}
