//! Kind-addressed subcommands (`flux get sources git`, `flux suspend ks`, …)
//! built from the kind registry, so every verb gets every kind it supports
//! without one clap type per kind.

use std::marker::PhantomData;

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

use crate::kinds::{Group, KINDS, KindSpec};

/// A verb that addresses Flux kinds.
pub trait Verb {
    /// Flags and positionals the verb takes after the kind words.
    type Args: Args + FromArgMatches;
    /// Whether the verb applies to `kind`.
    fn accepts(kind: &KindSpec) -> bool;
    /// Help line of `flux <verb> <kind>`.
    fn about(kind: &KindSpec) -> String;
    /// Capitalised verb for help lines (`Reconcile`).
    const TITLE: &'static str;
    /// `get` uses plural words (`kustomizations`) and has `all` subcommands.
    const LISTS: bool = false;
    /// Flags of [`Verb::Args`] that mean nothing for `kind`: hidden from its
    /// help (the command refuses them), as upstream defines them per kind.
    fn inapplicable_flags(_kind: &KindSpec) -> &'static [&'static str] {
        &[]
    }
    /// Example lines for `flux <verb> <words>`: pairs of what it does and
    /// the command line after `flux <verb> <words>`.
    fn examples(kind: &KindSpec) -> Vec<(String, String)>;
}

/// What the kind words selected.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Kind(&'static KindSpec),
    /// `all` at the top (`Group::None`) or under a group word.
    All(Group),
}

/// `flux <verb> [group] <kind> ARGS…`, parsed against the registry.
pub struct KindCommand<V: Verb> {
    pub target: Target,
    pub args: V::Args,
    verb: PhantomData<V>,
}

impl<V: Verb> std::fmt::Debug for KindCommand<V>
where
    V::Args: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindCommand")
            .field("target", &self.target)
            .field("args", &self.args)
            .finish()
    }
}

