//! Object name and label rules of `create`, with Kubernetes' messages.

use std::collections::BTreeMap;

use super::CreateError;

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// The positional name of every `create` subcommand: 2 to 63 characters of
/// lower-case alphanumerics and '-', starting and ending alphanumeric.
pub fn check_name(name: Option<&str>) -> Result<&str, CreateError> {
    let name = name.ok_or(CreateError::NameRequired)?;
    let bytes = name.as_bytes();
    let inner_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let valid = (2..=63).contains(&bytes.len())
        && edge_ok(&bytes[0])
        && edge_ok(&bytes[bytes.len() - 1])
        && bytes.iter().all(inner_ok);
    if valid {
        Ok(name)
    } else {
        Err(CreateError::InvalidName(name.to_string()))
    }
}

fn is_qualified_token(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || b"-_.".contains(c))
}

/// Kubernetes' `IsDNS1123Subdomain`.
pub fn dns1123_subdomain_problems(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 253 {
        problems.push("must be no more than 253 characters".to_string());
    }
    if !crate::validate::is_dns_subdomain(s) {
        problems.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    problems
}

/// Kubernetes' `IsDNS1123Label`.
pub fn dns1123_label_problems(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 63 {
        problems.push("must be no more than 63 characters".to_string());
    }
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !b.is_empty()
        && edge(&b[0])
        && edge(&b[b.len() - 1])
        && b.iter().all(|c| edge(c) || *c == b'-');
    if !valid {
        problems.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    problems
}

/// Kubernetes' `IsQualifiedName`: the messages for everything wrong with `s`.
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

/// Kubernetes' `IsValidLabelValue`.
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

/// `--label key=value` items into a map; later keys win.
pub fn parse_labels(items: &[String]) -> Result<BTreeMap<String, String>, CreateError> {
    let mut labels = BTreeMap::new();
    for item in items {
        let parts: Vec<&str> = item.split('=').collect();
        let [key, value] = parts.as_slice() else {
            return Err(CreateError::LabelFormat(item.clone()));
        };
        let problems = qualified_name_problems(key);
        if !problems.is_empty() {
            return Err(CreateError::LabelKey {
                key: key.to_string(),
                problems: problems.join(" "),
            });
        }
        let problems = label_value_problems(value);
        if !problems.is_empty() {
            return Err(CreateError::LabelValue {
                value: value.to_string(),
                problems: problems.join(" "),
            });
        }
        labels.insert(key.to_string(), value.to_string());
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_two_to_sixty_three_lowercase_characters() {
        for ok in ["ab", "podinfo", "a-1", &"a".repeat(63)] {
            assert_eq!(check_name(Some(ok)), Ok(ok), "{ok}");
        }
        for bad in ["a", "-ab", "ab-", "Ab", "a.b", "a_b", &"a".repeat(64)] {
            assert_eq!(
                check_name(Some(bad)),
                Err(CreateError::InvalidName(bad.to_string())),
                "{bad}"
            );
        }
        assert_eq!(check_name(None), Err(CreateError::NameRequired));
    }

    #[test]
    fn labels_parse_and_later_keys_win() {
        let labels = parse_labels(&["a=1".into(), "example.com/b=".into(), "a=2".into()]).unwrap();
        assert_eq!(labels.get("a").map(String::as_str), Some("2"));
        assert_eq!(labels.get("example.com/b").map(String::as_str), Some(""));
    }

    #[test]
    fn label_errors_use_kubernetes_messages() {
        assert_eq!(
            parse_labels(&["novalue".into()]).unwrap_err().to_string(),
            "invalid label format 'novalue', must be key=value"
        );
        let err = parse_labels(&["-x=1".into()]).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid label '-x': [name part must consist of"),
            "{err}"
        );
        let err = parse_labels(&["x=-1".into()]).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid label value '-1': [a valid label must be"),
            "{err}"
        );
        let err = parse_labels(&["Bad_/x=1".into()]).unwrap_err().to_string();
        assert!(
            err.contains("prefix part a lowercase RFC 1123 subdomain"),
            "{err}"
        );
    }
}
