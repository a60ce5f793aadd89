//! Kubernetes name rules, checked before any request is sent. One set of
//! predicates, with two kinds of messages: short ones for flux-rs' own
//! checks (`check_object_name`, `qualified_name_problem`) and the API
//! machinery's own wording (`*_problems`), which `create` reproduces.

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, of any length.
fn is_label_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty() && edge(&b[0]) && edge(&b[b.len() - 1]) && b.iter().all(|c| edge(c) || *c == b'-')
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`: label keys' name part and
/// non-empty label values.
fn is_qualified_token(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || b"-_.".contains(c))
}

/// RFC 1123 label: 1-63 lower-case alphanumerics or '-', starting and ending alphanumeric.
pub fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && is_label_pattern(s)
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// An object name that cannot be sent to the API server.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "invalid name '{0}': object names are lower-case alphanumerics, '-' or '.', at most 253 characters, starting and ending alphanumeric"
)]
pub struct InvalidName(pub String);

/// Checks an object name (a DNS subdomain) before any request is sent.
pub fn check_object_name(name: &str) -> Result<(), InvalidName> {
    if is_dns_subdomain(name) {
        Ok(())
    } else {
        Err(InvalidName(name.to_string()))
    }
}

/// A qualified name as used for label keys and taint keys: an optional
/// DNS-subdomain prefix and '/', then 1-63 alphanumerics, '-', '_' or '.',
/// starting and ending alphanumeric. Returns what is wrong, if anything.
pub fn qualified_name_problem(s: &str) -> Option<String> {
    let (prefix, name) = match s.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Some("prefix part must be non-empty".into());
        }
        if !is_dns_subdomain(prefix) {
            return Some(format!(
                "prefix part '{prefix}' must be a lower-case DNS subdomain"
            ));
        }
    }
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".into());
    }
    if !is_qualified_token(name) {
        return Some(format!(
            "name part '{name}' must consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric"
        ));
    }
    None
}

/// Kubernetes' `IsDNS1123Subdomain`: its messages for everything wrong.
pub fn dns1123_subdomain_problems(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 253 {
        problems.push("must be no more than 253 characters".to_string());
    }
    if !s.split('.').all(is_label_pattern) {
        problems.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    problems
}

/// Kubernetes' `IsDNS1123Label`: its messages for everything wrong.
pub fn dns1123_label_problems(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 63 {
        problems.push("must be no more than 63 characters".to_string());
    }
    if !is_label_pattern(s) {
        problems.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    problems
}

/// Kubernetes' `IsQualifiedName`: its messages for everything wrong.
pub fn qualified_name_problems(s: &str) -> Vec<String> {
    let parts: Vec<&str> = s.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => {
            return vec![format!(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    let mut problems = Vec::new();
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            problems.push("prefix part must be non-empty".to_string());
        } else {
            problems.extend(
                dns1123_subdomain_problems(prefix)
                    .into_iter()
                    .map(|m| format!("prefix part {m}")),
            );
        }
    }
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        problems.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_token(name) {
        problems.push(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}')"
        ));
    }
    problems
}

/// Kubernetes' `IsValidLabelValue`: its messages for everything wrong.
pub fn label_value_problems(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 63 {
        problems.push("must be no more than 63 characters".to_string());
    }
    if !s.is_empty() && !is_qualified_token(s) {
        problems.push(format!(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE_FMT}')"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["flux-system", "a", "a1", "1a"] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn qualified_names() {
        for ok in [
            "node-role.kubernetes.io/control-plane",
            "dedicated",
            "a_b.c",
        ] {
            assert_eq!(qualified_name_problem(ok), None, "{ok}");
        }
        for bad in ["", "/x", "x/", "-x", "x y", "Example.com/x"] {
            assert!(qualified_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn kubernetes_messages_report_length_and_pattern_apart() {
        let long = "a".repeat(64);
        assert_eq!(
            dns1123_label_problems(&long),
            ["must be no more than 63 characters"]
        );
        assert_eq!(dns1123_label_problems("Bad_NS").len(), 1);
        assert!(dns1123_subdomain_problems(&format!("{long}.example.com")).is_empty());
        assert!(qualified_name_problems("example.com/MyName").is_empty());
        assert_eq!(qualified_name_problems("a/b/c").len(), 1);
        assert!(label_value_problems("").is_empty());
        assert_eq!(label_value_problems("-x").len(), 1);
    }
}
