//! What `flux build kustomization` and `flux diff kustomization` share:
//! building a Flux Kustomization from a local directory as
//! kustomize-controller would (generated or merged kustomization,
//! `.sourceignore` rules, kustomize, post-build substitution, owner labels,
//! SOPS masking), without applying anything.

pub mod dyff;
mod generate;
pub mod ignore;
mod sops;

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::envsubst::{SubstError, substitute};

const NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
const NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
const FLUX_KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io/";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid resource path {0:?}")]
    InvalidPath(String),
    // Upstream appends the result of its clean-up, which is always nil here.
    #[error("failed to generate kustomization.yaml: {0} <nil>")]
    Generate(String),
    #[error("kustomize build failed: {0}")]
    Kustomize(String),
    #[error("substitute from '{kind}/{name}' error: {message}")]
    SubstituteFrom {
        kind: String,
        name: String,
        message: String,
    },
    #[error(
        "var substitution failed for '{0}': envsubst error: '{1}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
    )]
    VarName(String, String),
    #[error("var substitution failed for '{0}': envsubst error: variable substitution failed: {1}")]
    Substitute(String, SubstError),
    #[error("var substitution failed for '{0}': envsubst error: YAMLToJSON: {1}")]
    Reparse(String, String),
    #[error("{0}")]
    Mask(String),
    #[error("cannot get local path for {key} of kustomization {name}")]
    NoLocalSource { key: String, name: String },
    #[error("failed to get kustomization object: {0}")]
    GetKustomization(String),
}

// The messages carry their causes' text: no source chain to print twice.
impl From<generate::GenerateError> for BuildError {
    fn from(err: generate::GenerateError) -> Self {
        Self::Generate(err.to_string())
    }
}

impl From<kustomize::Error> for BuildError {
    fn from(err: kustomize::Error) -> Self {
        Self::Kustomize(err.to_string())
    }
}

impl From<sops::MaskError> for BuildError {
    fn from(err: sops::MaskError) -> Self {
        Self::Mask(err.to_string())
    }
}

/// How to build, shared by a Kustomization and its children.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub ignore_paths: Vec<String>,
    pub strict_substitute: bool,
    /// No cluster: `substituteFrom` is skipped.
    pub dry_run: bool,
    /// Build on a file system that refuses paths outside the working directory.
    pub in_memory: bool,
    /// `Kind/namespace/name` of a source → the local directory holding it.
    pub local_sources: BTreeMap<String, String>,
}

/// `path` made absolute against the working directory and cleaned
/// lexically (`..`, `.`, `//`), as Go's `filepath.Abs` does.
pub fn clean(path: &Path) -> PathBuf {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out
}

/// The directory `--path` names, absolute; a missing path or a file is
/// refused with the absolute form in the message.
pub fn resolve_path(path: &str) -> Result<PathBuf, BuildError> {
    if path.is_empty() {
        return Err(BuildError::InvalidPath(String::new()));
    }
    let abs = clean(Path::new(path));
    if !abs.is_dir() {
        return Err(BuildError::InvalidPath(abs.display().to_string()));
    }
    Ok(abs)
}

/// Disk reads with the prepared kustomization file in memory on top;
/// optionally confined to a directory (the in-memory build's rule).
struct OverlayFs {
    file: PathBuf,
    content: Vec<u8>,
    confined_to: Option<PathBuf>,
}

impl OverlayFs {
    fn check(&self, path: &Path) -> io::Result<()> {
        let Some(root) = &self.confined_to else {
            return Ok(());
        };
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| clean(path));
        if real.starts_with(root) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "path '{}' is not in or below '{}'",
                    path.display(),
                    root.display()
                ),
            ))
        }
    }
}

impl kustomize::FileSystem for OverlayFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if clean(path) == self.file {
            return Ok(self.content.clone());
        }
        self.check(path)?;
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.check(path).is_ok() && path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        clean(path) == self.file || (self.check(path).is_ok() && path.is_file())
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// The kustomize stage: prepares the kustomization of `root` for `spec`
/// and builds it.
fn kustomize_stage(
    root: &Path,
    spec: &Value,
    options: &Options,
) -> Result<kustomize::ResourceList, BuildError> {
    let ignore = ignore::Ignore::load(root, &options.ignore_paths);
    let (file_name, manifest) = generate::prepare(root, spec, &ignore)?;
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let confined_to = if options.in_memory {
        let cwd = std::env::current_dir().unwrap_or_default();
        Some(std::fs::canonicalize(&cwd).unwrap_or(cwd))
    } else {
        None
    };
    let fs = OverlayFs {
        file: real_root.join(file_name),
        content: serde_json::to_vec(&Value::Object(manifest)).unwrap_or_default(),
        confined_to,
    };
    // kustomize-controller lets a kustomization name files outside its
    // directory (kustomize's LoadRestrictionsNone).
    let options = kustomize::BuildOptions {
        load_restrictions_none: true,
    };
    Ok(kustomize::build_with(&fs, &real_root, &options)?)
}

