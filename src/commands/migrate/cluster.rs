//! Cluster mode: write every object of each Flux CRD again so the API
//! server re-stores it in the CRD's storage version, then drop the older
//! versions from the CRD's `status.storedVersions`. After that a Flux
//! release that no longer serves those versions can be installed.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::cluster::health::{Deadline, PART_OF_SELECTOR, classify};
use crate::cluster::{ClientError, objects};
use crate::commands::Ctx;

/// A failed API call: its message, and what the retry needs to know.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CallFailure {
    message: String,
    conflict: bool,
    not_found: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the Kubernetes client initialization failed: {0}")]
    Client(#[source] ClientError),
    #[error("failed to list CRDs: {0}")]
    ListCrds(#[source] CallFailure),
    #[error("failed to get CRD {crd}: {source}")]
    GetCrd { crd: String, source: CallFailure },
    #[error("no storage version found for CRD {0}")]
    NoStorageVersion(String),
    #[error("failed to list resources for CRD {crd}: {source}")]
    ListObjects { crd: String, source: CallFailure },
    // The space before the object is upstream's; scripts may match it.
    #[error(
        "failed to migrate resources for CRD {crd}:  {object} failed to migrate{what}: {source}"
    )]
    Migrate {
        crd: String,
        object: String,
        what: &'static str,
        source: CallFailure,
    },
    #[error("failed to update CRD {crd} status: {source}")]
    UpdateStatus { crd: String, source: CallFailure },
}

impl ClusterError {
    /// Whether the CRD's pass may simply be run again.
    fn is_conflict(&self) -> bool {
        match self {
            Self::GetCrd { source, .. }
            | Self::ListObjects { source, .. }
            | Self::Migrate { source, .. }
            | Self::UpdateStatus { source, .. } => source.conflict,
            _ => false,
        }
    }
}

/// Runs one API call within the command's deadline, sending it again on
/// transient failures, and keeps whether the server answered 409 Conflict
/// or 404 Not Found.
async fn call<T, F, Fut>(deadline: &Deadline, request: F) -> Result<T, CallFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    match tokio::time::timeout_at(deadline.instant(), objects::retrying(request)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => {
            let code = match &err {
                kube::Error::Api(status) => status.code,
                _ => 0,
            };
            Err(CallFailure {
                message: classify(err).to_string(),
                conflict: code == 409,
                not_found: code == 404,
            })
        }
        Err(_) => Err(CallFailure {
            message: format!(
                "unable to reach the Kubernetes API server: {}",
                deadline.elapsed_message()
            ),
            conflict: false,
            not_found: false,
        }),
    }
}

/// client-go's default retry on conflict: five tries, 10 ms apart (±10 %).
const CONFLICT_TRIES: u32 = 5;
const CONFLICT_DELAY: Duration = Duration::from_millis(10);

/// Runs `pass` again while it fails on a conflict (another writer changed
/// the CRD between its read and the status update), up to
/// [`CONFLICT_TRIES`] times.
async fn on_conflict_again<F, Fut>(mut pass: F) -> Result<(), ClusterError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), ClusterError>>,
{
    let mut tries = 1;
    loop {
        match pass().await {
            Err(err) if err.is_conflict() && tries < CONFLICT_TRIES => {
                tries += 1;
                let jitter = 1.0 + rand::random::<f64>() * 0.1;
                tokio::time::sleep(CONFLICT_DELAY.mul_f64(jitter)).await;
            }
            result => return result,
        }
    }
}

pub async fn migrate(ctx: &Ctx) -> Result<(), ClusterError> {
    ctx.printer.action("starting migration of custom resources");
    let client = ctx.kube.client().await.map_err(ClusterError::Client)?;
    let deadline = Deadline::after(ctx.remaining());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let selected = ListParams::default().labels(PART_OF_SELECTOR);
    let list = call(&deadline, || crds.list(&selected))
        .await
        .map_err(ClusterError::ListCrds)?;
    for crd in list.items {
        let name = crd.metadata.name.unwrap_or_default();
        on_conflict_again(|| migrate_crd(ctx, &client, &deadline, &name)).await?;
    }
    ctx.printer
        .success("custom resources migrated successfully");
    Ok(())
}

/// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object.
fn label(kind: &str, object: &DynamicObject) -> String {
    let name = object.metadata.name.as_deref().unwrap_or_default();
    match object.metadata.namespace.as_deref() {
        Some(namespace) if !namespace.is_empty() => format!("{kind}/{namespace}/{name}"),
        _ => format!("{kind}/{name}"),
    }
}

/// The managedFields of `object` with every entry's apiVersion set to
/// `api_version`, or `None` when they all have it already.
fn managed_fields_patch(object: &DynamicObject, api_version: &str) -> Option<Value> {
    let fields = object.metadata.managed_fields.as_ref()?;
    if fields
        .iter()
        .all(|f| f.api_version.as_deref() == Some(api_version))
    {
        return None;
    }
    let mut fields = serde_json::to_value(fields).ok()?;
    for entry in fields.as_array_mut()? {
        entry["apiVersion"] = json!(api_version);
    }
    Some(json!([{"op": "replace", "path": "/metadata/managedFields", "value": fields}]))
}

async fn migrate_crd(
    ctx: &Ctx,
    client: &kube::Client,
    deadline: &Deadline,
    name: &str,
) -> Result<(), ClusterError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut crd =
        call(deadline, || crds.get(name))
            .await
            .map_err(|source| ClusterError::GetCrd {
                crd: name.to_string(),
                source,
            })?;
    let storage = crd
        .spec
        .versions
        .iter()
        .find(|v| v.storage)
        .map(|v| v.name.clone())
        .ok_or_else(|| ClusterError::NoStorageVersion(name.to_string()))?;
    let names = &crd.spec.names;
    let resource = ApiResource {
        group: crd.spec.group.clone(),
        version: storage.clone(),
        api_version: format!("{}/{storage}", crd.spec.group),
        kind: names.kind.clone(),
        plural: names.plural.clone(),
    };
    let listing: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut params = ListParams::default().limit(500);
    loop {
        let page = call(deadline, || listing.list(&params))
            .await
            .map_err(|source| ClusterError::ListObjects {
                crd: name.to_string(),
                source,
            })?;
        for object in &page.items {
            migrate_object(ctx, client, deadline, name, &resource, object).await?;
        }
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    let stored = crd
        .status
        .as_ref()
        .and_then(|s| s.stored_versions.clone())
        .unwrap_or_default();
    if stored != [storage.as_str()] {
        let status = crd.status.get_or_insert_with(Default::default);
        status.stored_versions = Some(vec![storage.clone()]);
        let post = PostParams::default();
        call(deadline, || crds.replace_status(name, &post, &crd))
            .await
            .map_err(|source| ClusterError::UpdateStatus {
                crd: name.to_string(),
                source,
            })?;
        ctx.printer
            .success(&format!("{name} migrated to storage version {storage}"));
    }
    Ok(())
}

/// Writes one object again: its managedFields moved to the storage version
/// if any entry has another one, else an empty merge patch. Either way the
/// API server stores the object anew, in the storage version.
async fn migrate_object(
    ctx: &Ctx,
    client: &kube::Client,
    deadline: &Deadline,
    crd: &str,
    resource: &ApiResource,
    object: &DynamicObject,
) -> Result<(), ClusterError> {
    let api: Api<DynamicObject> = match object.metadata.namespace.as_deref() {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let name = object.metadata.name.clone().unwrap_or_default();
    let shown = label(&resource.kind, object);
    let failed = |what: &'static str, source: CallFailure| ClusterError::Migrate {
        crd: crd.to_string(),
        object: shown.clone(),
        what,
        source,
    };
    let (patch_params, empty_patch) = (PatchParams::default(), Patch::Merge(json!({})));
    let result = match managed_fields_patch(object, &resource.api_version) {
        Some(patch) => call(deadline, || json_patch(client, &api, &name, &patch))
            .await
            .map_err(|e| failed(" managed fields", e)),
        None => call(deadline, || api.patch(&name, &patch_params, &empty_patch))
            .await
            .map(drop)
            .map_err(|e| failed("", e)),
    };
    match result {
        Ok(()) => {
            ctx.printer
                .success(&format!("{shown} migrated to version {}", resource.version));
            Ok(())
        }
        // Deleted since the list: nothing left to migrate.
        Err(ClusterError::Migrate { source, .. }) if source.not_found => Ok(()),
        Err(err) => Err(err),
    }
}

