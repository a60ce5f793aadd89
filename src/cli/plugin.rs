use clap::{Args, Subcommand};

/// `flux plugin <verb>`: manage CLI plugins.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a plugin from the catalog
    ///
    /// Downloads the plugin for this system from the catalog
    /// ($FLUXCD_PLUGIN_CATALOG), checks its SHA-256 checksum and installs it
    /// into the plugin directory ($FLUXCD_PLUGINS, default
    /// ~/.fluxcd/plugins). Without @version the newest version is installed.
    #[command(
        after_help = "Examples:\n  # Install the latest version of a plugin\n  flux plugin install operator\n\n  # Install a given version\n  flux plugin install operator@0.45.0\n\n  # Install the build with a given checksum\n  flux plugin install operator@sha256:4c3f0b8e9a1d2c5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"
    )]
    Install(PluginInstallArgs),
    /// List the installed plugins
    ///
    /// Shows each plugin found in the plugin directory, the version it was
    /// installed at (manual when it was not installed from the catalog) and
    /// its path. Needs no network.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  # List the installed plugins\n  flux plugin list"
    )]
    List(PluginListArgs),
    /// Search the plugin catalog
    ///
    /// Lists the catalog's plugins whose name or description contains the
    /// query (case-insensitive), with the version installed here, if any.
    #[command(
        after_help = "Examples:\n  # List every plugin in the catalog\n  flux plugin search\n\n  # Find plugins about the operator\n  flux plugin search operator"
    )]
    Search(PluginSearchArgs),
    /// Uninstall a plugin
    ///
    /// Removes flux-<name> and its install receipt from the plugin
    /// directory; a symlink is removed, not the file it points to.
    #[command(
        visible_alias = "delete",
        after_help = "Examples:\n  # Uninstall a plugin\n  flux plugin uninstall operator"
    )]
    Uninstall(PluginUninstallArgs),
    /// Update installed plugins to their latest version
    ///
    /// Checks each plugin installed from the catalog (or only the one
    /// named) and installs the catalog's latest version where it is newer.
    /// Manually installed plugins are skipped. Failures are reported per
    /// plugin; the command still exits 0.
    #[command(
        visible_alias = "upgrade",
        after_help = "Examples:\n  # Update every plugin installed from the catalog\n  flux plugin update\n\n  # Update one plugin\n  flux plugin update operator"
    )]
    Update(PluginUpdateArgs),
}

/// Flags of `flux plugin install`.
#[derive(Debug, Clone, Args)]
pub struct PluginInstallArgs {
    /// The plugin, as name, name@version or name@sha256:<digest>.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Flags of `flux plugin list`.
#[derive(Debug, Clone, Args)]
pub struct PluginListArgs {}

/// Flags of `flux plugin search`.
#[derive(Debug, Clone, Args)]
pub struct PluginSearchArgs {
    /// Text to look for in plugin names and descriptions.
    #[arg(value_name = "QUERY")]
    pub queries: Vec<String>,
}

/// Flags of `flux plugin uninstall`.
#[derive(Debug, Clone, Args)]
pub struct PluginUninstallArgs {
    /// The plugin to remove.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Flags of `flux plugin update`.
#[derive(Debug, Clone, Args)]
pub struct PluginUpdateArgs {
    /// Only this plugin.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}
