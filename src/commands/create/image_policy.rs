//! `flux create image policy`.

use flux_api::image::{
    ImagePolicyFilterTags, ImagePolicyImageRepositoryRef, ImagePolicyPolicy, ImagePolicySemver,
    ImagePolicySortOrder, ImagePolicySortPolicy,
};
use flux_api::{ImagePolicy, ImagePolicySpec};

use super::{api_enum, go_duration, live, object_meta};
use crate::cli::CreateImagePolicyArgs;
use crate::commands::Ctx;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};

fn sort_order(flag: &str, value: &str) -> Result<ImagePolicySortOrder, CreateError> {
    match value {
        "asc" => Ok(ImagePolicySortOrder::Asc),
        "desc" => Ok(ImagePolicySortOrder::Desc),
        _ => Err(invalid(format!(
            "--{flag} must be one of [\"asc\", \"desc\"]"
        ))),
    }
}

/// Checks the `$name` / `${name}` references of an extract template
/// against the regex's named groups (numeric references always pass).
pub fn check_extract_template(template: &str, regex: &regex::Regex) -> Result<(), CreateError> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
            continue;
        }
        let (name, remaining) = if let Some(braced) = rest.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| invalid("--filter-extract is malformed"))?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if name.is_empty() || !name.chars().all(is_name) {
            return Err(invalid("--filter-extract is malformed"));
        }
        let numeric = name.chars().all(|c| c.is_ascii_digit());
        if !numeric && !regex.capture_names().flatten().any(|n| n == name) {
            return Err(invalid(format!(
                "capture group ${name} used in --filter-extract not found in --filter-regex"
            )));
        }
        rest = remaining;
    }
    Ok(())
}

pub fn build(args: &CreateImagePolicyArgs, namespace: &str) -> Result<ImagePolicy, CreateError> {
    let name = check_name(args.common.name.as_deref())?;
    if args.image_ref.is_empty() {
        return Err(invalid(
            "the name of an ImageRepository in the namespace is required (--image-ref)",
        ));
    }
    let labels = parse_labels(&args.common.label)?;
    let (semver, alpha, numeric) = (
        !args.select_semver.is_empty(),
        !args.select_alpha.is_empty(),
        !args.select_numeric.is_empty(),
    );
    let mut policy = ImagePolicyPolicy::default();
    match (semver, alpha, numeric) {
        // Upstream quirk: semver with a sort order yields an empty policy.
        (true, true, _) | (true, _, true) => {}
        (_, true, true) => {
            return Err(invalid(
                "only one of --select-semver, --select-alpha or --select-numeric can be specified",
            ));
        }
        (true, false, false) => {
            policy.semver = Some(ImagePolicySemver {
                range: args.select_semver.clone(),
            });
        }
        (false, true, false) => {
            policy.alphabetical = Some(ImagePolicySortPolicy {
                order: Some(sort_order("select-alpha", &args.select_alpha)?),
            });
        }
        (false, false, true) => {
            policy.numerical = Some(ImagePolicySortPolicy {
                order: Some(sort_order("select-numeric", &args.select_numeric)?),
            });
        }
        (false, false, false) => {
            return Err(invalid(
                "a policy must be provided with either --select-semver or --select-alpha",
            ));
        }
    }
    let filter_tags = if args.filter_regex.is_empty() {
        None
    } else {
        let regex = regex::Regex::new(&args.filter_regex)
            .map_err(|_| invalid("--filter-regex is an invalid regex pattern"))?;
        if !args.filter_extract.is_empty() {
            check_extract_template(&args.filter_extract, &regex)?;
        }
        Some(ImagePolicyFilterTags {
            pattern: Some(args.filter_regex.clone()),
            extract: Some(args.filter_extract.clone()),
        })
    };
    if filter_tags.is_none() && !args.filter_extract.is_empty() {
        return Err(invalid(
            "cannot specify --filter-extract without specifying --filter-regex",
        ));
    }
    let reflection = if args.reflect_digest.is_empty() {
        None
    } else if matches!(
        args.reflect_digest.as_str(),
        "Never" | "IfNotPresent" | "Always"
    ) {
        Some(api_enum("digest reflection policy", &args.reflect_digest)?)
    } else {
        return Err(invalid(
            "invalid value for --reflect-digest, must be one of 'Never', 'IfNotPresent', 'Always'",
        ));
    };
    let interval = args.interval.as_std();
    if !interval.is_zero() && args.reflect_digest != "Always" {
        return Err(invalid(
            "the --interval flag can only be used with the 'Always' digest reflection policy, use --reflect-digest=Always",
        ));
    }
    let spec = ImagePolicySpec {
        image_repository_ref: ImagePolicyImageRepositoryRef {
            name: args.image_ref.clone(),
            namespace: None,
        },
        policy,
        filter_tags,
        digest_reflection_policy: reflection,
        interval: (!interval.is_zero()).then(|| go_duration(args.interval)),
        ..ImagePolicySpec::default()
    };
    Ok(ImagePolicy {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateImagePolicyArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// Live mode: image objects are written only when they changed.
pub async fn apply(ctx: &Ctx, args: &CreateImagePolicyArgs) -> anyhow::Result<()> {
    let object = build(args, &ctx.global.namespace)?;
    ctx.printer.generate("generating ImagePolicy");
    let client = ctx.kube.client().await?;
    let lines = live::Lines {
        upsert: live::Upsert::ChangesOnly,
        ..live::Lines::plain("ImagePolicy")
    };
    live::apply_and_wait(ctx, &client, &live::to_json(&object)?, &lines).await?;
    ctx.printer.success("ImagePolicy reconciliation completed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_templates_reference_named_groups() {
        let re = regex::Regex::new(r"^main-(?P<ts>\d+)$").unwrap();
        assert!(check_extract_template("$ts", &re).is_ok());
        assert!(check_extract_template("${ts}-$1 $$", &re).is_ok());
        assert_eq!(
            check_extract_template("$nope", &re)
                .unwrap_err()
                .to_string(),
            "capture group $nope used in --filter-extract not found in --filter-regex"
        );
        assert_eq!(
            check_extract_template("${ts", &re).unwrap_err().to_string(),
            "--filter-extract is malformed"
        );
    }
}
