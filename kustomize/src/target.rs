//! Building a kustomization directory: resources, components, generators,
//! transformers, then the steps kustomize runs once at the top.

use crate::error::{Error, Result};
use crate::fs::{FileSystem, normalize};
use crate::kustomization::{self, Kustomization, SortOrder};
use crate::resource::{Resource, ResourceList};
use crate::yaml::{self, Value};
use crate::{generators, nameref, patch, replacement, transformers};
use std::path::{Path, PathBuf};

/// How a build may read files.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// kustomize's `--load-restrictor LoadRestrictionsNone`: a kustomization
    /// may name files outside its own directory (kustomize-controller builds
    /// this way).
    pub load_restrictions_none: bool,
}

/// Builds the kustomization in `dir` and returns its resources in output order.
pub fn build(fs: &dyn FileSystem, dir: &Path) -> Result<ResourceList> {
    build_with(fs, dir, &BuildOptions::default())
}

/// [`build`] with options.
pub fn build_with(fs: &dyn FileSystem, dir: &Path, options: &BuildOptions) -> Result<ResourceList> {
    let abs = fs.absolute(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let root = fs.canonicalize(&abs).map_err(|e| Error::Io {
        path: abs.clone(),
        source: e,
    })?;
    let mut b = Builder {
        fs,
        stack: Vec::new(),
        vars: Vec::new(),
        unrestricted: options.load_restrictions_none,
    };
    let (mut list, k) = b.accumulate(&root, ResourceList::default(), Kind::Kustomization)?;
    generators::add_hashes(&mut list);
    nameref::fix(&mut list);
    crate::vars::resolve(&root, &b.vars, &mut list)?;
    match k.sort {
        Some(SortOrder::Fifo) => {}
        Some(SortOrder::Legacy { first, last }) => {
            transformers::legacy_sort(&mut list, first, last)
        }
        None => transformers::legacy_sort(&mut list, None, None),
    }
    list.items.retain(|r| !is_local_config(&r.obj));
    for r in &mut list.items {
        // kustomize's own bookkeeping annotations never reach the output.
        if let Some(Value::Map(a)) = r.obj.get_path(&["metadata", "annotations"])
            && a.keys().any(|k| BUILD_ANNOTATIONS.contains(&k.as_str()))
            && let Some(Value::Map(a)) = r
                .obj
                .get_mut("metadata")
                .and_then(|m| m.get_mut("annotations"))
        {
            a.retain(|k, _| !BUILD_ANNOTATIONS.contains(&k.as_str()));
        }
        // kustomize drops an empty or null `metadata.annotations`.
        if let Some(Value::Map(md)) = r.obj.get_mut("metadata")
            && matches!(md.get("annotations"), Some(Value::Null))
                | matches!(md.get("annotations"), Some(Value::Map(a)) if a.is_empty())
        {
            md.shift_remove("annotations");
        }
    }
    if k.origin_annotations {
        for r in &mut list.items {
            add_origin(r, &root);
        }
    }
    for r in &list.items {
        if yaml::has_non_finite(&r.obj) {
            return Err(Error::Resource {
                path: root.clone(),
                message: format!(
                    "{} '{}' holds .nan or .inf, which kustomize cannot encode as JSON; quote the value",
                    r.kind(),
                    r.name()
                ),
            });
        }
        if let Some(c) = yaml::unprintable_char(&r.obj) {
            return Err(Error::Resource {
                path: root.clone(),
                message: format!(
                    "{} '{}' holds the control character U+{:04X}, which kustomize cannot print; remove it",
                    r.kind(),
                    r.name(),
                    c as u32
                ),
            });
        }
    }
    Ok(list)
}

/// `config.kubernetes.io/origin`, with paths relative to the build's root.
fn add_origin(r: &mut Resource, root: &Path) {
    let text = match &r.origin {
        Some(crate::resource::Origin::File(path)) => {
            format!("path: {}\n", relative(path, root))
        }
        Some(crate::resource::Origin::Generator {
            kustomization,
            kind,
        }) => format!(
            "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n",
            relative(kustomization, root)
        ),
        None => return,
    };
    let Some(Value::Map(md)) = r.obj.get_mut("metadata") else {
        return;
    };
    let annotations = md
        .entry("annotations".to_string())
        .or_insert_with(|| Value::Map(Default::default()));
    if let Value::Map(a) = annotations {
        a.insert("config.kubernetes.io/origin".into(), Value::Str(text));
    }
}

/// `path` relative to `root`, with `..` steps when it lies outside.
fn relative(path: &Path, root: &Path) -> String {
    let path: Vec<_> = path.components().collect();
    let root: Vec<_> = root.components().collect();
    let common = path.iter().zip(&root).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); root.len() - common];
    parts.extend(
        path[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Kustomization,
    Component,
}

struct Builder<'a> {
    fs: &'a dyn FileSystem,
    stack: Vec<PathBuf>,
    /// Every `vars` entry met, from all kustomizations of the build.
    vars: Vec<crate::vars::Var>,
    unrestricted: bool,
}

