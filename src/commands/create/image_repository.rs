//! `flux create image repository`.

use flux_api::{ImageRepository, ImageRepositorySpec};

use super::{go_duration, live, local_ref, object_meta};
use crate::cli::CreateImageRepositoryArgs;
use crate::commands::Ctx;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};

/// Checks an image repository reference (no tag, no digest): an optional
/// registry (first segment with a `.` or `:`, or `localhost`), then a
/// repository path of 2 to 255 characters from `a-z 0-9 _ - . /`.
pub fn check_image_repository(image: &str) -> Result<(), String> {
    let repository = match image.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => image,
    };
    const ALLOWED: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
    if !repository.chars().all(|c| ALLOWED.contains(c)) {
        return Err(format!(
            "repository can only contain the characters `{ALLOWED}`: {repository}"
        ));
    }
    if !(2..=255).contains(&repository.len()) {
        return Err(format!(
            "repository must be between 2 and 255 characters in length: {repository}"
        ));
    }
    Ok(())
}

pub fn build(
    args: &CreateImageRepositoryArgs,
    namespace: &str,
) -> Result<ImageRepository, CreateError> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if args.image.is_empty() {
        return Err(invalid("an image repository (--image) is required"));
    }
    check_image_repository(&args.image)
        .map_err(|reason| invalid(format!("unable to parse image value: {reason}")))?;
    let labels = parse_labels(&common.label)?;
    let spec = ImageRepositorySpec {
        image: args.image.clone(),
        interval: go_duration(args.common.interval),
        secret_ref: local_ref(&args.secret_ref),
        cert_secret_ref: local_ref(&args.cert_ref),
        timeout: (!args.scan_timeout.as_std().is_zero()).then(|| go_duration(args.scan_timeout)),
        ..ImageRepositorySpec::default()
    };
    Ok(ImageRepository {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateImageRepositoryArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// Live mode: image objects are written only when they changed.
pub async fn apply(ctx: &Ctx, args: &CreateImageRepositoryArgs) -> anyhow::Result<()> {
    let object = build(args, &ctx.global.namespace)?;
    ctx.printer.generate("generating ImageRepository");
    let client = ctx.kube.client().await?;
    let lines = live::Lines {
        upsert: live::Upsert::ChangesOnly,
        ..live::Lines::plain("ImageRepository")
    };
    live::apply_and_wait(ctx, &client, &live::to_json(&object)?, &lines).await?;
    ctx.printer
        .success("ImageRepository reconciliation completed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_repositories() {
        assert!(check_image_repository("ghcr.io/stefanprodan/podinfo").is_ok());
        assert!(check_image_repository("localhost:5000/app").is_ok());
        assert!(check_image_repository("alpine").is_ok());
        assert_eq!(
            check_image_repository("ghcr.io/podinfo:6.0").unwrap_err(),
            "repository can only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: podinfo:6.0"
        );
        assert!(
            check_image_repository("a")
                .unwrap_err()
                .contains("between 2 and 255")
        );
    }
}
