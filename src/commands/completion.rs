use std::ffi::{OsStr, OsString};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::EnvCompleter;
use kube::api::ListParams;

use crate::cli::{CompletionArgs, Shell};
use crate::cluster::objects;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::{Group, KINDS, KindSpec};
use crate::output::Printer;
use crate::settings::GlobalOptions;

/// The verbs whose positional arguments name objects of the kind.
const NAMING_VERBS: [&str; 8] = [
    "get",
    "reconcile",
    "suspend",
    "resume",
    "export",
    "delete",
    "debug",
    "tree",
];

/// How long a completion may wait for the cluster: a shell must not hang.
const CLUSTER_WAIT: Duration = Duration::from_secs(5);

/// The words of the command line being completed, for the connection flags
/// (`-n`, `--context`, …) the object-name completer needs.
static LINE: OnceLock<Vec<OsString>> = OnceLock::new();

/// The environment variable through which the shell asks `flux` for
/// completions (`COMPLETE=bash flux -- <words>`).
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The script that registers `flux` with `shell`. It is small: the shell
/// asks the binary itself for candidates, so completions always match the
/// installed version.
pub fn script(shell: Shell) -> String {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Powershell => &clap_complete::env::Powershell,
    };
    let mut buf = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, "flux", "flux", "flux", &mut buf)
        .expect("writing to memory cannot fail");
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}

/// Answers a completion request from the shell, if this run is one.
/// Returns `true` when it was (and the process should exit).
pub fn answer_request<I, T>(args: I, plugins: &[crate::plugin::Plugin]) -> bool
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if std::env::var_os(COMPLETE_VAR).is_none_or(|v| v.is_empty()) {
        return false;
    }
    let _ = LINE.set(args.clone());
    let current_dir = std::env::current_dir().ok();
    let plugins = plugins.to_vec();
    clap_complete::env::CompleteEnv::with_factory(move || {
        with_plugin_completers(with_name_completers(crate::cli::command()), &plugins)
    })
    .var(COMPLETE_VAR)
    .try_complete(args, current_dir.as_deref())
    .unwrap_or_else(|e| e.exit())
}

/// Adds, to the NAME argument of every `flux <verb> [group] <kind>`, a
/// completer that lists the objects of that kind in the namespace.
fn with_name_completers(mut root: clap::Command) -> clap::Command {
    for verb in NAMING_VERBS {
        root = root.mut_subcommand(verb, |mut verb_command| {
            let words: Vec<String> = verb_command
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            for word in words {
                let group = [Group::Source, Group::Image, Group::Artifact]
                    .into_iter()
                    .find(|g| {
                        g.word() == Some(word.as_str())
                            || g.get_words().is_some_and(|(w, _)| w == word)
                    });
                verb_command = match group {
                    Some(group) => verb_command.mut_subcommand(&word, |mut group_command| {
                        let kinds: Vec<String> = group_command
                            .get_subcommands()
                            .map(|c| c.get_name().to_string())
                            .collect();
                        for kind_word in kinds {
                            if let Some(kind) = kind_named(group, &kind_word) {
                                group_command =
                                    group_command.mut_subcommand(&kind_word, |c| names_of(c, kind));
                            }
                        }
                        group_command
                    }),
                    None => match kind_named(Group::None, &word) {
                        Some(kind) => verb_command.mut_subcommand(&word, |c| names_of(c, kind)),
                        None => verb_command,
                    },
                };
            }
            verb_command
        });
    }
    root
}

/// Adds a root command for each plugin whose words are completed by the
/// plugin itself (`<plugin> __complete <args…> <current>`, cobra's
/// protocol, which plugins built with cobra answer).
fn with_plugin_completers(root: clap::Command, plugins: &[crate::plugin::Plugin]) -> clap::Command {
    let names: Vec<String> = plugins.iter().map(|p| p.name.clone()).collect();
    let mut root = crate::cli::add_plugins(root, &names);
    for plugin in plugins {
        if root.find_subcommand(&plugin.name).is_none_or(|c| {
            c.get_arguments()
                .all(|a| a.get_id() != crate::cli::PLUGIN_ARGS)
        }) {
            continue;
        }
        let path = plugin.path.clone();
        root = root.mut_subcommand(&plugin.name, |c| {
            c.mut_arg(crate::cli::PLUGIN_ARGS, |arg| {
                arg.add(ArgValueCompleter::new(move |current: &OsStr| {
                    plugin_candidates(&path, current)
                }))
            })
        });
    }
    root
}

/// How long a plugin may take to answer a completion request.
const PLUGIN_WAIT: Duration = Duration::from_secs(5);

/// What the plugin proposes for `current`, given the words before it on
/// the line; nothing when it fails, answers an error directive or takes
/// too long.
fn plugin_candidates(path: &std::path::Path, current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(words) = LINE.get() else {
        return Vec::new();
    };
    // `flux -- flux <words…> <current>`: the words between the program
    // and the word being completed.
    let mut line: Vec<OsString> = words
        .iter()
        .skip_while(|w| *w != "--")
        .skip(1)
        .cloned()
        .collect();
    line.pop();
    let names: Vec<String> = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(crate::plugin::PREFIX))
        .map(|n| vec![n.to_string()])
        .unwrap_or_default();
    let Some((_, args)) = crate::cli::plugin_call(&names, &line) else {
        return Vec::new();
    };
    let Ok(mut child) = std::process::Command::new(path)
        .arg("__complete")
        .args(args)
        .arg(current)
        .envs(crate::proxy::child_env().iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
            text
        })
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < PLUGIN_WAIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let Some(text) = status
        .filter(|s| s.success())
        .and(reader)
        .and_then(|r| r.join().ok())
    else {
        return Vec::new();
    };
    parse_plugin_candidates(&text, &current.to_string_lossy())
}

