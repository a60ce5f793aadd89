//! Patches: strategic merge (`patchesStrategicMerge`, `patches`) and JSON
//! 6902 (`patchesJson6902`, `patches`), with target selection.

use crate::error::{Error, Result};
use crate::kustomization::{Patch, Target};
use crate::resource::{Resource, ResourceList, split_api_version};
use crate::target::{Loader, parse_yaml};
use crate::yaml::{Map, Value};
use std::path::Path;

fn bad(l: &Loader, message: String) -> Error {
    Error::Kustomization {
        path: l.file.clone(),
        message,
    }
}

/// The patch text of a `patches`/`patchesJson6902` entry (inline or from its file).
fn patch_text(l: &Loader, p: &Patch) -> Result<(std::path::PathBuf, String)> {
    match (&p.patch, &p.path) {
        (Some(t), _) => Ok((l.file.clone(), t.clone())),
        (None, Some(path)) => l.read_text(path),
        (None, None) => Err(bad(l, "a patch needs `path` or `patch`".into())),
    }
}

/// `patchesStrategicMerge` entry: a file name, or an inline patch.
pub(crate) fn apply_strategic_merge_file(
    l: &Loader,
    entry: &str,
    list: &mut ResourceList,
) -> Result<()> {
    let looks_inline = entry.contains('\n') || entry.trim_start().starts_with('{');
    let (path, text) = if looks_inline {
        (l.file.clone(), entry.to_string())
    } else {
        l.read_text(entry)?
    };
    for doc in parse_yaml(&path, &text)? {
        if matches!(doc, Value::Null) {
            continue;
        }
        apply_smp(l, &path, &doc, None, (false, false), list)?;
    }
    Ok(())
}

/// A `patches` entry: JSON 6902 if the text is a list of operations, else strategic merge.
pub(crate) fn apply_patch(l: &Loader, p: &Patch, list: &mut ResourceList) -> Result<()> {
    let (path, text) = patch_text(l, p)?;
    let docs = parse_yaml(&path, &text)?;
    if let [Value::Seq(ops)] = docs.as_slice() {
        let Some(t) = &p.target else {
            return Err(bad(l, "a JSON 6902 patch needs a `target`".into()));
        };
        let idx: Vec<usize> = select(list, t, l)?;
        if idx.is_empty() {
            return Ok(());
        }
        for i in idx {
            apply_json6902(&path, ops, &mut list.items[i].obj)?;
        }
        return Ok(());
    }
    for doc in docs {
        if matches!(doc, Value::Null) {
            continue;
        }
        apply_smp(
            l,
            &path,
            &doc,
            p.target.as_ref(),
            (p.allow_name_change, p.allow_kind_change),
            list,
        )?;
    }
    Ok(())
}

/// A `patchesJson6902` entry.
pub(crate) fn apply_json6902_entry(l: &Loader, p: &Patch, list: &mut ResourceList) -> Result<()> {
    let (path, text) = patch_text(l, p)?;
    let docs = parse_yaml(&path, &text)?;
    let ops = match docs.as_slice() {
        [Value::Seq(ops)] => ops.clone(),
        _ => {
            return Err(Error::Resource {
                path,
                message: "a JSON 6902 patch must be a list of operations".into(),
            });
        }
    };
    let t = p.target.as_ref().expect("checked when parsing");
    for i in select(list, t, l)? {
        apply_json6902(&path, &ops, &mut list.items[i].obj)?;
    }
    Ok(())
}

/// kustomize matches selector fields as anchored regular expressions
/// (`^(?:pattern)$`). Compiled patterns are cached per thread.
fn regex_match(pattern: &str, s: &str) -> bool {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<String, Option<regex::Regex>>> = RefCell::new(HashMap::new());
    }
    if !pattern.contains(|c: char| "\\.+*?()|[]{}^$".contains(c)) {
        return pattern == s;
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let re = c
            .entry(pattern.to_string())
            .or_insert_with(|| regex::Regex::new(&format!("^(?:{pattern})$")).ok());
        match re {
            Some(re) => re.is_match(s),
            None => pattern == s,
        }
    })
}

