//! `flux create source oci`.

use flux_api::source::{
    MatchOIDCIdentity, OCIRepositoryLayerOperation, OCIRepositoryLayerSelector, OCIRepositoryRef,
    OCIRepositoryVerify,
};
use flux_api::{OCIRepository, OCIRepositorySpec};

use super::{api_enum, go_duration, live, local_ref, non_empty, object_meta};
use crate::cli::{CreateSourceOciArgs, VerifyArgs};
use crate::commands::Ctx;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};

/// `<media-type>:<operation>`, split at the first colon.
pub fn parse_layer_selector(value: &str) -> Result<OCIRepositoryLayerSelector, CreateError> {
    let (media_type, operation) = value
        .split_once(':')
        .filter(|(m, o)| !m.is_empty() && !o.is_empty())
        .ok_or_else(|| {
            invalid(format!(
                "invalid --layer-selector \"{value}\": must be in the format '<media-type>:<operation>'"
            ))
        })?;
    let operation = match operation {
        "extract" => OCIRepositoryLayerOperation::Extract,
        "copy" => OCIRepositoryLayerOperation::Copy,
        _ => {
            return Err(invalid(format!(
                "invalid --layer-selector \"{value}\": operation must be \"extract\" or \"copy\""
            )));
        }
    };
    Ok(OCIRepositoryLayerSelector {
        media_type: Some(media_type.to_string()),
        operation: Some(operation),
    })
}

/// The `verify` block of the `--verify-*` flags; `None` without a provider.
/// `check_subject`: a lone `--verify-subject` needs a provider too (the
/// chart command of upstream checks only the issuer).
pub fn verification(
    provider: Option<&String>,
    flags: &VerifyArgs,
    check_subject: bool,
) -> Result<Option<OCIRepositoryVerify>, CreateError> {
    let oidc = !flags.verify_issuer.is_empty() || !flags.verify_subject.is_empty();
    let Some(provider) = provider else {
        if !flags.verify_secret_ref.is_empty() {
            return Err(invalid(
                "a verification provider must be specified when a secret is specified",
            ));
        }
        if !flags.verify_issuer.is_empty() || (check_subject && oidc) {
            return Err(invalid(
                "a verification provider must be specified when OIDC issuer/subject is specified",
            ));
        }
        return Ok(None);
    };
    Ok(Some(OCIRepositoryVerify {
        provider: api_enum("verify provider", provider)?,
        secret_ref: local_ref(&flags.verify_secret_ref),
        match_oidc_identity: oidc.then(|| {
            vec![MatchOIDCIdentity {
                issuer: flags.verify_issuer.clone(),
                subject: flags.verify_subject.clone(),
            }]
        }),
        ..OCIRepositoryVerify::default()
    }))
}

pub fn build(args: &CreateSourceOciArgs, namespace: &str) -> Result<OCIRepository, CreateError> {
    let common = &args.common.base.common;
    let name = check_name(common.name.as_deref())?;
    if args.url.is_empty() {
        return Err(invalid("url is required"));
    }
    if args.tag.is_empty() && args.tag_semver.is_empty() && args.digest.is_empty() {
        return Err(invalid("--tag, --tag-semver or --digest is required"));
    }
    let layer_selector = if args.layer_selector.is_empty() {
        None
    } else {
        Some(parse_layer_selector(&args.layer_selector)?)
    };
    let labels = parse_labels(&common.label)?;
    let verify = verification(args.verify_provider.as_ref(), &args.verify, true)?;
    let fetch_timeout = args.common.fetch_timeout;
    let spec = OCIRepositorySpec {
        url: args.url.clone(),
        interval: go_duration(args.common.base.interval),
        provider: Some(api_enum("OCI provider", &args.provider)?),
        r#ref: Some(OCIRepositoryRef {
            tag: non_empty(&args.tag),
            semver: non_empty(&args.tag_semver),
            digest: non_empty(&args.digest),
            ..OCIRepositoryRef::default()
        }),
        ignore: (!args.ignore_paths.is_empty()).then(|| args.ignore_paths.join("\n")),
        insecure: args.insecure.then_some(true),
        layer_selector,
        timeout: (!fetch_timeout.as_std().is_zero()).then(|| go_duration(fetch_timeout)),
        service_account_name: non_empty(&args.service_account),
        secret_ref: local_ref(&args.secret_ref),
        proxy_secret_ref: local_ref(&args.proxy_secret_ref),
        cert_secret_ref: local_ref(&args.cert_ref),
        verify,
        ..OCIRepositorySpec::default()
    };
    Ok(OCIRepository {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateSourceOciArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// Live mode: upstream prints no "generating" line for OCI sources.
pub async fn apply(ctx: &Ctx, args: &CreateSourceOciArgs) -> anyhow::Result<()> {
    let repository = build(args, &ctx.global.namespace)?;
    let client = ctx.kube.client().await?;
    let lines = live::Lines::plain("OCIRepository");
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&repository)?, &lines).await?;
    ctx.printer
        .success("OCIRepository reconciliation completed");
    live::fetched_revision(ctx, &ready, "no artifact was found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_selector_needs_both_parts_and_a_known_operation() {
        let s = parse_layer_selector("application/vnd.x+gzip:copy").unwrap();
        assert_eq!(s.media_type.as_deref(), Some("application/vnd.x+gzip"));
        assert_eq!(s.operation, Some(OCIRepositoryLayerOperation::Copy));
        assert!(parse_layer_selector("a:").is_err());
        assert!(parse_layer_selector("novalue").is_err());
        assert_eq!(
            parse_layer_selector("a:move").unwrap_err().to_string(),
            "invalid --layer-selector \"a:move\": operation must be \"extract\" or \"copy\""
        );
    }
}
