//! `flux create source helm`.

use flux_api::source::HelmRepositoryType;
use flux_api::{HelmRepository, HelmRepositorySpec};

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::secret_helm::basic_auth;
use super::{
    api_enum, go_duration, live, local_ref, object_meta, path_flag, read_flag_file, secret_object,
    with_type,
};
use crate::cli::CreateSourceHelmArgs;
use crate::commands::Ctx;
use crate::render::create::{
    CreateError, check_name, export_document, invalid, parse_labels, url_parse_error,
};
use crate::secret::check_key_pair;

pub fn build(args: &CreateSourceHelmArgs, namespace: &str) -> Result<HelmRepository, CreateError> {
    let common = &args.common.base.common;
    let name = check_name(common.name.as_deref())?;
    if args.url.is_empty() {
        return Err(invalid("url is required"));
    }
    let labels = parse_labels(&common.label)?;
    let url = url::Url::parse(&args.url).map_err(|e| {
        invalid(format!(
            "url parse failed: {}",
            url_parse_error(&args.url, e)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https" | "oci") {
        return Err(invalid(format!(
            "url scheme '{}' not supported, can be: http, https and oci",
            url.scheme()
        )));
    }
    if url.host_str().unwrap_or("").is_empty() {
        return Err(invalid("url host is required"));
    }
    let oci = url.scheme() == "oci";
    let provider = if oci && !args.oci_provider.is_empty() {
        Some(api_enum("OCI provider", &args.oci_provider)?)
    } else {
        None
    };
    let fetch_timeout = args.common.fetch_timeout;
    let secret_ref = local_ref(&args.secret_ref);
    let spec = HelmRepositorySpec {
        url: args.url.clone(),
        interval: Some(go_duration(args.common.base.interval)),
        r#type: oci.then_some(HelmRepositoryType::Oci),
        provider,
        pass_credentials: (secret_ref.is_some() && args.pass_credentials).then_some(true),
        secret_ref,
        timeout: (!fetch_timeout.as_std().is_zero()).then(|| go_duration(fetch_timeout)),
        ..HelmRepositorySpec::default()
    };
    Ok(HelmRepository {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateSourceHelmArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// The credentials secret `helm-<name>` of live mode: a TLS pair, else
/// basic auth, else only a CA; `None` when no credential flag was given.
fn credentials(
    args: &CreateSourceHelmArgs,
    name: &str,
    namespace: &str,
) -> Result<Option<Secret>, CreateError> {
    let ca = read_flag_file(&args.ca_file, "unable to read TLS CA file")?;
    // Upstream reads the pair only when both files are named.
    let pair = if path_flag(&args.cert_file).is_some() && path_flag(&args.key_file).is_some() {
        let cert = read_flag_file(&args.cert_file, "failed to read cert file")?;
        let key = read_flag_file(&args.key_file, "failed to read key file")?;
        cert.zip(key)
    } else {
        None
    };
    let mut data = BTreeMap::new();
    let secret_type = if let Some((cert, key)) = pair {
        check_key_pair(cert.as_bytes(), key.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        data.insert("tls.crt".to_string(), cert);
        data.insert("tls.key".to_string(), key);
        "kubernetes.io/tls"
    } else if let Some((username, password)) = basic_auth(&args.auth)? {
        data.insert("username".to_string(), username);
        data.insert("password".to_string(), password);
        "kubernetes.io/basic-auth"
    } else if ca.is_some() {
        "Opaque"
    } else {
        return Ok(None);
    };
    if let Some(ca) = ca {
        data.insert("ca.crt".to_string(), ca);
    }
    Ok(Some(with_type(
        secret_object(&format!("helm-{name}"), namespace, BTreeMap::new(), data),
        Some(secret_type),
    )))
}

/// Live mode: the credentials secret (unless `--secret-ref`), then the
/// HelmRepository; OCI repositories have no artifact to wait for.
pub async fn apply(ctx: &Ctx, args: &CreateSourceHelmArgs) -> anyhow::Result<()> {
    let namespace = ctx.global.namespace.as_str();
    let mut repository = build(args, namespace)?;
    let name = repository.metadata.name.clone().unwrap_or_default();
    let secret = if args.secret_ref.is_empty() {
        credentials(args, &name, namespace)?
    } else {
        None
    };
    let client = ctx.kube.client().await?;
    ctx.printer.generate("generating HelmRepository source");
    if let Some(secret) = secret {
        ctx.printer
            .action("applying secret with repository credentials");
        live::upsert_secret(&client, &secret).await?;
        repository.spec.secret_ref = secret.metadata.name.as_deref().and_then(local_ref);
        repository.spec.pass_credentials = args.pass_credentials.then_some(true);
        ctx.printer.success("authentication configured");
    }
    let lines = live::Lines {
        applied: "source",
        ..live::Lines::plain("HelmRepository source")
    };
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&repository)?, &lines).await?;
    ctx.printer
        .success("HelmRepository source reconciliation completed");
    if repository.spec.r#type == Some(HelmRepositoryType::Oci) {
        return Ok(());
    }
    live::fetched_revision(
        ctx,
        &ready,
        "HelmRepository source reconciliation completed but no artifact was found",
    )
}
