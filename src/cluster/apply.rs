//! Server-side apply of a set of objects, in dependency order: CRDs and
//! namespaces first (waiting until the CRDs are established), then the
//! rest by kind. Used by `install`, `create` and `bootstrap`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
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

/// Apply order of kinds: these first, unknown kinds after them, webhook
/// configurations last. kustomize-controller prunes stale objects in this
/// order too.
pub fn kind_rank(kind: &str) -> usize {
    const FIRST: [&str; 23] = [
        "CustomResourceDefinition",
        "Namespace",
        "ClusterRole",
        "ClusterClass",
        "RuntimeClass",
        "PriorityClass",
        "StorageClass",
        "VolumeSnapshotClass",
        "IngressClass",
        "GatewayClass",
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
    match kind {
        "MutatingWebhookConfiguration" => 1000,
        "ValidatingWebhookConfiguration" => 1001,
        _ => FIRST.iter().position(|k| *k == kind).unwrap_or(500),
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
                kind_rank(str_field(o, "/kind")),
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
    /// Resolves every kind `objects` use, concurrently, into the cache.
    async fn resolve_all(&mut self, objects: &[Value]) -> Result<(), ApplyError> {
        let missing: BTreeSet<(String, String)> = objects
            .iter()
            .map(|o| {
                (
                    str_field(o, "/apiVersion").to_string(),
                    str_field(o, "/kind").to_string(),
                )
            })
            .filter(|key| !self.cache.contains_key(key))
            .collect();
        let client = &self.client;
        let found = futures::future::try_join_all(missing.into_iter().map(
            |(api_version, kind)| async move {
                let found = discover(client, &api_version, &kind).await?;
                Ok::<_, ApplyError>(((api_version, kind), found))
            },
        ))
        .await?;
        self.cache.extend(found);
        Ok(())
    }

    async fn resolve(
        &mut self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, Scope), ApplyError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let found = discover(&self.client, api_version, kind).await?;
        self.cache.insert(key, found.clone());
        Ok(found)
    }
}

/// Asks the server which resource serves `kind` in `api_version`.
async fn discover(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
) -> Result<(ApiResource, Scope), ApplyError> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|source| ApplyError::UnknownKind {
            kind: kind.into(),
            api_version: api_version.into(),
            source,
        })?;
    Ok((resource, caps.scope))
}

/// How many objects of one stage are applied at once.
const CONCURRENT_APPLIES: usize = 16;

/// Applies one stage of objects that do not depend on each other: kinds
/// are resolved first (once each), then the objects are applied
/// concurrently; the change set keeps their order.
async fn apply_stage(
    resolver: &mut Resolver,
    objects: &[Value],
    default_namespace: &str,
) -> Result<Vec<Applied>, ApplyError> {
    for object in objects {
        let kind = str_field(object, "/kind");
        let name = str_field(object, "/metadata/name");
        if str_field(object, "/apiVersion").is_empty() || kind.is_empty() || name.is_empty() {
            return Err(ApplyError::Incomplete {
                kind: kind.into(),
                name: name.into(),
            });
        }
    }
    resolver.resolve_all(objects).await?;
    let mut resolved = Vec::with_capacity(objects.len());
    for object in objects {
        let kind = str_field(object, "/kind");
        resolved.push(
            resolver
                .resolve(str_field(object, "/apiVersion"), kind)
                .await?,
        );
    }
    let client = &resolver.client;
    futures::stream::iter(objects.iter().zip(resolved))
        .map(|(object, resolved)| apply_one(client, object, resolved, default_namespace))
        .buffered(CONCURRENT_APPLIES)
        .try_collect()
        .await
}

async fn apply_one(
    client: &kube::Client,
    object: &Value,
    (resource, scope): (ApiResource, Scope),
    default_namespace: &str,
) -> Result<Applied, ApplyError> {
    let kind = str_field(object, "/kind");
    let name = str_field(object, "/metadata/name");
    let namespace = match scope {
        Scope::Namespaced => Some(match str_field(object, "/metadata/namespace") {
            "" => default_namespace.to_string(),
            ns => ns.to_string(),
        }),
        Scope::Cluster => None,
    };
    let api: Api<DynamicObject> = match &namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
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
    let mut applied = apply_stage(&mut resolver, &first, default_namespace).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let established = first
        .iter()
        .filter(|o| str_field(o, "/kind") == "CustomResourceDefinition")
        .map(|object| {
            let name = str_field(object, "/metadata/name");
            let crds = crds.clone();
            async move {
                tokio::time::timeout(
                    ESTABLISH_TIMEOUT,
                    await_condition(crds, name, conditions::is_crd_established()),
                )
                .await
                .map_err(|_| ApplyError::NotEstablished {
                    name: name.into(),
                    seconds: ESTABLISH_TIMEOUT.as_secs(),
                })?
                .map_err(|source| ApplyError::Watch {
                    name: name.into(),
                    source,
                })
            }
        });
    futures::future::try_join_all(established).await?;
    // Kinds defined by the CRDs just applied are now served: resolve afresh.
    resolver.cache.clear();
    // Webhook configurations go last, once what they call exists.
    let (webhooks, rest): (Vec<Value>, Vec<Value>) = rest
        .into_iter()
        .partition(|o| str_field(o, "/kind").ends_with("WebhookConfiguration"));
    applied.extend(apply_stage(&mut resolver, &rest, default_namespace).await?);
    applied.extend(apply_stage(&mut resolver, &webhooks, default_namespace).await?);
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
