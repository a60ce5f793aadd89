//! Every upstream flag of the commands flux-rs implements, read from the
//! flag tables of ../shared/spec/cli-surface.md, is accepted by the parser
//! after the subcommand words and before them (as cobra accepts a command's
//! flags anywhere on the line).

use std::collections::BTreeSet;

use clap::error::ErrorKind;

use crate::common::shared_dir;

/// One row of a flag table: the command paths of its section and the flag.
struct Row {
    paths: Vec<Vec<String>>,
    long: String,
}

/// The command paths a section header names: its first `…` group and any
/// further `flux …` group; a header naming a flag (`--watch`) or nothing
/// keeps the paths of the section before it.
fn header_paths(header: &str) -> Option<Vec<Vec<String>>> {
    let groups: Vec<&str> = header.split('`').skip(1).step_by(2).collect();
    let paths: Vec<Vec<String>> = groups
        .iter()
        .enumerate()
        .filter(|(i, g)| *i == 0 || g.starts_with("flux "))
        .filter(|(_, g)| !g.starts_with('-'))
        .map(|(_, g)| {
            g.split_whitespace()
                .filter(|w| *w != "flux")
                .take_while(|w| !w.starts_with('<') && *w != "…")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect();
    (!paths.is_empty()).then_some(paths)
}

fn rows(spec: &str) -> Vec<Row> {
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    let mut rows = Vec::new();
    for line in spec.lines() {
        if line.starts_with("## ") || line.starts_with("### ") {
            if line.starts_with("## ") {
                paths = vec![Vec::new()];
            }
            if let Some(named) = header_paths(line) {
                paths = named;
            }
            continue;
        }
        if !line.starts_with("| `-") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(long) = cells[1]
            .split('`')
            .find(|w| w.starts_with("--"))
            .map(|w| w.split(['=', ' ']).next().unwrap_or(w).to_string())
        else {
            continue;
        };
        rows.push(Row {
            paths: paths.clone(),
            long,
        });
    }
    rows
}

/// The leaf commands under `path` (or `path` itself when it is one).
fn leaves(command: &clap::Command, path: &[String]) -> Vec<Vec<String>> {
    let mut at = command;
    for word in path {
        match at.find_subcommand(word) {
            Some(sub) => at = sub,
            None => return Vec::new(),
        }
    }
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push(path);
            return;
        }
        for sub in subs {
            let mut next = path.clone();
            next.push(sub.get_name().to_string());
            walk(sub, next, out);
        }
    }
    let mut out = Vec::new();
    walk(at, path.to_vec(), &mut out);
    out
}

/// Whether the parser knows the flag on this line; other refusals (a
/// missing name, a value the command checks) are not the parser's.
fn known(line: &[String]) -> bool {
    match flux_rs::cli::parse(std::iter::once("flux".to_string()).chain(line.iter().cloned())) {
        Ok(_) => true,
        Err(err) => !matches!(
            err.kind(),
            ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand
        ),
    }
}

fn find<'a>(command: &'a clap::Command, path: &[String]) -> &'a clap::Command {
    path.iter().fold(command, |at, word| {
        at.find_subcommand(word)
            .expect("leaves() returns existing paths")
    })
}

/// The words that give the flag on `leaf`: a Go-style boolean stands
/// alone, any other flag gets a value ("x" may be refused by the value's
/// parser, which [`known`] tolerates: only an unknown flag counts).
fn flag_words(leaf: &clap::Command, long: &str) -> Vec<String> {
    let name = long.trim_start_matches("--");
    let boolean = leaf
        .get_arguments()
        .find(|a| a.get_long() == Some(name))
        .is_some_and(|a| {
            !a.get_action().takes_values()
                || (a.is_require_equals_set()
                    && a.get_num_args().is_some_and(|r| r.min_values() == 0))
        });
    if boolean {
        vec![long.to_string()]
    } else {
        vec![long.to_string(), "x".to_string()]
    }
}

/// A name for leaves that take one.
fn name_for(leaf: &clap::Command) -> Option<String> {
    leaf.get_positionals().next().map(|_| "name".to_string())
}

/// Upstream flags flux-rs does not accept yet, and why.
const PENDING: &[(&str, &str)] = &[];

#[test]
fn every_upstream_flag_is_accepted_before_and_after_the_subcommand_words() {
    let spec = std::fs::read_to_string(shared_dir().join("spec/cli-surface.md"))
        .expect("../shared/spec/cli-surface.md is readable");
    let rows = rows(&spec);
    let mut command = flux_rs::cli::command();
    command.build();
    let mut refused = BTreeSet::new();
    let mut checked = 0;
    for row in &rows {
        let candidates: Vec<Vec<String>> =
            row.paths.iter().flat_map(|p| leaves(&command, p)).collect();
        if row.paths.iter().all(|p| p.is_empty()) {
            // Root flags: valid after any command; try one.
            let leaf = vec!["version".to_string()];
            let line = [leaf.clone(), flag_words(find(&command, &leaf), &row.long)].concat();
            if !known(&line) {
                refused.insert(format!("flux version {}", row.long));
            }
            checked += 1;
            continue;
        }
        let after = candidates.iter().find_map(|leaf| {
            let at = find(&command, leaf);
            let words = flag_words(at, &row.long);
            let mut line: Vec<String> = leaf.to_vec();
            line.extend(words.clone());
            line.extend(name_for(at));
            known(&line).then(|| (leaf, words, name_for(at)))
        });
        let Some((leaf, words, name)) = after else {
            refused.insert(format!("{} {}", row.paths[0].join(" "), row.long));
            continue;
        };
        let mut before = vec![leaf[0].clone()];
        before.extend(words);
        before.extend(leaf[1..].iter().cloned());
        before.extend(name);
        if !known(&before) {
            refused.insert(format!(
                "{} (before the subcommand words)",
                before.join(" ")
            ));
        }
        checked += 1;
    }
    println!(
        "parity: {checked} of {} upstream flag rows accepted in every position",
        rows.len()
    );
    assert!(
        rows.len() > 150,
        "only {} flag rows read from the spec",
        rows.len()
    );
    // Not yet accepted, each for a stated reason; the set must match exactly,
    // so an entry goes as soon as its flag works.
    let pending: BTreeSet<String> = PENDING.iter().map(|(flag, _)| flag.to_string()).collect();
    for (flag, why) in PENDING {
        println!("pending: {flag}: {why}");
    }
    assert_eq!(
        refused, pending,
        "refused flags differ from the pending list"
    );
}

#[test]
fn the_spec_reader_finds_paths_and_flags() {
    assert_eq!(
        header_paths("### 7.6 `create kustomization <name>` (alias `ks`)"),
        Some(vec![vec![
            "create".to_string(),
            "kustomization".to_string()
        ]])
    );
    assert_eq!(
        header_paths("## 10. `flux suspend …` and `flux resume …`"),
        Some(vec![
            vec!["suspend".to_string()],
            vec!["resume".to_string()]
        ])
    );
    assert_eq!(header_paths("### 8.5 `--watch`"), None);
    let rows = rows("## 13. `flux delete …`\n| `-s`, `--silent` | bool | false | x |\n");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].long, "--silent");
    assert_eq!(rows[0].paths, vec![vec!["delete".to_string()]]);
}
