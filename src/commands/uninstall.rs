//! `flux uninstall`: delete the controllers first (so nothing re-adds a
//! finalizer), then strip the finalizers of every Flux object (so deleting
//! the CRDs cannot hang on objects no controller will finalize), then the
//! CRDs and the namespace.
//!
//! Two deliberate deviations from upstream (quirk 9): success lines do not
//! end in a space, and the command exits 1 when anything could not be
//! deleted, so scripts can tell a partial uninstall from a clean one.

use std::fmt::Debug;

use anyhow::{anyhow, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::cli::UninstallArgs;
use crate::cluster::health::{CallError, Deadline, PART_OF_SELECTOR, cluster_info};
use crate::cluster::objects::{self, ObjectError};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds;

/// The kinds whose finalizers are removed, in upstream's order.
/// ExternalArtifact is left out as upstream does: it carries no finalizer.
const FINALIZED_KINDS: &[&str] = &[
    "GitRepository",
    "OCIRepository",
    "HelmRepository",
    "HelmChart",
    "Bucket",
    "Kustomization",
    "HelmRelease",
    "Alert",
    "Provider",
    "Receiver",
    "ImagePolicy",
    "ImageRepository",
    "ImageUpdateAutomation",
    "ArtifactGenerator",
];

/// Deletes and patches one at a time, printing a line per object and
/// counting what failed.
struct Remover<'a> {
    ctx: &'a Ctx,
    client: kube::Client,
    deadline: Deadline,
    dry_run: bool,
    failures: usize,
}

impl Remover<'_> {
    /// ` (dry run)` or nothing.
    fn suffix(&self) -> &'static str {
        if self.dry_run { " (dry run)" } else { "" }
    }

    /// Deletes one object. A dry run also asks for `dryRun=All` in the query
    /// string: the API reads it there for every verb, while kube-rs puts it
    /// only in the DeleteOptions body, which not every server reads (testenv
    /// does not yet), and a dry run must never delete for real.
    async fn delete<K>(&self, api: &Api<K>, name: &str) -> Result<(), CallError>
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        if !self.dry_run {
            return self
                .deadline
                .call(api.delete(name, &DeleteParams::default()))
                .await
                .map(drop);
        }
        let uri = format!("{}/{name}?dryRun=All", api.resource_url());
        let body = serde_json::to_vec(&DeleteParams::default().dry_run())
            .expect("delete options serialise to JSON");
        let request = http::Request::delete(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| CallError::Failed {
                error: ObjectError::Api(e.to_string()),
                not_found: false,
            })?;
        self.deadline
            .call(self.client.request_status::<serde_json::Value>(request))
            .await
            .map(drop)
    }

    fn failed(&mut self, message: String) {
        self.ctx.printer.failure(&message);
        self.failures += 1;
    }

    /// Deletes every object of `K` labelled as part of Flux in `api`'s scope;
    /// `label` renders an object as `Kind/ns/name` or `Kind/name`. Only an
    /// unreachable or refusing API server is an error: then nothing further
    /// can work.
    async fn delete_labelled<K>(
        &mut self,
        api: Api<K>,
        label: impl Fn(&K) -> String,
    ) -> Result<(), CallError>
    where
        K: Resource + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let list = match self
            .deadline
            .call(api.list(&ListParams::default().labels(PART_OF_SELECTOR)))
            .await
        {
            Ok(list) => list.items,
            Err(err) if err.is_unreachable() => return Err(err),
            Err(err) => {
                let kind = K::kind(&Default::default()).into_owned();
                self.failed(format!("unable to list {kind} objects: {err}"));
                return Ok(());
            }
        };
        for object in list {
            let label = label(&object);
            match self.delete(&api, &object.name_any()).await {
                Ok(_) => self
                    .ctx
                    .printer
                    .success(&format!("{label} deleted{}", self.suffix())),
                Err(err) if err.is_not_found() => {}
                Err(err) => self.failed(format!("{label} deletion failed: {err}")),
            }
        }
        Ok(())
    }

    async fn delete_namespaced<K>(&mut self, namespace: &str) -> Result<(), CallError>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        self.delete_labelled(api, |o: &K| {
            format!(
                "{}/{}/{}",
                K::kind(&Default::default()),
                o.namespace().unwrap_or_default(),
                o.name_any()
            )
        })
        .await
    }

    async fn delete_cluster_scoped<K>(&mut self) -> Result<(), CallError>
    where
        K: Resource<Scope = kube::core::ClusterResourceScope> + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::all(self.client.clone());
        self.delete_labelled(api, |o: &K| {
            format!("{}/{}", K::kind(&Default::default()), o.name_any())
        })
        .await
    }

    /// Empties `metadata.finalizers` of every object of the Flux kinds, in
    /// every namespace. Kinds whose CRD is gone are skipped.
    ///
    /// The other registry kinds (ExternalArtifact) are listed too, and only
    /// their objects that do carry a finalizer are patched, so upstream's
    /// lines stay the same. Listing matters on its own: the API server opens
    /// a custom resource's storage on its first request, and a CRD deleted
    /// before that can stall its cleanup for minutes ("storage is
    /// (re)initializing", retried with growing back-off), seen on
    /// kube-apiserver v1.34.
    async fn remove_finalizers(&mut self) {
        let patch = json!({"metadata": {"finalizers": null}});
        let params = if self.dry_run {
            PatchParams::default().dry_run()
        } else {
            PatchParams::default()
        };
        let finalized = FINALIZED_KINDS.iter().filter_map(|k| kinds::by_kind(k));
        let others = kinds::KINDS
            .iter()
            .filter(|spec| !FINALIZED_KINDS.contains(&spec.kind));
        for (spec, always) in finalized
            .map(|s| (s, true))
            .chain(others.map(|s| (s, false)))
        {
            let all = objects::api(self.client.clone(), spec, None);
            let listed = tokio::time::timeout_at(
                self.deadline.instant(),
                objects::list(spec, &all, &ListParams::default()),
            )
            .await
            .unwrap_or_else(|_| Err(ObjectError::Unreachable(self.deadline.elapsed_message())));
            let items = match listed {
                Ok(items) => items,
                Err(ObjectError::KindNotInstalled { .. }) => continue,
                Err(err) => {
                    self.failed(format!("unable to list {} objects: {err}", spec.kind));
                    continue;
                }
            };
            for item in items {
                let has_finalizers = item["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty());
                if !always && !has_finalizers {
                    continue;
                }
                let name = item["metadata"]["name"].as_str().unwrap_or_default();
                let namespace = item["metadata"]["namespace"].as_str().unwrap_or_default();
                let label = format!("{}/{namespace}/{name}", spec.kind);
                let api = objects::api(self.client.clone(), spec, Some(namespace));
                match self
                    .deadline
                    .call(api.patch(name, &params, &Patch::Merge(&patch)))
                    .await
                {
                    Ok(_) => self
                        .ctx
                        .printer
                        .success(&format!("{label} finalizers deleted{}", self.suffix())),
                    Err(err) if err.is_not_found() => {}
                    Err(err) => self.failed(format!("{label} removing finalizers failed: {err}")),
                }
            }
        }
    }

    async fn delete_namespace(&mut self, namespace: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        match self.delete(&api, namespace).await {
            Ok(_) => self
                .ctx
                .printer
                .success(&format!("Namespace/{namespace} deleted{}", self.suffix())),
            Err(err) if err.is_not_found() => self.ctx.printer.warning(&format!(
                "Namespace/{namespace} not found, nothing to delete"
            )),
            Err(err) => self.failed(format!("Namespace/{namespace} deletion failed: {err}")),
        }
    }
}

