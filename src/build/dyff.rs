//! The difference report `flux diff kustomization` prints under a drifted
//! object: dyff's "human" report of the live object against the dry-run
//! result, header omitted, colours off.
//!
//! Covered: scalar changes, type changes, map entries added and removed
//! (side by side when both fit in 80 columns), lists matched by their
//! entries' `name`/`key`/`id`/`manager`, other lists by content.

use serde_json::Value;

/// dyff's terminal width when stdout is not a terminal.
const WIDTH: usize = 80;

enum Detail {
    MapAdded(serde_json::Map<String, Value>),
    MapRemoved(serde_json::Map<String, Value>),
    ListAdded(Vec<Value>),
    ListRemoved(Vec<Value>),
    Change(Value, Value),
}

struct Difference {
    path: Vec<String>,
    details: Vec<Detail>,
}

/// The report: a blank line, each difference (path, details) introduced
/// by a blank line, and a final blank line.
pub fn report(live: &Value, merged: &Value) -> String {
    let mut diffs = Vec::new();
    compare(&mut Vec::new(), live, merged, &mut diffs);
    let mut out = String::new();
    for diff in &diffs {
        out.push('\n');
        if diff.path.is_empty() {
            out.push_str("(root level)\n");
        } else {
            out.push_str(&diff.path.join("."));
            out.push('\n');
        }
        out.push_str(&layout(
            &diff.details.iter().map(render).collect::<Vec<_>>(),
        ));
    }
    out.push('\n');
    out
}

