//! Server-side apply of a set of objects, in dependency order: CRDs and
//! namespaces first (waiting until the CRDs are established), then the
//! rest by kind. Used by `install`, `create` and `bootstrap`.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::discovery::{self, Scope};
use kube::runtime::{conditions, wait::await_condition};
use serde_json::Value;

/// The field manager flux-rs applies with (upstream uses `flux` too).
pub const FIELD_MANAGER: &str = "flux";

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Configured => "configured",
            Self::Unchanged => "unchanged",
        })
    }
}

/// One line of the change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub action: Action,
}

impl std::fmt::Display for Applied {
    /// `Kind/namespace/name action`, or `Kind/name action` when cluster-scoped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{} {}", self.kind, self.name, self.action),
            None => write!(f, "{}/{} {}", self.kind, self.name, self.action),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{kind}/{name}: object has no apiVersion, kind or metadata.name")]
    Incomplete { kind: String, name: String },
    #[error("no matches for kind \"{kind}\" in version \"{api_version}\": {source}")]
    UnknownKind {
        kind: String,
        api_version: String,
        #[source]
        source: kube::Error,
    },
    #[error("{object} apply failed: {source}")]
    Apply {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("CustomResourceDefinition {name} was not established within {seconds}s")]
    NotEstablished { name: String, seconds: u64 },
    #[error("unable to watch CustomResourceDefinition {name}: {source}")]
    Watch {
        name: String,
        #[source]
        source: kube::runtime::wait::Error,
    },
}

/// Apply order of kinds; unknown kinds go after these, webhooks last.
const KIND_ORDER: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

fn rank(kind: &str) -> usize {
    match kind {
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => KIND_ORDER.len() + 1,
        _ => KIND_ORDER
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(KIND_ORDER.len()),
    }
}

