//! Pure helpers of `create`: document framing of exported objects and the
//! parsers and validators for names, labels and references.

mod parse;
mod validate;

use serde::Serialize;

pub use parse::{
    DependsOn, HealthCheck, KindName, parse_depends_on, parse_health_check, parse_kind_name,
    parse_kind_name_namespace, safe_relative_path, url_parse_error,
};
pub use validate::{check_name, parse_labels};

/// Bad `create` input, reported as `✗ <message>` before anything is done.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CreateError {
    #[error("name is required")]
    NameRequired,
    #[error(
        "name '{0}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
    )]
    InvalidName(String),
    #[error("invalid label format '{0}', must be key=value")]
    LabelFormat(String),
    #[error("invalid label '{key}': [{problems}]")]
    LabelKey { key: String, problems: String },
    #[error("invalid label value '{value}': [{problems}]")]
    LabelValue { value: String, problems: String },
    /// A per-kind validation failure, with upstream's wording.
    #[error("{0}")]
    Invalid(String),
}

/// Shorthand for a per-kind validation failure.
pub fn invalid(message: impl Into<String>) -> CreateError {
    CreateError::Invalid(message.into())
}

/// Serialises an object as the YAML profile of `--export` (sorted keys,
/// Go-compatible scalars).
pub fn object_yaml<T: Serialize>(object: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(object)?;
    Ok(crate::render::yaml::to_string(&value))
}

/// Drops what Go's encoder writes for unset metadata and status.
fn strip_empty_fields(yaml: &str) -> String {
    let once = yaml.replacen("  creationTimestamp: null\n", "", 1);
    once.replacen("status: {}\n", "", 1)
}

/// One exported object: `---`, the trimmed YAML, a newline.
pub fn export_document<T: Serialize>(object: &T) -> Result<String, serde_json::Error> {
    let yaml = strip_empty_fields(&object_yaml(object)?);
    Ok(format!("---\n{}\n", yaml.trim()))
}

/// One exported Secret: `---`, the untrimmed YAML, and (except for TLS
/// secrets) an empty line after it, as upstream's secret generators print.
pub fn export_secret_document<T: Serialize>(
    object: &T,
    trailing_blank_line: bool,
) -> Result<String, serde_json::Error> {
    let yaml = strip_empty_fields(&object_yaml(object)?);
    let end = if trailing_blank_line { "\n" } else { "" };
    Ok(format!("---\n{yaml}{end}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_framing_trims_and_starts_with_separator() {
        let doc = export_document(&json!({"kind": "X", "metadata": {"name": "a", "creationTimestamp": null}, "status": {}})).unwrap();
        assert_eq!(doc, "---\nkind: X\nmetadata:\n  name: a\n");
    }

    #[test]
    fn secret_framing_keeps_the_newline_and_adds_a_blank_line() {
        let doc = export_secret_document(&json!({"kind": "Secret"}), true).unwrap();
        assert_eq!(doc, "---\nkind: Secret\n\n");
        let doc = export_secret_document(&json!({"kind": "Secret"}), false).unwrap();
        assert_eq!(doc, "---\nkind: Secret\n");
    }
}