/// Parses and evaluates a Kubernetes label selector against a mapping.
pub(crate) fn selector_matches(
    sel: &str,
    labels: Option<&Map>,
) -> std::result::Result<bool, String> {
    let get = |k: &str| labels.and_then(|m| m.get(k)).and_then(Value::scalar_string);
    // Split on commas that are not inside parentheses.
    let mut terms = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in sel.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    terms.push(cur);
    for t in terms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let ok = if let Some((k, v)) = t.split_once("!=") {
            get(k.trim()).as_deref() != Some(v.trim())
        } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            get(k.trim()).as_deref() == Some(v.trim())
        } else if let Some(k) = t.strip_prefix('!') {
            get(k.trim()).is_none()
        } else if let Some((k, rest)) = t.split_once(" notin ") {
            let set = parse_set(rest)?;
            get(k.trim()).is_none_or(|v| !set.contains(&v))
        } else if let Some((k, rest)) = t.split_once(" in ") {
            let set = parse_set(rest)?;
            get(k.trim()).is_some_and(|v| set.contains(&v))
        } else {
            get(t).is_some()
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn parse_set(s: &str) -> std::result::Result<Vec<String>, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| format!("invalid selector set '{s}'"))?;
    Ok(inner.split(',').map(|x| x.trim().to_string()).collect())
}

fn target_matches(t: &Target, r: &Resource) -> std::result::Result<bool, String> {
    let (g, v) = split_api_version(&r.api_version());
    let opt = |o: &Option<String>, val: &str| match o.as_deref() {
        None | Some("") => true,
        Some(p) => regex_match(p, val),
    };
    if !(opt(&t.group, &g)
        && opt(&t.version, &v)
        && opt(&t.kind, &r.kind())
        && opt(&t.name, &r.name())
        && opt(&t.namespace, &r.namespace()))
    {
        return Ok(false);
    }
    if let Some(sel) = &t.label_selector
        && !selector_matches(
            sel,
            r.obj
                .get_path(&["metadata", "labels"])
                .and_then(Value::as_map),
        )?
    {
        return Ok(false);
    }
    if let Some(sel) = &t.annotation_selector
        && !selector_matches(
            sel,
            r.obj
                .get_path(&["metadata", "annotations"])
                .and_then(Value::as_map),
        )?
    {
        return Ok(false);
    }
    Ok(true)
}

/// Whether a selector picks the resource by its current id or any earlier one.
pub(crate) fn target_matches_any_id(t: &Target, r: &Resource) -> bool {
    if target_matches(t, r).unwrap_or(false) {
        return true;
    }
    if r.prev.is_empty() {
        return false;
    }
    // Earlier names/namespaces: match the id parts, selectors stay on the object.
    let (g, v) = split_api_version(&r.api_version());
    let opt = |o: &Option<String>, val: &str| match o.as_deref() {
        None | Some("") => true,
        Some(p) => regex_match(p, val),
    };
    let sel_ok = t.label_selector.is_none() && t.annotation_selector.is_none()
        || target_matches(
            &Target {
                name: None,
                namespace: None,
                ..t.clone()
            },
            r,
        )
        .unwrap_or(false);
    sel_ok
        && opt(&t.group, &g)
        && opt(&t.version, &v)
        && opt(&t.kind, &r.kind())
        && r.prev
            .iter()
            .any(|(n, ns)| opt(&t.name, n) && opt(&t.namespace, ns))
}

fn select(list: &ResourceList, t: &Target, l: &Loader) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (i, r) in list.items.iter().enumerate() {
        // Targets match a resource's current id or any earlier one.
        if target_matches(t, r).map_err(|m| bad(l, m))? || target_matches_any_id(t, r) {
            out.push(i);
        }
    }
    Ok(out)
}

fn apply_smp(
    l: &Loader,
    path: &Path,
    patch: &Value,
    target: Option<&Target>,
    (allow_name, allow_kind): (bool, bool),
    list: &mut ResourceList,
) -> Result<()> {
    let pm = patch.as_map().ok_or_else(|| Error::Resource {
        path: path.to_path_buf(),
        message: "a strategic merge patch must be a mapping".into(),
    })?;
    let idx = match target {
        Some(t) => select(list, t, l)?,
        None => {
            let kind = pm.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = patch.get_str(&["metadata", "name"]).unwrap_or("");
            let ns = patch.get_str(&["metadata", "namespace"]);
            let (pg, pv) =
                split_api_version(pm.get("apiVersion").and_then(Value::as_str).unwrap_or(""));
            let found: Vec<usize> = list
                .items
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    let (g, v) = split_api_version(&r.api_version());
                    r.kind() == kind
                        && g == pg
                        && v == pv
                        && r.had_name(name)
                        && ns.is_none_or(|n| {
                            r.namespace() == n || r.prev.iter().any(|(_, pn)| pn == n)
                        })
                })
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() {
                return Err(Error::Resource {
                    path: path.to_path_buf(),
                    message: format!(
                        "no resource matches the patch for {kind} '{name}'; check its apiVersion, kind and name"
                    ),
                });
            }
            if found.len() > 1 {
                return Err(Error::Resource {
                    path: path.to_path_buf(),
                    message: format!(
                        "the patch for {kind} '{name}' matches several resources; add a namespace"
                    ),
                });
            }
            found
        }
    };
    let mut delete = Vec::new();
    for i in idx {
        let r = &mut list.items[i];
        if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
            delete.push(i);
            continue;
        }
        let kind = r.kind().to_string();
        let mut p = pm.clone();
        // The patch names its target; it never renames it.
        if let Some(Value::Map(md)) = p.get_mut("metadata") {
            if !allow_name {
                md.shift_remove("name");
            }
            md.shift_remove("namespace");
        }
        if target.is_some() && !allow_kind {
            // The patch's own kind does not change the targets'.
            p.shift_remove("kind");
            p.shift_remove("apiVersion");
        }
        if allow_name {
            r.remember();
        }
        if let Value::Map(dst) = &mut r.obj {
            merge_map(dst, &p, &kind, &mut Vec::new());
        }
    }
    for i in delete.into_iter().rev() {
        list.items.remove(i);
    }
    Ok(())
}

