//! Structural checks of a Notation trust policy document (v1.0), so a
//! broken policy is reported before it is stored in a Secret.

use std::collections::HashSet;

use serde_json::Value;

use super::SecretError;

const LEVELS: &[&str] = &["strict", "permissive", "audit", "skip"];
const STORE_TYPES: &[&str] = &["ca", "signingAuthority", "tsa"];

/// Validates the parsed trust policy; the error text follows Notation's.
pub fn validate_trust_policy(doc: &Value) -> Result<(), SecretError> {
    let fail = |m: String| Err(SecretError::TrustPolicy(m));
    let version = doc.get("version").and_then(Value::as_str).unwrap_or("");
    if version.is_empty() {
        return fail("trust policy document has empty version, version must be specified".into());
    }
    if version != "1.0" {
        return fail(format!(
            "trust policy document uses unsupported version {version:?}"
        ));
    }
    let policies = doc
        .get("trustPolicies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if policies.is_empty() {
        return fail("trust policy document can not have zero trust policy statements".into());
    }
    let mut names = HashSet::new();
    for policy in &policies {
        let name = policy.get("name").and_then(Value::as_str).unwrap_or("");
        if name.trim().is_empty() {
            return fail(
                "a trust policy statement is missing a name, every statement requires a name"
                    .into(),
            );
        }
        if !names.insert(name.to_string()) {
            return fail(format!(
                "multiple trust policy statements use the same name {name:?}, statement names must be unique"
            ));
        }
        let scopes = strings(policy.get("registryScopes"));
        if scopes.is_empty() {
            return fail(format!(
                "trust policy statement {name:?} has zero registry scopes, it must specify registry scopes with at least one value"
            ));
        }
        if scopes.len() > 1 && scopes.iter().any(|s| s == "*") {
            return fail(format!(
                "trust policy statement {name:?} uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values"
            ));
        }
        let level = policy
            .get("signatureVerification")
            .and_then(|v| v.get("level"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !LEVELS.contains(&level) {
            return fail(format!(
                "trust policy statement {name:?} has invalid signatureVerification: signature verification level {level:?} is invalid"
            ));
        }
        let stores = strings(policy.get("trustStores"));
        let identities = strings(policy.get("trustedIdentities"));
        if level == "skip" {
            if !stores.is_empty() || !identities.is_empty() {
                return fail(format!(
                    "trust policy statement {name:?} is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped"
                ));
            }
            continue;
        }
        if stores.is_empty() || identities.is_empty() {
            return fail(format!(
                "trust policy statement {name:?} is either missing trust stores or trusted identities, both must be specified"
            ));
        }
        for store in &stores {
            let valid = store
                .split_once(':')
                .is_some_and(|(kind, n)| STORE_TYPES.contains(&kind) && !n.is_empty());
            if !valid {
                return fail(format!(
                    "trust policy statement {name:?} uses an unsupported trust store type {store:?} in trust store value {store:?}"
                ));
            }
        }
    }
    Ok(())
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(level: &str) -> Value {
        json!({"version": "1.0", "trustPolicies": [{
            "name": "p", "registryScopes": ["*"],
            "signatureVerification": {"level": level},
            "trustStores": ["ca:certs"], "trustedIdentities": ["*"]
        }]})
    }

    #[test]
    fn a_complete_policy_is_valid() {
        assert!(validate_trust_policy(&policy("strict")).is_ok());
    }

    #[test]
    fn problems_are_named() {
        let err = validate_trust_policy(&json!({"version": "2.0"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid trust policy: trust policy document uses unsupported version \"2.0\""
        );
        assert!(validate_trust_policy(&policy("loud")).is_err());
        assert!(validate_trust_policy(&json!({"version": "1.0", "trustPolicies": []})).is_err());
    }
}
