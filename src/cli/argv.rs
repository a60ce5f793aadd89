//! Cobra finds the command path first and then parses every flag against the
//! leaf command, so `flux delete -s ks foo` and `flux bootstrap --owner=x
//! github` work upstream. clap only accepts a subcommand's flags after its
//! name; moving the command-path words to the front before clap parses gives
//! scripts upstream's freedom without a parser of our own.

use std::ffi::OsString;

/// Returns `args` with the words naming subcommands moved right after the
/// program name, everything else in its original order, and how many words
/// that command path has.
///
/// A flag's value is skipped when the flag takes one (looked up on the
/// current command, whose ancestors' global flags are propagated to it,
/// then on its descendants); the first word that is not a subcommand of the
/// current command ends the path, as does `--`.
///
/// The commands on the path are built in `root` on the way down (clap
/// defines a command's flags when it builds it), and a subtree only when a
/// flag has to be looked up there: the parse that follows reuses them.
pub fn command_path_first(root: &mut clap::Command, args: Vec<OsString>) -> (Vec<OsString>, usize) {
    let mut args = args.into_iter();
    let Some(program) = args.next() else {
        return (Vec::new(), 0);
    };
    let rest: Vec<OsString> = args.collect();
    let mut path = vec![program];
    let mut others = Vec::with_capacity(rest.len());
    let mut command = root;
    build_one(command);
    let mut index = 0;
    while index < rest.len() {
        let word = &rest[index];
        let Some(text) = word.to_str() else {
            others.extend_from_slice(&rest[index..]);
            break;
        };
        if text == "--" {
            others.extend_from_slice(&rest[index..]);
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            others.push(word.clone());
            if !long.contains('=') && long_takes_value(command, long) {
                index += 1;
                others.extend(rest.get(index).cloned());
            }
        } else if let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            others.push(word.clone());
            if short_cluster_needs_next(command, shorts) {
                index += 1;
                others.extend(rest.get(index).cloned());
            }
        } else if let Some(name) = subcommand_name(command, text) {
            path.push(word.clone());
            command = enter(command, &name);
        } else {
            others.extend_from_slice(&rest[index..]);
            break;
        }
        index += 1;
    }
    let words = path.len() - 1;
    path.extend(others);
    (path, words)
}

/// Builds `command` alone (its parent already is): defines its flags and
/// gives it its ancestors' global ones. Rendering the usage line is clap's
/// public way to build one command without its subtree.
pub(super) fn build_one(command: &mut clap::Command) {
    let _ = command.render_usage();
}

/// The subcommand `name` (as [`subcommand_name`] found it), built.
pub(super) fn enter<'a>(command: &'a mut clap::Command, name: &str) -> &'a mut clap::Command {
    let sub = command
        .find_subcommand_mut(name)
        .expect("the subcommand was just found");
    build_one(sub);
    sub
}

pub(super) fn subcommand_name(command: &clap::Command, word: &str) -> Option<String> {
    command
        .get_subcommands()
        .find(|sub| sub.get_name() == word || sub.get_all_aliases().any(|alias| alias == word))
        .map(|sub| sub.get_name().to_string())
}

/// The flag's definition on `command`, else on the nearest descendant that
/// has one (breadth first, so a group's own flags win over a leaf's).
fn find_arg<'a>(
    command: &'a mut clap::Command,
    matches: &dyn Fn(&clap::Arg) -> bool,
) -> Option<&'a clap::Arg> {
    if !command.get_arguments().any(matches) {
        // Only here is the subtree needed (`flux bootstrap --owner=x
        // github`); the command itself is built, so this builds top-down.
        command.build();
    }
    let mut level = vec![&*command];
    while !level.is_empty() {
        if let Some(arg) = level
            .iter()
            .flat_map(|c| c.get_arguments())
            .find(|a| matches(a))
        {
            return Some(arg);
        }
        level = level.iter().flat_map(|c| c.get_subcommands()).collect();
    }
    None
}

/// Whether the flag reads the next word as its value. Go-style booleans
/// (`--prune`, `--prune=false`) and unknown flags do not.
fn takes_separate_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values()
        && !arg.is_require_equals_set()
        && arg
            .get_num_args()
            .is_none_or(|range| range.min_values() > 0)
}

fn long_takes_value(command: &mut clap::Command, name: &str) -> bool {
    find_arg(command, &|a| {
        a.get_long() == Some(name)
            || a.get_all_aliases()
                .is_some_and(|aliases| aliases.contains(&name))
    })
    .is_some_and(takes_separate_value)
}

/// `-abc`: each letter is a flag until one takes a value, which is the rest
/// of the word or, when nothing follows, the next word.
fn short_cluster_needs_next(command: &mut clap::Command, shorts: &str) -> bool {
    let mut letters = shorts.chars();
    while let Some(letter) = letters.next() {
        if letter == '=' {
            return false;
        }
        let takes =
            find_arg(command, &|a| a.get_short() == Some(letter)).is_some_and(takes_separate_value);
        if takes {
            return letters.as_str().is_empty();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(line: &str) -> String {
        let args = std::iter::once("flux")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect();
        // As a parse does it: nothing built beforehand.
        let mut root = <crate::cli::Cli as clap::CommandFactory>::command();
        let (out, _) = command_path_first(&mut root, args);
        out[1..]
            .iter()
            .map(|a| a.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn command_words_move_in_front_of_flags() {
        assert_eq!(moved("delete -s ks foo"), "delete ks -s foo");
        assert_eq!(moved("export --all source git"), "export source git --all");
        assert_eq!(moved("resume --wait ks x"), "resume ks --wait x");
        assert_eq!(
            moved("create --interval=2m source git x"),
            "create source git --interval=2m x"
        );
        assert_eq!(
            moved("bootstrap --owner=x github"),
            "bootstrap github --owner=x"
        );
    }

    #[test]
    fn flag_values_are_not_taken_for_command_words() {
        // -n takes a value, so "get" after it is the namespace's value only
        // when it directly follows.
        assert_eq!(moved("-n apps get ks"), "get ks -n apps");
        assert_eq!(moved("-napps get ks"), "get ks -napps");
        assert_eq!(moved("--namespace get get ks"), "get ks --namespace get");
        // An ancestor's global flag after a group's name takes its value too.
        assert_eq!(moved("get -n apps ks x"), "get ks -n apps x");
        assert_eq!(
            moved("create source --label a=b git x"),
            "create source git --label a=b x"
        );
        // Go-style booleans never read the next word.
        assert_eq!(moved("get --watch ks"), "get ks --watch");
        // The root's -v prints the version; bootstrap's -v takes one.
        assert_eq!(moved("bootstrap -v v2.9.4 git"), "bootstrap git -v v2.9.4");
    }

    #[test]
    fn the_path_ends_at_the_first_other_word_or_double_dash() {
        assert_eq!(moved("get ks get"), "get ks get");
        assert_eq!(moved("-- get ks"), "-- get ks");
        assert_eq!(moved("nosuch get"), "nosuch get");
        assert_eq!(moved("--foo get ks"), "get ks --foo");
    }
}