/// The merge key of a list field, from the Kubernetes schema of the built-in kinds.
fn merge_key(field: &str, kind: &str, path: &[String]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        "conditions" => "type",
        "ports" => {
            if kind == "Service" && path.len() == 1 && path[0] == "spec" {
                "port"
            } else if path
                .iter()
                .any(|p| p == "containers" || p == "initContainers")
            {
                "containerPort"
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| *k != "$patch")
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Seq(s) => Value::Seq(s.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn merge_map(dst: &mut Map, patch: &Map, kind: &str, path: &mut Vec<String>) {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        if let Value::Map(m) = strip_directives(&Value::Map(patch.clone())) {
            *dst = m;
        }
        return;
    }
    for (k, pv) in patch {
        // Only `$patch` is a directive here; kustomize copies other `$` keys
        // ($retainKeys, $setElementOrder/..., ...) into the result as they are.
        if k == "$patch" {
            continue;
        }
        match pv {
            Value::Null => {
                dst.shift_remove(k);
            }
            Value::Map(pm) => {
                if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
                    dst.shift_remove(k);
                    continue;
                }
                match dst.get_mut(k) {
                    Some(Value::Map(dm)) => {
                        path.push(k.clone());
                        merge_map(dm, pm, kind, path);
                        path.pop();
                    }
                    _ => {
                        dst.insert(k.clone(), strip_directives(pv));
                    }
                }
            }
            Value::Seq(ps) => {
                let replace = ps
                    .iter()
                    .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
                if replace {
                    let items: Vec<Value> = ps
                        .iter()
                        .filter(|i| i.get("$patch").is_none())
                        .map(strip_directives)
                        .collect();
                    dst.insert(k.clone(), Value::Seq(items));
                    continue;
                }
                if k == "finalizers" && path.len() == 1 && path[0] == "metadata" {
                    // A primitive list with the merge strategy: union, patch items first.
                    if let Some(Value::Seq(ds)) = dst.get(k) {
                        let mut items: Vec<Value> = ps.clone();
                        for d in ds {
                            if !items.contains(d) {
                                items.push(d.clone());
                            }
                        }
                        dst.insert(k.clone(), Value::Seq(items));
                        continue;
                    }
                }
                let key = merge_key(k, kind, path);
                match (dst.get_mut(k), key) {
                    (Some(Value::Seq(ds)), Some(key)) => {
                        path.push(k.clone());
                        merge_seq(ds, ps, key, kind, path);
                        path.pop();
                    }
                    _ => {
                        let items: Vec<Value> = ps
                            .iter()
                            .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                            .map(strip_directives)
                            .collect();
                        dst.insert(k.clone(), Value::Seq(items));
                    }
                }
            }
            other => {
                dst.insert(k.clone(), other.clone());
            }
        }
    }
}

fn merge_seq(dst: &mut Vec<Value>, patch: &[Value], key: &str, kind: &str, path: &mut Vec<String>) {
    // The result lists the patch's elements first, in patch order (merged
    // into the target's element of the same key), then the target's other
    // elements (kustomize's order, checked against kubectl kustomize).
    let mut rest: Vec<Option<Value>> = std::mem::take(dst).into_iter().map(Some).collect();
    let mut out = Vec::new();
    for pe in patch {
        let Some(pm) = pe.as_map() else { continue };
        let kv = pm.get(key);
        let pos = kv.and_then(|kv| {
            rest.iter()
                .position(|d| d.as_ref().is_some_and(|d| d.get(key) == Some(kv)))
        });
        if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = pos {
                rest[i] = None;
            }
            continue;
        }
        match pos {
            Some(i) => {
                let mut d = rest[i].take().expect("present");
                if let Value::Map(dm) = &mut d {
                    merge_map(dm, pm, kind, path);
                }
                out.push(d);
            }
            None => out.push(strip_directives(pe)),
        }
    }
    out.extend(rest.into_iter().flatten());
    *dst = out;
}

