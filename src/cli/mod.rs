//! The clap command tree. Only argument types live here: no I/O, no clients,
//! so `--help`, completion and docs generation never build anything.

mod argv;
mod artifact;
mod bootstrap;
mod build;
mod check;
mod completion;
mod create;
mod debug;
mod envsubst;
mod errors;
mod events;
mod help;
mod install;
mod logs;
mod migrate;
mod plugin;
mod stats;
pub mod target;
mod trace;
mod tree;
mod trigger;
mod uninstall;
pub mod value;
pub mod verbs;
mod version;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};

pub use artifact::{
    BuildArtifactArgs, DiffArtifactArgs, ListArtifactsArgs, ListCommand, ListKind,
    PullArtifactArgs, PullCommand, PullKind, PushArtifactArgs, PushCommand, PushKind,
    RegistryLoginArgs, TagArtifactArgs, TagCommand, TagKind,
};
pub use bootstrap::{
    BootstrapBitbucketArgs, BootstrapCommand, BootstrapCommonArgs, BootstrapGitArgs,
    BootstrapGiteaArgs, BootstrapGithubArgs, BootstrapGitlabArgs, BootstrapProvider,
    ProviderRepoArgs,
};
pub use build::{
    BuildCommand, BuildKind, BuildKsArgs, DiffCommand, DiffKind, DiffKsArgs, KsSourceArgs,
};
pub use check::CheckArgs;
pub use completion::{CompletionArgs, Shell};
pub use create::*;
pub use debug::{DebugCommand, DebugHelmReleaseArgs, DebugKustomizationArgs};
pub use envsubst::EnvsubstArgs;
pub use errors::Refusal;
pub use events::EventsArgs;
pub use help::{argument_name, flag_sections, global_flag_ids, usage_lines, visible_subcommands};
pub use install::{InstallArgs, InstallFlags};
pub use logs::LogsArgs;
pub use migrate::MigrateArgs;
pub use plugin::{
    PluginCommand, PluginInstallArgs, PluginListArgs, PluginSearchArgs, PluginUninstallArgs,
    PluginUpdateArgs,
};
pub use stats::StatsArgs;
pub use trace::TraceArgs;
pub use tree::{TreeArtifactCommand, TreeCommand, TreeGeneratorArgs, TreeKustomizationArgs};
pub use trigger::{TriggerCommand, TriggerReceiverArgs};
pub use uninstall::UninstallArgs;
pub use value::{LogLevel, go_bool};
pub use verbs::{
    DeleteCommand, ExportCommand, GetCommand, ReconcileCommand, ResumeCommand, SuspendCommand,
};
pub use version::{VersionArgs, VersionOutput};

use crate::duration::GoDuration;

const ROOT_EXAMPLES: &str = "Examples:
  # Check that the cluster can run Flux
  flux check --pre

  # Install the controllers, or print their manifests without a cluster
  flux install
  flux install --export > gotk-components.yaml

  # Sync the cluster from a Git repository that Flux also keeps itself in
  flux bootstrap git --url=ssh://git@example.com/fleet.git --path=clusters/prod

  # Show what is reconciled and how it went
  flux get all --all-namespaces

  # Apply a new commit now instead of at the next interval
  flux reconcile kustomization flux-system --with-source

  # Pause and resume a HelmRelease during maintenance
  flux suspend helmrelease podinfo
  flux resume helmrelease podinfo

  # Read the controllers' errors of the last hour
  flux logs --level=error --since=1h";

/// Command line interface for Flux, the GitOps toolkit for Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "flux",
    disable_version_flag = true,
    disable_help_subcommand = false,
    propagate_version = false,
    max_term_width = 100,
    after_help = ROOT_EXAMPLES
)]
pub struct Cli {
    /// Print the CLI version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    pub print_version: bool,

    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags accepted by every command; help pages below the root list them
/// under "Global Flags", as cobra lists inherited flags.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The namespace scope for this operation [default: flux-system, or $FLUX_SYSTEM_NAMESPACE].
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Timeout for this operation, in Go duration syntax (e.g. 90s, 5m0s, 1h30m).
    #[arg(long, global = true, default_value = "5m0s", value_name = "DURATION")]
    pub timeout: GoDuration,

