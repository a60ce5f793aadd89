//! `flux create …`: each kind's module turns its flags into a typed object,
//! checking what upstream checks in upstream's order. With `--export` the
//! object is printed with the export framing; otherwise it is applied to the
//! cluster and waited for (`live`). Either way all input is checked before
//! the cluster is contacted.

pub mod alert;
pub mod alert_provider;
pub mod helmrelease;
pub mod image_policy;
pub mod image_repository;
pub mod image_update;
pub mod kustomization;
pub mod live;
pub mod receiver;
pub mod secret_git;
pub mod secret_githubapp;
pub mod secret_helm;
pub mod secret_notation;
pub mod secret_oci;
pub mod secret_proxy;
pub mod secret_receiver;
pub mod secret_tls;
pub mod source_bucket;
pub mod source_chart;
pub mod source_git;
pub mod source_helm;
pub mod source_oci;
pub mod tenant;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use flux_api::common::{DependencyReference, KubeConfig, SecretKeyReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

pub use crate::cli::value::path_flag;
use crate::cli::{CreateArgs, CreateImageKind, CreateKind, CreateSecretKind, CreateSourceKind};
use crate::cluster::ClientFactory;
use crate::commands::Ctx;
use crate::duration::GoDuration;
use crate::error::ExitStatus;
use crate::render::create::{CreateError, invalid, parse_depends_on};

pub async fn run(ctx: &Ctx, args: &CreateArgs) -> anyhow::Result<ExitStatus> {
    if let CreateKind::Source(source) = args.kind.as_ref() {
        let (url, kind) = match &source.kind {
            CreateSourceKind::Git(a) => (a.url.as_str(), "GitRepository"),
            CreateSourceKind::Helm(a) => (a.url.as_str(), "HelmRepository"),
            _ => ("", ""),
        };
        if let Some(warning) = url_password_warning(url, kind) {
            ctx.printer.warning(&warning);
        }
    }
    if args.export {
        let text = export(ctx, &args.kind).await?;
        ctx.printer
            .out(&text)
            .context("unable to write the objects to stdout")?;
    } else {
        apply(ctx, &args.kind).await?;
    }
    Ok(ExitStatus::Success)
}

/// A password in a source URL ends up in the object's `spec.url`, readable
/// by anyone who may read the object (and in Git, when exported). Upstream
/// says nothing; the object is still created, so scripts keep working.
fn url_password_warning(url: &str, kind: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.password()?;
    Some(format!(
        "the --url holds a password, which would be stored in plain text in the {kind}'s spec.url; remove it from the URL and pass --username and --password instead, which go into a Secret"
    ))
}

async fn export(ctx: &Ctx, kind: &CreateKind) -> anyhow::Result<String> {
    let ns = ctx.global.namespace.as_str();
    let printer = &ctx.printer;
    match kind {
        CreateKind::Source(source) => match &source.kind {
            CreateSourceKind::Git(a) => source_git::export(a, ns),
            CreateSourceKind::Helm(a) => source_helm::export(a, ns),
            CreateSourceKind::Oci(a) => source_oci::export(a, ns),
            CreateSourceKind::Bucket(a) => source_bucket::export(a, ns),
            CreateSourceKind::Chart(a) => source_chart::export(a, ns, printer),
        },
        CreateKind::Kustomization(a) => kustomization::export(a, ns, printer),
        CreateKind::Helmrelease(a) => helmrelease::export(a, ns),
        CreateKind::Alert(a) => alert::export(a, ns),
        CreateKind::AlertProvider(a) => alert_provider::export(a, ns),
        CreateKind::Receiver(a) => receiver::export(a, ns),
        CreateKind::Image(image) => match &image.kind {
            CreateImageKind::Repository(a) => image_repository::export(a, ns),
            CreateImageKind::Policy(a) => image_policy::export(a, ns),
            CreateImageKind::Update(a) => image_update::export(a, ns),
        },
        CreateKind::Secret(secret) => match &secret.kind {
            CreateSecretKind::Git(a) => secret_git::export(a, ns).await,
            CreateSecretKind::Helm(a) => secret_helm::export(a, ns),
            CreateSecretKind::Tls(a) => secret_tls::export(a, ns),
            CreateSecretKind::Oci(a) => secret_oci::export(a, ns),
            CreateSecretKind::Githubapp(a) => secret_githubapp::export(a, ns),
            CreateSecretKind::Notation(a) => secret_notation::export(a, ns),
            CreateSecretKind::Proxy(a) => secret_proxy::export(a, ns),
            CreateSecretKind::Receiver(a) => secret_receiver::export(a, ns),
        },
        CreateKind::Tenant(a) => tenant::export(a),
    }
}

async fn apply(ctx: &Ctx, kind: &CreateKind) -> anyhow::Result<()> {
    let ns = ctx.global.namespace.as_str();
    match kind {
        CreateKind::Source(source) => match &source.kind {
            CreateSourceKind::Git(a) => source_git::apply(ctx, a).await,
            CreateSourceKind::Helm(a) => source_helm::apply(ctx, a).await,
            CreateSourceKind::Oci(a) => source_oci::apply(ctx, a).await,
            CreateSourceKind::Bucket(a) => source_bucket::apply(ctx, a).await,
            CreateSourceKind::Chart(a) => source_chart::apply(ctx, a).await,
        },
        CreateKind::Kustomization(a) => kustomization::apply(ctx, a).await,
        CreateKind::Helmrelease(a) => helmrelease::apply(ctx, a).await,
        CreateKind::Alert(a) => alert::apply(ctx, a).await,
        CreateKind::AlertProvider(a) => alert_provider::apply(ctx, a).await,
        CreateKind::Receiver(a) => receiver::apply(ctx, a).await,
        CreateKind::Image(image) => match &image.kind {
            CreateImageKind::Repository(a) => image_repository::apply(ctx, a).await,
            CreateImageKind::Policy(a) => image_policy::apply(ctx, a).await,
            CreateImageKind::Update(a) => image_update::apply(ctx, a).await,
        },
        CreateKind::Secret(secret) => {
            let (what, built) = match &secret.kind {
                CreateSecretKind::Git(a) => ("git", secret_git::build(a, ns).await?),
                CreateSecretKind::Helm(a) => ("helm", secret_helm::build(a, ns)?),
                CreateSecretKind::Tls(a) => ("tls", secret_tls::build(a, ns)?),
                CreateSecretKind::Oci(a) => ("oci", secret_oci::build(a, ns)?),
                CreateSecretKind::Githubapp(a) => ("githubapp", secret_githubapp::build(a, ns)?),
                CreateSecretKind::Notation(a) => {
                    ("notation configuration", secret_notation::build(a, ns)?)
                }
                CreateSecretKind::Proxy(a) => ("proxy", secret_proxy::build(a, ns)?),
                CreateSecretKind::Receiver(a) => ("receiver", secret_receiver::build(a, ns)?),
            };
            let client = match &secret.kind {
                // Upstream's `--token` of this command shadows the global API
                // token, but clap hands the value to the global flag too: the
                // connection must not present the webhook token.
                CreateSecretKind::Receiver(a)
                    if ctx.global.connection.token.as_deref() == Some(a.token.as_str()) =>
                {
                    let mut options = ctx.global.connection.clone();
                    options.token = None;
                    ClientFactory::new(options).client().await?
                }
                _ => ctx.kube.client().await?,
            };
            live::upsert_secret(&client, &built).await?;
            // Upstream prints "created" for updates too.
            ctx.printer.action(&format!(
                "{what} secret '{}' created in '{ns}' namespace",
                built.metadata.name.as_deref().unwrap_or_default()
            ));
            Ok(())
        }
        CreateKind::Tenant(a) => tenant::apply(ctx, a).await,
    }
}

/// Object metadata as `create` writes it: labels only when there are some.
pub fn object_meta(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: (!labels.is_empty()).then_some(labels),
        ..ObjectMeta::default()
    }
}

