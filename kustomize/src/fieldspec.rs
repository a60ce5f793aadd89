//! Field specs: which field of which kinds a transformer touches.

use crate::resource::{Resource, split_api_version};
use crate::yaml::{Map, Value};

#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSpec {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub path: Vec<String>,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> Self {
        FieldSpec {
            path: split_path(path),
            create,
            ..Default::default()
        }
    }
    pub fn from_value(v: &Value) -> Option<FieldSpec> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(FieldSpec {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
            path: split_path(v.get("path")?.as_str()?),
            create: matches!(v.get("create"), Some(Value::Bool(true))),
        })
    }
    pub fn matches(&self, r: &Resource) -> bool {
        let (g, ver) = split_api_version(&r.api_version());
        self.group.as_ref().is_none_or(|x| x.is_empty() || *x == g)
            && self
                .version
                .as_ref()
                .is_none_or(|x| x.is_empty() || *x == ver)
            && self
                .kind
                .as_ref()
                .is_none_or(|x| x.is_empty() || *x == r.kind())
    }
}

/// Splits `a/b[]/c`; `\/` escapes a slash inside a key.
fn split_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// What to do at a field reached by a spec.
pub(crate) enum Visit<'a> {
    /// The field exists.
    Found(&'a mut Value),
    /// The field is missing; the spec allows creating it.
    Missing(&'a mut Map, &'a str),
}

/// Walks `path` in `obj`, calling `f` for every field it reaches.
/// Sequences met on the way are entered element by element.
pub(crate) fn walk(obj: &mut Value, path: &[String], create: bool, f: &mut dyn FnMut(Visit<'_>)) {
    let Some((first, rest)) = path.split_first() else {
        f(Visit::Found(obj));
        return;
    };
    let (key, is_list) = match first.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (first.as_str(), false),
    };
    match obj {
        Value::Map(m) => {
            if !m.contains_key(key) {
                if !create || is_list {
                    return;
                }
                if rest.is_empty() {
                    f(Visit::Missing(m, key));
                    return;
                }
                m.insert(key.to_string(), Value::Map(Map::new()));
            }
            let child = m.get_mut(key).expect("present");
            if matches!(child, Value::Null) {
                if !create {
                    return;
                }
                if rest.is_empty() {
                    f(Visit::Found(child));
                    return;
                }
                *child = Value::Map(Map::new());
            }
            if is_list {
                if let Value::Seq(items) = child {
                    for it in items {
                        walk(it, rest, create, f);
                    }
                }
            } else {
                walk(child, rest, create, f);
            }
        }
        Value::Seq(items) => {
            for it in items {
                walk(it, path, create, f);
            }
        }
        _ => {}
    }
}

/// Parses a list of field specs from the YAML text under `key`.
pub(crate) fn parse_specs(yaml_text: &str, key: &str) -> Vec<FieldSpec> {
    let docs =
        crate::yaml::parse_documents(yaml_text).expect("built-in field specs are valid YAML");
    docs[0]
        .get(key)
        .and_then(Value::as_seq)
        .map(|s| s.iter().filter_map(FieldSpec::from_value).collect())
        .unwrap_or_default()
}

pub(crate) fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&(api_version, kind))
}

/// Kinds kustomize's built-in OpenAPI data knows as cluster-scoped.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("v1", "ComponentStatus"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "NodeProxyOptions"),
    ("v1", "PersistentVolume"),
];
