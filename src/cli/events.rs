use clap::Args;

use super::value::go_bool;

// Flags of `flux events`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  # Display events for Flux objects in the default namespace\n  flux events -n default\n\n  # Display events for Flux objects in all namespaces\n  flux events -A\n\n  # Display events for a Kustomization named podinfo\n  flux events --for Kustomization/podinfo\n\n  # Display events for all Kustomizations in the default namespace\n  flux events --for Kustomization -n default\n\n  # Display warning events for an alert\n  flux events --for Alert/podinfo --types warning"
)]
pub struct EventsArgs {
    /// Events of Flux objects in every namespace.
    #[arg(short = 'A', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub all_namespaces: bool,

    /// Keep printing events as they are recorded (until --timeout passes).
    #[arg(short = 'w', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub watch: bool,

    /// Only events of this object, as Kind or Kind/name (e.g. Kustomization/podinfo).
    #[arg(long = "for", value_name = "KIND[/NAME]")]
    pub for_object: Option<String>,

    /// Only events of these types: Normal, Warning (case-insensitive).
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    pub types: Vec<String>,
}