    /// Print the generated objects.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub verbose: bool,

    /// Use the namespace of the current kubeconfig context when --namespace is not given.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub ns_follows_kube_context: bool,

    /// Path to the kubeconfig file.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<String>,

    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,

    /// The name of the kubeconfig cluster to use.
    #[arg(long, global = true)]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use.
    #[arg(long, global = true)]
    pub user: Option<String>,

    /// The address and port of the Kubernetes API server.
    #[arg(long, global = true)]
    pub server: Option<String>,

    /// Server name to use for server certificate validation.
    #[arg(long, global = true)]
    pub tls_server_name: Option<String>,

    /// Do not verify the server's certificate (insecure).
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub insecure_skip_tls_verify: bool,

    /// Path to a CA certificate file for the API server.
    #[arg(long, global = true, value_name = "PATH")]
    pub certificate_authority: Option<String>,

    /// Path to a client certificate file for TLS.
    #[arg(long, global = true, value_name = "PATH")]
    pub client_certificate: Option<String>,

    /// Path to a client key file for TLS.
    #[arg(long, global = true, value_name = "PATH")]
    pub client_key: Option<String>,

    /// Bearer token for authentication to the API server.
    #[arg(long, global = true)]
    pub token: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub impersonate: Option<String>,

    /// Group to impersonate for the operation; repeat for several groups.
    #[arg(long = "as-group", global = true, value_name = "GROUP", action = ArgAction::Append)]
    pub impersonate_groups: Vec<String>,

    /// UID to impersonate for the operation.
    #[arg(long = "as-uid", global = true, value_name = "UID")]
    pub impersonate_uid: Option<String>,

    /// Disable response compression for requests to the server.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub disable_compression: bool,

    /// Accepted for compatibility with upstream scripts; flux-rs keeps no discovery cache on disk.
    #[arg(long, global = true, value_name = "PATH")]
    pub cache_dir: Option<String>,

    /// Accepted for compatibility with upstream scripts; flux-rs does not throttle requests.
    #[arg(long, global = true, default_value_t = 50.0, value_name = "QPS")]
    pub kube_api_qps: f32,

    /// Accepted for compatibility with upstream scripts; flux-rs does not throttle requests.
    #[arg(long, global = true, default_value_t = 300, value_name = "BURST")]
    pub kube_api_burst: u32,
}

