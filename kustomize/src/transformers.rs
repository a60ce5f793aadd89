//! The built-in transformers: namespace, name prefix/suffix, labels,
//! annotations, replicas, images, and the output order.

use crate::error::{Error, Result};
use crate::fieldspec::{FieldSpec, Visit, is_cluster_scoped, parse_specs, walk};
use crate::kustomization::Kustomization;
use crate::resource::{ResourceList, split_api_version};
use crate::yaml::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

fn common_label_specs() -> &'static [FieldSpec] {
    static S: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    S.get_or_init(|| parse_specs(include_str!("specs/commonlabels.yaml"), "commonLabels"))
}
fn template_label_specs() -> &'static [FieldSpec] {
    static S: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    S.get_or_init(|| parse_specs(include_str!("specs/templatelabels.yaml"), "templateLabels"))
}
fn annotation_specs() -> &'static [FieldSpec] {
    static S: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    S.get_or_init(|| {
        parse_specs(
            include_str!("specs/commonannotations.yaml"),
            "commonAnnotations",
        )
    })
}

/// Sets each pair into the mapping every spec reaches.
fn set_pairs(list: &mut ResourceList, specs: &[FieldSpec], pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    for r in &mut list.items {
        // Several specs may name the same path for one kind; apply each once.
        let mut done: Vec<&[String]> = Vec::new();
        let matching: Vec<&FieldSpec> = specs.iter().filter(|s| s.matches(r)).collect();
        for s in matching {
            if done.contains(&s.path.as_slice()) {
                continue;
            }
            done.push(&s.path);
            walk(&mut r.obj, &s.path, s.create, &mut |v| {
                let target = match v {
                    Visit::Found(v) => v,
                    Visit::Missing(m, key) => {
                        m.insert(key.to_string(), Value::Map(Map::new()));
                        m.get_mut(key).expect("inserted")
                    }
                };
                if matches!(target, Value::Null) {
                    *target = Value::Map(Map::new());
                }
                if let Value::Map(m) = target {
                    for (k, v) in pairs {
                        m.insert(k.clone(), Value::Str(v.clone()));
                    }
                }
            });
        }
    }
}

pub(crate) fn run_labels(k: &Kustomization, list: &mut ResourceList) {
    for l in &k.labels {
        let specs: Vec<FieldSpec> = if l.include_selectors {
            common_label_specs().to_vec()
        } else {
            let mut v = vec![FieldSpec::new("metadata/labels", true)];
            if l.include_templates {
                v.extend(template_label_specs().iter().cloned());
            }
            v
        };
        let mut specs = specs;
        specs.extend(l.fields.iter().cloned());
        set_pairs(list, &specs, &l.pairs);
    }
    set_pairs(list, common_label_specs(), &k.common_labels);
}

pub(crate) fn run_annotations(k: &Kustomization, list: &mut ResourceList) {
    set_pairs(list, annotation_specs(), &k.common_annotations);
}

pub(crate) fn run_namespace(k: &Kustomization, list: &mut ResourceList) {
    let Some(ns) = k.namespace.as_deref().filter(|n| !n.is_empty()) else {
        return;
    };
    for r in &mut list.items {
        let kind = r.kind().to_string();
        let av = r.api_version().to_string();
        if !is_cluster_scoped(&av, &kind) {
            r.set_namespace(ns.to_string());
        }
        if kind == "Namespace" && av == "v1" {
            r.set_name(ns.to_string());
        }
        let (group, _) = split_api_version(&av);
        let obj = &mut r.obj;
        if (kind == "RoleBinding" || kind == "ClusterRoleBinding")
            && let Some(Value::Seq(subjects)) = obj.get_mut("subjects")
        {
            for s in subjects {
                if s.get("name").and_then(Value::as_str) == Some("default")
                    && let Value::Map(m) = s
                {
                    m.insert("namespace".into(), Value::Str(ns.to_string()));
                }
            }
        }
        let set = |path: &[&str], create: bool, obj: &mut Value| {
            let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            walk(obj, &path, create, &mut |v| match v {
                Visit::Found(v) => *v = Value::Str(ns.to_string()),
                Visit::Missing(m, key) => {
                    m.insert(key.to_string(), Value::Str(ns.to_string()));
                }
            });
        };
        if kind == "APIService" && group == "apiregistration.k8s.io" {
            set(&["spec", "service", "namespace"], true, obj);
        }
        if kind == "CustomResourceDefinition" && group == "apiextensions.k8s.io" {
            set(
                &[
                    "spec",
                    "conversion",
                    "webhook",
                    "clientConfig",
                    "service",
                    "namespace",
                ],
                false,
                obj,
            );
        }
    }
}

