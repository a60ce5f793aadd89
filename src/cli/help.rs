//! Help pages in upstream's layout (cobra's sections, pflag's flag lines):
//! `Usage:` on its own line, `Aliases:`, `Examples:`, `Available
//! Commands:`, then `Flags:` and `Global Flags:` with Go-style booleans
//! (`--prune`, not clap's `--prune[=<PRUNE>]`) and typed values
//! (`--timeout duration`).

use std::fmt::Write;

use clap::{Arg, ArgAction, Command};

/// The help page of the command at `path` under `root`, building only the
/// commands on that path.
pub fn page(root: &mut Command, path: &[String]) -> String {
    // `flux help get` shows the page of `flux get`, as cobra does.
    let path = match path.split_first() {
        Some((first, rest)) if first == "help" => rest,
        _ => path,
    };
    let mut line = vec![root.get_name().to_string()];
    let mut command = root;
    super::argv::build_one(command);
    // The persistent flags of the commands above: cobra lists them apart.
    let mut inherited: Vec<String> = Vec::new();
    for word in path {
        let Some(name) = super::argv::subcommand_name(command, word) else {
            break;
        };
        inherited.extend(global_flag_ids(command).map(str::to_string));
        command = super::argv::enter(command, &name);
        line.push(name);
    }
    render(command, &line.join(" "), &inherited)
}

fn render(command: &Command, line: &str, inherited: &[String]) -> String {
    let mut out = String::new();
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        let _ = writeln!(out, "{}\n", about.to_string().trim_end());
    }
    let subcommands: Vec<&Command> = visible_subcommands(command).collect();
    let _ = writeln!(out, "Usage:");
    for usage in usage_lines(command, line) {
        let _ = writeln!(out, "  {usage}");
    }
    out.push('\n');
    let aliases: Vec<&str> = command.get_visible_aliases().collect();
    if !aliases.is_empty() {
        let _ = writeln!(
            out,
            "Aliases:\n  {}, {}\n",
            command.get_name(),
            aliases.join(", ")
        );
    }
    if let Some(examples) = command.get_after_long_help().or(command.get_after_help()) {
        let _ = writeln!(out, "{}\n", examples.to_string().trim_end());
    }
    if !subcommands.is_empty() {
        let width = subcommands
            .iter()
            .map(|c| c.get_name().len())
            .max()
            .unwrap_or(0);
        let (plugins, own): (Vec<&Command>, Vec<&Command>) =
            subcommands.iter().partition(|c| is_plugin(c));
        // Like cobra once the plugin group exists: the plugins' group
        // first, then the ungrouped built-in commands.
        let sections = if plugins.is_empty() {
            vec![("Available Commands:", own)]
        } else {
            vec![("Plugin Commands:", plugins), ("Additional Commands:", own)]
        };
        for (heading, commands) in sections {
            let _ = writeln!(out, "{heading}");
            for sub in commands {
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                let _ = writeln!(out, "  {:width$}  {about}", sub.get_name());
            }
            out.push('\n');
        }
    }
    for (heading, args) in flag_sections(command, inherited) {
        if !args.is_empty() {
            let _ = writeln!(out, "{heading}:\n{}", flag_lines(command, &args));
        }
    }
    if !subcommands.is_empty() {
        let _ = writeln!(
            out,
            "Use \"{line} [command] --help\" for more information about a command."
        );
    }
    out
}

/// Cobra's usage lines for `command`, reached as `line` (`flux get
/// kustomizations`): how to run it, when it takes arguments or has no
/// subcommands, and `<line> [command]` when it has subcommands.
pub fn usage_lines(command: &Command, line: &str) -> Vec<String> {
    let has_subcommands = visible_subcommands(command).next().is_some();
    let mut lines = Vec::new();
    if command.get_positionals().next().is_some() || !has_subcommands {
        let positionals: String = command
            .get_positionals()
            .filter(|a| !a.is_hide_set())
            .map(|a| format!(" [{}]", argument_name(a)))
            .collect();
        lines.push(format!("{line}{positionals} [flags]"));
    }
    if has_subcommands {
        lines.push(format!("{line} [command]"));
    }
    lines
}

/// The subcommands a page lists: not hidden, and not clap's own `help`.
pub fn visible_subcommands(command: &Command) -> impl Iterator<Item = &Command> {
    command
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

/// The ids of the flags `command` passes down to its subcommands.
pub fn global_flag_ids(command: &Command) -> impl Iterator<Item = &str> {
    command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.get_id().as_str())
}

