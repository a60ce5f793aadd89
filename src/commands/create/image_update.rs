//! `flux create image update`.

use flux_api::common::{GitRepositoryRef, LocalObjectReference};
use flux_api::image::{
    ImageUpdateAutomationAuthor, ImageUpdateAutomationCheckout, ImageUpdateAutomationCommit,
    ImageUpdateAutomationGit, ImageUpdateAutomationPush, ImageUpdateAutomationSigningKey,
    ImageUpdateAutomationSigningKeyType, ImageUpdateAutomationSourceKind,
    ImageUpdateAutomationSourceRef, ImageUpdateAutomationUpdate,
    ImageUpdateAutomationUpdateStrategy,
};
use flux_api::{ImageUpdateAutomation, ImageUpdateAutomationSpec};

use super::{go_duration, live, non_empty, object_meta};
use crate::cli::CreateImageUpdateArgs;
use crate::commands::Ctx;
use crate::render::create::{CreateError, check_name, export_document, invalid, parse_labels};

pub fn build(
    args: &CreateImageUpdateArgs,
    namespace: &str,
) -> Result<ImageUpdateAutomation, CreateError> {
    let common = &args.common.common;
    let name = check_name(common.name.as_deref())?;
    if args.git_repo_ref.is_empty() {
        return Err(invalid(
            "a reference to a GitRepository is required (--git-repo-ref)",
        ));
    }
    if args.checkout_branch.is_empty() {
        return Err(invalid(
            "the Git repository branch is required (--checkout-branch)",
        ));
    }
    if args.author_name.is_empty() {
        return Err(invalid("the author name is required (--author-name)"));
    }
    if args.author_email.is_empty() {
        return Err(invalid("the author email is required (--author-email)"));
    }
    if !args.signing_key_type.is_empty() && args.signing_key_secret.is_empty() {
        return Err(invalid("--signing-key-type requires --signing-key-secret"));
    }
    let key_type = match args.signing_key_type.as_str() {
        "" => None,
        "gpg" => Some(ImageUpdateAutomationSigningKeyType::Gpg),
        "ssh" => Some(ImageUpdateAutomationSigningKeyType::Ssh),
        _ => return Err(invalid("--signing-key-type must be one of: gpg, ssh")),
    };
    let labels = parse_labels(&common.label)?;
    let signing_key =
        non_empty(&args.signing_key_secret).map(|name| ImageUpdateAutomationSigningKey {
            secret_ref: LocalObjectReference { name },
            r#type: key_type,
        });
    let spec = ImageUpdateAutomationSpec {
        interval: go_duration(args.common.interval),
        source_ref: ImageUpdateAutomationSourceRef {
            kind: ImageUpdateAutomationSourceKind::GitRepository,
            name: args.git_repo_ref.clone(),
            namespace: non_empty(&args.git_repo_namespace),
            api_version: None,
        },
        git: Some(ImageUpdateAutomationGit {
            checkout: Some(ImageUpdateAutomationCheckout {
                r#ref: GitRepositoryRef {
                    branch: Some(args.checkout_branch.clone()),
                    ..GitRepositoryRef::default()
                },
            }),
            commit: ImageUpdateAutomationCommit {
                author: ImageUpdateAutomationAuthor {
                    name: Some(args.author_name.clone()),
                    email: args.author_email.clone(),
                },
                message_template: non_empty(&args.commit_template),
                signing_key,
                message_template_values: None,
            },
            push: non_empty(&args.push_branch).map(|branch| ImageUpdateAutomationPush {
                branch: Some(branch),
                ..ImageUpdateAutomationPush::default()
            }),
        }),
        update: non_empty(&args.git_repo_path).map(|path| ImageUpdateAutomationUpdate {
            path: Some(path),
            strategy: Some(ImageUpdateAutomationUpdateStrategy::Setters),
        }),
        ..ImageUpdateAutomationSpec::default()
    };
    Ok(ImageUpdateAutomation {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateImageUpdateArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// Live mode: image objects are written only when they changed.
pub async fn apply(ctx: &Ctx, args: &CreateImageUpdateArgs) -> anyhow::Result<()> {
    let object = build(args, &ctx.global.namespace)?;
    ctx.printer.generate("generating ImageUpdateAutomation");
    let client = ctx.kube.client().await?;
    let lines = live::Lines {
        upsert: live::Upsert::ChangesOnly,
        ..live::Lines::plain("ImageUpdateAutomation")
    };
    live::apply_and_wait(ctx, &client, &live::to_json(&object)?, &lines).await?;
    ctx.printer
        .success("ImageUpdateAutomation reconciliation completed");
    Ok(())
}
