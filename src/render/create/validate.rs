//! Object name and label rules of `create`, with Kubernetes' messages
//! (the rules themselves are in `crate::validate`).

use std::collections::BTreeMap;

use super::CreateError;
use crate::validate::{is_dns_label, label_value_problems, qualified_name_problems};

/// The positional name of every `create` subcommand: 2 to 63 characters of
/// lower-case alphanumerics and '-', starting and ending alphanumeric.
pub fn check_name(name: Option<&str>) -> Result<&str, CreateError> {
    let name = name.ok_or(CreateError::NameRequired)?;
    // Upstream's pattern needs two characters; otherwise an RFC 1123 label.
    if name.len() >= 2 && is_dns_label(name) {
        Ok(name)
    } else {
        Err(CreateError::InvalidName(name.to_string()))
    }
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