fn kind_words<V: Verb>(kind: &KindSpec) -> (&'static str, &'static [&'static str]) {
    if V::LISTS {
        (kind.get_word, kind.get_aliases)
    } else {
        (kind.word, kind.aliases)
    }
}

fn group_words<V: Verb>(group: Group) -> Option<(&'static str, &'static [&'static str])> {
    if V::LISTS {
        group.get_words()
    } else {
        group.word().map(|w| (w, &[][..]))
    }
}

const GROUPS: [Group; 3] = [Group::Source, Group::Image, Group::Artifact];

/// The verb's flags on a subcommand whose help line is `about`. The Args
/// struct's own doc comment describes the struct, not the command, so it is
/// replaced.
fn with_args<V: Verb>(command: Command, about: String) -> Command {
    V::Args::augment_args(command).about(about).long_about(None)
}

/// `all` of `flux get [group]`; `words` addresses it (`get sources all`).
fn all_command<V: Verb>(about: &'static str, words: &str) -> Command {
    let examples = format!(
        "Examples:\n  # {about}, in the flux-system namespace\n  flux {words}\n\n  # The same across every namespace\n  flux {words} --all-namespaces"
    );
    with_args::<V>(Command::new("all").after_help(examples), about.to_string())
}

/// The words after `flux` that address `kind` with this verb.
fn command_words<V: Verb>(kind: &KindSpec) -> String {
    let mut words = vec![V::TITLE.to_lowercase()];
    if let Some((group, _)) = group_words::<V>(kind.cli_group) {
        words.push(group.to_string());
    }
    words.push(kind_words::<V>(kind).0.to_string());
    words.join(" ")
}

fn examples_text<V: Verb>(kind: &KindSpec) -> String {
    let line = command_words::<V>(kind);
    let examples: Vec<String> = V::examples(kind)
        .into_iter()
        .map(|(what, args)| format!("  # {what}\n  flux {line}{args}"))
        .collect();
    format!("Examples:\n{}", examples.join("\n\n"))
}

fn kind_command<V: Verb>(kind: &'static KindSpec) -> Command {
    let (word, aliases) = kind_words::<V>(kind);
    let mut command = with_args::<V>(
        Command::new(word)
            .visible_aliases(aliases.iter().copied())
            .after_help(examples_text::<V>(kind)),
        V::about(kind),
    );
    for flag in V::inapplicable_flags(kind) {
        command = command.mut_arg(*flag, |arg| arg.hide(true));
    }
    command
}

impl<V: Verb> FromArgMatches for KindCommand<V> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let missing = || clap::Error::new(clap::error::ErrorKind::MissingSubcommand);
        let (word, sub) = matches.subcommand().ok_or_else(missing)?;
        let (target, args_matches) = if V::LISTS && word == "all" {
            (Target::All(Group::None), sub)
        } else if let Some(group) = GROUPS
            .into_iter()
            .find(|g| group_words::<V>(*g).is_some_and(|(w, _)| w == word))
        {
            let (kind_word, kind_sub) = sub.subcommand().ok_or_else(missing)?;
            if V::LISTS && kind_word == "all" {
                (Target::All(group), kind_sub)
            } else {
                let kind = KINDS
                    .iter()
                    .find(|k| k.cli_group == group && kind_words::<V>(k).0 == kind_word)
                    .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))?;
                (Target::Kind(kind), kind_sub)
            }
        } else {
            let kind = KINDS
                .iter()
                .find(|k| {
                    k.cli_group == Group::None && V::accepts(k) && kind_words::<V>(k).0 == word
                })
                .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))?;
            (Target::Kind(kind), sub)
        };
        Ok(Self {
            target,
            args: V::Args::from_arg_matches(args_matches)?,
            verb: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<V: Verb> Subcommand for KindCommand<V> {
    fn augment_subcommands(mut cmd: Command) -> Command {
        if V::LISTS {
            let words = format!("{} all", V::TITLE.to_lowercase());
            cmd = cmd.subcommand(all_command::<V>("All Flux objects of every kind", &words));
        }
        for group in GROUPS {
            let kinds: Vec<_> = KINDS
                .iter()
                .filter(|k| k.cli_group == group && V::accepts(k))
                .collect();
            let Some((word, aliases)) = group_words::<V>(group).filter(|_| !kinds.is_empty())
            else {
                continue;
            };
            let mut group_cmd = Command::new(word)
                .visible_aliases(aliases.iter().copied())
                .about(group_about::<V>(word))
                .subcommand_required(true)
                .arg_required_else_help(true);
            if V::LISTS {
                let words = format!("{} {word} all", V::TITLE.to_lowercase());
                group_cmd = group_cmd.subcommand(all_command::<V>(
                    "Objects of every kind in this group",
                    &words,
                ));
            }
            for kind in kinds {
                group_cmd = group_cmd.subcommand(kind_command::<V>(kind));
            }
            cmd = cmd.subcommand(group_cmd);
        }
        for kind in KINDS
            .iter()
            .filter(|k| k.cli_group == Group::None && V::accepts(k))
        {
            cmd = cmd.subcommand(kind_command::<V>(kind));
        }
        cmd.subcommand_required(true).arg_required_else_help(true)
    }

    fn augment_subcommands_for_update(cmd: Command) -> Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        (V::LISTS && name == "all")
            || GROUPS
                .into_iter()
                .any(|g| group_words::<V>(g).is_some_and(|(w, a)| w == name || a.contains(&name)))
            || KINDS.iter().any(|k| {
                let (word, aliases) = kind_words::<V>(k);
                k.cli_group == Group::None
                    && V::accepts(k)
                    && (word == name || aliases.contains(&name))
            })
    }
}

fn group_about<V: Verb>(word: &str) -> String {
    if V::LISTS {
        format!("{} {word}", V::TITLE)
    } else {
        format!("{} {word} objects", V::TITLE)
    }
}