#[derive(Debug, Subcommand)]
// Each command's flags are defined when a parse reaches it: defining all of
// them up front was most of what `flux --version` spent. The types below
// carry no doc comment, which would replace the description given here
// when the command is defined (`defining_a_command_keeps_its_description`).
#[command(defer = true)]
pub enum Command {
    /// Get Flux objects and their status.
    Get(GetCommand),
    /// Trigger a reconciliation and wait for it to finish.
    Reconcile(ReconcileCommand),
    /// Suspend the reconciliation of objects.
    Suspend(SuspendCommand),
    /// Resume the reconciliation of suspended objects.
    Resume(ResumeCommand),
    /// Print objects as YAML, ready to be committed to Git.
    Export(ExportCommand),
    /// Delete Flux objects.
    Delete(DeleteCommand),
    /// Install or export the Flux components.
    ///
    /// The manifests are applied server-side and the command waits until every
    /// controller has rolled out; running it again upgrades in place. With
    /// --export the manifests are printed to stdout instead and nothing
    /// touches the cluster.
    Install(InstallArgs),
    /// Remove Flux and its custom resources from the cluster.
    ///
    /// Deletes the controllers, removes the finalizers of every Flux object,
    /// then deletes the Flux CRDs (and with them every Flux object) and the
    /// namespace. Exits 1 when something could not be deleted.
    Uninstall(UninstallArgs),
    /// Check the cluster's prerequisites and the Flux installation.
    ///
    /// With --pre only the Kubernetes version is checked; otherwise also the
    /// Flux distribution, the controllers' rollout and the CRDs. Exits 1 when
    /// any check fails.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Check(CheckArgs),
    /// Print the Flux controllers' logs.
    ///
    /// The controllers run in --flux-namespace; -n/--namespace (or -A) selects
    /// the namespace of the objects the entries are about.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Logs(LogsArgs),
    /// Display Kubernetes events for Flux objects.
    ///
    /// With --for Kind/name the events of that object and of the objects it
    /// refers to (its source, chart, provider or image repository) are shown.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Events(EventsArgs),
    /// Print the version of the CLI and of the Flux components.
    #[command(
        after_help = "Examples:\n  # The CLI's version only, without a cluster\n  flux version --client\n\n  # The controllers' versions in the cluster, as JSON\n  flux version -o json"
    )]
    Version(VersionArgs),
    /// Generate shell completion scripts.
    #[command(
        after_help = "Examples:\n  # Load completions into the current bash session\n  source <(flux completion bash)\n\n  # Install them for zsh\n  flux completion zsh > \"${fpath[1]}/_flux\""
    )]
    Completion(CompletionArgs),
    /// Create or update sources, workloads, notifications, image automation, secrets and tenants.
    Create(Box<CreateArgs>),
    /// Deploy Flux on a cluster the GitOps way, from a Git repository.
    Bootstrap(Box<BootstrapCommand>),
    /// Debug a flux resource.
    #[command(subcommand, subcommand_required = true, arg_required_else_help = true)]
    Debug(DebugCommand),
    /// Stats of Flux reconciles
    ///
    /// Counts the Flux objects of each kind in the namespace (or, with -A, the
    /// cluster): running, failing (Ready=False) and suspended, and the storage
    /// their artifacts take.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Stats(StatsArgs),
    /// Print the resources reconciled by Flux
    ///
    /// Shows the objects a Flux object reconciles, as a tree.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    #[command(subcommand, subcommand_required = true, arg_required_else_help = true)]
    Tree(TreeCommand),
    /// Trace in-cluster objects throughout the GitOps delivery pipeline
    ///
    /// Shows which Flux object manages each object (through its
    /// Kustomization or HelmRelease labels, or those of its owners), from
    /// which source and revision it comes, and how the last reconciliations
    /// went. Objects of different kinds can be traced at once as
    /// <resource>/<name>.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Trace(TraceArgs),
    /// Substitute the ${VAR} expressions of stdin from the environment.
    ///
    /// Reads stdin line by line and prints each line with its ${VAR},
    /// ${VAR:=default} and related expressions replaced by environment
    /// values, in the syntax of Flux's post-build substitution. An unset
    /// variable is empty unless --strict is given.
    ///
    /// ⚠️  Please note that this command is in preview and under development.
    /// While we try our best to not introduce breaking changes, they may occur when
    /// we adapt to new features and/or find better ways to facilitate what it does.
    Envsubst(EnvsubstArgs),
    /// Build a flux resource
    ///
    /// The build command is used to build flux resources.
    Build(BuildCommand),
    /// Diff a flux resource
    ///
    /// The diff command is used to do a server-side dry-run on flux resources, then prints the diff.
    Diff(DiffCommand),
    /// Push artifacts
    ///
    /// The push command uploads OCI artifacts to a container registry.
    Push(PushCommand),
    /// Pull artifacts
    ///
    /// The pull command downloads OCI artifacts from a container registry.
    Pull(PullCommand),
    /// Tag artifacts
    ///
    /// The tag command gives OCI artifacts more tags.
    Tag(TagCommand),
    /// List artifacts
    ///
    /// The list command lists OCI artifacts in a container registry.
    List(ListCommand),
    /// Trigger Flux resources from outside the cluster
    #[command(subcommand, subcommand_required = true, arg_required_else_help = true)]
    Trigger(TriggerCommand),
    /// Migrate the Flux custom resources to their latest API version
    ///
    /// Without --path: every object of each Flux CRD is written again, so
    /// the API server stores it in the CRD's storage version, and the CRD's
    /// status.storedVersions is then set to that version alone. Run it
    /// before a Flux upgrade that drops an API version. Needs permission to
    /// update CRD status.
    ///
    /// With --path: the apiVersion of each Flux object in the manifests
    /// (of files ending in --extensions) is rewritten to the latest version
    /// of the Flux release given by --version, after confirmation. Only the
    /// version on those lines changes; the rest of each file is kept byte
    /// for byte.
    Migrate(MigrateArgs),
    /// Manage Flux CLI plugins
    ///
    /// Plugins are executables named flux-<name> in the plugin directory
    /// ($FLUXCD_PLUGINS, default ~/.fluxcd/plugins); each one runs as
    /// 'flux <name>'. These commands install them from the plugin catalog,
    /// list, search, update and remove them.
    #[command(subcommand, subcommand_required = true, arg_required_else_help = true)]
    Plugin(PluginCommand),
}

