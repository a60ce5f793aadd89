use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};

use crate::cli::InstallArgs;
use crate::cluster::apply::{FIELD_MANAGER, apply_all};
use crate::cluster::health::{self, Deadline, Rollout, cluster_info};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::render::components::FLUX_VERSION;
use crate::render::install::{InstallOptions, objects, render};
use crate::secret::docker_config_json;

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
    if !args.export {
        return install(ctx, args, &options).await;
    }
    let manifests = render(&options)?;
    ctx.printer
        .out(&manifests)
        .context("unable to write the manifests to stdout")?;
    Ok(ExitStatus::Success)
}

/// Asks before taking over an installation another tool (Helm, an operator)
/// manages; `--force` skips the question.
pub fn confirm_foreign_install(
    printer: &crate::output::Printer,
    info: &health::ClusterInfo,
    cancelled: &str,
) -> anyhow::Result<()> {
    let Some(manager) = info.foreign_manager().filter(|_| info.installed) else {
        return Ok(());
    };
    printer.warning(&format!(
        "Flux {} has been installed on this cluster with {manager}!",
        info.version
    ));
    let question = format!("Are you sure you want to override the {manager} installation");
    if !crate::prompt::confirm_unless(&question, "--force")? {
        bail!("{cancelled}");
    }
    Ok(())
}

/// The live install: apply the install set server-side, add the pull
/// secret, then wait for every controller to roll out.
async fn install(
    ctx: &Ctx,
    args: &InstallArgs,
    options: &InstallOptions,
) -> anyhow::Result<ExitStatus> {
    let printer = &ctx.printer;
    let namespace = &options.namespace;
    let deadline = Deadline::after(ctx.global.timeout);
    printer.generate("generating manifests");
    let install_set = objects(options)?;
    if ctx.global.verbose {
        printer
            .out(&render(options)?)
            .context("unable to write the manifests to stdout")?;
    }
    printer.success("manifests build completed");
    printer.action(&format!("installing components in {namespace} namespace"));
    let client = ctx.kube.client().await?;
    let info = cluster_info(&client, &deadline)
        .await
        .map_err(|e| anyhow!("cluster info unavailable: {e}"))?;
    if info.bootstrapped {
        bail!(
            "this cluster has already been bootstrapped with Flux {}! Please use 'flux bootstrap' to upgrade",
            info.version
        );
    }
    if !args.force {
        confirm_foreign_install(printer, &info, "installation cancelled")?;
    }
    let applied = tokio::time::timeout_at(
        deadline.instant(),
        apply_all(&client, &install_set, namespace),
    )
    .await
    .map_err(|_| {
        anyhow!(
            "install failed: not finished within {} (see --timeout)",
            deadline.timeout()
        )
    })?
    .map_err(|e| anyhow!("install failed: {e}"))?;
    // Upstream prints the change set on stderr: stdout stays for data.
    let change_set: String = applied.iter().map(|a| format!("{a}\n")).collect();
    printer.report(&change_set);
    if let (Some(name), Some(creds)) = (&options.image_pull_secret, &args.registry_creds) {
        printer.action(&format!("generating image pull secret {name}"));
        apply_pull_secret(
            &client,
            &deadline,
            name,
            namespace,
            &options.registry,
            creds,
        )
        .await?;
    }
    printer.waiting("verifying installation");
    let mut components = options.components.clone();
    components.sort();
    let deployments: Api<Deployment> = Api::namespaced(client, namespace);
    let report = health::wait_for_rollouts(&deployments, &components, &deadline, |name, status| {
        if *status == Rollout::Current {
            printer.success(&status.line(name));
        } else {
            printer.failure(&status.line(name));
        }
    })
    .await
    .map_err(|e| anyhow!("install failed: {e}"))?;
    if !report.ready {
        return Err(match report.last_error {
            Some(err) => anyhow!("install failed: {err}"),
            None => anyhow!("install failed"),
        });
    }
    printer.success("install finished");
    Ok(ExitStatus::Success)
}

/// Creates or updates the `kubernetes.io/dockerconfigjson` Secret the
/// controllers pull their images with.
async fn apply_pull_secret(
    client: &kube::Client,
    deadline: &Deadline,
    name: &str,
    namespace: &str,
    registry: &str,
    creds: &str,
) -> anyhow::Result<()> {
    let (username, password) = creds.split_once(':').ok_or(InstallFlagError::CredsFormat)?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(BTreeMap::from([(
            ".dockerconfigjson".to_string(),
            ByteString(docker_config_json(registry, username, password).into_bytes()),
        )])),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    deadline
        .call(api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        ))
        .await
        .map_err(|e| {
            anyhow!("install failed: unable to apply the image pull secret {name}: {e}")
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn resolve_flags(flags: &[&str]) -> anyhow::Result<InstallOptions> {
        let argv = ["flux", "install", "--export"]
            .into_iter()
            .chain(flags.iter().copied());
        let Some(Command::Install(args)) = crate::cli::parse(argv).unwrap().command else {
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
