use std::collections::BTreeMap;

use anyhow::Context;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::ListParams;

use crate::cli::{VersionArgs, VersionOutput};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::render::components::FLUX_VERSION;

/// The line `flux --version` prints: upstream's format with the embedded version.
pub fn version_line() -> String {
    format!("flux version {}\n", FLUX_VERSION.trim_start_matches('v'))
}

/// Versions as ordered entries: `flux` first, then `distribution` when
/// known, then the controllers sorted by name. The keys are upstream's
/// only: scripts read them with awk and jq.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    pub distribution: Option<String>,
    pub controllers: BTreeMap<String, String>,
}

impl VersionInfo {
    /// `--client`: the CLI's own version and nothing else, as upstream.
    pub fn client_only() -> Self {
        Self {
            distribution: None,
            controllers: BTreeMap::new(),
        }
    }

    fn entries(&self) -> Vec<(String, String)> {
        let mut entries = vec![("flux".to_string(), FLUX_VERSION.to_string())];
        if let Some(distribution) = &self.distribution {
            entries.push(("distribution".to_string(), distribution.clone()));
        }
        entries.extend(self.controllers.clone());
        entries
    }

    pub fn render(&self, format: VersionOutput) -> String {
        match format {
            VersionOutput::Yaml => self
                .entries()
                .into_iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect(),
            VersionOutput::Json => {
                let map: BTreeMap<String, String> = self.entries().into_iter().collect();
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&map).expect("string map serialises")
                )
            }
        }
    }
}

/// Problems reading versions from the cluster.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VersionError {
    #[error("no deployments found in {0} namespace")]
    NoDeployments(String),
    #[error("missing image tag in image {0}")]
    MissingTag(String),
}

/// Splits `registry/path/name:tag` into (`name`, `tag`); the tag keeps a
/// digest suffix when pinned (`v1.0.1@sha256:...`).
pub fn image_name_and_tag(image: &str) -> Result<(String, String), VersionError> {
    // A ':' before the first '/' belongs to a registry port, not the tag.
    let path_start = image.find('/').map_or(0, |i| i + 1);
    let (repository, tag) = match image[path_start..].find(':') {
        Some(i) => (&image[..path_start + i], &image[path_start + i + 1..]),
        None => return Err(VersionError::MissingTag(image.to_string())),
    };
    let name = repository.rsplit('/').next().unwrap_or(repository);
    Ok((name.to_string(), tag.to_string()))
}

async fn cluster_versions(ctx: &Ctx) -> anyhow::Result<VersionInfo> {
    let client = ctx.kube.client().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let distribution = crds
        .get_metadata_opt("gitrepositories.source.toolkit.fluxcd.io")
        .await
        .context("unable to read the Flux CRDs")?
        .and_then(|crd| {
            let labels = crd.metadata.labels.unwrap_or_default();
            let version = labels.get("app.kubernetes.io/version")?.clone();
            Some(match labels.get("app.kubernetes.io/part-of") {
                Some(part_of) if !part_of.is_empty() => format!("{part_of}-{version}"),
                _ => version,
            })
        });
    let namespace = &ctx.global.namespace;
    let deployments: Api<Deployment> = Api::namespaced(client, namespace);
    let list = deployments
        .list(&ListParams::default().labels("app.kubernetes.io/part-of=flux"))
        .await
        .with_context(|| format!("unable to list the Flux deployments in {namespace}"))?;
    if list.items.is_empty() {
        return Err(VersionError::NoDeployments(namespace.clone()).into());
    }
    let mut controllers = BTreeMap::new();
    for deployment in list.items {
        let containers = deployment
            .spec
            .and_then(|s| s.template.spec)
            .map(|s| s.containers)
            .unwrap_or_default();
        for image in containers.into_iter().filter_map(|c| c.image) {
            let (name, tag) = image_name_and_tag(&image)?;
            controllers.insert(name, tag);
        }
    }
    Ok(VersionInfo {
        distribution,
        controllers,
    })
}

pub async fn run(ctx: &Ctx, args: &VersionArgs) -> anyhow::Result<ExitStatus> {
    let format = args.format().map_err(anyhow::Error::msg)?;
    let info = if args.client {
        VersionInfo::client_only()
    } else {
        cluster_versions(ctx).await?
    };
    ctx.printer
        .out(&info.render(format))
        .context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> VersionInfo {
        VersionInfo {
            distribution: Some("flux-v2.9.4".into()),
            controllers: [
                ("source-controller", "v1.9.4"),
                ("helm-controller", "v1.6.3"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        }
    }

    #[test]
    fn cluster_versions_list_flux_first_and_controllers_sorted() {
        assert_eq!(
            cluster().render(VersionOutput::Yaml),
            "flux: v2.9.4\ndistribution: flux-v2.9.4\nhelm-controller: v1.6.3\nsource-controller: v1.9.4\n"
        );
    }

    #[test]
    fn json_output_has_sorted_keys_and_two_space_indent() {
        assert_eq!(
            cluster().render(VersionOutput::Json),
            "{\n  \"distribution\": \"flux-v2.9.4\",\n  \"flux\": \"v2.9.4\",\n  \"helm-controller\": \"v1.6.3\",\n  \"source-controller\": \"v1.9.4\"\n}\n"
        );
    }

    #[test]
    fn client_only_is_the_flux_line_alone() {
        let info = VersionInfo::client_only();
        assert_eq!(info.render(VersionOutput::Yaml), "flux: v2.9.4\n");
        assert_eq!(
            info.render(VersionOutput::Json),
            "{\n  \"flux\": \"v2.9.4\"\n}\n"
        );
    }

    #[test]
    fn image_tags_are_read_like_upstream() {
        assert_eq!(
            image_name_and_tag("ghcr.io/fluxcd/helm-controller:v1.6.3").unwrap(),
            ("helm-controller".into(), "v1.6.3".into())
        );
        assert_eq!(
            image_name_and_tag("localhost:5000/fluxcd/source-controller:v1.0.1@sha256:abc")
                .unwrap(),
            ("source-controller".into(), "v1.0.1@sha256:abc".into())
        );
        assert_eq!(
            image_name_and_tag("localhost:5000/fluxcd/source-controller"),
            Err(VersionError::MissingTag(
                "localhost:5000/fluxcd/source-controller".into()
            ))
        );
    }

    #[test]
    fn version_line_matches_upstream_format() {
        assert_eq!(version_line(), "flux version 2.9.4\n");
    }
}
