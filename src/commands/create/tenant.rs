//! `flux create tenant`: per tenant namespace, the Namespace, a
//! ServiceAccount and a RoleBinding of the reconciler identity.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use kube::api::{Api, DeleteParams, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::CreateTenantArgs;
use crate::cluster::objects::retrying;
use crate::commands::Ctx;
use crate::commands::create::live::WriteError;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};
use crate::validate::{
    dns1123_label_problems, dns1123_subdomain_problems, qualified_name_problems,
};

/// Label marking every object of a tenant.
pub const TENANT_LABEL: &str = "toolkit.fluxcd.io/tenant";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The objects of one tenant namespace.
pub struct TenantObjects {
    /// `None` with `--skip-namespace`.
    pub namespace: Option<Namespace>,
    pub service_account: ServiceAccount,
    pub role_binding: RoleBinding,
}

fn problems_error(what: &str, value: &str, problems: Vec<String>) -> Result<(), CreateError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "invalid {what} '{value}': [{}]",
            problems.join(" ")
        )))
    }
}

pub fn build(args: &CreateTenantArgs) -> Result<Vec<TenantObjects>, CreateError> {
    let common = &args.common.common;
    let tenant = check_name(common.name.as_deref())?;
    problems_error("tenant name", tenant, qualified_name_problems(tenant))?;
    if args.cluster_role.is_empty() {
        return Err(invalid("cluster-role is required"));
    }
    if args.with_namespace.is_empty() {
        return Err(invalid("with-namespace is required"));
    }
    for ns in &args.with_namespace {
        problems_error("namespace", ns, dns1123_label_problems(ns))?;
    }
    let mut labels = parse_labels(&common.label)?;
    labels.insert(TENANT_LABEL.to_string(), tenant.to_string());
    let account = if args.with_service_account.is_empty() {
        tenant.to_string()
    } else {
        args.with_service_account.clone()
    };
    problems_error(
        "service-account name",
        &account,
        dns1123_subdomain_problems(&account),
    )?;
    let meta =
        |name: &str, namespace: Option<&str>, labels: &BTreeMap<String, String>| ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespace.map(str::to_string),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        };
    Ok(args
        .with_namespace
        .iter()
        .map(|ns| TenantObjects {
            namespace: (!args.skip_namespace).then(|| Namespace {
                metadata: meta(ns, None, &labels),
                ..Namespace::default()
            }),
            service_account: ServiceAccount {
                metadata: meta(&account, Some(ns), &labels),
                ..ServiceAccount::default()
            },
            role_binding: RoleBinding {
                metadata: meta(&format!("{tenant}-reconciler"), Some(ns), &labels),
                role_ref: RoleRef {
                    api_group: RBAC_GROUP.to_string(),
                    kind: "ClusterRole".to_string(),
                    name: args.cluster_role.clone(),
                },
                subjects: Some(vec![
                    Subject {
                        api_group: Some(RBAC_GROUP.to_string()),
                        kind: "User".to_string(),
                        name: format!("gotk:{ns}:reconciler"),
                        namespace: None,
                    },
                    Subject {
                        api_group: None,
                        kind: "ServiceAccount".to_string(),
                        name: account.clone(),
                        namespace: Some(ns.clone()),
                    },
                ]),
            },
        })
        .collect())
}

pub fn export(args: &CreateTenantArgs) -> anyhow::Result<String> {
    let mut out = String::new();
    for objects in build(args)? {
        if let Some(namespace) = &objects.namespace {
            out.push_str(&export_document(namespace)?);
        }
        out.push_str(&export_document(&objects.service_account)?);
        out.push_str(&export_document(&objects.role_binding)?);
    }
    Ok(out)
}

/// Creates `object`, or makes the existing one's labels equal to its labels.
async fn upsert_labels<K>(api: &Api<K>, object: &K) -> anyhow::Result<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let failed = |e| WriteError::new(&K::kind(&()), &name, e);
    let post = PostParams::default();
    match retrying(|| api.get_opt(&name)).await.map_err(failed)? {
        None => {
            retrying(|| api.create(&post, object))
                .await
                .map_err(failed)?;
        }
        Some(mut existing) if existing.meta().labels != object.meta().labels => {
            existing.meta_mut().labels = object.meta().labels.clone();
            retrying(|| api.replace(&name, &post, &existing))
                .await
                .map_err(failed)?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Creates the role binding; its roleRef cannot change, so one that
/// differs is deleted and created again, as upstream does.
async fn upsert_role_binding(api: &Api<RoleBinding>, binding: &RoleBinding) -> anyhow::Result<()> {
    let name = binding.metadata.name.clone().unwrap_or_default();
    let failed = |e| WriteError::new("RoleBinding", &name, e);
    let (post, delete) = (PostParams::default(), DeleteParams::default());
    if let Some(existing) = retrying(|| api.get_opt(&name)).await.map_err(failed)? {
        if existing.subjects == binding.subjects
            && existing.role_ref == binding.role_ref
            && existing.metadata.labels == binding.metadata.labels
        {
            return Ok(());
        }
        retrying(|| api.delete(&name, &delete))
            .await
            .map_err(failed)?;
    }
    retrying(|| api.create(&post, binding))
        .await
        .map_err(failed)?;
    Ok(())
}

/// Live mode: per tenant namespace the Namespace, ServiceAccount and
/// RoleBinding, in that order.
pub async fn apply(ctx: &Ctx, args: &CreateTenantArgs) -> anyhow::Result<()> {
    let tenants = build(args)?;
    let client = ctx.kube.client().await?;
    for objects in tenants {
        let namespace = objects
            .service_account
            .metadata
            .namespace
            .clone()
            .unwrap_or_default();
        if let Some(ns) = &objects.namespace {
            ctx.printer
                .action(&format!("applying namespace {namespace}"));
            upsert_labels(&Api::<Namespace>::all(client.clone()), ns).await?;
        }
        let account = &objects.service_account;
        ctx.printer.action(&format!(
            "applying service account {}",
            account.metadata.name.as_deref().unwrap_or_default()
        ));
        upsert_labels(
            &Api::<ServiceAccount>::namespaced(client.clone(), &namespace),
            account,
        )
        .await?;
        let binding = &objects.role_binding;
        ctx.printer.action(&format!(
            "applying role binding {}",
            binding.metadata.name.as_deref().unwrap_or_default()
        ));
        upsert_role_binding(&Api::namespaced(client.clone(), &namespace), binding).await?;
    }
    ctx.printer.success("tenant setup completed");
    Ok(())
}