pub(crate) fn run_prefix_suffix(k: &Kustomization, list: &mut ResourceList) {
    let prefix = k.name_prefix.as_deref().unwrap_or("");
    let suffix = k.name_suffix.as_deref().unwrap_or("");
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for r in &mut list.items {
        if r.kind() == "CustomResourceDefinition" || r.kind() == "Namespace" {
            continue;
        }
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(name);
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.to_string());
        }
    }
}

pub(crate) fn run_replicas(k: &Kustomization, file: &Path, list: &mut ResourceList) -> Result<()> {
    const KINDS: [&str; 4] = [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ];
    for (name, count) in &k.replicas {
        let named: Vec<&str> = list
            .items
            .iter()
            .filter(|r| r.had_name(name))
            .map(|r| {
                if KINDS.contains(&r.kind().as_ref()) {
                    ""
                } else {
                    "other"
                }
            })
            .collect();
        let supported = named.iter().any(|k| k.is_empty());
        for r in &mut list.items {
            if !r.had_name(name) {
                continue;
            }
            if !KINDS.contains(&r.kind().as_ref()) {
                if supported {
                    continue;
                }
                return Err(Error::Resource {
                    path: file.to_path_buf(),
                    message: format!(
                        "replicas: '{name}' names a {}, which has no replica count; only {} do",
                        r.kind(),
                        KINDS.join(", ")
                    ),
                });
            }
            let spec = r
                .map_mut()
                .entry("spec".to_string())
                .or_insert_with(|| Value::Map(Map::new()));
            if matches!(spec, Value::Null) {
                *spec = Value::Map(Map::new());
            }
            if let Value::Map(m) = spec {
                m.insert("replicas".into(), count.clone());
            }
        }
    }
    Ok(())
}

/// Splits an image reference into name, tag and digest.
fn split_image(s: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match s.find('@') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

fn update_image(value: &str, img: &crate::kustomization::Image) -> Option<String> {
    let (name, tag, digest) = split_image(value);
    if name != img.name {
        return None;
    }
    let mut name = img.new_name.clone().unwrap_or_else(|| name.to_string());
    let (mut tag, mut digest) = (tag.map(str::to_string), digest.map(str::to_string));
    match (&img.new_tag, &img.digest) {
        (Some(t), Some(d)) if !t.is_empty() && !d.is_empty() => {
            tag = Some(t.clone());
            digest = Some(d.clone());
        }
        (Some(t), _) if !t.is_empty() => {
            tag = Some(t.clone());
            digest = None;
        }
        (_, Some(d)) if !d.is_empty() => {
            digest = Some(d.clone());
            tag = None;
        }
        _ if img.tag_suffix.as_deref().is_some_and(|s| !s.is_empty()) => {
            let mut t = tag.unwrap_or_default();
            t.push_str(img.tag_suffix.as_deref().unwrap_or(""));
            tag = Some(t);
            digest = None;
        }
        _ => {}
    }
    if let Some(t) = tag.filter(|t| !t.is_empty()) {
        name.push(':');
        name.push_str(&t);
    }
    if let Some(d) = digest.filter(|d| !d.is_empty()) {
        name.push('@');
        name.push_str(&d);
    }
    Some(name)
}

/// Visits every `image` of every container list anywhere in the object.
fn visit_images(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match v {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && let Value::Seq(items) = child
                {
                    for c in items.iter_mut() {
                        if let Some(img) = c.get_mut("image") {
                            f(img);
                        }
                    }
                }
                visit_images(child, f);
            }
        }
        Value::Seq(items) => {
            for it in items {
                visit_images(it, f);
            }
        }
        _ => {}
    }
}

