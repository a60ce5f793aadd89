//! Arguments of the kind-addressed verbs: get, reconcile, suspend, resume,
//! export and delete.

use clap::{ArgAction, Args, ValueEnum};

use super::target::{KindCommand, Verb};
use super::value::go_bool;
use crate::kinds::{KindSpec, StatusSelector};

/// Output format of `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GetOutput {
    /// Upstream's table.
    #[default]
    Table,
    /// The table with extra columns (source, path, last transition, …).
    Wide,
    /// A `List` of the objects, like `kubectl get -o json`.
    Json,
    /// A `List` of the objects, like `kubectl get -o yaml`.
    Yaml,
}

/// Flags of `flux get`, valid after any kind words.
#[derive(Debug, Clone, Args)]
pub struct GetFlags {
    /// List the objects of every namespace.
    #[arg(short = 'A', long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub all_namespaces: bool,

    /// Do not print the header line.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub no_header: bool,

    /// Keep printing rows as the objects change.
    #[arg(short = 'w', long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub watch: bool,

    /// Only objects whose condition matches, as type=status or type!=status (e.g. Ready=False).
    #[arg(long, global = true, value_name = "SELECTOR")]
    pub status_selector: Option<StatusSelector>,

    /// Only objects with these labels (a Kubernetes label selector).
    #[arg(short = 'l', long, global = true, value_name = "SELECTOR")]
    pub label_selector: Option<String>,

    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = GetOutput::Table)]
    pub output: GetOutput,
}

/// Positionals and per-kind flags of `flux get <kind>`.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// Only the objects with these names.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Add a SOURCE column (kustomizations and helmreleases).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub show_source: bool,
}

pub struct GetVerb;

impl Verb for GetVerb {
    type Args = GetArgs;
    const TITLE: &'static str = "Get";
    const LISTS: bool = true;

    fn accepts(_: &KindSpec) -> bool {
        true
    }

    fn about(kind: &KindSpec) -> String {
        format!("Get {} objects and their status", kind.kind)
    }

    fn examples(kind: &KindSpec) -> Vec<(String, String)> {
        vec![
            (
                format!(
                    "List the {} objects in the flux-system namespace",
                    kind.kind
                ),
                String::new(),
            ),
            (
                format!(
                    "List the {} objects of every namespace that are not ready",
                    kind.kind
                ),
                " --all-namespaces --status-selector ready=false".into(),
            ),
            (
                format!("Print one {} as YAML", kind.kind),
                " podinfo -o yaml".into(),
            ),
        ]
    }

    fn inapplicable_flags(kind: &KindSpec) -> &'static [&'static str] {
        if kind.show_source {
            &[]
        } else {
            &["show_source"]
        }
    }
}

/// Get Flux objects and their status.
#[derive(Debug, Args)]
pub struct GetCommand {
    #[command(flatten)]
    pub flags: GetFlags,
    #[command(subcommand)]
    pub target: KindCommand<GetVerb>,
}

/// Arguments of `flux reconcile <kind>`.
#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Names of the objects to reconcile (several are reconciled concurrently).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Reconcile every object of the kind in the namespace.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, conflicts_with = "names")]
    pub all: bool,

    /// Reconcile the objects with these labels.
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with = "names")]
    pub label_selector: Option<String>,

    /// Reconcile the source first (kustomizations, helmreleases, helm charts).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub with_source: bool,

    /// Force a one-off install or upgrade (helmreleases).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub force: bool,

    /// Reset the failure counters (helmreleases).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub reset: bool,
}

pub struct ReconcileVerb;

impl Verb for ReconcileVerb {
    type Args = ReconcileArgs;
    const TITLE: &'static str = "Reconcile";

    fn accepts(kind: &KindSpec) -> bool {
        kind.reconcile_success.is_some()
    }

    fn about(kind: &KindSpec) -> String {
        format!("Ask the controller to reconcile {} objects now", kind.kind)
    }

    fn examples(kind: &KindSpec) -> Vec<(String, String)> {
        let mut examples = vec![(
            format!("Reconcile a {} now and wait until it is done", kind.kind),
            " podinfo".to_string(),
        )];
        if kind.with_source.is_some() {
            examples.push((
                "Fetch its source first, then reconcile it".into(),
                " podinfo --with-source".into(),
            ));
        }
        if kind.forceable {
            examples.push((
                "Force a one-off install or upgrade".into(),
                " podinfo --force".into(),
            ));
        }
        examples
    }

    fn inapplicable_flags(kind: &KindSpec) -> &'static [&'static str] {
        match (kind.with_source.is_some(), kind.forceable) {
            (true, true) => &[],
            (true, false) => &["force", "reset"],
            (false, _) => &["with_source", "force", "reset"],
        }
    }
}

