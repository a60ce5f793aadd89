//! Value parsers that reproduce the upstream CLI's flag syntax.

use std::fmt;

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

/// Log level of the Flux controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Error,
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "error" => Ok(Self::Error),
            _ => Err(format!(
                "unsupported log level '{s}', must be one of: debug, info, error"
            )),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Error => "error",
        })
    }
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

    #[test]
    fn log_level_rejects_unknown_values_with_the_choices() {
        let err = "verbose".parse::<LogLevel>().unwrap_err();
        assert_eq!(
            err,
            "unsupported log level 'verbose', must be one of: debug, info, error"
        );
        assert_eq!("debug".parse::<LogLevel>().unwrap().to_string(), "debug");
    }
}