pub async fn run(ctx: &Ctx, args: &UninstallArgs) -> anyhow::Result<ExitStatus> {
    let namespace = &ctx.global.namespace;
    let deadline = Deadline::after(ctx.global.timeout);
    let client = ctx.kube.client().await?;
    if !args.dry_run && !args.silent {
        let info = cluster_info(&client, &deadline)
            .await
            .map_err(|e| anyhow!("cluster info unavailable: {e}"))?;
        let question = match info.foreign_manager() {
            Some(manager) => format!(
                "Flux is managed by {manager}! Are you sure you want to delete Flux and its CRDs using Flux CLI"
            ),
            None => {
                "Are you sure you want to delete Flux and its custom resource definitions".into()
            }
        };
        if !crate::prompt::confirm(&question)? {
            bail!("aborting");
        }
    }
    let mut remover = Remover {
        ctx,
        client: client.clone(),
        deadline,
        dry_run: args.dry_run,
        failures: 0,
    };
    ctx.printer
        .action(&format!("deleting components in {namespace} namespace"));
    remover.delete_namespaced::<Deployment>(namespace).await?;
    remover.delete_namespaced::<Service>(namespace).await?;
    remover
        .delete_namespaced::<NetworkPolicy>(namespace)
        .await?;
    remover
        .delete_namespaced::<ServiceAccount>(namespace)
        .await?;
    remover.delete_cluster_scoped::<ClusterRole>().await?;
    remover
        .delete_cluster_scoped::<ClusterRoleBinding>()
        .await?;
    ctx.printer
        .action("deleting toolkit.fluxcd.io finalizers in all namespaces");
    remover.remove_finalizers().await;
    ctx.printer
        .action("deleting toolkit.fluxcd.io custom resource definitions");
    remover
        .delete_cluster_scoped::<CustomResourceDefinition>()
        .await?;
    if !args.keep_namespace {
        remover.delete_namespace(namespace).await;
    }
    if remover.failures > 0 {
        ctx.printer.failure(&format!(
            "uninstall finished with {} error{}",
            remover.failures,
            if remover.failures == 1 { "" } else { "s" }
        ));
        return Ok(ExitStatus::Failure);
    }
    ctx.printer.success("uninstall finished");
    Ok(ExitStatus::Success)
}
