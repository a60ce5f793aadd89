//! `flux create source helm`.

use flux_api::source::HelmRepositoryType;
use flux_api::{HelmRepository, HelmRepositorySpec};

use super::{api_enum, go_duration, local_ref, object_meta};
use crate::cli::CreateSourceHelmArgs;
use crate::render::create::{
    CreateError, check_name, export_document, invalid, parse_labels, url_parse_error,
};

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
