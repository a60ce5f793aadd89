//! `vars` (deprecated in kustomize, still read by v5.6.0): `$(NAME)` in
//! kustomize's var-reference fields becomes a field of a named resource,
//! resolved once at the end of the build.

use crate::error::{Error, Result};
use crate::fieldspec::{FieldSpec, Visit, parse_specs, walk};
use crate::resource::{ResourceList, split_api_version};
use crate::yaml::Value;
use std::path::Path;
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub name: String,
    pub kind: String,
    pub obj_name: String,
    pub namespace: Option<String>,
    pub api_version: Option<String>,
    pub field_path: String,
}

fn bad(file: &Path, message: impl Into<String>) -> Error {
    Error::Kustomization {
        path: file.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the `vars` list of a kustomization.
pub(crate) fn parse(file: &Path, v: &Value) -> Result<Vec<Var>> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Seq(items) => items,
        _ => return Err(bad(file, "`vars` must be a list")),
    };
    let mut out = Vec::new();
    for it in items {
        let s = |p: &[&str]| it.get_path(p).and_then(Value::as_str).map(str::to_string);
        let name = s(&["name"]).ok_or_else(|| bad(file, "each var needs a `name`"))?;
        let kind = s(&["objref", "kind"])
            .ok_or_else(|| bad(file, format!("var '{name}' needs `objref.kind`")))?;
        let obj_name = s(&["objref", "name"])
            .ok_or_else(|| bad(file, format!("var '{name}' needs `objref.name`")))?;
        out.push(Var {
            name,
            kind,
            obj_name,
            namespace: s(&["objref", "namespace"]),
            api_version: s(&["objref", "apiVersion"]),
            field_path: s(&["fieldref", "fieldpath"])
                .or_else(|| s(&["fieldref", "fieldPath"]))
                .unwrap_or_else(|| "metadata.name".into()),
        });
    }
    Ok(out)
}

fn specs() -> &'static [FieldSpec] {
    static S: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    S.get_or_init(|| parse_specs(include_str!("specs/varreference.yaml"), "varReference"))
}

/// Looks a dotted field path up (`spec.ports[0].port` and `spec.ports.0.port`).
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, idx) = match part.find('[') {
            Some(i) => (&part[..i], part[i + 1..].strip_suffix(']')),
            None => (part, None),
        };
        if !key.is_empty() {
            cur = match cur {
                Value::Map(m) => m.get(key)?,
                Value::Seq(s) => s.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        if let Some(i) = idx {
            cur = cur.as_seq()?.get(i.parse::<usize>().ok()?)?;
        }
    }
    Some(cur)
}

/// Expands `$(NAME)` in one string; `$$` stands for a literal `$`. A string
/// that is exactly one reference takes the value with its type.
fn expand(s: &str, vals: &[(String, Value)]) -> Option<Value> {
    if !s.contains("$(") {
        return None;
    }
    if let Some(inner) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && let Some((_, v)) = vals.iter().find(|(n, _)| n == inner)
    {
        return Some(v.clone());
    }
    let mut out = String::new();
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            changed = true;
            continue;
        }
        if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
            && let Some((_, v)) = vals.iter().find(|(n, _)| n == &body[..end])
        {
            out.push_str(&v.scalar_string().unwrap_or_default());
            rest = &body[end + 1..];
            changed = true;
            continue;
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(Value::Str(out))
}

fn substitute(v: &mut Value, vals: &[(String, Value)]) {
    match v {
        Value::Str(s) => {
            if let Some(n) = expand(s, vals) {
                *v = n;
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| substitute(i, vals)),
        Value::Map(m) => m.values_mut().for_each(|i| substitute(i, vals)),
        _ => {}
    }
}

/// Resolves the vars against the final resources and substitutes them.
pub(crate) fn resolve(file: &Path, vars: &[Var], list: &mut ResourceList) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut vals = Vec::new();
    for var in vars {
        let target = list.items.iter().find(|r| {
            let (g, v) = split_api_version(&r.api_version());
            r.kind() == var.kind
                && r.had_name(&var.obj_name)
                && var.api_version.as_deref().is_none_or(|av| {
                    let (wg, wv) = split_api_version(av);
                    wg == g && (wv.is_empty() || wv == v)
                })
                && var
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| r.orig().1 == ns || r.namespace() == ns)
        });
        let target = target.ok_or_else(|| {
            bad(
                file,
                format!(
                    "var '{}' names {} '{}', which is not among the resources",
                    var.name, var.kind, var.obj_name
                ),
            )
        })?;
        let value = lookup(&target.obj, &var.field_path)
            .cloned()
            .ok_or_else(|| {
                bad(
                    file,
                    format!(
                        "field '{}' of var '{}' is not in {} '{}'",
                        var.field_path, var.name, var.kind, var.obj_name
                    ),
                )
            })?;
        vals.push((var.name.clone(), value));
    }
    for r in &mut list.items {
        let matching: Vec<&FieldSpec> = specs().iter().filter(|s| s.matches(r)).collect();
        for s in matching {
            walk(&mut r.obj, &s.path, false, &mut |v| {
                if let Visit::Found(v) = v {
                    substitute(v, &vals);
                }
            });
        }
    }
    Ok(())
}
