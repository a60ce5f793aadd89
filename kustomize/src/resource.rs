//! Resources and their ids.

use crate::yaml::{self, Map, Value};
use std::collections::HashSet;
use std::fmt;

/// What two resources collide on: group, version, kind, name, namespace.
pub(crate) type IdKey = (String, String, String, String, String);

/// Group, version, kind, name and namespace of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// Namespace with kustomize's rule that no namespace means `default`.
    fn ns_key(&self) -> &str {
        if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }
    /// The key two resources collide on.
    pub(crate) fn key(&self) -> IdKey {
        (
            self.group.clone(),
            self.version.clone(),
            self.kind.clone(),
            self.name.clone(),
            self.ns_key().to_string(),
        )
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

/// Splits an apiVersion into group and version.
pub(crate) fn split_api_version(av: &str) -> (String, String) {
    match av.rsplit_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), av.to_string()),
    }
}

/// How a generated resource combines with an existing one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// One Kubernetes object plus the build's bookkeeping about it.
#[derive(Debug, Clone)]
pub struct Resource {
    pub(crate) obj: Value,
    /// Every (name, namespace) the resource had before its current one.
    pub(crate) prev: Vec<(String, String)>,
    /// Needs a content hash appended to its name at the end of the build.
    pub(crate) needs_hash: bool,
    pub(crate) behavior: Behavior,
    /// Name prefixes and suffixes applied to it, innermost first.
    pub(crate) prefixes: Vec<String>,
    pub(crate) suffixes: Vec<String>,
    /// Where the resource came from, for `buildMetadata: [originAnnotations]`.
    pub(crate) origin: Option<Origin>,
}

/// The source of a resource: a file, or a generator of a kustomization file.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    File(std::path::PathBuf),
    Generator {
        kustomization: std::path::PathBuf,
        kind: &'static str,
    },
}

impl Resource {
    pub(crate) fn new(obj: Value) -> Self {
        Resource {
            obj,
            prev: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            origin: None,
        }
    }
    pub fn object(&self) -> &Value {
        &self.obj
    }
    pub(crate) fn map_mut(&mut self) -> &mut Map {
        match &mut self.obj {
            Value::Map(m) => m,
            _ => unreachable!("resources are mappings"),
        }
    }
    fn scalar(&self, path: &[&str]) -> std::borrow::Cow<'_, str> {
        match self.obj.get_path(path) {
            Some(Value::Str(s)) => std::borrow::Cow::Borrowed(s),
            Some(Value::Null) | None => std::borrow::Cow::Borrowed(""),
            Some(v) => std::borrow::Cow::Owned(v.scalar_string().unwrap_or_default()),
        }
    }
    pub fn kind(&self) -> std::borrow::Cow<'_, str> {
        self.scalar(&["kind"])
    }
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        self.scalar(&["metadata", "name"])
    }
    pub fn namespace(&self) -> std::borrow::Cow<'_, str> {
        self.scalar(&["metadata", "namespace"])
    }
    pub fn api_version(&self) -> std::borrow::Cow<'_, str> {
        self.scalar(&["apiVersion"])
    }
    pub fn id(&self) -> ResId {
        let (group, version) = split_api_version(&self.api_version());
        ResId {
            group,
            version,
            kind: self.kind().to_string(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }
    /// The name and namespace the resource was loaded or generated with.
    pub(crate) fn orig(&self) -> (String, String) {
        self.prev
            .first()
            .cloned()
            .unwrap_or_else(|| (self.name().to_string(), self.namespace().to_string()))
    }
    /// Remembers the current name/namespace before it changes.
    pub(crate) fn remember(&mut self) {
        let cur = (self.name().to_string(), self.namespace().to_string());
        if self.prev.last() != Some(&cur) {
            self.prev.push(cur);
        }
    }
    pub(crate) fn set_name(&mut self, name: String) {
        self.remember();
        metadata_mut(self.map_mut()).insert("name".into(), Value::Str(name));
    }
    pub(crate) fn set_namespace(&mut self, ns: String) {
        self.remember();
        metadata_mut(self.map_mut()).insert("namespace".into(), Value::Str(ns));
    }
    /// Whether `name` is the current or any earlier name.
    pub(crate) fn had_name(&self, name: &str) -> bool {
        self.name() == name || self.prev.iter().any(|(n, _)| n == name)
    }
}

pub(crate) fn metadata_mut(m: &mut Map) -> &mut Map {
    let md = m
        .entry("metadata".to_string())
        .or_insert_with(|| Value::Map(Map::new()));
    if !matches!(md, Value::Map(_)) {
        *md = Value::Map(Map::new());
    }
    md.as_map_mut().expect("just made a map")
}

/// The resources of a build, in order.
#[derive(Debug, Clone, Default)]
pub struct ResourceList {
    pub(crate) items: Vec<Resource>,
}

impl ResourceList {
    pub fn resources(&self) -> &[Resource] {
        &self.items
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The resources' objects, in order.
    pub fn into_objects(self) -> impl Iterator<Item = Value> {
        self.items.into_iter().map(|r| r.obj)
    }
    /// The YAML stream `kubectl kustomize` prints.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.items.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&yaml::to_yaml(&r.obj));
        }
        out
    }
    /// The collision keys of the current ids.
    pub(crate) fn id_keys(&self) -> HashSet<IdKey> {
        self.items.iter().map(|r| r.id().key()).collect()
    }
    /// Appends `other`, refusing ids in `seen` (which it keeps up to date).
    pub(crate) fn append_checked(
        &mut self,
        other: ResourceList,
        seen: &mut HashSet<IdKey>,
    ) -> Result<(), String> {
        for r in other.items {
            let id = r.id();
            if !seen.insert(id.key()) {
                return Err(format!(
                    "may not add resource with an already registered id: {id}"
                ));
            }
            self.items.push(r);
        }
        Ok(())
    }
}