/// Sends a JSON patch (RFC 6902) to one object. kube-rs's typed JSON patch
/// needs the json-patch crate's types; the body is plain JSON here.
async fn json_patch(
    client: &kube::Client,
    api: &Api<DynamicObject>,
    name: &str,
    patch: &Value,
) -> Result<(), kube::Error> {
    let request = http::Request::patch(format!("{}/{name}", api.resource_url()))
        .header(http::header::CONTENT_TYPE, "application/json-patch+json")
        .body(serde_json::to_vec(patch).map_err(kube::Error::SerdeError)?)
        .map_err(kube::Error::HttpError)?;
    client.request::<DynamicObject>(request).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(versions: &[&str]) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "g/v2", "kind": "K",
            "metadata": {"name": "a", "namespace": "ns", "managedFields": versions.iter().map(|v| json!({
                "manager": "m", "operation": "Apply", "apiVersion": v, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}
            })).collect::<Vec<_>>()}
        }))
        .unwrap()
    }

    #[test]
    fn managed_fields_move_to_the_storage_version_only_when_needed() {
        assert_eq!(
            managed_fields_patch(&object(&["g/v2", "g/v2"]), "g/v2"),
            None
        );
        assert_eq!(managed_fields_patch(&object(&[]), "g/v2"), None);
        let patch = managed_fields_patch(&object(&["g/v1", "g/v2"]), "g/v2").unwrap();
        assert_eq!(patch[0]["op"], "replace");
        assert_eq!(patch[0]["path"], "/metadata/managedFields");
        let entries = patch[0]["value"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for entry in entries {
            assert_eq!(entry["apiVersion"], "g/v2");
            assert_eq!(entry["fieldsV1"], json!({"f:spec": {}}));
            assert_eq!(entry["manager"], "m");
        }
    }

    fn failure(crd: &str, conflict: bool) -> ClusterError {
        ClusterError::UpdateStatus {
            crd: crd.into(),
            source: CallFailure {
                message: "the object has been modified".into(),
                conflict,
                not_found: false,
            },
        }
    }

    #[tokio::test]
    async fn a_pass_is_run_again_on_conflict_five_times_at_most() {
        let runs = std::cell::Cell::new(0);
        let result = on_conflict_again(|| async {
            runs.set(runs.get() + 1);
            if runs.get() < 3 {
                Err(failure("a", true))
            } else {
                Ok(())
            }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(runs.get(), 3);

        runs.set(0);
        let err = on_conflict_again(|| async {
            runs.set(runs.get() + 1);
            Err(failure("a", true))
        })
        .await
        .unwrap_err();
        assert_eq!(runs.get(), 5);
        assert_eq!(
            err.to_string(),
            "failed to update CRD a status: the object has been modified"
        );

        runs.set(0);
        let result = on_conflict_again(|| async {
            runs.set(runs.get() + 1);
            Err(failure("a", false))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(runs.get(), 1);
    }

    #[test]
    fn a_failed_object_is_named_in_upstreams_words() {
        let err = ClusterError::Migrate {
            crd: "widgets.example.com".into(),
            object: "Widget/apps/a".into(),
            what: " managed fields",
            source: CallFailure {
                message: "denied".into(),
                conflict: false,
                not_found: false,
            },
        };
        assert_eq!(
            err.to_string(),
            "failed to migrate resources for CRD widgets.example.com:  Widget/apps/a failed to migrate managed fields: denied"
        );
    }

    #[test]
    fn objects_are_labelled_with_their_namespace_when_they_have_one() {
        assert_eq!(label("K", &object(&[])), "K/ns/a");
        let mut cluster_scoped = object(&[]);
        cluster_scoped.metadata.namespace = None;
        assert_eq!(label("K", &cluster_scoped), "K/a");
    }
}