/// A duration in Go's canonical form, as the API types store it.
pub fn go_duration(d: GoDuration) -> String {
    d.to_string()
}

/// `Some(s)` unless `s` is empty (Go's "omit if empty").
pub fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A `LocalObjectReference` for a non-empty name.
pub fn local_ref(name: &str) -> Option<flux_api::common::LocalObjectReference> {
    non_empty(name).map(|name| flux_api::common::LocalObjectReference { name })
}

/// The `--depends-on` items as references, `None` when there are none; an
/// `@<expr>` suffix is not carried over.
pub fn depends_on(items: &[String]) -> Option<Vec<DependencyReference>> {
    let references: Vec<DependencyReference> = items
        .iter()
        .map(|item| {
            let item = parse_depends_on(item);
            DependencyReference {
                name: item.name,
                namespace: item.namespace,
                ready_expr: None,
            }
        })
        .collect();
    (!references.is_empty()).then_some(references)
}

/// The `kubeConfig` of a non-empty `--kubeconfig-secret-ref`.
pub fn kube_config(secret: &str) -> Option<KubeConfig> {
    non_empty(secret).map(|name| KubeConfig {
        secret_ref: Some(SecretKeyReference { name, key: None }),
        config_map_ref: None,
    })
}

/// Reads an API enum from its wire spelling. Upstream passes some values
/// through unchecked and lets the API server refuse them; flux-rs checks
/// them here so the exported YAML is always valid for the CRD.
pub fn api_enum<T: DeserializeOwned>(what: &str, value: &str) -> Result<T, CreateError> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| invalid(format!("{what} '{value}' is not supported by the Flux API")))
}

