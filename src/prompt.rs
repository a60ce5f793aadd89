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

/// Asks before taking over an installation another tool (Helm, an operator)
/// manages; `--force` skips the question.
pub fn confirm_foreign_install(
    printer: &crate::output::Printer,
    info: &crate::cluster::health::ClusterInfo,
    cancelled: &str,
) -> anyhow::Result<()> {
    let Some(manager) = info.foreign_manager().filter(|_| info.installed) else {
        return Ok(());
    };
    printer.warning(&format!(
        "Flux {} has been installed on this cluster with {manager}!",
        info.version
    ));
    let question = format!("Are you sure you want to override the {manager} installation");
    if !confirm_unless(&question, "--force")? {
        bail!("{cancelled}");
    }
    Ok(())
}
