//! `replacements`: copy a field of one resource into fields of others.

use crate::error::{Error, Result};
use crate::kustomization::{Target, parse_target};
use crate::patch::target_matches_any_id;
use crate::resource::{Resource, ResourceList};
use crate::target::{Loader, parse_yaml};
use crate::yaml::{Map, Value};
use std::path::Path;

#[derive(Debug, Clone, Default)]
struct FieldOptions {
    delimiter: Option<String>,
    index: i64,
    create: bool,
}

#[derive(Debug, Clone)]
struct TargetSpec {
    select: Target,
    reject: Vec<Target>,
    field_paths: Vec<String>,
    options: FieldOptions,
}

#[derive(Debug, Clone)]
struct Replacement {
    source: Target,
    source_path: String,
    source_options: FieldOptions,
    targets: Vec<TargetSpec>,
}

fn bad(file: &Path, message: impl Into<String>) -> Error {
    Error::Kustomization {
        path: file.to_path_buf(),
        message: message.into(),
    }
}

fn parse_options(file: &Path, v: Option<&Value>) -> Result<FieldOptions> {
    let Some(m) = v.and_then(Value::as_map) else {
        return Ok(FieldOptions::default());
    };
    for k in m.keys() {
        if !["delimiter", "index", "create"].contains(&k.as_str()) {
            return Err(bad(file, format!("unknown replacement option `{k}`")));
        }
    }
    Ok(FieldOptions {
        delimiter: m
            .get("delimiter")
            .and_then(Value::as_str)
            .map(str::to_string),
        index: match m.get("index") {
            Some(Value::Int(i)) => *i,
            _ => 0,
        },
        create: matches!(m.get("create"), Some(Value::Bool(true))),
    })
}

fn parse_one(file: &Path, v: &Value) -> Result<Replacement> {
    let m = v
        .as_map()
        .ok_or_else(|| bad(file, "each replacement must be a mapping"))?;
    for k in m.keys() {
        if !["source", "targets"].contains(&k.as_str()) {
            return Err(bad(file, format!("unknown replacement field `{k}`")));
        }
    }
    let src = m
        .get("source")
        .and_then(Value::as_map)
        .ok_or_else(|| bad(file, "a replacement needs a `source`"))?;
    let mut sel = Map::new();
    for (k, v) in src {
        if !["fieldPath", "options"].contains(&k.as_str()) {
            sel.insert(k.clone(), v.clone());
        }
    }
    let source = parse_target(file, &Value::Map(sel))?;
    let source_path = src
        .get("fieldPath")
        .and_then(Value::as_str)
        .unwrap_or("metadata.name")
        .to_string();
    let source_options = parse_options(file, src.get("options"))?;
    let mut targets = Vec::new();
    for t in m
        .get("targets")
        .and_then(Value::as_seq)
        .into_iter()
        .flatten()
    {
        let tm = t
            .as_map()
            .ok_or_else(|| bad(file, "each replacement target must be a mapping"))?;
        for k in tm.keys() {
            if !["select", "reject", "fieldPaths", "options"].contains(&k.as_str()) {
                return Err(bad(file, format!("unknown replacement target field `{k}`")));
            }
        }
        let select = parse_target(
            file,
            tm.get("select")
                .ok_or_else(|| bad(file, "a replacement target needs `select`"))?,
        )?;
        let reject = tm
            .get("reject")
            .and_then(Value::as_seq)
            .into_iter()
            .flatten()
            .map(|r| parse_target(file, r))
            .collect::<Result<Vec<_>>>()?;
        let mut field_paths: Vec<String> = tm
            .get("fieldPaths")
            .and_then(Value::as_seq)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        if field_paths.is_empty() {
            field_paths.push("metadata.name".into());
        }
        targets.push(TargetSpec {
            select,
            reject,
            field_paths,
            options: parse_options(file, tm.get("options"))?,
        });
    }
    Ok(Replacement {
        source,
        source_path,
        source_options,
        targets,
    })
}

/// Reads the `replacements` entries of a kustomization (inline or `path:`).
fn load(l: &Loader, entries: &[Value]) -> Result<Vec<Replacement>> {
    let mut out = Vec::new();
    for e in entries {
        if let Some(p) = e.get("path").and_then(Value::as_str) {
            let (path, text) = l.read_text(p)?;
            for doc in parse_yaml(&path, &text)? {
                match doc {
                    Value::Null => {}
                    Value::Seq(items) => {
                        for it in &items {
                            out.push(parse_one(&path, it)?);
                        }
                    }
                    other => out.push(parse_one(&path, &other)?),
                }
            }
        } else {
            out.push(parse_one(&l.file, e)?);
        }
    }
    Ok(out)
}

/// Splits a field path on dots outside `[...]`.
fn split_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut depth) = (String::new(), 0);
    for c in p.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match v {
        Value::Map(m) => m.get(first.as_str())?,
        Value::Seq(items) => {
            if let Some((k, want)) = first
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.split_once('='))
            {
                items
                    .iter()
                    .find(|i| i.get(k).and_then(Value::scalar_string).as_deref() == Some(want))?
            } else {
                items.get(first.parse::<usize>().ok()?)?
            }
        }
        _ => return None,
    };
    lookup(next, rest)
}

