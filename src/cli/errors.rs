//! What a command line that clap refused becomes: upstream (cobra/pflag)
//! prints one `✗ <text>` line with its own wording, which scripts grep for,
//! and prints a group's help with exit 0 when the word after it names no
//! subcommand.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::kinds::KINDS;

/// The outcome of a command line that did not parse into a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Text for stdout and exit 0 (help, or a group named without a
    /// subcommand), with an optional hint for stderr.
    Print {
        stdout: String,
        hint: Option<String>,
    },
    /// One failure message (printed after `✗ `), exit 1.
    Failure(String),
}

/// Maps clap's error for `args` (already in command-path-first order, see
/// [`super::argv`]) to upstream's behaviour.
pub fn refusal(err: &clap::Error, root: &mut clap::Command, path: &[String]) -> Refusal {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Refusal::Print {
                stdout: super::help::page(root, path),
                hint: None,
            }
        }
        ErrorKind::DisplayVersion => Refusal::Print {
            stdout: err.render().to_string(),
            hint: None,
        },
        ErrorKind::InvalidSubcommand => {
            let word = string(err, ContextKind::InvalidSubcommand).unwrap_or_default();
            if path.is_empty() {
                Refusal::Failure(unknown_root_command(root, &word))
            } else {
                Refusal::Print {
                    stdout: super::help::page(root, path),
                    hint: kind_hint(root, path, &word),
                }
            }
        }
        ErrorKind::UnknownArgument => {
            let arg = string(err, ContextKind::InvalidArg).unwrap_or_default();
            Refusal::Failure(unknown_argument(&arg, path))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            Refusal::Failure(invalid_value(err, root))
        }
        _ => Refusal::Failure(first_paragraph(err)),
    }
}

fn string(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        _ => None,
    }
}

/// clap's message without its usage block and tips, on one line.
fn first_paragraph(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let text = text.trim_start_matches("error: ");
    let paragraph = text.split("\n\n").next().unwrap_or_default();
    paragraph
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn command_line(path: &[String]) -> String {
    std::iter::once("flux")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unknown_argument(arg: &str, path: &[String]) -> String {
    if let Some(long) = arg.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or_default();
        format!("unknown flag: --{name}")
    } else if let Some(letter) = arg.strip_prefix('-').and_then(|s| s.chars().next()) {
        format!("unknown shorthand flag: '{letter}' in {arg}")
    } else {
        format!("unknown command \"{arg}\" for \"{}\"", command_line(path))
    }
}

/// cobra's wording, with its suggestions: names within two edits, or that
/// start with the typed word.
fn unknown_root_command(root: &clap::Command, word: &str) -> String {
    let typed = word.to_lowercase();
    let suggestions: Vec<&str> = root
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(clap::Command::get_name)
        .filter(|name| {
            let name = name.to_lowercase();
            levenshtein(&name, &typed) <= 2 || name.starts_with(&typed)
        })
        .collect();
    let mut message = format!("unknown command \"{word}\" for \"flux\"");
    if !suggestions.is_empty() {
        message.push_str("\n\nDid you mean this?\n");
        for name in suggestions {
            message.push_str(&format!("\t{name}\n"));
        }
    }
    message
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `flux reconcile gitrepository`: the word is a kind's name that lives
/// under a group word (`source git`); say where.
fn kind_hint(root: &clap::Command, path: &[String], word: &str) -> Option<String> {
    let typed = word.to_lowercase();
    let kind = KINDS.iter().find(|k| {
        k.kind.to_lowercase() == typed
            || k.plural == typed
            || k.word == typed
            || k.aliases.contains(&typed.as_str())
    })?;
    let group = kind.cli_group.word()?;
    let mut command = root;
    for word in path {
        command = command.find_subcommand(word)?;
    }
    let under_group = command.find_subcommand(group)?;
    let leaf = under_group
        .get_subcommands()
        .find(|c| c.get_name() == kind.word || c.get_name() == kind.get_word)?;
    Some(format!(
        "{} is addressed as \"{} {group} {}\"",
        kind.kind,
        command_line(path),
        leaf.get_name()
    ))
}

/// `invalid argument "<value>" for "<flag>" flag: <reason>` and `flag needs
/// an argument: --<flag>`, pflag's texts.
fn invalid_value(err: &clap::Error, root: &clap::Command) -> String {
    let shown = string(err, ContextKind::InvalidArg).unwrap_or_default();
    let long = shown
        .split([' ', '=', '['])
        .next()
        .unwrap_or_default()
        .to_string();
    let value = string(err, ContextKind::InvalidValue).unwrap_or_default();
    if !long.starts_with("--") {
        return first_paragraph(err);
    }
    if value.is_empty() && err.kind() == ErrorKind::InvalidValue {
        return format!("flag needs an argument: {long}");
    }
    let flag = match short_of(root, &long[2..]) {
        Some(letter) => format!("-{letter}, {long}"),
        None => long.clone(),
    };
    let reason = match err.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) => format!("must be one of: {}", valid.join(", ")),
        _ => std::error::Error::source(err)
            .map(ToString::to_string)
            .unwrap_or_else(|| first_paragraph(err)),
    };
    format!("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")
}