fn str_field<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Sorts objects into apply order: by kind rank, then namespace, then name.
pub fn sort_for_apply(objects: &mut [Value]) {
    objects.sort_by(|a, b| {
        let key = |o: &Value| {
            (
                rank(str_field(o, "/kind")),
                str_field(o, "/metadata/namespace").to_string(),
                str_field(o, "/metadata/name").to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// Resolves kinds to API resources, asking the server once per kind.
struct Resolver {
    client: kube::Client,
    cache: BTreeMap<(String, String), (ApiResource, Scope)>,
}

impl Resolver {
    async fn resolve(
        &mut self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, Scope), ApplyError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) =
            discovery::pinned_kind(&self.client, &gvk)
                .await
                .map_err(|source| ApplyError::UnknownKind {
                    kind: kind.into(),
                    api_version: api_version.into(),
                    source,
                })?;
        self.cache
            .insert(key, (resource.clone(), caps.scope.clone()));
        Ok((resource, caps.scope))
    }
}

async fn apply_one(
    resolver: &mut Resolver,
    object: &Value,
    default_namespace: &str,
) -> Result<Applied, ApplyError> {
    let api_version = str_field(object, "/apiVersion");
    let kind = str_field(object, "/kind");
    let name = str_field(object, "/metadata/name");
    if api_version.is_empty() || kind.is_empty() || name.is_empty() {
        return Err(ApplyError::Incomplete {
            kind: kind.into(),
            name: name.into(),
        });
    }
    let (resource, scope) = resolver.resolve(api_version, kind).await?;
    let namespace = match scope {
        Scope::Namespaced => Some(match str_field(object, "/metadata/namespace") {
            "" => default_namespace.to_string(),
            ns => ns.to_string(),
        }),
        Scope::Cluster => None,
    };
    let api: Api<DynamicObject> = match &namespace {
        Some(ns) => Api::namespaced_with(resolver.client.clone(), ns, &resource),
        None => Api::all_with(resolver.client.clone(), &resource),
    };
    let label = match &namespace {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    };
    let before = api
        .get_opt(name)
        .await
        .map_err(|source| ApplyError::Apply {
            object: label.clone(),
            source,
        })?;
    let mut body = object.clone();
    if let Some(ns) = &namespace {
        body["metadata"]["namespace"] = Value::String(ns.clone());
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let after = api
        .patch(name, &params, &Patch::Apply(&body))
        .await
        .map_err(|source| ApplyError::Apply {
            object: label,
            source,
        })?;
    let action = match before {
        None => Action::Created,
        Some(before) if desired_state(&before) == desired_state(&after) => Action::Unchanged,
        Some(_) => Action::Configured,
    };
    Ok(Applied {
        kind: kind.into(),
        namespace,
        name: name.into(),
        action,
    })
}

/// The object without what servers and controllers change on their own
/// (status, resourceVersion, managedFields), to tell whether an apply
/// changed anything: a controller updating status concurrently must not
/// count as a change.
fn desired_state(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).expect("objects serialise to JSON");
    if let Value::Object(map) = &mut value {
        map.remove("status");
    }
    if let Some(Value::Object(meta)) = value.get_mut("metadata") {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
    }
    value
}

/// How long CRDs get to become established before the rest is applied.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Applies `objects` (namespaced ones without a namespace go to
/// `default_namespace`) and returns the change set in apply order.
pub async fn apply_all(
    client: &kube::Client,
    objects: &[Value],
    default_namespace: &str,
) -> Result<Vec<Applied>, ApplyError> {
    let mut objects = objects.to_vec();
    sort_for_apply(&mut objects);
    let (first, rest): (Vec<Value>, Vec<Value>) = objects.into_iter().partition(|o| {
        matches!(
            str_field(o, "/kind"),
            "CustomResourceDefinition" | "Namespace"
        )
    });
    let mut resolver = Resolver {
        client: client.clone(),
        cache: BTreeMap::new(),
    };
    let mut applied = Vec::new();
    for object in &first {
        applied.push(apply_one(&mut resolver, object, default_namespace).await?);
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for object in first
        .iter()
        .filter(|o| str_field(o, "/kind") == "CustomResourceDefinition")
    {
        let name = str_field(object, "/metadata/name");
        tokio::time::timeout(
            ESTABLISH_TIMEOUT,
            await_condition(crds.clone(), name, conditions::is_crd_established()),
        )
        .await
        .map_err(|_| ApplyError::NotEstablished {
            name: name.into(),
            seconds: ESTABLISH_TIMEOUT.as_secs(),
        })?
        .map_err(|source| ApplyError::Watch {
            name: name.into(),
            source,
        })?;
    }
    // Kinds defined by the CRDs just applied are now served: resolve afresh.
    resolver.cache.clear();
    for object in &rest {
        applied.push(apply_one(&mut resolver, object, default_namespace).await?);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_sort_crds_and_namespaces_first_webhooks_last() {
        let mut objects = vec![
            json!({"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "w"}}),
            json!({"kind": "Deployment", "metadata": {"name": "b", "namespace": "x"}}),
            json!({"kind": "NetworkPolicy", "metadata": {"name": "n", "namespace": "x"}}),
            json!({"kind": "Namespace", "metadata": {"name": "x"}}),
            json!({"kind": "CustomResourceDefinition", "metadata": {"name": "c"}}),
            json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "x"}}),
        ];
        sort_for_apply(&mut objects);
        let order: Vec<&str> = objects
            .iter()
            .map(|o| str_field(o, "/metadata/name"))
            .collect();
        assert_eq!(order, ["c", "x", "a", "b", "n", "w"]);
    }

    #[test]
    fn change_lines_follow_upstream() {
        let namespaced = Applied {
            kind: "Deployment".into(),
            namespace: Some("flux-system".into()),
            name: "source-controller".into(),
            action: Action::Created,
        };
        assert_eq!(
            namespaced.to_string(),
            "Deployment/flux-system/source-controller created"
        );
        let cluster = Applied {
            kind: "ClusterRole".into(),
            namespace: None,
            name: "crd-controller-flux-system".into(),
            action: Action::Unchanged,
        };
        assert_eq!(
            cluster.to_string(),
            "ClusterRole/crd-controller-flux-system unchanged"
        );
    }
}
