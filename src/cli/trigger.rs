use clap::{Args, Subcommand};

use super::value::go_int;
use crate::duration::GoDuration;

/// `flux trigger <kind>`: call Flux from outside the cluster.
#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// Trigger the webhook of a Receiver
    ///
    /// Sends an HTTP POST with the payload to a Receiver's webhook. The
    /// webhook path is derived from the Receiver's name, namespace and token
    /// and appended to --url; the cluster itself is not contacted.
    #[command(
        after_help = "Examples:\n  # Notify a generic Receiver\n  flux trigger receiver app-push --token=\"$WEBHOOK_TOKEN\" --url=https://hooks.example.com\n\n  # Sign a custom payload for a generic-hmac Receiver in the apps namespace\n  flux trigger receiver app-push -n apps --type=generic-hmac --token=\"$WEBHOOK_TOKEN\" \\\n    --url=https://hooks.example.com --payload='{\"tag\":\"v1.2.3\"}'\n\n  # From a GitHub or Forgejo Actions job with 'id-token: write'\n  flux trigger receiver app-push --type=generic-oidc --oidc-provider=github --url=https://hooks.example.com\n\n  # With an ID token the CI system already issued\n  flux trigger receiver app-push --type=generic-oidc --oidc-token=\"$CI_ID_TOKEN\" --url=https://hooks.example.com\n\n  # Fail fast instead of retrying for a while\n  flux trigger receiver app-push --token=\"$WEBHOOK_TOKEN\" --url=https://hooks.example.com --retries=0"
    )]
    Receiver(TriggerReceiverArgs),
}

/// Flags of `flux trigger receiver`.
#[derive(Debug, Clone, Args)]
pub struct TriggerReceiverArgs {
    /// Name of the Receiver.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// The Receiver's token; required unless --type=generic-oidc, which must not have one.
    #[arg(long, default_value = "")]
    pub token: String,

    /// Base URL the notification-controller webhook receiver is reached at; it may end in a path.
    #[arg(long, default_value = "")]
    pub url: String,

    /// Receiver type: generic, generic-hmac or generic-oidc.
    #[arg(long = "type", default_value = "generic")]
    pub receiver_type: String,

    /// Where to fetch the OIDC token from: github or forgejo (their Actions token endpoint); generic-oidc only, not with --oidc-token.
    #[arg(long, default_value = "")]
    pub oidc_provider: String,

    /// OIDC token sent as bearer credential (generic-oidc only, not with --oidc-provider); default $FLUX_TRIGGER_RECEIVER_OIDC_TOKEN.
    #[arg(long, default_value = "")]
    pub oidc_token: String,

    /// Audience of the token fetched from --oidc-provider (default "notification-controller").
    #[arg(long, default_value = "")]
    pub oidc_audience: String,

    /// Request body, sent as given (JSON).
    #[arg(long, default_value = "{}")]
    pub payload: String,

    /// How often to retry after a connection error or a 404, 408, 429, 500, 502, 503 or 504 answer; 0 disables retries.
    #[arg(long, default_value = "10", value_parser = go_int, allow_negative_numbers = true, value_name = "COUNT")]
    pub retries: i64,

    /// Wait between retries.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub retry_delay: GoDuration,
}
