//! Confirmation prompts. They need a terminal: in CI the user passes
//! `--silent` instead of the command hanging on a closed stdin.

use std::io::IsTerminal;

use anyhow::{Context, bail};

/// Asks `question` with a y/N prompt; `Ok(false)` when the user declines.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    confirm_unless(question, "--silent")
}

/// Like [`confirm`], for a question that `skip_flag` answers with yes.
pub fn confirm_unless(question: &str, skip_flag: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "cannot ask \"{question}\": stdin is not a terminal; pass {skip_flag} to skip the confirmation"
        );
    }
    crate::output::progress::settle();
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .context("unable to read the answer")
}
