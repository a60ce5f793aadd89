//! `flux migrate`: bring Flux objects to the latest API versions, in the
//! cluster (re-store every object in its CRD's storage version) or in
//! manifest files under `--path` (rewrite their `apiVersion` lines).

mod cluster;
mod files;

use crate::cli::MigrateArgs;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::{self, Group};

/// The Flux minor versions `--version` accepts, newest (the default) first.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2.9", "2.8", "2.7", "2.6"];

/// Why `--version` or `--extensions` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("version {0} is not supported, supported versions are: {versions}", versions = SUPPORTED_VERSIONS.join(", "))]
    UnsupportedVersion(String),
    #[error(
        "--extensions has an empty entry, which would match every file: give suffixes such as .yaml,.yml"
    )]
    EmptyExtension,
    #[error(
        "--dry-run applies to manifests under --path only; migrating the cluster has no dry run"
    )]
    DryRunWithoutPath,
}

/// One entry of the latest-versions table: a kind of a group and the
/// version its manifests should use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub group: &'static str,
    pub kind: &'static str,
    pub version: &'static str,
}

/// The API versions of the Flux kinds in the release line `version`.
/// 2.7 to 2.9 serve the versions of the kinds registry; 2.6 had the image
/// kinds at v1beta2 and no ArtifactGenerator yet.
pub fn latest_versions(version: &str) -> Result<Vec<Target>, FlagError> {
    let flux_2_6 = match version {
        "2.9" | "2.8" | "2.7" => false,
        "2.6" => true,
        other => return Err(FlagError::UnsupportedVersion(other.to_string())),
    };
    Ok(kinds::KINDS
        .iter()
        .filter(|spec| !(flux_2_6 && spec.cli_group == Group::Artifact))
        .map(|spec| Target {
            group: spec.group,
            kind: spec.kind,
            version: if flux_2_6 && spec.cli_group == Group::Image {
                "v1beta2"
            } else {
                spec.version
            },
        })
        .collect())
}

pub async fn run(ctx: &Ctx, args: &MigrateArgs) -> anyhow::Result<ExitStatus> {
    if args.path.is_empty() {
        if args.dry_run {
            return Err(FlagError::DryRunWithoutPath.into());
        }
        for (given, flag) in [
            (!args.version.is_empty(), "--version"),
            (args.yes, "--yes"),
            (args.extensions != [".yaml", ".yml"], "--extensions"),
        ] {
            if given {
                ctx.printer
                    .warning(&format!("{flag} is ignored without --path"));
            }
        }
        cluster::migrate(ctx).await?;
        return Ok(ExitStatus::Success);
    }
    let version = if args.version.is_empty() {
        SUPPORTED_VERSIONS[0]
    } else {
        args.version.as_str()
    };
    let table = latest_versions(version)?;
    if args.extensions.iter().any(String::is_empty) {
        return Err(FlagError::EmptyExtension.into());
    }
    let options = files::Options {
        path: &args.path,
        extensions: &args.extensions,
        table: &table,
        yes: args.yes,
        dry_run: args.dry_run,
    };
    files::migrate(&ctx.printer, &options)?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version_of(table: &[Target], kind: &str) -> Option<&'static str> {
        table.iter().find(|t| t.kind == kind).map(|t| t.version)
    }

    #[test]
    fn the_table_follows_the_release_line() {
        for line in ["2.9", "2.8", "2.7"] {
            let table = latest_versions(line).unwrap();
            assert_eq!(table.len(), 15, "{line}");
            assert_eq!(version_of(&table, "ImagePolicy"), Some("v1"));
            assert_eq!(version_of(&table, "HelmRelease"), Some("v2"));
            assert_eq!(version_of(&table, "Alert"), Some("v1beta3"));
            assert_eq!(version_of(&table, "Receiver"), Some("v1"));
            assert_eq!(version_of(&table, "ArtifactGenerator"), Some("v1beta1"));
            assert_eq!(version_of(&table, "ExternalArtifact"), Some("v1"));
        }
        let table = latest_versions("2.6").unwrap();
        assert_eq!(table.len(), 14);
        for kind in ["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"] {
            assert_eq!(version_of(&table, kind), Some("v1beta2"), "{kind}");
        }
        assert_eq!(version_of(&table, "ArtifactGenerator"), None);
        assert_eq!(version_of(&table, "Kustomization"), Some("v1"));
    }

    #[test]
    fn an_unknown_line_names_the_supported_ones() {
        let err = latest_versions("2.5").unwrap_err().to_string();
        assert_eq!(
            err,
            "version 2.5 is not supported, supported versions are: 2.9, 2.8, 2.7, 2.6"
        );
    }
}
