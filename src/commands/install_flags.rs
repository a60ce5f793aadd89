//! The install-set flags of `flux install` and `flux bootstrap`, turned into
//! install options and checked the same way for both.

use crate::cli::InstallFlags;
use crate::render::install::{InstallFlagError, InstallOptions, check_version};

/// `--registry-creds` split into user and password.
pub type RegistryCreds = (String, String);

/// The install options the flags ask for, and the registry credentials, in
/// upstream's order of checks: the options (component names first), then
/// `--registry-creds`, then `--version`.
pub fn resolve(
    flags: &InstallFlags,
    namespace: &str,
) -> anyhow::Result<(InstallOptions, Option<RegistryCreds>)> {
    let options = InstallOptions {
        namespace: namespace.to_string(),
        components: flags
            .components
            .iter()
            .chain(&flags.components_extra)
            .cloned()
            .collect(),
        registry: flags.registry.clone(),
        image_pull_secret: flags.image_pull_secret.clone(),
        watch_all_namespaces: flags.watch_all_namespaces,
        network_policy: flags.network_policy,
        log_level: flags.log_level,
        cluster_domain: flags.cluster_domain.clone(),
        toleration_keys: flags.toleration_keys.clone(),
    };
    options.validate()?;
    let creds = match &flags.registry_creds {
        None => None,
        Some(_) if flags.image_pull_secret.is_none() => {
            return Err(InstallFlagError::CredsWithoutSecret.into());
        }
        Some(creds) => match creds.split_once(':') {
            Some((user, password)) if !password.contains(':') => {
                Some((user.to_string(), password.to_string()))
            }
            _ => return Err(InstallFlagError::CredsFormat.into()),
        },
    };
    check_version(flags.version.as_deref())?;
    Ok((options, creds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::render::components::FLUX_VERSION;

    /// Resolves `flags` as `flux install` takes them, and checks that
    /// `flux bootstrap` resolves them to the same result.
    fn resolve_flags(flags: &[&str]) -> anyhow::Result<InstallOptions> {
        let install = ["flux", "install", "--export"];
        let bootstrap = [
            "flux",
            "bootstrap",
            "git",
            "--url=ssh://git@example.com/fleet",
        ];
        let parse = |command: &[&str]| {
            let argv = command.iter().chain(flags).copied();
            match crate::cli::parse(argv).unwrap().command {
                Some(Command::Install(args)) => args.install,
                Some(Command::Bootstrap(args)) => args.common.install,
                _ => panic!("neither install nor bootstrap"),
            }
        };
        let resolved = resolve(&parse(&install), "flux-system");
        let by_bootstrap = resolve(&parse(&bootstrap), "flux-system");
        assert_eq!(
            resolved.as_ref().map_err(|e| e.to_string()),
            by_bootstrap.as_ref().map_err(|e| e.to_string()),
            "install and bootstrap resolve {flags:?} differently"
        );
        resolved.map(|(options, _)| options)
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