fn short_of(command: &clap::Command, long: &str) -> Option<char> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(clap::Arg::get_short)
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| short_of(sub, long))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(line: &str) -> Refusal {
        let words = std::iter::once("flux").chain(line.split_whitespace());
        match super::super::parse_command_line(words) {
            Ok(cli) => panic!("{line} parsed: {cli:?}"),
            Err(refusal) => refusal,
        }
    }

    fn failure(line: &str) -> String {
        match refused(line) {
            Refusal::Failure(message) => message,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn unknown_flags_and_commands_use_upstreams_words() {
        assert_eq!(failure("--foo"), "unknown flag: --foo");
        assert_eq!(failure("get ks --foo=1"), "unknown flag: --foo");
        assert_eq!(failure("get --foo ks"), "unknown flag: --foo");
        assert_eq!(failure("get ks -x"), "unknown shorthand flag: 'x' in -x");
        assert_eq!(failure("foo"), "unknown command \"foo\" for \"flux\"");
        assert_eq!(
            failure("gte all"),
            "unknown command \"gte\" for \"flux\"\n\nDid you mean this?\n\tget\n"
        );
        assert_eq!(
            failure("check extra"),
            "unknown command \"extra\" for \"flux check\""
        );
    }

    #[test]
    fn bad_values_use_pflags_words() {
        assert_eq!(
            failure("version --timeout 5"),
            "invalid argument \"5\" for \"--timeout\" flag: time: missing unit in duration \"5\""
        );
        assert_eq!(
            failure("create source git x --provider"),
            "flag needs an argument: --provider"
        );
        assert_eq!(
            failure("create source git x --provider=dummy"),
            "invalid argument \"dummy\" for \"--provider\" flag: source Git provider 'dummy' is not supported, must be one of: generic|github|aws|azure"
        );
        assert_eq!(
            failure("install --export --network-policy=maybe"),
            "invalid argument \"maybe\" for \"--network-policy\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
        assert_eq!(
            failure("get ks -o xml"),
            "invalid argument \"xml\" for \"-o, --output\" flag: must be one of: table, wide, json, yaml"
        );
    }

    #[test]
    fn a_group_with_an_unknown_word_prints_its_help() {
        let Refusal::Print { stdout, hint } = refused("get foo") else {
            panic!("get foo was refused")
        };
        assert!(stdout.contains("Usage:\n  flux get [command]"), "{stdout}");
        assert_eq!(hint, None);
        let Refusal::Print { hint, .. } = refused("reconcile gitrepository x") else {
            panic!("reconcile gitrepository was refused")
        };
        assert_eq!(
            hint.as_deref(),
            Some("GitRepository is addressed as \"flux reconcile source git\"")
        );
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("gte", "get"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
