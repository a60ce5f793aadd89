//! `flux create source bucket`.

use flux_api::{Bucket, BucketSpec};

use std::collections::BTreeMap;

use super::{api_enum, go_duration, live, local_ref, non_empty, object_meta, secret_object};
use crate::cli::CreateSourceBucketArgs;
use crate::commands::Ctx;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};

pub fn build(args: &CreateSourceBucketArgs, namespace: &str) -> Result<Bucket, CreateError> {
    let common = &args.common.base.common;
    let name = check_name(common.name.as_deref())?;
    if args.bucket_name.is_empty() {
        return Err(invalid("bucket-name is required"));
    }
    if args.endpoint.is_empty() {
        return Err(invalid("endpoint is required"));
    }
    let labels = parse_labels(&common.label)?;
    let fetch_timeout = args.common.fetch_timeout;
    let spec = BucketSpec {
        bucket_name: args.bucket_name.clone(),
        endpoint: args.endpoint.clone(),
        provider: Some(api_enum("bucket provider", &args.provider)?),
        insecure: args.insecure.then_some(true),
        region: non_empty(&args.region),
        interval: go_duration(args.common.base.interval),
        timeout: (!fetch_timeout.as_std().is_zero()).then(|| go_duration(fetch_timeout)),
        secret_ref: local_ref(&args.secret_ref),
        proxy_secret_ref: local_ref(&args.proxy_secret_ref),
        ignore: (!args.ignore_paths.is_empty()).then(|| args.ignore_paths.join("\n")),
        ..BucketSpec::default()
    };
    Ok(Bucket {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateSourceBucketArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// Live mode: a `bucket-<name>` secret when both keys are given (and no
/// `--secret-ref`), then the Bucket, waiting for its first artifact.
pub async fn apply(ctx: &Ctx, args: &CreateSourceBucketArgs) -> anyhow::Result<()> {
    let namespace = ctx.global.namespace.as_str();
    let mut bucket = build(args, namespace)?;
    let name = bucket.metadata.name.clone().unwrap_or_default();
    let client = ctx.kube.client().await?;
    ctx.printer.generate("generating Bucket source");
    if args.secret_ref.is_empty() && !args.access_key.is_empty() && !args.secret_key.is_empty() {
        let data = BTreeMap::from([
            ("accesskey".to_string(), args.access_key.clone()),
            ("secretkey".to_string(), args.secret_key.clone()),
        ]);
        // Unlike the other sources' secrets, this one carries the labels.
        let labels = bucket.metadata.labels.clone().unwrap_or_default();
        let secret_name = format!("bucket-{name}");
        let secret = secret_object(&secret_name, namespace, labels, data);
        ctx.printer
            .action("applying secret with the bucket credentials");
        live::upsert_secret(&client, &secret).await?;
        bucket.spec.secret_ref = local_ref(&secret_name);
        ctx.printer.success("authentication configured");
    }
    let lines = live::Lines::plain("Bucket source");
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&bucket)?, &lines).await?;
    ctx.printer
        .success("Bucket source reconciliation completed");
    // Upstream's wording, missing word included.
    live::fetched_revision(
        ctx,
        &ready,
        "Bucket source reconciliation but no artifact was found",
    )
}
