//! `flux create source bucket`.

use flux_api::{Bucket, BucketSpec};

use super::{api_enum, go_duration, local_ref, non_empty, object_meta};
use crate::cli::CreateSourceBucketArgs;
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
