//! Typed errors raised before any work starts, and the exit-code policy
//! (documented in docs/exit-codes.md).

use std::process::ExitCode;

/// Bad input detected while resolving flags; nothing has been sent anywhere.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("namespace must be a valid DNS label: {0:?}")]
    InvalidNamespace(String),
}

/// How a command ended; `main` turns it into the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// The command failed or found problems (flux uses 1 for every failure,
    /// usage errors included).
    Failure,
    /// `flux diff` could not finish (upstream's exit status 2; 1 there
    /// means "differences found").
    DiffError,
    /// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
    Interrupted,
    /// Stopped by SIGTERM (128 + 15), after cleaning up (temporary clones).
    Terminated,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::DiffError => 2,
            Self::Interrupted => 130,
            Self::Terminated => 143,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// An error and its sources, `: `-separated: the outermost message alone
/// says little ("client error (Connect)", octocrab's "Service error").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_documented_table() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failure.code(), 1);
        assert_eq!(ExitStatus::DiffError.code(), 2);
        assert_eq!(ExitStatus::Interrupted.code(), 130);
        assert_eq!(ExitStatus::Terminated.code(), 143);
    }
}