/// Visits every field the path reaches, creating missing ones when asked.
fn visit(v: &mut Value, path: &[String], create: bool, found: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = path.split_first() else {
        found(v);
        return;
    };
    match v {
        Value::Map(m) => {
            if first == "*" {
                for (_, c) in m.iter_mut() {
                    visit(c, rest, create, found);
                }
                return;
            }
            if !m.contains_key(first.as_str()) {
                if !create {
                    return;
                }
                let fresh = if rest.first().is_some_and(|r| r.starts_with('[')) {
                    Value::Seq(Vec::new())
                } else if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Map(Map::new())
                };
                m.insert(first.clone(), fresh);
            }
            visit(
                m.get_mut(first.as_str()).expect("present"),
                rest,
                create,
                found,
            );
        }
        Value::Seq(items) => {
            if first == "*" {
                for it in items.iter_mut() {
                    visit(it, rest, create, found);
                }
            } else if let Some((k, want)) = first
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.split_once('='))
            {
                let mut any = false;
                for it in items.iter_mut() {
                    if it.get(k).and_then(Value::scalar_string).as_deref() == Some(want) {
                        any = true;
                        visit(it, rest, create, found);
                    }
                }
                if !any && create {
                    let mut m = Map::new();
                    m.insert(k.to_string(), Value::Str(want.to_string()));
                    items.push(Value::Map(m));
                    let last = items.last_mut().expect("just pushed");
                    visit(last, rest, create, found);
                }
            } else if let Ok(i) = first.parse::<usize>()
                && let Some(it) = items.get_mut(i)
            {
                visit(it, rest, create, found);
            }
        }
        Value::Null if create => {
            *v = Value::Map(Map::new());
            visit(v, path, create, found);
        }
        _ => {}
    }
}

fn refine(opts: &FieldOptions, v: Value) -> Value {
    match (&opts.delimiter, &v) {
        (Some(d), Value::Str(s)) if !d.is_empty() => {
            let parts: Vec<&str> = s.split(d.as_str()).collect();
            let i = opts.index;
            if i < 0 || i as usize >= parts.len() {
                v
            } else {
                Value::Str(parts[i as usize].to_string())
            }
        }
        _ => v,
    }
}

fn set_field(file: &Path, opts: &FieldOptions, target: &mut Value, value: &Value) -> Result<()> {
    let mut value = value.clone();
    if let Some(d) = opts.delimiter.as_deref().filter(|d| !d.is_empty()) {
        let cur = target
            .scalar_string()
            .ok_or_else(|| bad(file, "the delimiter option only works on scalar fields"))?;
        let mut parts: Vec<String> = cur.split(d).map(str::to_string).collect();
        let v = value.scalar_string().unwrap_or_default();
        let i = opts.index;
        if i < 0 {
            parts.insert(0, v);
        } else if i as usize >= parts.len() {
            parts.push(v);
        } else {
            parts[i as usize] = v;
        }
        value = Value::Str(parts.join(d));
    }
    let scalar = |v: &Value| !matches!(v, Value::Map(_) | Value::Seq(_));
    if scalar(target) && !matches!(target, Value::Null) && scalar(&value) {
        // kustomize replaces the text of a scalar and keeps its type.
        let text = value.scalar_string().unwrap_or_default();
        *target = match target {
            Value::Str(_) => Value::Str(text),
            _ => {
                let docs = crate::yaml::parse_documents(&format!("v: {text}\n")).ok();
                let parsed = docs
                    .and_then(|d| d.into_iter().next())
                    .and_then(|d| d.get("v").cloned());
                match parsed {
                    Some(p) if std::mem::discriminant(&p) == std::mem::discriminant(target) => p,
                    Some(Value::Int(i)) if matches!(target, Value::Float(_)) => {
                        Value::Float(i as f64)
                    }
                    _ => {
                        return Err(bad(
                            file,
                            format!(
                                "replacement value '{text}' does not fit a {} field",
                                target.kind_name()
                            ),
                        ));
                    }
                }
            }
        };
    } else {
        *target = value;
    }
    Ok(())
}

/// Runs the kustomization's replacements over `list`.
pub(crate) fn run(l: &Loader, entries: &[Value], list: &mut ResourceList) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    for rep in load(l, entries)? {
        let matches: Vec<&Resource> = list
            .items
            .iter()
            .filter(|r| target_matches_any_id(&rep.source, r))
            .collect();
        let src = match matches.as_slice() {
            [one] => *one,
            [] => {
                return Err(bad(
                    &l.file,
                    format!("replacement source {:?} selects no resource", rep.source),
                ));
            }
            _ => {
                return Err(bad(
                    &l.file,
                    format!(
                        "replacement source {:?} selects several resources",
                        rep.source
                    ),
                ));
            }
        };
        let value = lookup(&src.obj, &split_path(&rep.source_path))
            .filter(|v| !matches!(v, Value::Null))
            .cloned()
            .ok_or_else(|| {
                bad(
                    &l.file,
                    format!(
                        "fieldPath `{}` is missing in the replacement source {} '{}'",
                        rep.source_path,
                        src.kind(),
                        src.name()
                    ),
                )
            })?;
        let value = refine(&rep.source_options, value);
        for t in &rep.targets {
            for r in list.items.iter_mut() {
                if !target_matches_any_id(&t.select, r)
                    || t.reject.iter().any(|x| target_matches_any_id(x, r))
                {
                    continue;
                }
                for fp in &t.field_paths {
                    let (mut count, mut failure) = (0, None);
                    visit(
                        &mut r.obj,
                        &split_path(fp),
                        t.options.create,
                        &mut |field| {
                            count += 1;
                            if failure.is_none()
                                && let Err(e) = set_field(&l.file, &t.options, field, &value)
                            {
                                failure = Some(e);
                            }
                        },
                    );
                    if let Some(e) = failure {
                        return Err(e);
                    }
                    if count == 0 {
                        return Err(bad(
                            &l.file,
                            format!(
                                "unable to find field `{fp}` in replacement target {} '{}'; set options.create: true to add it",
                                r.kind(),
                                r.name()
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
