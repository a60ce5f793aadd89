//! Files generated from the clap tree and committed to the repository:
//! shell completions under completions/ and the CLI reference under
//! docs/cmd/. A test regenerates them and fails when the committed copies
//! are stale (`FLUX_RS_UPDATE_GENERATED=1 cargo test --test cli generated`
//! refreshes them).

use std::fmt::Write as _;

use clap::Command;

use crate::cli::{
    Shell, argument_name, flag_sections, global_flag_ids, usage_lines, visible_subcommands,
};
use crate::commands::completion::script;

/// Every generated file as (path relative to the repository root, content).
pub fn files() -> Vec<(String, String)> {
    let mut files = vec![
        ("completions/flux.bash".to_string(), script(Shell::Bash)),
        ("completions/_flux".to_string(), script(Shell::Zsh)),
        ("completions/flux.fish".to_string(), script(Shell::Fish)),
        (
            "completions/_flux.ps1".to_string(),
            script(Shell::Powershell),
        ),
    ];
    let mut root = crate::cli::command();
    // Building propagates global flags and bin names into the subcommands.
    root.build();
    collect_pages(&root, &[], &[], &mut files);
    files
}

/// `inherited`: the ids of the global flags an ancestor defines; a
/// command's own flags are listed as its flags even when they are global.
fn collect_pages(
    cmd: &Command,
    parents: &[&str],
    inherited: &[&str],
    files: &mut Vec<(String, String)>,
) {
    let mut path: Vec<&str> = parents.to_vec();
    path.push(cmd.get_name());
    files.push((
        format!("docs/cmd/{}.md", path.join("_")),
        page(cmd, &path, inherited),
    ));
    let globals: Vec<&str> = global_flag_ids(cmd).collect();
    for sub in visible_subcommands(cmd) {
        collect_pages(sub, &path, &globals, files);
    }
}

fn page(cmd: &Command, path: &[&str], inherited: &[&str]) -> String {
    let mut out = String::new();
    let title = path.join(" ");
    let _ = writeln!(out, "# {title}\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{about}\n");
    }
    let usage = usage_lines(cmd, &title).join("\n");
    let _ = writeln!(out, "## Usage\n\n```\n{usage}\n```\n");

    let positionals: Vec<_> = cmd.get_positionals().filter(|a| !a.is_hide_set()).collect();
    if !positionals.is_empty() {
        let _ = writeln!(out, "## Arguments\n");
        for arg in positionals {
            let name = argument_name(arg);
            let _ = writeln!(out, "- `{name}`: {}", help_of(arg));
        }
        out.push('\n');
    }

    for (heading, args) in flag_sections(cmd, inherited) {
        if args.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {heading}\n");
        for arg in args {
            let _ = writeln!(out, "- {}: {}", flag_names(arg), help_of(arg));
        }
        out.push('\n');
    }

    let subs: Vec<_> = visible_subcommands(cmd).collect();
    if !subs.is_empty() {
        let _ = writeln!(out, "## Commands\n");
        for sub in subs {
            let file = format!("{}_{}.md", path.join("_"), sub.get_name());
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(out, "- [{title} {}]({file}): {about}", sub.get_name());
        }
        out.push('\n');
    }
    if let Some(after) = cmd.get_after_help() {
        let _ = writeln!(
            out,
            "## Examples\n\n```\n{}\n```\n",
            after.to_string().trim_start_matches("Examples:\n")
        );
    }
    if let Some(parent) = path.len().checked_sub(1).filter(|n| *n > 0) {
        let _ = writeln!(
            out,
            "See also: [{}]({}.md)",
            path[..parent].join(" "),
            path[..parent].join("_")
        );
    }
    out.trim_end().to_string() + "\n"
}

fn flag_names(arg: &clap::Arg) -> String {
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("`-{short}`"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("`--{long}`"));
    }
    names.join(", ")
}

fn help_of(arg: &clap::Arg) -> String {
    let mut help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let defaults: Vec<_> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !defaults.iter().all(|d| d.is_empty()) {
        let _ = write!(help, " (default: `{}`)", defaults.join(","));
    }
    let values: Vec<_> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() && arg.get_action().takes_values() && values != ["true", "false"] {
        let _ = write!(help, " (one of: {})", values.join(", "));
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_gets_a_page() {
        let files = files();
        for page in [
            "docs/cmd/flux.md",
            "docs/cmd/flux_install.md",
            "docs/cmd/flux_version.md",
            "docs/cmd/flux_completion.md",
        ] {
            assert!(files.iter().any(|(path, _)| path == page), "{page} missing");
        }
        let install = &files
            .iter()
            .find(|(p, _)| p == "docs/cmd/flux_install.md")
            .unwrap()
            .1;
        assert!(install.contains("`--components-extra`"));
        assert!(install.contains("## Global Flags"));
    }

    #[test]
    fn pages_list_flags_by_name_and_arguments_as_the_usage_names_them() {
        let files = files();
        let page = &files
            .iter()
            .find(|(p, _)| p == "docs/cmd/flux_get_kustomizations.md")
            .unwrap()
            .1;
        assert!(
            page.contains("```\nflux get kustomizations [name] [flags]\n```"),
            "{page}"
        );
        assert!(page.contains("- `name`: "), "{page}");
        for section in page.split("## ").filter(|s| s.contains("Flags\n")) {
            let longs: Vec<&str> = section
                .lines()
                .filter_map(|line| line.split("`--").nth(1))
                .map(|rest| rest.split('`').next().unwrap())
                .collect();
            let mut sorted = longs.clone();
            sorted.sort();
            assert!(longs.len() > 1 && longs == sorted, "{longs:?}");
        }
    }
}