/// A kustomize value as JSON, as its JSON text would parse (floats go
/// through Go's float text, so `2.0` becomes the integer 2 as upstream's
/// JSON round trip makes it). Strings are moved, not copied.
fn into_json(value: kustomize::yaml::Value) -> Value {
    use kustomize::yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Int(i) => Value::from(i),
        Y::Uint(u) => Value::from(u),
        Y::Float(f) => {
            serde_json::from_str(&kustomize::yaml::json_float_text(f)).unwrap_or(Value::Null)
        }
        Y::Str(s) => Value::String(s),
        Y::Seq(items) => Value::Array(items.into_iter().map(into_json).collect()),
        Y::Map(map) => Value::Object(map.into_iter().map(|(k, v)| (k, into_json(v))).collect()),
    }
}

/// Variables of `postBuild` (`substituteFrom` first, then `substitute`).
pub type Vars = BTreeMap<String, String>;

/// The names and values of `spec.postBuild.substitute`, newlines removed.
fn inline_vars(spec: &Value) -> Vars {
    let mut vars = Vars::new();
    if let Some(Value::Object(map)) = spec.pointer("/postBuild/substitute") {
        for (k, v) in map {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            vars.insert(k.clone(), text.replace('\n', ""));
        }
    }
    vars
}

/// `substituteFrom` values of a ConfigMap or Secret object.
pub fn object_vars(kind: &str, object: &Value, vars: &mut Vars) {
    let Some(Value::Object(data)) = object.get("data") else {
        return;
    };
    for (k, v) in data {
        let text = v.as_str().unwrap_or_default();
        let text = if kind == "Secret" {
            let bytes = sops::decode(text).unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            text.to_string()
        };
        vars.insert(k.clone(), text.replace('\n', ""));
    }
}

/// Whether a label or annotation `key` of `object` is `value`.
fn has_key_value(object: &kustomize::yaml::Value, key: &str, value: &str) -> bool {
    ["labels", "annotations"]
        .iter()
        .any(|field| object.get_str(&["metadata", field, key]) == Some(value))
}

fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `object` with the variables substituted in its YAML text (as kustomize
/// prints it), read back as JSON.
fn substitute_object(
    object: &kustomize::yaml::Value,
    vars: &Vars,
    strict: bool,
) -> Result<Value, BuildError> {
    let name = object
        .get_str(&["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let text = kustomize::yaml::to_yaml(object);
    if let Some(bad) = vars.keys().find(|k| !valid_var_name(k)) {
        return Err(BuildError::VarName(name, bad.clone()));
    }
    let lookup = |key: &str| vars.get(key).cloned();
    let out = substitute(text.as_bytes(), strict, &lookup)
        .map_err(|e| BuildError::Substitute(name.clone(), e))?;
    crate::render::yaml::from_str::<Value>(&String::from_utf8_lossy(&out))
        .map_err(|e| BuildError::Reparse(name, e.to_string()))
}

fn set_label(object: &mut Value, key: &str, value: &str) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(key.into(), value.into());
    }
}

/// The objects a Flux Kustomization (`ks`) builds from `root`, given the
/// variables of its `substituteFrom` references (already fetched).
pub fn build_objects(
    ks: &Value,
    root: &Path,
    options: &Options,
    from_vars: &Vars,
) -> Result<Vec<Value>, BuildError> {
    let spec = ks.get("spec").cloned().unwrap_or(Value::Null);
    let name = ks
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = ks
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let post_build = spec.get("postBuild").filter(|v| !v.is_null());
    let mut vars = from_vars.clone();
    vars.extend(inline_vars(&spec));
    let always = post_build
        .and_then(|p| p.get("substituteStrategy"))
        .and_then(Value::as_str)
        == Some("Always");
    let mut objects = Vec::new();
    let list = kustomize_stage(root, &spec, options)?;
    for resource in list.into_objects() {
        let mut object = if post_build.is_some()
            && !has_key_value(&resource, SUBSTITUTE_KEY, "disabled")
            && (!vars.is_empty() || always)
        {
            substitute_object(&resource, &vars, options.strict_substitute)?
        } else {
            into_json(resource)
        };
        set_label(&mut object, NAME_LABEL, name);
        set_label(&mut object, NAMESPACE_LABEL, namespace);
        if object.get("kind").and_then(Value::as_str) == Some("Secret") {
            let text = crate::render::yaml::to_string(&object);
            sops::mask_secret(&mut object, &text)?;
        }
        objects.push(object);
    }
    let mut out = Vec::with_capacity(objects.len());
    for object in objects {
        match object.get("items") {
            Some(Value::Array(items)) => out.extend(items.iter().cloned()),
            _ => out.push(object),
        }
    }
    out.retain(|o| {
        let api_version = o
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
        let named = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let kustomize_config =
            api_version.starts_with("kustomize.config.k8s.io/") && kind == "Kustomization";
        !api_version.is_empty() && !kind.is_empty() && named && !kustomize_config
    });
    if let Some(common) = spec.get("commonMetadata") {
        for object in &mut out {
            for field in ["labels", "annotations"] {
                if let Some(Value::Object(values)) = common.get(field) {
                    for (k, v) in values {
                        set_meta(object, field, k, v);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn set_meta(object: &mut Value, field: &str, key: &str, value: &Value) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !map.is_object() {
        *map = Value::Object(Map::new());
    }
    if let Some(map) = map.as_object_mut() {
        map.insert(key.into(), value.clone());
    }
}

/// Whether `object` is a Flux Kustomization.
pub fn is_flux_kustomization(object: &Value) -> bool {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with(FLUX_KUSTOMIZE_GROUP))
        && object.get("kind").and_then(Value::as_str) == Some("Kustomization")
}

/// `name` and `namespace` of an object.
pub fn name_and_namespace(object: &Value) -> (String, String) {
    let get = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (get("/metadata/name"), get("/metadata/namespace"))
}

/// The local directory of a child Kustomization: its source looked up in
/// `--local-sources`, joined with its `spec.path`.
pub fn child_path(child: &Value, options: &Options) -> Result<PathBuf, BuildError> {
    let (name, namespace) = name_and_namespace(child);
    let source = |f: &str| {
        child
            .pointer(&format!("/spec/sourceRef/{f}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let source_ns = match source("namespace") {
        ns if ns.is_empty() => namespace,
        ns => ns,
    };
    let key = format!("{}/{}/{}", source("kind"), source_ns, source("name"));
    let local = options
        .local_sources
        .get(&key)
        .ok_or_else(|| BuildError::NoLocalSource {
            key: key.clone(),
            name: name.clone(),
        })?;
    let spec_path = child
        .pointer("/spec/path")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(Path::new(local).join(spec_path))
}

/// Parses one `--local-sources` value as pflag's stringToString does.
pub fn parse_local_sources(value: &str) -> Result<Vec<(String, String)>, String> {
    let invalid = |v: &str| format!("{v} must be formatted as key=value");
    let items: Vec<String> = match value.matches('=').count() {
        0 => return Err(invalid(value)),
        1 => vec![value.trim_matches('"').to_string()],
        _ => value.split(',').map(str::to_string).collect(),
    };
    items
        .into_iter()
        .map(|item| {
            item.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| invalid(&item))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_lexically() {
        assert_eq!(clean(Path::new("/a/b/../c//d/.")), PathBuf::from("/a/c/d"));
    }

    #[test]
    fn local_sources_follow_string_to_string_rules() {
        assert_eq!(
            parse_local_sources("GitRepository/ns/a=./x,y").unwrap(),
            vec![("GitRepository/ns/a".to_string(), "./x,y".to_string())]
        );
        assert_eq!(parse_local_sources("a=1,b=2").unwrap().len(), 2);
        assert_eq!(
            parse_local_sources("a=1,b=2,c").unwrap_err(),
            "c must be formatted as key=value"
        );
        assert_eq!(
            parse_local_sources("nothing").unwrap_err(),
            "nothing must be formatted as key=value"
        );
    }

    #[test]
    fn var_names_are_validated() {
        assert!(valid_var_name("cluster_env"));
        assert!(valid_var_name("_x1"));
        assert!(!valid_var_name("1x"));
        assert!(!valid_var_name("a-b"));
    }
}
