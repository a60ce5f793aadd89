//! Value parsers that reproduce the upstream CLI's flag syntax.

use std::path::{Path, PathBuf};

use clap::builder::{OsStringValueParser, TypedValueParser};

pub use crate::log_level::LogLevel;

/// Parses a boolean the way Go's `strconv.ParseBool` does, so `--flag=T`,
/// `--flag=0` and `--flag=False` keep working in existing scripts.
pub fn go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing \"{value}\": invalid syntax"
        )),
    }
}

/// Parses an integer flag with the error texts of pflag's `strconv.ParseInt`
/// (decimal only: the `0x`/`0o`/`0b` prefixes pflag also reads are refused).
pub fn go_int(value: &str) -> Result<i64, String> {
    value.parse::<i64>().map_err(|e| {
        let reason = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing \"{value}\": {reason}")
    })
}

/// A file path flag. It takes `--flag=` as upstream's string flags do,
/// which clap's own `PathBuf` parser refuses.
pub fn file_path() -> impl TypedValueParser<Value = PathBuf> {
    OsStringValueParser::new().map(PathBuf::from)
}

/// The path a file flag names; `--flag=` is absent, as upstream's empty
/// string flag is.
pub fn path_flag(path: &Option<PathBuf>) -> Option<&Path> {
    path.as_deref().filter(|p| !p.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bool_accepts_every_go_spelling() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(go_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(go_bool(f), Ok(false), "{f}");
        }
        assert!(go_bool("yes").is_err());
    }

    #[test]
    fn go_int_reports_like_strconv() {
        assert_eq!(go_int("-3"), Ok(-3));
        assert_eq!(
            go_int("1e3"),
            Err("strconv.ParseInt: parsing \"1e3\": invalid syntax".to_string())
        );
        assert_eq!(
            go_int("9223372036854775808"),
            Err(
                "strconv.ParseInt: parsing \"9223372036854775808\": value out of range".to_string()
            )
        );
    }
}