fn compare(path: &mut Vec<String>, from: &Value, to: &Value, out: &mut Vec<Difference>) {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let removed: serde_json::Map<_, _> = a
                .iter()
                .filter(|(k, _)| !b.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let added: serde_json::Map<_, _> = b
                .iter()
                .filter(|(k, _)| !a.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut details = Vec::new();
            if !removed.is_empty() {
                details.push(Detail::MapRemoved(removed));
            }
            if !added.is_empty() {
                details.push(Detail::MapAdded(added));
            }
            if !details.is_empty() {
                out.push(Difference {
                    path: path.clone(),
                    details,
                });
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    path.push(k.clone());
                    compare(path, v, w, out);
                    path.pop();
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => compare_lists(path, a, b, out),
        (Value::Null, _) | (_, Value::Null) if from.is_null() && to.is_null() => {}
        _ if from == to => {}
        _ => out.push(Difference {
            path: path.clone(),
            details: vec![Detail::Change(from.clone(), to.clone())],
        }),
    }
}

/// The field whose values tell a list's entries apart, if every entry of
/// both lists is a map with a unique string value there.
fn identifier(a: &[Value], b: &[Value]) -> Option<&'static str> {
    ["name", "key", "id", "manager"].into_iter().find(|field| {
        [a, b].iter().all(|list| {
            let ids: Vec<&str> = list
                .iter()
                .filter_map(|e| e.get(*field).and_then(Value::as_str))
                .collect();
            ids.len() == list.len()
                && ids.iter().collect::<std::collections::HashSet<_>>().len() == ids.len()
        })
    })
}

fn compare_lists(path: &mut Vec<String>, a: &[Value], b: &[Value], out: &mut Vec<Difference>) {
    if let Some(field) = identifier(a, b).filter(|_| !a.is_empty() || !b.is_empty()) {
        let id = |e: &Value| {
            e.get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let removed: Vec<Value> = a
            .iter()
            .filter(|e| !b.iter().any(|f| id(f) == id(e)))
            .cloned()
            .collect();
        let added: Vec<Value> = b
            .iter()
            .filter(|e| !a.iter().any(|f| id(f) == id(e)))
            .cloned()
            .collect();
        push_list_changes(path, removed, added, out);
        for e in a {
            if let Some(f) = b.iter().find(|f| id(f) == id(e)) {
                path.push(id(e));
                compare(path, e, f, out);
                path.pop();
            }
        }
        return;
    }
    if a.len() == 1 && b.len() == 1 {
        path.push("0".into());
        compare(path, &a[0], &b[0], out);
        path.pop();
        return;
    }
    let removed: Vec<Value> = a.iter().filter(|e| !b.contains(e)).cloned().collect();
    let added: Vec<Value> = b.iter().filter(|e| !a.contains(e)).cloned().collect();
    push_list_changes(path, removed, added, out);
}

fn push_list_changes(
    path: &[String],
    removed: Vec<Value>,
    added: Vec<Value>,
    out: &mut Vec<Difference>,
) {
    let mut details = Vec::new();
    if !removed.is_empty() {
        details.push(Detail::ListRemoved(removed));
    }
    if !added.is_empty() {
        details.push(Detail::ListAdded(added));
    }
    if !details.is_empty() {
        out.push(Difference {
            path: path.to_vec(),
            details,
        });
    }
}

/// dyff's number words.
fn count(n: usize, singular: &str, plural: &str) -> String {
    const WORDS: [&str; 13] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    let number = WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| w.to_string());
    format!("{number} {}", if n == 1 { singular } else { plural })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// One detail as lines.
fn render(detail: &Detail) -> Vec<String> {
    match detail {
        Detail::MapAdded(map) => {
            let mut lines = vec![format!(
                "+ {} added:",
                count(map.len(), "map entry", "map entries")
            )];
            lines.extend(neat_map(map, 2));
            lines
        }
        Detail::MapRemoved(map) => {
            let mut lines = vec![format!(
                "- {} removed:",
                count(map.len(), "map entry", "map entries")
            )];
            lines.extend(neat_map(map, 0));
            lines
        }
        Detail::ListAdded(items) => {
            let mut lines = vec![format!(
                "+ {} added:",
                count(items.len(), "list entry", "list entries")
            )];
            lines.extend(neat_list(items, 2));
            lines
        }
        Detail::ListRemoved(items) => {
            let mut lines = vec![format!(
                "- {} removed:",
                count(items.len(), "list entry", "list entries")
            )];
            lines.extend(neat_list(items, 0));
            lines
        }
        Detail::Change(from, to) if type_name(from) != type_name(to) => vec![
            format!(
                "± type change from {} to {}",
                type_name(from),
                type_name(to)
            ),
            format!("- {}", plain(from)),
            format!("+ {}", plain(to)),
        ],
        Detail::Change(Value::String(a), Value::String(b))
            if a.contains('\n') || b.contains('\n') =>
        {
            multiline_change(a, b)
        }
        Detail::Change(Value::String(a), Value::String(b)) if a.trim() == b.trim() => vec![
            "± whitespace only change".into(),
            format!("- {}", a.replace(' ', "·")),
            format!("+ {}", b.replace(' ', "·")),
        ],
        // Changed values are printed as they are, strings unquoted.
        Detail::Change(from, to) => vec![
            "± value change".into(),
            format!("- {}", plain(from)),
            format!("+ {}", plain(to)),
        ],
    }
}

fn multiline_change(a: &str, b: &str) -> Vec<String> {
    let old: Vec<&str> = a.lines().collect();
    let new: Vec<&str> = b.lines().collect();
    let deleted: Vec<&str> = old.iter().filter(|l| !new.contains(l)).copied().collect();
    let inserted: Vec<&str> = new.iter().filter(|l| !old.contains(l)).copied().collect();
    let mut lines = vec![format!(
        "± value change in multiline text ({} insert{}, {} deletion{})",
        inserted.len(),
        if inserted.len() == 1 { "" } else { "s" },
        deleted.len(),
        if deleted.len() == 1 { "" } else { "s" },
    )];
    lines.extend(deleted.iter().map(|l| format!("- {l}")));
    lines.extend(inserted.iter().map(|l| format!("+ {l}")));
    lines.push(String::new());
    lines
}

/// A scalar as neat prints it: plain, or Go-quoted when YAML would read
/// it otherwise.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let special = matches!(s.as_str(), "true" | "false" | "null")
                || s.starts_with('-')
                || s.contains([' ', '*', '&', ':', ',']);
            if special { format!("{s:?}") } else { s.clone() }
        }
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => inline(other),
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(_) | Value::Array(_) => serde_json::to_string(v).unwrap_or_default(),
        other => scalar(other),
    }
}

