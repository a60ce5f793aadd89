//! Kubernetes name rules, checked before any request is sent.

/// RFC 1123 label: 1-63 lower-case alphanumerics or '-', starting and ending alphanumeric.
pub fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
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
    let b = name.as_bytes();
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    if !alnum(&b[0]) || !alnum(&b[b.len() - 1]) || !b.iter().all(|c| alnum(c) || b"-_.".contains(c))
    {
        return Some(format!(
            "name part '{name}' must consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric"
        ));
    }
    None
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
}
