//! The log level of the Flux controllers (`--log-level` of install and
//! bootstrap, `--level` of logs), in upstream's spelling.

use std::fmt;

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
    fn log_level_rejects_unknown_values_with_the_choices() {
        let err = "verbose".parse::<LogLevel>().unwrap_err();
        assert_eq!(
            err,
            "unsupported log level 'verbose', must be one of: debug, info, error"
        );
        assert_eq!("debug".parse::<LogLevel>().unwrap().to_string(), "debug");
    }
}