/// Context for reading the files a kustomization names.
pub(crate) struct Loader<'a> {
    pub fs: &'a dyn FileSystem,
    pub root: PathBuf,
    pub file: PathBuf,
    /// Files outside `root` may be read.
    pub unrestricted: bool,
}

impl Loader<'_> {
    /// Resolves a relative path, refusing anything outside the kustomization root.
    pub fn resolve_file(&self, rel: &str) -> Result<PathBuf> {
        let p = normalize(&self.root.join(rel));
        let canon = self
            .fs
            .canonicalize(&p)
            .map_err(|_| Error::MissingResource {
                path: self.file.clone(),
                resource: rel.to_string(),
            })?;
        if !self.unrestricted && !canon.starts_with(&self.root) {
            return Err(Error::OutsideRoot {
                path: self.file.clone(),
                file: p,
                root: self.root.clone(),
            });
        }
        Ok(canon)
    }
    pub fn read_file(&self, rel: &str) -> Result<(PathBuf, Vec<u8>)> {
        let p = self.resolve_file(rel)?;
        if self.fs.is_dir(&p) {
            return Err(Error::Kustomization {
                path: self.file.clone(),
                message: format!("'{rel}' is a directory, expected a file"),
            });
        }
        let data = self.fs.read(&p).map_err(|e| Error::Io {
            path: p.clone(),
            source: e,
        })?;
        Ok((p, data))
    }
    pub fn read_text(&self, rel: &str) -> Result<(PathBuf, String)> {
        let (p, data) = self.read_file(rel)?;
        let s = String::from_utf8(data).map_err(|_| Error::Resource {
            path: p.clone(),
            message: "not valid UTF-8".into(),
        })?;
        Ok((p, s))
    }
}

/// Annotations kustomize and kyaml use internally and strip from the output.
const BUILD_ANNOTATIONS: &[&str] = &[
    "internal.config.kubernetes.io/previousKinds",
    "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/prefixes",
    "internal.config.kubernetes.io/suffixes",
    "internal.config.kubernetes.io/previousNamespaces",
    "internal.config.kubernetes.io/allowNameChange",
    "internal.config.kubernetes.io/allowKindChange",
    "internal.config.kubernetes.io/refBy",
    "internal.config.kubernetes.io/generatorBehavior",
    "internal.config.kubernetes.io/needsHashSuffix",
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/seqindent",
    "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.kubernetes.io/origin",
    "config.k8s.io/id",
    "alpha.config.kubernetes.io/transformations",
];

/// `config.kubernetes.io/local-config` set to anything but "false": kustomize
/// leaves the resource out.
fn is_local_config(obj: &Value) -> bool {
    obj.get_path(&[
        "metadata",
        "annotations",
        "config.kubernetes.io/local-config",
    ])
    .is_some_and(|v| v.scalar_string().as_deref() != Some("false"))
}

/// Parses a YAML file into documents, naming the file and line on errors.
pub(crate) fn parse_yaml(path: &Path, text: &str) -> Result<Vec<Value>> {
    // go-yaml reads YAML 1.1 only and refuses other %YAML directives.
    for (i, line) in text.lines().enumerate() {
        if let Some(v) = line.strip_prefix("%YAML")
            && v.split_whitespace().next() != Some("1.1")
        {
            return Err(Error::Yaml {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!(
                    "found incompatible YAML document ({}); only %YAML 1.1 is read",
                    line.trim()
                ),
            });
        }
    }
    yaml::parse_documents(text).map_err(|e| Error::Yaml {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })
}

/// Turns the documents of a resource file into resources (Lists are expanded).
pub(crate) fn resources_from_docs(path: &Path, docs: Vec<Value>) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for d in docs {
        match d {
            Value::Null => {}
            Value::Map(ref m) => {
                let is_list = m
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List"))
                    && m.contains_key("items");
                if is_list {
                    if let Some(Value::Seq(items)) = m.get("items") {
                        out.extend(resources_from_docs(path, items.clone())?);
                    }
                    continue;
                }
                let mut r = Resource::new(d);
                r.origin = Some(crate::resource::Origin::File(path.to_path_buf()));
                if r.kind().is_empty() {
                    return Err(Error::Resource {
                        path: path.to_path_buf(),
                        message: "a resource is missing `kind`".into(),
                    });
                }
                if r.name().is_empty() {
                    return Err(Error::Resource {
                        path: path.to_path_buf(),
                        message: format!("a {} is missing `metadata.name`", r.kind()),
                    });
                }
                out.push(r);
            }
            other => {
                return Err(Error::Resource {
                    path: path.to_path_buf(),
                    message: format!(
                        "a resource must be a mapping, found a {}",
                        other.kind_name()
                    ),
                });
            }
        }
    }
    Ok(out)
}

fn is_remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("github.com/")
        || s.starts_with("gitlab.com/")
        || s.starts_with("bitbucket.org/")
        || s.starts_with("git@")
        || s.starts_with("git::")
}