/// The whole command tree, built: every subcommand defined and the global
/// flags propagated, with cobra's `help for <name>` on each help flag. For
/// completion, the generated docs and tests; a parse defines only the
/// commands on its path (see [`argv`]), which keeps start-up fast.
pub fn command() -> clap::Command {
    let mut root = Cli::command();
    root.build();
    cobra_help_flags(root)
}

fn cobra_help_flags(command: clap::Command) -> clap::Command {
    let command = if command.get_arguments().any(|a| a.get_id() == "help") {
        let text = help::help_flag_text(&command);
        command.mut_arg("help", |a| a.help(text).long_help(None))
    } else {
        command
    };
    command.mut_subcommands(cobra_help_flags)
}

/// The id of the hidden argument that holds a plugin command's words; help
/// rendering knows plugin commands by it.
pub const PLUGIN_ARGS: &str = "plugin-args";

/// `root` with a root command for each discovered plugin (in the order
/// given). Their words are never parsed: they go to the plugin.
pub fn add_plugins(mut root: clap::Command, plugins: &[String]) -> clap::Command {
    for name in plugins {
        // A root command's alias wins over a plugin of that name, as it
        // does when dispatching.
        let taken = root
            .get_subcommands()
            .any(|c| c.get_name() == name || c.get_all_aliases().any(|a| a == name));
        if taken {
            continue;
        }
        root = root.subcommand(
            // clap keeps command names as &'static str; a process
            // discovers a handful of plugins once, so leaking is harmless.
            clap::Command::new(&*name.clone().leak())
                .about(format!("Runs the {name} plugin"))
                .long_about(format!(
                    "This command runs the {name} plugin.\nUse 'flux {name} --help' for full plugin help."
                ))
                .disable_help_flag(true)
                .arg(
                    clap::Arg::new(PLUGIN_ARGS)
                        .num_args(0..)
                        .trailing_var_arg(true)
                        .allow_hyphen_values(true)
                        .hide(true),
                ),
        );
    }
    root
}

/// The names of the root commands, which no plugin can take.
pub fn builtin_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// When `args` call one of `plugins` (possibly after root flags), the
/// plugin's name and every other word in order: root flags given before
/// the name go to the plugin too.
pub fn plugin_call(
    plugins: &[String],
    args: &[std::ffi::OsString],
) -> Option<(String, Vec<std::ffi::OsString>)> {
    if plugins.is_empty() {
        return None;
    }
    let mut root = add_plugins(Cli::command(), plugins);
    let (moved, words) = argv::command_path_first(&mut root, args.to_vec());
    let word = moved.get(1).filter(|_| words >= 1)?.to_str()?;
    // The word may also be a built-in's name or alias, which wins.
    let command = root.find_subcommand(word)?;
    command
        .get_arguments()
        .any(|a| a.get_id() == PLUGIN_ARGS)
        .then(|| (command.get_name().to_string(), moved[2..].to_vec()))
}

/// Parses a command line as upstream's parser would: flags may come before
/// the subcommand words they belong to (see [`argv`]).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let mut command = Cli::command();
    let (args, _) =
        argv::command_path_first(&mut command, args.into_iter().map(Into::into).collect());
    let matches = command.try_get_matches_from_mut(args)?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// [`parse`], with a refused line turned into what upstream does with it:
/// help on stdout, or one failure message in cobra's words.
pub fn parse_command_line<I, T>(args: I) -> Result<Cli, Refusal>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    parse_command_line_with_plugins(args, &[])
}