/// Trigger a reconciliation and wait for it to finish.
#[derive(Debug, Args)]
pub struct ReconcileCommand {
    #[command(subcommand)]
    pub target: KindCommand<ReconcileVerb>,
}

/// Arguments of `flux suspend <kind>`.
#[derive(Debug, Clone, Args)]
pub struct SuspendArgs {
    /// Names of the objects.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Every object of the kind in the namespace.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, conflicts_with = "names")]
    pub all: bool,
}

pub struct SuspendVerb;

impl Verb for SuspendVerb {
    type Args = SuspendArgs;
    const TITLE: &'static str = "Suspend";

    fn accepts(kind: &KindSpec) -> bool {
        kind.suspendable
    }

    fn about(kind: &KindSpec) -> String {
        format!("Stop reconciling {} objects", kind.kind)
    }

    fn examples(kind: &KindSpec) -> Vec<(String, String)> {
        vec![
            (
                format!("Stop reconciling one {}", kind.kind),
                " podinfo".into(),
            ),
            (
                format!("Stop reconciling every {} in the apps namespace", kind.kind),
                " --all -n apps".into(),
            ),
        ]
    }
}

/// Suspend the reconciliation of objects.
#[derive(Debug, Args)]
pub struct SuspendCommand {
    #[command(subcommand)]
    pub target: KindCommand<SuspendVerb>,
}

/// Arguments of `flux resume <kind>`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Names of the objects.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Every object of the kind in the namespace.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, conflicts_with = "names")]
    pub all: bool,

    /// Wait for the objects to be ready [default: true for one name, false otherwise].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub wait: Option<bool>,
}

pub struct ResumeVerb;

impl Verb for ResumeVerb {
    type Args = ResumeArgs;
    const TITLE: &'static str = "Resume";

    fn accepts(kind: &KindSpec) -> bool {
        kind.suspendable
    }

    fn about(kind: &KindSpec) -> String {
        format!("Resume reconciling suspended {} objects", kind.kind)
    }

    fn examples(kind: &KindSpec) -> Vec<(String, String)> {
        vec![
            (
                format!("Resume one {} and wait until it is ready", kind.kind),
                " podinfo".into(),
            ),
            (
                format!(
                    "Resume every {} in the namespace without waiting",
                    kind.kind
                ),
                " --all --wait=false".into(),
            ),
        ]
    }
}

/// Resume the reconciliation of suspended objects.
#[derive(Debug, Args)]
pub struct ResumeCommand {
    #[command(subcommand)]
    pub target: KindCommand<ResumeVerb>,
}

/// Arguments of `flux export <kind>`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Names of the objects.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Every object of the kind in the namespace.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, conflicts_with = "names")]
    pub all: bool,

    /// Also print the Secret named by spec.secretRef (sources).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub with_credentials: bool,
}

pub struct ExportVerb;

impl Verb for ExportVerb {
    type Args = ExportArgs;
    const TITLE: &'static str = "Export";

    fn accepts(_: &KindSpec) -> bool {
        true
    }

    fn about(kind: &KindSpec) -> String {
        format!(
            "Print {} objects as YAML, without server-managed fields",
            kind.kind
        )
    }

    fn examples(kind: &KindSpec) -> Vec<(String, String)> {
        vec![
            (
                format!(
                    "Print every {} of the namespace, ready to commit",
                    kind.kind
                ),
                " --all > objects.yaml".into(),
            ),
            (format!("Print one {}", kind.kind), " podinfo".into()),
        ]
    }
}

/// Print objects as YAML, ready to be committed to Git.
#[derive(Debug, Args)]
pub struct ExportCommand {
    #[command(subcommand)]
    pub target: KindCommand<ExportVerb>,
}

/// Arguments of `flux delete <kind>`.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// Names of the objects.
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    /// Do not ask for confirmation.
    #[arg(short = 's', long, action = ArgAction::SetTrue)]
    pub silent: bool,

    /// Wait until the objects are gone (their finalizers have run).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub wait: bool,
}

pub struct DeleteVerb;

impl Verb for DeleteVerb {
    type Args = DeleteArgs;
    const TITLE: &'static str = "Delete";

    fn accepts(kind: &KindSpec) -> bool {
        kind.deletable
    }

    fn about(kind: &KindSpec) -> String {
        format!("Delete {} objects", kind.kind)
    }

    fn examples(kind: &KindSpec) -> Vec<(String, String)> {
        vec![
            (
                format!("Delete a {} after confirming", kind.kind),
                " podinfo".into(),
            ),
            (
                format!(
                    "Delete a {} without asking and wait until it is gone",
                    kind.kind
                ),
                " podinfo --silent --wait".into(),
            ),
        ]
    }
}

/// Delete Flux objects.
#[derive(Debug, Args)]
pub struct DeleteCommand {
    #[command(subcommand)]
    pub target: KindCommand<DeleteVerb>,
}