/// Keys as neat orders them: `name` first, then by nesting depth
/// (scalars before maps and lists), otherwise as given.
fn ordered(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    fn depth(v: &Value) -> usize {
        match v {
            Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(k, v)| (k.as_str() != "name", depth(v)));
    entries
}

fn neat_map(map: &serde_json::Map<String, Value>, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    for (k, v) in ordered(map) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                lines.push(format!("{pad}{k}:"));
                lines.extend(neat_map(m, indent + 2));
            }
            Value::Array(a) if !a.is_empty() => {
                lines.push(format!("{pad}{k}:"));
                lines.extend(neat_list(a, indent));
            }
            Value::String(s) if s.contains('\n') => {
                lines.push(format!("{pad}{k}: |"));
                lines.extend(s.lines().map(|l| format!("{pad}  {l}")));
            }
            other => lines.push(format!("{pad}{k}: {}", inline(other))),
        }
    }
    lines
}

fn neat_list(items: &[Value], indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    for item in items {
        match item {
            Value::Object(m) if !m.is_empty() => {
                let nested = neat_map(m, indent + 2);
                for (i, line) in nested.into_iter().enumerate() {
                    if i == 0 {
                        lines.push(format!("{pad}- {}", &line[indent + 2..]));
                    } else {
                        lines.push(line);
                    }
                }
            }
            other => lines.push(format!("{pad}- {}", inline(other))),
        }
    }
    lines
}

/// Detail blocks side by side when they fit, each padded to its widest
/// line and joined by three spaces; else one after the other.
fn layout(blocks: &[Vec<String>]) -> String {
    let widths: Vec<usize> = blocks
        .iter()
        .map(|b| b.iter().map(|l| l.chars().count()).max().unwrap_or(0))
        .collect();
    let total = widths.iter().sum::<usize>() + 3 * blocks.len().saturating_sub(1);
    let mut out = String::new();
    if total > WIDTH {
        for block in blocks {
            for line in block {
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
        return out;
    }
    let rows = blocks.iter().map(Vec::len).max().unwrap_or(0);
    for row in 0..rows {
        let mut line = String::new();
        for (i, block) in blocks.iter().enumerate() {
            let cell = block.get(row).map(String::as_str).unwrap_or_default();
            if i > 0 {
                line.push_str("   ");
            }
            line.push_str(cell);
            line.push_str(&" ".repeat(widths[i] - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_list_entries_are_addressed_by_name() {
        let live = json!({"spec": {"ports": [{"name": "http", "port": 9899}, {"name": "grpc", "port": 9999}]}});
        let merged = json!({"spec": {"ports": [{"name": "http", "port": 9898}, {"name": "grpc", "port": 9999}]}});
        assert_eq!(
            report(&live, &merged),
            "\nspec.ports.http.port\n± value change\n- 9899\n+ 9898\n\n"
        );
    }

    #[test]
    fn added_and_removed_entries_sit_side_by_side() {
        let live = json!({"data": {"drift-key": "*****"}});
        let merged = json!({"data": {"token": "*****"}});
        assert_eq!(
            report(&live, &merged),
            "\ndata\n- one map entry removed:   + one map entry added:\ndrift-key: \"*****\"           token: \"*****\"\n\n"
        );
    }

    #[test]
    fn an_added_map_is_indented_and_empty_strings_trimmed() {
        let live = json!({"metadata": {"name": "x"}});
        let merged = json!({"metadata": {"name": "x", "labels": {"a": "configmaps", "b": ""}}});
        assert_eq!(
            report(&live, &merged),
            "\nmetadata\n+ one map entry added:\n  labels:\n    a: configmaps\n    b:\n\n"
        );
    }

    #[test]
    fn several_differences_are_separated_by_blank_lines() {
        let live = json!({"a": 1, "b": "x"});
        let merged = json!({"a": 2, "b": true});
        assert_eq!(
            report(&live, &merged),
            "\na\n± value change\n- 1\n+ 2\n\nb\n± type change from string to bool\n- x\n+ true\n\n"
        );
    }
}