/// cobra's `__complete` answer: candidate lines (`value<TAB>help`), then
/// `:<directive>`; directive bit 1 means an error.
fn parse_plugin_candidates(text: &str, current: &str) -> Vec<CompletionCandidate> {
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let directive = lines
        .last()
        .and_then(|l| l.strip_prefix(':'))
        .and_then(|d| d.trim().parse::<u32>().ok());
    let Some(directive) = directive else {
        return Vec::new();
    };
    lines.pop();
    if directive & 1 != 0 {
        return Vec::new();
    }
    lines
        .into_iter()
        .filter(|l| l.starts_with(current))
        .map(|l| match l.split_once('\t') {
            Some((value, help)) => {
                CompletionCandidate::new(value).help(Some(help.to_string().into()))
            }
            None => CompletionCandidate::new(l),
        })
        .collect()
}

fn kind_named(group: Group, word: &str) -> Option<&'static KindSpec> {
    KINDS
        .iter()
        .find(|k| k.cli_group == group && (k.word == word || k.get_word == word))
}

fn names_of(command: clap::Command, kind: &'static KindSpec) -> clap::Command {
    if command.get_arguments().all(|a| a.get_id() != "names") {
        return command;
    }
    command.mut_arg("names", |arg| {
        arg.add(ArgValueCompleter::new(move |current: &OsStr| {
            object_names(kind, current)
        }))
    })
}

/// Names of `kind`'s objects starting with `current`, in the namespace and
/// cluster the line's flags select; nothing when the cluster cannot answer
/// in time (a completion must never fail the shell).
fn object_names(kind: &'static KindSpec, current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    let Some(global) = line_options() else {
        return Vec::new();
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let namespace = global.namespace.clone();
    let factory = crate::cluster::ClientFactory::new(global.connection);
    let names = runtime.block_on(async {
        tokio::time::timeout(CLUSTER_WAIT, async {
            let client = factory.client().await.ok()?;
            let api = objects::api(client, kind, Some(&namespace));
            objects::list_names(kind, &api, &namespace, &ListParams::default())
                .await
                .ok()
        })
        .await
        .ok()
        .flatten()
    });
    names
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The connection options of the line being completed: its words up to
/// the program's own, parsed as `flux version` would take the global flags.
fn line_options() -> Option<GlobalOptions> {
    let words = LINE.get()?;
    // The shell passes `flux -- flux <words…>`: the line starts after `--`.
    let line = words.iter().skip_while(|w| *w != "--").skip(2);
    let mut kept = vec![OsString::from("flux"), "version".into()];
    let mut line = line.peekable();
    while let Some(word) = line.next() {
        let text = word.to_string_lossy();
        let takes_value = [
            "-n",
            "--namespace",
            "--kubeconfig",
            "--context",
            "--cluster",
            "--user",
            "--server",
            "--token",
        ]
        .contains(&text.as_ref());
        let with_value = [
            "--namespace=",
            "--kubeconfig=",
            "--context=",
            "--cluster=",
            "--user=",
            "--server=",
            "--token=",
        ]
        .iter()
        .any(|p| text.starts_with(p))
            || (text.starts_with("-n") && text.len() > 2);
        if takes_value {
            if let Some(value) = line.next() {
                kept.push(word.clone());
                kept.push(value.clone());
            }
        } else if with_value {
            kept.push(word.clone());
        }
    }
    let cli = crate::cli::parse(kept).ok()?;
    let env_lookup = |key: &str| std::env::var(key).ok();
    let (printer, _) = Printer::capture();
    GlobalOptions::resolve(&cli.global, &env_lookup, &printer).ok()
}

/// Without a shell, the command's help, as upstream prints it (exit 0).
pub async fn run(ctx: &Ctx, args: &CompletionArgs) -> anyhow::Result<ExitStatus> {
    let text = match args.shell {
        Some(shell) => script(shell),
        None => crate::cli::help_of(&["completion"]),
    };
    ctx.printer
        .out(&text)
        .context("unable to write the completion script")?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_answers_are_read_as_cobra_writes_them() {
        let values = |text: &str, current: &str| -> Vec<String> {
            parse_plugin_candidates(text, current)
                .iter()
                .map(|c| c.get_value().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(values("get\tGet things\ngo\n:4\n", ""), ["get", "go"]);
        assert_eq!(values("get\ngo\n:4\n", "ge"), ["get"]);
        assert!(values("get\n:1\n", "").is_empty(), "error directive");
        assert!(values("get\n", "").is_empty(), "no directive line");
    }

    #[test]
    fn every_shell_gets_a_script_that_calls_back_into_flux() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let script = script(shell);
            assert!(script.contains("flux"), "{shell:?}");
            assert!(
                script.contains(COMPLETE_VAR),
                "{shell:?} does not call back"
            );
        }
    }
}
