//! `flux plugin install|list|search|uninstall|update`.

use anyhow::bail;

use crate::cli::{
    PluginCommand, PluginInstallArgs, PluginListArgs, PluginSearchArgs, PluginUninstallArgs,
    PluginUpdateArgs,
};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::output::table;
use crate::plugin::catalog::{self, Wanted};
use crate::plugin::fetch::Fetcher;
use crate::plugin::install::{install, read_receipt};
use crate::plugin::{self, PluginDir, PluginError};

pub async fn run(ctx: &Ctx, command: &PluginCommand) -> anyhow::Result<ExitStatus> {
    match command {
        PluginCommand::Install(args) => run_install(ctx, args).await,
        PluginCommand::List(args) => run_list(ctx, args).await,
        PluginCommand::Search(args) => run_search(ctx, args).await,
        PluginCommand::Uninstall(args) => run_uninstall(ctx, args).await,
        PluginCommand::Update(args) => run_update(ctx, args).await,
    }
}

fn plugin_dir() -> Result<PluginDir, PluginError> {
    PluginDir::locate().ok_or(PluginError::NoDirectory)
}

/// The catalog's base URL, which file names are appended to.
fn catalog_base() -> String {
    base_from(std::env::var(plugin::CATALOG_ENV).ok())
}

/// Upstream concatenates without a separator, so a base without its final
/// `/` silently asks for `…/pluginshello.yaml`; the `/` is added instead.
fn base_from(value: Option<String>) -> String {
    let mut base = value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| plugin::DEFAULT_CATALOG.to_string());
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}

fn at_most_one(args: &[String]) -> anyhow::Result<Option<&str>> {
    match args {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => bail!("accepts at most 1 arg(s), received {}", args.len()),
    }
}

async fn fetch_manifest(fetcher: &Fetcher, name: &str) -> Result<catalog::Manifest, PluginError> {
    let url = format!("{}{name}.yaml", catalog_base());
    let body = fetcher.text(&url).await.map_err(|e| {
        if e.is_not_found() {
            PluginError::NotInCatalog(name.to_string())
        } else {
            PluginError::ManifestFetch {
                name: name.to_string(),
                cause: e.to_string(),
            }
        }
    })?;
    catalog::parse_manifest(name, &String::from_utf8_lossy(&body))
}

async fn run_install(ctx: &Ctx, args: &PluginInstallArgs) -> anyhow::Result<ExitStatus> {
    let arg = crate::commands::debug::exactly_one(&args.names)?;
    let (name, wanted) = Wanted::split(arg);
    plugin::check_name(name)?;
    let dir = plugin_dir()?;
    let fetcher = Fetcher::new()?;
    let manifest = fetch_manifest(&fetcher, name).await?;
    let (os, arch) = (plugin::go_os(), plugin::go_arch());
    let (version, platform) = catalog::select(&manifest, name, &wanted, os, arch)?;
    ctx.printer
        .action(&format!("installing {name} v{}", version.version));
    install(
        &fetcher,
        &dir,
        name,
        &manifest.bin,
        &version.version,
        platform,
    )
    .await?;
    ctx.printer
        .success(&format!("installed {name} v{}", version.version));
    Ok(ExitStatus::Success)
}

/// The plugins `flux <name>` would run.
fn discovered(dir: &PluginDir) -> Vec<plugin::Plugin> {
    plugin::discover_with(&dir.path, crate::cli::builtin_names)
}