/// [`parse_command_line`] with the discovered plugins in the command tree,
/// so that help lists them.
pub fn parse_command_line_with_plugins<I, T>(args: I, plugins: &[String]) -> Result<Cli, Refusal>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let mut command = add_plugins(Cli::command(), plugins);
    let (args, words) =
        argv::command_path_first(&mut command, args.into_iter().map(Into::into).collect());
    let mut path: Vec<String> = args[1..=words]
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    // `flux help <command…>`: clap's help subcommand takes the words as
    // its values, so they are taken here (the page skips `help`).
    if words <= 1 && args.get(1).is_some_and(|w| w == "help") {
        path = args[1..]
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .take_while(|w| !w.starts_with('-'))
            .collect();
    }
    command
        .try_get_matches_from_mut(args)
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches))
        .map_err(|err| errors::refusal(&err, &mut command, &path))
}

/// The help page of the command at `path` (`["completion"]`), as `--help`
/// prints it.
pub fn help_of(path: &[&str]) -> String {
    help_with_plugins(path, &[])
}

/// [`help_of`] with the discovered plugins listed.
pub fn help_with_plugins(path: &[&str], plugins: &[String]) -> String {
    let path: Vec<String> = path.iter().map(|w| w.to_string()).collect();
    help::page(&mut add_plugins(Cli::command(), plugins), &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        super::parse(std::iter::once("flux").chain(args.iter().copied()))
    }

    #[test]
    fn command_tree_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn global_flags_are_accepted_after_subcommands() {
        let cli = parse(&["install", "--export", "-n", "gitops", "--timeout", "1m30s"]).unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("gitops"));
        assert_eq!(cli.global.timeout.to_string(), "1m30s");
    }

    #[test]
    fn timeout_defaults_to_five_minutes() {
        let cli = parse(&["version", "--client"]).unwrap();
        assert_eq!(cli.global.timeout.to_string(), "5m0s");
    }

    #[test]
    fn invalid_timeout_is_rejected_with_go_message() {
        let err = parse(&["version", "--timeout", "5"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing unit in duration"), "{err}");
    }

    #[test]
    fn boolean_flags_take_go_style_values() {
        let cli = parse(&["version", "--insecure-skip-tls-verify=T", "--verbose"]).unwrap();
        assert!(cli.global.insecure_skip_tls_verify);
        assert!(cli.global.verbose);
        let cli = parse(&["version", "--verbose=false"]).unwrap();
        assert!(!cli.global.verbose);
    }

    #[test]
    fn as_group_is_repeatable_without_comma_splitting() {
        let cli = parse(&["version", "--as-group", "a,b", "--as-group", "c"]).unwrap();
        assert_eq!(cli.global.impersonate_groups, vec!["a,b", "c"]);
    }

    /// Each line of the issue that upstream accepts, and the flag's value as
    /// the parsed command shows it.
    #[test]
    fn a_groups_flags_may_come_before_the_subcommand_words() {
        for (line, expected) in [
            ("delete -s ks foo", "silent: true"),
            ("export --all source git", "all: true"),
            ("suspend --all ks", "all: true"),
            ("resume --wait ks x", "wait: Some(true)"),
            (
                "create --interval=2m source git x --url=https://h/r",
                "interval: GoDuration(120s)",
            ),
            (
                "create source --fetch-timeout=1m git x --url=https://h/r",
                "fetch_timeout: GoDuration(60s)",
            ),
            (
                "export source --with-credentials git x",
                "with_credentials: true",
            ),
            ("bootstrap --owner=x github", "owner: \"x\""),
        ] {
            let words: Vec<&str> = line.split(' ').collect();
            let cli = parse(&words).unwrap_or_else(|e| panic!("{line}: {e}"));
            let shown = format!("{cli:?}");
            assert!(shown.contains(expected), "{line}: {shown}");
        }
    }

    /// A deferred command's flags are defined after its description, so a
    /// doc comment on its flags' type would replace what help says of it.
    #[test]
    fn defining_a_command_keeps_its_description() {
        let described = |c: &clap::Command| {
            (
                c.get_name().to_string(),
                c.get_about().map(ToString::to_string),
                c.get_long_about().map(ToString::to_string),
            )
        };
        let before: Vec<_> = Cli::command().get_subcommands().map(described).collect();
        let after: Vec<_> = command()
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(described)
            .collect();
        let changed: Vec<_> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b != a)
            .map(|(b, a)| format!("{b:?}\n  became {a:?}"))
            .collect();
        assert_eq!(before.len(), after.len());
        assert!(changed.is_empty(), "{}", changed.join("\n"));
    }

    /// Every help page starts with what the command is for: no Rust type's
    /// doc comment ("Arguments of `flux reconcile <kind>`") leaks into it.
    #[test]
    fn every_help_page_states_its_purpose() {
        fn walk(
            command: &mut clap::Command,
            path: &str,
            pages: &mut usize,
            missing_examples: &mut usize,
        ) {
            let words: Vec<&str> = path.split(' ').skip(1).collect();
            let help = help_of(&words);
            let first = help.lines().next().unwrap_or_default();
            assert!(
                !first.is_empty() && !first.starts_with("Usage"),
                "{path}: no purpose"
            );
            for internal in ["Arguments of", "Positionals", "per-kind flags", "`flux "] {
                assert!(!first.contains(internal), "{path}: {first}");
            }
            assert!(!help.contains("\nOptions:\n"), "{path}: clap's heading");
            let leaf = command.get_subcommands().all(|c| c.get_name() == "help");
            if leaf && !help.contains("\nExamples:\n") {
                eprintln!("{path}: no examples");
                *missing_examples += 1;
            }
            *pages += 1;
            let names: Vec<String> = command
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .map(|c| c.get_name().to_string())
                .collect();
            for name in names {
                let sub = command.find_subcommand_mut(&name).unwrap();
                walk(sub, &format!("{path} {name}"), pages, missing_examples);
            }
        }
        let mut root = command();
        root.build();
        let (mut pages, mut missing_examples) = (0, 0);
        walk(&mut root, "flux", &mut pages, &mut missing_examples);
        assert!(pages > 140, "{pages} help pages");
        assert_eq!(
            missing_examples, 0,
            "commands without examples (listed above)"
        );
    }

    /// Words of a shell line: whitespace-separated, single or double quotes
    /// group; a redirection or pipe ends the command.
    fn shell_words(line: &str) -> Vec<String> {
        let line = line.split(['>', '|']).next().unwrap_or_default();
        let (mut words, mut word, mut quote) = (Vec::new(), String::new(), None);
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => quote = Some(c),
                (None, c) if c.is_whitespace() => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                (None, c) => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words
    }

    /// Every example command line in every help page parses: a renamed or
    /// mistyped flag in an example fails here.
    #[test]
    fn every_example_parses() {
        fn walk(command: &clap::Command, lines: &mut Vec<String>) {
            if let Some(examples) = command.get_after_help() {
                // A line ending in a backslash continues on the next one.
                let text = examples.to_string().replace("\\\n", " ");
                lines.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| l.starts_with("flux "))
                        .map(str::to_string),
                );
            }
            for sub in command.get_subcommands() {
                walk(sub, lines);
            }
        }
        let mut lines = Vec::new();
        walk(&command(), &mut lines);
        assert!(lines.len() > 250, "only {} examples", lines.len());
        for line in &lines {
            let words = shell_words(line);
            if let Err(err) = parse(&words[1..].iter().map(String::as_str).collect::<Vec<_>>()) {
                panic!("{line}: {err}");
            }
        }
    }

    #[test]
    fn plugin_calls_keep_every_other_word_in_order() {
        let words = |line: &str| -> Vec<std::ffi::OsString> {
            line.split(' ').map(std::ffi::OsString::from).collect()
        };
        let plugins = vec!["hello".to_string(), "get".to_string()];
        let (name, rest) = plugin_call(&plugins, &words("flux -n x hello --help -- a")).unwrap();
        assert_eq!(name, "hello");
        assert_eq!(rest, words("-n x --help -- a"));
        // -n takes "hello" as its value: no plugin is called.
        assert!(plugin_call(&plugins, &words("flux -n hello get ks")).is_none());
        // A built-in keeps its name.
        assert!(plugin_call(&plugins, &words("flux get ks")).is_none());
        assert!(plugin_call(&[], &words("flux hello")).is_none());
    }

    #[test]
    fn root_version_flag_is_short_v() {
        assert!(parse(&["-v"]).unwrap().print_version);
    }
}
