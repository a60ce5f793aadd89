//! `flux create source git`.

use flux_api::common::GitRepositoryRef;
use flux_api::{GitRepository, GitRepositorySpec};

use std::collections::BTreeMap;

use anyhow::bail;
use k8s_openapi::api::core::v1::Secret;

use super::secret_git::ssh_secret_data;
use super::{
    api_enum, go_duration, live, local_ref, non_empty, object_meta, path_flag, read_flag_file,
    secret_object,
};
use crate::cli::CreateSourceGitArgs;
use crate::commands::Ctx;
use crate::render::create::{
    CreateError, check_name, export_document, invalid, parse_labels, url_parse_error,
};

/// Scheme of a Git URL, as `url.Parse` would report it (empty for a
/// scheme-less address such as `host/path`).
pub fn git_url_scheme(raw: &str) -> Result<String, CreateError> {
    match url::Url::parse(raw) {
        Ok(parsed) => Ok(parsed.scheme().to_string()),
        // Go reads `host/path` as a path without a scheme, but refuses a
        // colon in the first segment (scp-like `git@host:path`).
        Err(url::ParseError::RelativeUrlWithoutBase)
            if !raw.split('/').next().is_some_and(|f| f.contains(':')) =>
        {
            Ok(String::new())
        }
        Err(e) => Err(invalid(format!(
            "git URL parse failed: {}",
            url_parse_error(raw, e)
        ))),
    }
}

fn unsupported_scheme(scheme: &str) -> CreateError {
    invalid(format!(
        "git URL scheme '{scheme}' not supported, can be: ssh, http and https"
    ))
}

/// The Git reference, by upstream's precedence: commit (with the branch
/// when given), ref name, semver, tag, branch.
fn git_ref(args: &CreateSourceGitArgs) -> Option<GitRepositoryRef> {
    let mut r = GitRepositoryRef::default();
    if !args.commit.is_empty() {
        r.commit = Some(args.commit.clone());
        r.branch = non_empty(&args.branch);
    } else if !args.ref_name.is_empty() {
        r.name = Some(args.ref_name.clone());
    } else if !args.tag_semver.is_empty() {
        r.semver = Some(args.tag_semver.clone());
    } else if !args.tag.is_empty() {
        r.tag = Some(args.tag.clone());
    } else if !args.branch.is_empty() {
        r.branch = Some(args.branch.clone());
    } else {
        return None;
    }
    Some(r)
}

/// Builds the GitRepository. Credential flags only matter in live mode,
/// where they become a Secret; `--secret-ref` names an existing one.
pub fn build(args: &CreateSourceGitArgs, namespace: &str) -> Result<GitRepository, CreateError> {
    let common = &args.common.base.common;
    let name = check_name(common.name.as_deref())?;
    if args.url.is_empty() {
        return Err(invalid("url is required"));
    }
    let scheme = git_url_scheme(&args.url)?;
    if !matches!(scheme.as_str(), "ssh" | "http" | "https") {
        return Err(unsupported_scheme(&scheme));
    }
    let reference = git_ref(args).ok_or_else(|| {
        invalid("a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver")
    })?;
    if path_flag(&args.ca_file).is_some() && scheme == "ssh" {
        return Err(invalid(
            "specifying a CA file is not supported for Git over SSH",
        ));
    }
    let labels = parse_labels(&common.label)?;
    let provider = match &args.provider {
        Some(p) => Some(api_enum("source Git provider", p)?),
        None => None,
    };
    let fetch_timeout = args.common.fetch_timeout;
    let spec = GitRepositorySpec {
        url: args.url.clone(),
        interval: go_duration(args.common.base.interval),
        r#ref: Some(reference),
        provider,
        proxy_secret_ref: local_ref(&args.proxy_secret_ref),
        secret_ref: local_ref(&args.secret_ref),
        recurse_submodules: args.recurse_submodules.then_some(true),
        ignore: (!args.ignore_paths.is_empty()).then(|| args.ignore_paths.join("\n")),
        sparse_checkout: (!args.sparse_checkout_paths.is_empty())
            .then(|| args.sparse_checkout_paths.clone()),
        timeout: (!fetch_timeout.as_std().is_zero()).then(|| go_duration(fetch_timeout)),
        ..GitRepositorySpec::default()
    };
    Ok(GitRepository {
        metadata: object_meta(name, namespace, labels),
        spec,
        status: None,
    })
}