async fn run_list(ctx: &Ctx, _args: &PluginListArgs) -> anyhow::Result<ExitStatus> {
    let plugins = PluginDir::locate()
        .map(|dir| {
            discovered(&dir)
                .into_iter()
                .map(|p| {
                    let version = read_receipt(&dir, &p.name)
                        .map(|r| r.version)
                        .unwrap_or_else(|| "manual".to_string());
                    vec![p.name, version, p.path.display().to_string()]
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if plugins.is_empty() {
        ctx.printer.out("No plugins found\n")?;
    } else {
        ctx.printer
            .out(&table::render(Some(&["NAME", "VERSION", "PATH"]), &plugins))?;
    }
    Ok(ExitStatus::Success)
}

async fn run_search(ctx: &Ctx, args: &PluginSearchArgs) -> anyhow::Result<ExitStatus> {
    let query = at_most_one(&args.queries)?;
    let fetcher = Fetcher::new()?;
    let url = format!("{}catalog.yaml", catalog_base());
    let body = fetcher
        .text(&url)
        .await
        .map_err(|e| PluginError::CatalogFetch(e.to_string()))?;
    let catalog = catalog::parse_catalog(&String::from_utf8_lossy(&body))?;
    let needle = query.unwrap_or_default().to_lowercase();
    let dir = PluginDir::locate();
    let rows: Vec<Vec<String>> = catalog
        .plugins
        .into_iter()
        .filter(|p| {
            p.name.to_lowercase().contains(&needle)
                || p.description.to_lowercase().contains(&needle)
        })
        .map(|p| {
            let installed = dir
                .as_ref()
                .filter(|_| plugin::check_name(&p.name).is_ok())
                .and_then(|d| read_receipt(d, &p.name))
                .map(|r| r.version)
                .unwrap_or_default();
            vec![p.name, p.description, installed]
        })
        .collect();
    if rows.is_empty() {
        let line = match query {
            Some(q) => format!(
                "No plugins matching {} found in catalog\n",
                crate::duration::go_quote(q)
            ),
            None => "No plugins found in catalog\n".to_string(),
        };
        ctx.printer.out(&line)?;
    } else {
        ctx.printer.out(&table::render(
            Some(&["NAME", "DESCRIPTION", "INSTALLED"]),
            &rows,
        ))?;
    }
    Ok(ExitStatus::Success)
}

async fn run_uninstall(ctx: &Ctx, args: &PluginUninstallArgs) -> anyhow::Result<ExitStatus> {
    let name = crate::commands::debug::exactly_one(&args.names)?;
    plugin::check_name(name)?;
    let dir = plugin_dir()?;
    let binary = dir.binary_of(name);
    if std::fs::symlink_metadata(&binary).is_err() {
        return Err(PluginError::NotInstalled(name.to_string()).into());
    }
    // remove_file on a symlink removes the link only.
    std::fs::remove_file(&binary).map_err(PluginError::RemoveBinary)?;
    match std::fs::remove_file(dir.receipt_of(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(PluginError::RemoveReceipt(e).into());
        }
        _ => {}
    }
    ctx.printer.success(&format!("uninstalled {name}"));
    Ok(ExitStatus::Success)
}

async fn run_update(ctx: &Ctx, args: &PluginUpdateArgs) -> anyhow::Result<ExitStatus> {
    let only = at_most_one(&args.names)?;
    let dir = PluginDir::locate();
    let plugins = dir.as_ref().map(discovered).unwrap_or_default();
    let (Some(dir), false) = (dir, plugins.is_empty()) else {
        ctx.printer.out("No plugins found\n")?;
        return Ok(ExitStatus::Success);
    };
    let selected: Vec<&plugin::Plugin> = match only {
        Some(name) => {
            let found: Vec<_> = plugins.iter().filter(|p| p.name == name).collect();
            if found.is_empty() {
                return Err(PluginError::NotInstalled(name.to_string()).into());
            }
            found
        }
        None => plugins.iter().collect(),
    };
    let fetcher = Fetcher::new()?;
    let (os, arch) = (plugin::go_os(), plugin::go_arch());
    for plugin in selected {
        let name = &plugin.name;
        let Some(receipt) = read_receipt(&dir, name) else {
            ctx.printer
                .warning(&format!("skipping {name} (manually installed)"));
            continue;
        };
        let checked = async {
            // A file name can hold what a URL must not (`?`, `#`, spaces).
            plugin::check_name(name)?;
            let manifest = fetch_manifest(&fetcher, name).await?;
            let latest = catalog::select(&manifest, name, &Wanted::Latest, os, arch)
                .map(|(v, _)| v.version.clone())
                .or_else(|e| match e {
                    // "Up to date" is decided before the platform matters.
                    PluginError::NoPlatform { version, .. } => Ok(version),
                    other => Err(other),
                })?;
            Ok::<_, PluginError>((manifest, latest))
        };
        let (manifest, latest) = match checked.await {
            Ok(found) => found,
            Err(err) => {
                ctx.printer
                    .failure(&format!("error checking {name}: {err}"));
                continue;
            }
        };
        if receipt.version == latest {
            ctx.printer
                .success(&format!("{name} already up to date (v{latest})"));
            continue;
        }
        let platform = manifest
            .versions
            .first()
            .and_then(|v| catalog::platform_of(v, name, os, arch).ok());
        let Some(platform) = platform else {
            ctx.printer
                .failure(&format!("error checking {name}: no binary for {os}/{arch}"));
            continue;
        };
        let from = &receipt.version;
        ctx.printer
            .action(&format!("updating {name} v{from} → v{latest}"));
        match install(&fetcher, &dir, name, &manifest.bin, &latest, platform).await {
            Ok(()) => ctx
                .printer
                .success(&format!("updated {name} v{from} → v{latest}")),
            Err(err) => ctx
                .printer
                .failure(&format!("error updating {name}: {err}")),
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_base_always_ends_with_a_slash() {
        assert_eq!(base_from(None), plugin::DEFAULT_CATALOG);
        assert_eq!(base_from(Some(String::new())), plugin::DEFAULT_CATALOG);
        assert_eq!(base_from(Some("http://h/p/".into())), "http://h/p/");
        assert_eq!(base_from(Some("http://h/p".into())), "http://h/p/");
    }
}