// ---------------------------------------------------------------------------
// JSON 6902
// ---------------------------------------------------------------------------

fn pointer(path: &str) -> std::result::Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("JSON pointer '{path}' must start with '/'"))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent_mut<'a>(
    root: &'a mut Value,
    tokens: &[String],
) -> std::result::Result<&'a mut Value, String> {
    let mut cur = root;
    for t in tokens {
        cur = match cur {
            Value::Map(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("path element '{t}' not found"))?,
            Value::Seq(s) => {
                let i: usize = t
                    .parse()
                    .map_err(|_| format!("'{t}' is not a list index"))?;
                s.get_mut(i)
                    .ok_or_else(|| format!("index {i} out of range"))?
            }
            _ => return Err(format!("cannot descend into a scalar at '{t}'")),
        };
    }
    Ok(cur)
}

fn get_at(root: &mut Value, tokens: &[String]) -> std::result::Result<Value, String> {
    parent_mut(root, tokens).map(|v| v.clone())
}

fn remove_at(root: &mut Value, tokens: &[String]) -> std::result::Result<Value, String> {
    let (last, parent) = tokens
        .split_last()
        .ok_or("cannot remove the whole document")?;
    match parent_mut(root, parent)? {
        Value::Map(m) => m
            .shift_remove(last)
            .ok_or_else(|| format!("path element '{last}' not found")),
        Value::Seq(s) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("'{last}' is not a list index"))?;
            if i >= s.len() {
                return Err(format!("index {i} out of range"));
            }
            Ok(s.remove(i))
        }
        _ => Err("cannot remove from a scalar".into()),
    }
}

fn add_at(
    root: &mut Value,
    tokens: &[String],
    v: Value,
    replace: bool,
) -> std::result::Result<(), String> {
    let Some((last, parent)) = tokens.split_last() else {
        *root = v;
        return Ok(());
    };
    match parent_mut(root, parent)? {
        Value::Map(m) => {
            m.insert(last.clone(), v);
            Ok(())
        }
        Value::Seq(s) => {
            if last == "-" && !replace {
                s.push(v);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("'{last}' is not a list index"))?;
            if replace {
                let slot = s
                    .get_mut(i)
                    .ok_or_else(|| format!("index {i} out of range"))?;
                *slot = v;
            } else {
                if i > s.len() {
                    return Err(format!("index {i} out of range"));
                }
                s.insert(i, v);
            }
            Ok(())
        }
        _ => Err("cannot add into a scalar".into()),
    }
}

fn apply_json6902(path: &Path, ops: &[Value], obj: &mut Value) -> Result<()> {
    let err = |m: String| Error::Resource {
        path: path.to_path_buf(),
        message: format!("JSON 6902 patch: {m}"),
    };
    for op in ops {
        let name = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| err("an operation has no `op`".into()))?;
        let p = pointer(op.get("path").and_then(Value::as_str).unwrap_or("")).map_err(err)?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| err(format!("`{name}` needs a `value`")))
        };
        let from = || pointer(op.get("from").and_then(Value::as_str).unwrap_or("")).map_err(err);
        match name {
            "add" => add_at(obj, &p, value()?, false).map_err(err)?,
            "replace" => add_at(obj, &p, value()?, true).map_err(err)?,
            "remove" => {
                remove_at(obj, &p).map_err(err)?;
            }
            "move" => {
                let v = remove_at(obj, &from()?).map_err(err)?;
                add_at(obj, &p, v, false).map_err(err)?;
            }
            "copy" => {
                let v = get_at(obj, &from()?).map_err(err)?;
                add_at(obj, &p, v, false).map_err(err)?;
            }
            "test" => {
                let v = get_at(obj, &p).map_err(err)?;
                if v != value()? {
                    return Err(err(format!(
                        "test failed at {}",
                        op.get("path").and_then(Value::as_str).unwrap_or("")
                    )));
                }
            }
            other => return Err(err(format!("unknown op '{other}'"))),
        }
    }
    Ok(())
}