pub fn export(args: &CreateSourceGitArgs, namespace: &str) -> anyhow::Result<String> {
    Ok(export_document(&build(args, namespace)?)?)
}

/// The credentials secret `<name>` of live mode, from the URL's scheme and
/// the credential flags; `None` when it would hold nothing.
async fn credentials(
    ctx: &Ctx,
    args: &CreateSourceGitArgs,
    name: &str,
    namespace: &str,
) -> anyhow::Result<Option<Secret>> {
    let scheme = git_url_scheme(&args.url)?;
    let mut data = BTreeMap::new();
    if scheme == "ssh" {
        data = ssh_secret_data(&args.url, &args.private_key_file, &args.auth, &args.ssh).await?;
    } else {
        if scheme == "http" {
            // Upstream warns for every http URL, with or without credentials.
            ctx.printer
                .warning("insecure configuration: credentials configured for an HTTP URL");
        }
        if !args.auth.username.is_empty() && !args.auth.password.is_empty() {
            data.insert("username".to_string(), args.auth.username.clone());
            data.insert("password".to_string(), args.auth.password.clone());
        }
        if scheme == "https"
            && let Some(ca) = read_flag_file(&args.ca_file, "unable to read TLS CA file")?
        {
            data.insert("ca.crt".to_string(), ca);
        }
    }
    Ok((!data.is_empty()).then(|| secret_object(name, namespace, BTreeMap::new(), data)))
}

/// Live mode: the credentials secret (unless `--secret-ref`), then the
/// GitRepository, waiting for its first artifact.
pub async fn apply(ctx: &Ctx, args: &CreateSourceGitArgs) -> anyhow::Result<()> {
    let namespace = ctx.global.namespace.as_str();
    let mut repository = build(args, namespace)?;
    let name = repository.metadata.name.clone().unwrap_or_default();
    ctx.printer.generate("generating GitRepository source");
    let secret = if args.secret_ref.is_empty() {
        credentials(ctx, args, &name, namespace).await?
    } else {
        None
    };
    let client = ctx.kube.client().await?;
    if let Some(secret) = secret {
        let data = secret.string_data.as_ref();
        let value = |key: &str| data.and_then(|d| d.get(key));
        if let Some(known_hosts) = value("known_hosts") {
            ctx.printer.success(&format!(
                "collected public key from SSH server:\n{known_hosts}"
            ));
        }
        if let Some(public_key) = value("identity.pub") {
            ctx.printer.generate(&format!("deploy key: {public_key}"));
            if !args.silent
                && !crate::prompt::confirm("Have you added the deploy key to your repository")?
            {
                bail!("aborting");
            }
        }
        ctx.printer
            .action("applying secret with repository credentials");
        live::upsert_secret(&client, &secret).await?;
        repository.spec.secret_ref = local_ref(&name);
        ctx.printer.success("authentication configured");
    }
    let lines = live::Lines::plain("GitRepository source");
    let ready = live::apply_and_wait(ctx, &client, &live::to_json(&repository)?, &lines).await?;
    ctx.printer
        .success("GitRepository source reconciliation completed");
    live::fetched_revision(
        ctx,
        &ready,
        "GitRepository source reconciliation completed but no artifact was found",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_of_urls() {
        assert_eq!(git_url_scheme("ssh://git@github.com/x").unwrap(), "ssh");
        assert_eq!(git_url_scheme("github.com/x").unwrap(), "");
        assert!(git_url_scheme("https://[::1").is_err());
        assert_eq!(
            git_url_scheme("git@github.com:org/repo")
                .unwrap_err()
                .to_string(),
            "git URL parse failed: parse \"git@github.com:org/repo\": first path segment in URL cannot contain colon"
        );
    }
}
