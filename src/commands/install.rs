use anyhow::Context;

use crate::cli::InstallArgs;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::render::components::FLUX_VERSION;
use crate::render::install::{InstallOptions, render};

/// Bad `install` flags, reported before anything is rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InstallFlagError {
    #[error("targeted version '{0}' must be prefixed with 'v'")]
    VersionPrefix(String),
    #[error(
        "targeted version '{0}' is not available: this flux binary embeds Flux {FLUX_VERSION} only; omit --version or pass --version={FLUX_VERSION}"
    )]
    VersionUnavailable(String),
    #[error("--registry-creds requires --image-pull-secret to be set")]
    CredsWithoutSecret,
    #[error("invalid --registry-creds format, expected 'user:password'")]
    CredsFormat,
}

/// Turns the flags into install options, checking what upstream checks, in
/// upstream's order (component names are checked by the renderer first).
pub fn resolve(args: &InstallArgs, namespace: &str) -> anyhow::Result<InstallOptions> {
    let options = InstallOptions {
        namespace: namespace.to_string(),
        components: args
            .components
            .iter()
            .chain(&args.components_extra)
            .cloned()
            .collect(),
        registry: args.registry.clone(),
        image_pull_secret: args.image_pull_secret.clone(),
        watch_all_namespaces: args.watch_all_namespaces,
        network_policy: args.network_policy,
        log_level: args.log_level,
        cluster_domain: args.cluster_domain.clone(),
        toleration_keys: args.toleration_keys.clone(),
    };
    options.validate()?;
    if let Some(creds) = &args.registry_creds {
        if args.image_pull_secret.is_none() {
            return Err(InstallFlagError::CredsWithoutSecret.into());
        }
        if creds.split(':').count() != 2 {
            return Err(InstallFlagError::CredsFormat.into());
        }
    }
    if let Some(version) = &args.version {
        if version != "latest" && !version.starts_with('v') {
            return Err(InstallFlagError::VersionPrefix(version.clone()).into());
        }
        if version != FLUX_VERSION {
            return Err(InstallFlagError::VersionUnavailable(version.clone()).into());
        }
    }
    Ok(options)
}

pub async fn run(ctx: &Ctx, args: &InstallArgs) -> anyhow::Result<ExitStatus> {
    let options = resolve(args, &ctx.global.namespace)?;
    let manifests = render(&options)?;
    ctx.printer
        .out(&manifests)
        .context("unable to write the manifests to stdout")?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn resolve_flags(flags: &[&str]) -> anyhow::Result<InstallOptions> {
        let argv = ["flux", "install", "--export"]
            .into_iter()
            .chain(flags.iter().copied());
        let Some(Command::Install(args)) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not an install command")
        };
        resolve(&args, "flux-system")
    }

    #[test]
    fn components_and_extras_are_concatenated_in_flag_order() {
        let options = resolve_flags(&[
            "--components=source-controller,kustomize-controller",
            "--components-extra",
            "source-watcher",
        ])
        .unwrap();
        assert_eq!(
            options.components,
            [
                "source-controller",
                "kustomize-controller",
                "source-watcher"
            ]
        );
    }

    #[test]
    fn version_must_be_the_embedded_one() {
        assert!(resolve_flags(&["--version", FLUX_VERSION]).is_ok());
        let err = resolve_flags(&["--version", "2.9.4"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "targeted version '2.9.4' must be prefixed with 'v'"
        );
        let err = resolve_flags(&["--version", "v2.8.0"]).unwrap_err();
        assert!(err.to_string().contains("embeds Flux v2.9.4 only"), "{err}");
        assert!(resolve_flags(&["--version", "latest"]).is_err());
    }

    #[test]
    fn registry_creds_need_a_pull_secret_and_one_colon() {
        assert_eq!(
            resolve_flags(&["--registry-creds", "u:p"])
                .unwrap_err()
                .to_string(),
            "--registry-creds requires --image-pull-secret to be set"
        );
        assert_eq!(
            resolve_flags(&["--registry-creds", "u:p:x", "--image-pull-secret", "s"])
                .unwrap_err()
                .to_string(),
            "invalid --registry-creds format, expected 'user:password'"
        );
        assert!(resolve_flags(&["--registry-creds", "u:p", "--image-pull-secret", "s"]).is_ok());
    }
}