/// A command's visible flags in cobra's two sections: its own ("Flags"),
/// persistent or not, and the ones it inherits from the commands above
/// ("Global Flags"; `inherited` holds their ids). Each is sorted by name,
/// as pflag lists flags whatever order they were defined in.
pub fn flag_sections<'a>(
    command: &'a Command,
    inherited: &[impl AsRef<str>],
) -> [(&'static str, Vec<&'a Arg>); 2] {
    let (mut global, mut own): (Vec<&Arg>, Vec<&Arg>) = command
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .partition(|a| inherited.iter().any(|id| a.get_id() == id.as_ref()));
    own.sort_by_key(|a| a.get_long());
    global.sort_by_key(|a| a.get_long());
    [("Flags", own), ("Global Flags", global)]
}

/// How usage lines name a positional argument: its value name in lower
/// case (`[name]`, `[query]`), else the field it lands in.
pub fn argument_name(arg: &Arg) -> String {
    match arg.get_value_names() {
        Some([name, ..]) => name.to_lowercase(),
        _ => arg.get_id().to_string(),
    }
}

/// Plugin commands carry the hidden argument that takes their words.
fn is_plugin(command: &Command) -> bool {
    command
        .get_arguments()
        .any(|a| a.get_id() == super::PLUGIN_ARGS)
}

/// Whether the flag is a Go-style boolean: `--flag` or `--flag=false`.
fn is_boolean(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
        || (arg.is_require_equals_set()
            && arg
                .get_num_args()
                .is_some_and(|range| range.min_values() == 0))
}

/// pflag's type word for the flag's value. A lower-case value name is
/// upstream's own type word, shown as is (`generic|aws|azure|gcp`,
/// `stringArray`).
fn type_word(arg: &Arg) -> &str {
    let name = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.as_str())
        .unwrap_or_default();
    if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name
    } else if name == "DURATION" {
        "duration"
    } else if matches!(arg.get_action(), ArgAction::Append) || arg.get_value_delimiter().is_some() {
        "strings"
    } else if matches!(name, "QPS" | "BURST" | "BITS" | "LINES" | "PORT" | "COUNT") {
        "int"
    } else {
        "string"
    }
}

fn flag_lines(command: &Command, args: &[&Arg]) -> String {
    let rows: Vec<(String, String)> = args
        .iter()
        .map(|arg| {
            let short = arg
                .get_short()
                .map(|s| format!("-{s}, "))
                .unwrap_or_else(|| "    ".to_string());
            let long = arg.get_long().unwrap_or_default();
            let mut name = format!("  {short}--{long}");
            let takes_value = !matches!(
                arg.get_action(),
                ArgAction::Help | ArgAction::Version | ArgAction::Count
            ) && !is_boolean(arg);
            if takes_value {
                name.push(' ');
                name.push_str(type_word(arg));
            }
            let usage = if matches!(arg.get_action(), ArgAction::Help) {
                help_flag_text(command)
            } else {
                usage(arg, takes_value)
            };
            (name, usage)
        })
        .collect();
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .map(|(name, usage)| {
            let pad = width - name.chars().count();
            format!("{name}{}   {usage}\n", " ".repeat(pad))
        })
        .collect()
}

/// What cobra says of a command's help flag.
pub(super) fn help_flag_text(command: &Command) -> String {
    format!("help for {}", command.get_name())
}

/// The flag's help text with its default as pflag shows it: quoted for
/// strings, bare for other types, omitted when false or empty.
fn usage(arg: &Arg, takes_value: bool) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let help = help.trim_end_matches('.').replace('\n', " ");
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty() && v != "false")
        .collect();
    if defaults.is_empty() || arg.is_hide_default_value_set() {
        return help;
    }
    let shown = match (takes_value, type_word(arg)) {
        (true, "string") => format!("\"{}\"", defaults.join(",")),
        (true, "strings") => format!("[{}]", defaults.join(",")),
        _ => defaults.join(","),
    };
    format!("{help} (default {shown})")
}

#[cfg(test)]
mod tests {
    fn help(line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        crate::cli::help_of(&words)
    }

