//! Asking Flux controllers to reconcile now: the annotations a request
//! sets. `reconcile`, `resume` and bootstrap's sync step all send these.

use serde_json::{Value, json};

/// Annotation that asks a Flux controller to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// HelmRelease: force a one-off install or upgrade.
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: reset the failure counters.
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";

/// The request token: the current time, RFC 3339 with nanoseconds.
pub fn request_token() -> String {
    jiff::Timestamp::now().to_string()
}

/// The annotations one reconcile request sets.
pub fn request_patch(token: &str, force: bool, reset: bool) -> Value {
    let mut annotations = serde_json::Map::new();
    annotations.insert(REQUESTED_AT.into(), token.into());
    if force {
        annotations.insert(FORCE_AT.into(), token.into());
    }
    if reset {
        annotations.insert(RESET_AT.into(), token.into());
    }
    json!({"metadata": {"annotations": annotations}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_patch_sets_force_and_reset_with_the_same_token() {
        let patch = request_patch("t", true, true);
        assert_eq!(
            patch,
            json!({"metadata": {"annotations": {REQUESTED_AT: "t", FORCE_AT: "t", RESET_AT: "t"}}})
        );
        assert_eq!(
            request_patch("t", false, false),
            json!({"metadata": {"annotations": {REQUESTED_AT: "t"}}})
        );
    }

    #[test]
    fn request_token_is_rfc3339_utc() {
        let token = request_token();
        assert!(token.ends_with('Z') && token.contains('T'), "{token}");
    }
}