/// The error of a flag whose value is checked when it is parsed, worded as
/// upstream's flag parser words it.
pub fn flag_error(flag: &str, value: &str, reason: impl std::fmt::Display) -> CreateError {
    invalid(format!(
        "invalid argument \"{value}\" for \"--{flag}\" flag: {reason}"
    ))
}

/// Reads a file named on the command line; the error reads like Go's
/// (`open <path>: no such file or directory`).
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<u8>, String> {
    let path = path.as_ref();
    crate::input::read_path(path).map_err(|e| {
        let path = path.display();
        let reason = match e.kind() {
            std::io::ErrorKind::FileTooLarge => return format!("read {path}: {e}"),
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
            _ => e.to_string(),
        };
        format!("open {path}: {reason}")
    })
}

/// Reads a file as UTF-8 text (key and certificate files are PEM text).
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = read_file(path)?;
    String::from_utf8(bytes).map_err(|_| format!("read {}: not valid UTF-8 text", path.display()))
}

/// The text of the file a flag names, if it names one; a read error is
/// prefixed with `what`.
pub fn read_flag_file(path: &Option<PathBuf>, what: &str) -> Result<Option<String>, CreateError> {
    path_flag(path)
        .map(|p| read_text(p).map_err(|e| invalid(format!("{what}: {e}"))))
        .transpose()
}

/// A `v1` Secret carrying `stringData`, as every `create secret` builds it.
pub fn secret_object(
    name: &str,
    namespace: &str,
    labels: BTreeMap<String, String>,
    string_data: BTreeMap<String, String>,
) -> k8s_openapi::api::core::v1::Secret {
    k8s_openapi::api::core::v1::Secret {
        metadata: object_meta(name, namespace, labels),
        // Go omits an empty map, so a secret without data has no stringData.
        string_data: (!string_data.is_empty()).then_some(string_data),
        ..Default::default()
    }
}

/// `secret` with its `type` set; without one the server takes it as Opaque,
/// and the exported YAML has no `type` line, as upstream's.
pub fn with_type(
    mut secret: k8s_openapi::api::core::v1::Secret,
    secret_type: Option<&str>,
) -> k8s_openapi::api::core::v1::Secret {
    secret.type_ = secret_type.map(str::to_string);
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_read_like_go_errors() {
        assert_eq!(
            read_file("/nonexistent/x").unwrap_err(),
            "open /nonexistent/x: no such file or directory"
        );
    }

    #[test]
    fn api_enums_are_read_from_their_wire_names() {
        let p: flux_api::common::CloudProvider = api_enum("provider", "azure").unwrap();
        assert_eq!(p, flux_api::common::CloudProvider::Azure);
        let err = api_enum::<flux_api::common::CloudProvider>("provider", "ibm").unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider 'ibm' is not supported by the Flux API"
        );
    }
}