    #[test]
    fn booleans_are_bare_and_values_are_typed() {
        let page = help("reconcile ks");
        assert!(page.starts_with("Ask the controller to reconcile Kustomization objects now\n\nUsage:\n  flux reconcile kustomization [name] [flags]\n\nAliases:\n  kustomization, ks\n"), "{page}");
        assert!(page.contains("\n      --with-source "), "{page}");
        assert!(!page.contains("[="), "{page}");
        assert!(page.contains("  -n, --namespace string "), "{page}");
        assert!(page.contains("      --timeout duration "), "{page}");
        assert!(page.contains("(default 5m0s)"), "{page}");
        let flags = page.find("\nFlags:\n").unwrap();
        let global = page.find("\nGlobal Flags:\n").unwrap();
        assert!(flags < global, "{page}");
    }

    #[test]
    fn flags_are_listed_by_name_with_cobras_help_flag() {
        for line in ["get ks", "create secret git", "bootstrap github"] {
            let page = help(line);
            let name = line.rsplit(' ').next().unwrap();
            let name = if name == "ks" { "kustomizations" } else { name };
            assert!(page.contains("  -h, --help   "), "{page}");
            assert!(page.contains(&format!("help for {name}\n")), "{page}");
            for heading in ["\nFlags:\n", "\nGlobal Flags:\n"] {
                let longs = section(&page, heading);
                let mut sorted = longs.clone();
                sorted.sort();
                assert!(longs.len() > 1 && longs == sorted, "{line}: {longs:?}");
            }
        }
    }

    /// The flags of one section of a help page, by long name.
    fn section<'a>(page: &'a str, heading: &str) -> Vec<&'a str> {
        let Some(start) = page.find(heading) else {
            return Vec::new();
        };
        page[start + heading.len()..]
            .lines()
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split("--").nth(1)?.split(' ').next())
            .collect()
    }

    #[test]
    fn flags_of_the_commands_above_are_listed_as_global_flags() {
        // Cobra: a command's own flags, persistent or not, are "Flags"; the
        // ones it inherits from the commands above are "Global Flags".
        let root = help("");
        assert!(
            section(&root, "\nFlags:\n").contains(&"kubeconfig"),
            "{root}"
        );
        assert!(!root.contains("Global Flags:"), "{root}");

        let get = help("get");
        assert!(
            section(&get, "\nFlags:\n").contains(&"all-namespaces"),
            "{get}"
        );
        assert!(
            section(&get, "\nGlobal Flags:\n").contains(&"kubeconfig"),
            "{get}"
        );

        let ks = help("get ks");
        assert_eq!(section(&ks, "\nFlags:\n"), ["help", "show-source"], "{ks}");
        let global = section(&ks, "\nGlobal Flags:\n");
        assert!(
            global.contains(&"all-namespaces") && global.contains(&"kubeconfig"),
            "{ks}"
        );

        let git = help("create source git");
        assert!(!section(&git, "\nFlags:\n").contains(&"export"), "{git}");
        assert!(
            section(&git, "\nGlobal Flags:\n").contains(&"export"),
            "{git}"
        );
    }

    #[test]
    fn arguments_are_named_as_one_value() {
        let page = help("plugin search");
        assert!(
            page.contains("\n  flux plugin search [query] [flags]\n"),
            "{page}"
        );
        let page = help("reconcile ks");
        assert!(
            page.contains("\n  flux reconcile kustomization [name] [flags]\n"),
            "{page}"
        );
    }

    #[test]
    fn plugins_are_listed_in_their_own_group() {
        let plugins = ["hello".to_string(), "get".to_string()];
        let page = crate::cli::help_with_plugins(&[], &plugins);
        let plugins = page.find("\nPlugin Commands:\n  hello ").expect(&page);
        let additional = page.find("\nAdditional Commands:\n").expect(&page);
        assert!(plugins < additional, "{page}");
        assert!(page.contains("  hello  ") && page.contains("Runs the hello plugin\n"));
        assert!(!page.contains("Available Commands:"), "{page}");
        // A plugin cannot take over a built-in command.
        assert_eq!(page.matches("\n  get ").count(), 1, "{page}");

        let page = crate::cli::help_with_plugins(&["hello"], &["hello".to_string()]);
        assert!(
            page.starts_with("This command runs the hello plugin.\nUse 'flux hello --help' for full plugin help.\n\nUsage:\n  flux hello [flags]\n"),
            "{page}"
        );
    }

    #[test]
    fn groups_list_their_commands() {
        let page = help("get");
        assert!(page.contains("Usage:\n  flux get [command]\n"), "{page}");
        assert!(page.contains("Available Commands:\n"), "{page}");
        assert!(page.contains("  kustomizations "), "{page}");
        assert!(page.ends_with(
            "Use \"flux get [command] --help\" for more information about a command.\n"
        ));
    }
}