impl Builder<'_> {
    fn accumulate(
        &mut self,
        dir: &Path,
        mut list: ResourceList,
        want: Kind,
    ) -> Result<(ResourceList, Kustomization)> {
        if self.stack.iter().any(|d| d == dir) {
            return Err(Error::Cycle {
                path: self.stack.last().cloned().unwrap_or_default(),
                dir: dir.to_path_buf(),
            });
        }
        let file = kustomization::find_file(self.fs, dir)?;
        let text = String::from_utf8(self.fs.read(&file).map_err(|e| Error::Io {
            path: file.clone(),
            source: e,
        })?)
        .map_err(|_| Error::Kustomization {
            path: file.clone(),
            message: "not valid UTF-8".into(),
        })?;
        let docs = yaml::parse_documents_v2(&text).map_err(|e| Error::Yaml {
            path: file.clone(),
            line: e.line,
            message: e.message,
        })?;
        if docs.iter().all(|d| matches!(d, Value::Null)) {
            return Err(Error::Kustomization {
                path: file.clone(),
                message: "the kustomization is empty; list at least `resources:`".into(),
            });
        }
        if docs.len() > 1 {
            return Err(Error::Kustomization {
                path: file.clone(),
                message: "a kustomization file must hold one YAML document".into(),
            });
        }
        let k = kustomization::parse(&file, docs.first().unwrap_or(&Value::Null))?;
        match (want, k.is_component) {
            (Kind::Kustomization, true) => {
                return Err(Error::Kustomization {
                    path: file,
                    message: "expected kind Kustomization here but found a Component; list it under `components:`".into(),
                });
            }
            (Kind::Component, false) => {
                return Err(Error::Kustomization {
                    path: file,
                    message: "expected kind Component here but found a Kustomization; list it under `resources:`".into(),
                });
            }
            _ => {}
        }
        if k.origin_annotations && !self.stack.is_empty() {
            return Err(Error::Unsupported {
                path: file,
                field: "buildMetadata".into(),
                value: "originAnnotations (supported in the top kustomization only)".into(),
            });
        }
        self.stack.push(dir.to_path_buf());
        let loader = Loader {
            fs: self.fs,
            root: dir.to_path_buf(),
            file: file.clone(),
            unrestricted: self.unrestricted,
        };

        // resources
        let mut seen = list.id_keys();
        for res in &k.resources {
            if is_remote(res) {
                return Err(Error::Unsupported {
                    path: file.clone(),
                    field: "resources".into(),
                    value: format!("{res} (remote bases are not supported)"),
                });
            }
            let p = normalize(&dir.join(res));
            let canon = self
                .fs
                .canonicalize(&p)
                .map_err(|_| Error::MissingResource {
                    path: file.clone(),
                    resource: res.clone(),
                })?;
            let loaded = if self.fs.is_dir(&canon) {
                self.accumulate(&canon, ResourceList::default(), Kind::Kustomization)?
                    .0
            } else {
                let (path, text) = loader.read_text(res)?;
                let docs = parse_yaml(&path, &text)?;
                ResourceList {
                    items: resources_from_docs(&path, docs)?,
                }
            };
            list.append_checked(loaded, &mut seen)
                .map_err(|message| Error::Resource {
                    path: file.clone(),
                    message,
                })?;
        }

        // generators
        generators::run(&loader, &k, &mut list)?;

        // components
        for c in &k.components {
            if is_remote(c) {
                return Err(Error::Unsupported {
                    path: file.clone(),
                    field: "components".into(),
                    value: format!("{c} (remote components are not supported)"),
                });
            }
            let p = normalize(&dir.join(c));
            let canon = self
                .fs
                .canonicalize(&p)
                .map_err(|_| Error::MissingResource {
                    path: file.clone(),
                    resource: c.clone(),
                })?;
            if !self.fs.is_dir(&canon) {
                return Err(Error::Kustomization {
                    path: file.clone(),
                    message: format!("component '{c}' must be a directory"),
                });
            }
            list = self.accumulate(&canon, list, Kind::Component)?.0;
        }

        // transformers, in kustomize's order
        for p in &k.patches_strategic_merge {
            patch::apply_strategic_merge_file(&loader, p, &mut list)?;
        }
        for p in &k.patches {
            patch::apply_patch(&loader, p, &mut list)?;
        }
        transformers::run_namespace(&k, &mut list);
        transformers::run_prefix_suffix(&k, &mut list);
        transformers::run_labels(&k, &mut list);
        transformers::run_annotations(&k, &mut list);
        for p in &k.patches_json6902 {
            patch::apply_json6902_entry(&loader, p, &mut list)?;
        }
        transformers::run_replicas(&k, &file, &mut list)?;
        transformers::run_images(&k, &mut list);
        replacement::run(&loader, &k.replacements, &mut list)?;
        transformers::check_unique(&file, &list)?;

        for v in &k.vars {
            if self.vars.iter().any(|x| x.name == v.name) {
                return Err(Error::Kustomization {
                    path: file.clone(),
                    message: format!("var '{}' is already defined; give it another name", v.name),
                });
            }
            self.vars.push(v.clone());
        }
        self.stack.pop();
        Ok((list, k))
    }
}