pub(crate) fn run_images(k: &Kustomization, list: &mut ResourceList) {
    const SPEC_PATHS: [[&str; 2]; 4] = [
        ["spec", "containers"],
        ["spec", "initContainers"],
        ["spec/template/spec", "containers"],
        ["spec/template/spec", "initContainers"],
    ];
    // Each entry runs kustomize's two passes in turn: every container list
    // anywhere, then the field specs; a container a field spec also names is
    // updated twice (visible with tagSuffix, as in kustomize).
    for img in &k.images {
        for r in &mut list.items {
            if r.kind() == "CustomResourceDefinition" {
                continue;
            }
            let mut update = |v: &mut Value| {
                if let Value::Str(s) = v
                    && let Some(n) = update_image(s, img)
                {
                    *s = n;
                }
            };
            visit_images(&mut r.obj, &mut update);
            for [prefix, list_key] in SPEC_PATHS {
                let mut path: Vec<&str> = prefix.split('/').collect();
                path.push(list_key);
                let mut cur = Some(&mut r.obj);
                for p in &path {
                    cur = cur.and_then(|c| c.get_mut(p));
                }
                if let Some(Value::Seq(items)) = cur {
                    for c in items.iter_mut() {
                        if let Some(v) = c.get_mut("image") {
                            update(v);
                        }
                    }
                }
            }
        }
    }
}

/// Refuses two resources with the same id (e.g. after a prefix).
pub(crate) fn check_unique(file: &Path, list: &ResourceList) -> Result<()> {
    let mut seen = HashMap::new();
    for r in &list.items {
        let id = r.id();
        if seen.insert(id.key(), ()).is_some() {
            return Err(Error::Resource {
                path: file.to_path_buf(),
                message: format!("two resources have the id {id}; rename one of them"),
            });
        }
    }
    Ok(())
}

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// kustomize's legacy order: listed kinds first/last, then by
/// group_version_kind, then by namespace and name.
pub(crate) fn legacy_sort(
    list: &mut ResourceList,
    first: Option<Vec<String>>,
    last: Option<Vec<String>>,
) {
    let first: Vec<String> =
        first.unwrap_or_else(|| ORDER_FIRST.iter().map(|s| s.to_string()).collect());
    let last: Vec<String> =
        last.unwrap_or_else(|| ORDER_LAST.iter().map(|s| s.to_string()).collect());
    let mut rank: HashMap<&str, i64> = HashMap::new();
    for (i, k) in first.iter().enumerate() {
        rank.insert(k, i as i64 - first.len() as i64);
    }
    for (i, k) in last.iter().enumerate() {
        rank.insert(k, 1 + i as i64);
    }
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    let mut keyed: Vec<_> = std::mem::take(&mut list.items)
        .into_iter()
        .map(|r| {
            let id = r.id();
            let rk = rank.get(id.kind.as_str()).copied().unwrap_or(0);
            let gvk = format!(
                "{}_{}_{}",
                or(&id.group, "~G"),
                or(&id.version, "~V"),
                or(&id.kind, "~K")
            );
            let is_ns = (id.kind == "Namespace", id.group.is_empty());
            let rest = format!("{}|{}", or(&id.namespace, "~X"), or(&id.name, "~N"));
            (rk, gvk, is_ns, rest, r)
        })
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| {
                if a.1 == b.1 {
                    std::cmp::Ordering::Equal
                } else if a.2.0 && b.2.0 && (a.2.1 || b.2.1) {
                    b.1.cmp(&a.1)
                } else {
                    a.1.cmp(&b.1)
                }
            })
            .then_with(|| a.3.cmp(&b.3))
    });
    list.items = keyed.into_iter().map(|k| k.4).collect();
}
