//! `configMapGenerator` / `secretGenerator` and the name hash.

use crate::error::{Error, Result};
use crate::kustomization::{GeneratorArgs, GeneratorOptions, Kustomization};
use crate::resource::{Behavior, Resource, ResourceList};
use crate::target::Loader;
use crate::yaml::{Map, Value};
use base64::Engine as _;
use sha2::{Digest, Sha256};

fn merged_options(
    global: Option<&GeneratorOptions>,
    local: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut o = global.cloned().unwrap_or_default();
    if let Some(l) = local {
        for (k, v) in &l.labels {
            o.labels.retain(|(x, _)| x != k);
            o.labels.push((k.clone(), v.clone()));
        }
        for (k, v) in &l.annotations {
            o.annotations.retain(|(x, _)| x != k);
            o.annotations.push((k.clone(), v.clone()));
        }
        if l.disable_name_suffix_hash.is_some() {
            o.disable_name_suffix_hash = l.disable_name_suffix_hash;
        }
        if l.immutable.is_some() {
            o.immutable = l.immutable;
        }
    }
    o
}

/// Strips one pair of matching surrounding quotes.
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn bad(l: &Loader, msg: String) -> Error {
    Error::Kustomization {
        path: l.file.clone(),
        message: msg,
    }
}

/// Collects (key, bytes) pairs from literals, env files and files, in kustomize's order.
fn collect_data(l: &Loader, g: &GeneratorArgs, what: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let add = |k: String, v: Vec<u8>, out: &mut Vec<(String, Vec<u8>)>| -> Result<()> {
        if out.iter().any(|(x, _)| *x == k) {
            return Err(bad(
                l,
                format!(
                    "{what} '{}': key '{k}' appears more than once; keys must be unique",
                    g.name
                ),
            ));
        }
        out.push((k, v));
        Ok(())
    };
    for env in &g.envs {
        let (_, text) = l.read_text(env)?;
        for line in text.lines() {
            let line = line.trim_start_matches('\u{feff}');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            // A bare KEY takes its value from the environment, as kustomize does.
            let (k, v) = match line.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => {
                    let k = line.trim().to_string();
                    let v = std::env::var(&k).unwrap_or_default();
                    (k, v)
                }
            };
            add(k.trim_start().to_string(), v.into_bytes(), &mut out)?;
        }
    }
    for lit in &g.literals {
        let Some((k, v)) = lit.split_once('=') else {
            return Err(bad(
                l,
                format!("literal '{lit}' has no '='; write KEY=VALUE"),
            ));
        };
        add(k.to_string(), unquote(v).as_bytes().to_vec(), &mut out)?;
    }
    for f in &g.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => (k.to_string(), p),
            None => (
                std::path::Path::new(f)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                f.as_str(),
            ),
        };
        let (_, data) = l.read_file(path)?;
        add(key, data, &mut out)?;
    }
    Ok(out)
}

fn make(l: &Loader, k: &Kustomization, g: &GeneratorArgs, secret: bool) -> Result<Resource> {
    let what = if secret {
        "secretGenerator"
    } else {
        "configMapGenerator"
    };
    let opts = merged_options(k.generator_options.as_ref(), g.options.as_ref());
    if g.name.is_empty() {
        return Err(bad(l, format!("each {what} entry needs a `name`")));
    }
    let data = collect_data(l, g, what)?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::Str("v1".into()));
    obj.insert(
        "kind".into(),
        Value::Str(if secret { "Secret" } else { "ConfigMap" }.into()),
    );
    let mut md = Map::new();
    md.insert("name".into(), Value::Str(g.name.clone()));
    if let Some(ns) = g.namespace.as_ref().filter(|n| !n.is_empty()) {
        md.insert("namespace".into(), Value::Str(ns.clone()));
    }
    if !opts.labels.is_empty() {
        md.insert(
            "labels".into(),
            Value::Map(
                opts.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                    .collect(),
            ),
        );
    }
    if !opts.annotations.is_empty() {
        md.insert(
            "annotations".into(),
            Value::Map(
                opts.annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                    .collect(),
            ),
        );
    }
    obj.insert("metadata".into(), Value::Map(md));
    let mut text = Map::new();
    let mut binary = Map::new();
    for (key, bytes) in data {
        if secret {
            text.insert(key, Value::Str(wrapped_base64(&bytes)));
        } else {
            match String::from_utf8(bytes) {
                Ok(s) => {
                    text.insert(key, Value::Str(s));
                }
                Err(e) => {
                    binary.insert(key, Value::Str(wrapped_base64(e.as_bytes())));
                }
            }
        }
    }
    if secret {
        obj.insert(
            "type".into(),
            Value::Str(
                g.type_
                    .clone()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "Opaque".into()),
            ),
        );
    }
    if !text.is_empty() || secret {
        obj.insert("data".into(), Value::Map(text));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Map(binary));
    }
    if opts.immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(Value::Map(obj));
    r.origin = Some(crate::resource::Origin::Generator {
        kustomization: l.file.clone(),
        kind: if secret {
            "SecretGenerator"
        } else {
            "ConfigMapGenerator"
        },
    });
    r.needs_hash = opts.disable_name_suffix_hash != Some(true);
    r.behavior = match g.behavior.as_deref() {
        Some("merge") => Behavior::Merge,
        Some("replace") => Behavior::Replace,
        // kustomize treats any other value as create.
        _ => Behavior::Create,
    };
    Ok(r)
}

/// Runs the kustomization's generators into `list`.
pub(crate) fn run(l: &Loader, k: &Kustomization, list: &mut ResourceList) -> Result<()> {
    let all = k
        .config_maps
        .iter()
        .map(|g| (g, false))
        .chain(k.secrets.iter().map(|g| (g, true)));
    for (g, secret) in all {
        let r = make(l, k, g, secret)?;
        let kind = r.kind().to_string();
        let ns = r.namespace().to_string();
        let ns_eq = |a: &str, b: &str| {
            let d = |s: &str| {
                if s.is_empty() {
                    "default".to_string()
                } else {
                    s.to_string()
                }
            };
            d(a) == d(b)
        };
        let existing = list.items.iter().position(|x| {
            x.kind() == kind
                && x.api_version() == "v1"
                && x.had_name(&g.name)
                && ns_eq(&x.orig().1, &ns)
        });
        match (r.behavior, existing) {
            (Behavior::Create, None) => list.items.push(r),
            (Behavior::Create, Some(_)) => {
                return Err(bad(
                    l,
                    format!(
                        "{kind} '{}' already exists; use behavior: merge or replace to change it",
                        g.name
                    ),
                ));
            }
            (_, None) => {
                return Err(bad(
                    l,
                    format!(
                        "{kind} '{}' has behavior {:?} but there is no such {kind} to change",
                        g.name, r.behavior
                    ),
                ));
            }
            (b, Some(i)) => {
                let old = &mut list.items[i];
                let new = r.obj;
                let om = old.map_mut();
                for field in ["data", "binaryData"] {
                    let nv = new.get(field).cloned();
                    if b == Behavior::Replace {
                        om.shift_remove(field);
                    }
                    if let Some(Value::Map(nm)) = nv {
                        let entry = om
                            .entry(field.to_string())
                            .or_insert_with(|| Value::Map(Map::new()));
                        if let Value::Map(em) = entry {
                            for (k, v) in nm {
                                em.insert(k, v);
                            }
                        }
                    }
                }
                for field in ["labels", "annotations"] {
                    if let Some(Value::Map(nm)) = new.get_path(&["metadata", field]).cloned() {
                        let md = crate::resource::metadata_mut(om);
                        let entry = md
                            .entry(field.to_string())
                            .or_insert_with(|| Value::Map(Map::new()));
                        if let Value::Map(em) = entry {
                            for (k, v) in nm {
                                em.insert(k, v);
                            }
                        }
                    }
                }
                if let Some(v) = new.get("immutable") {
                    om.insert("immutable".into(), v.clone());
                }
                if !r.needs_hash {
                    old.needs_hash = false;
                }
            }
        }
    }
    Ok(())
}

/// kustomize's short content hash of a ConfigMap or Secret.
/// Base64 as kustomize writes generated data: once the encoding reaches
/// 70 characters it is cut into lines of 70, each ending in a newline
/// (the last one too), which changes the name hash as well.
fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

pub(crate) fn hash(r: &Resource) -> String {
    let obj = &r.obj;
    let field = |f: &str| -> Value {
        match obj.get(f) {
            None => Value::Str(String::new()),
            Some(Value::Map(m)) => Value::Map(m.clone()),
            Some(v) => Value::Str(v.scalar_string().unwrap_or_default()),
        }
    };
    let mut m = Map::new();
    m.insert("kind".into(), Value::Str(r.kind().to_string()));
    // kustomize v5.6.0 hashes with an empty name (its name lookup finds nothing).
    m.insert("name".into(), Value::Str(String::new()));
    m.insert("data".into(), field("data"));
    if r.kind() == "Secret" {
        m.insert("type".into(), field("type"));
        if let Some(v @ Value::Map(_)) = obj.get("stringData") {
            m.insert("stringData".into(), v.clone());
        }
    } else if let Some(v @ Value::Map(_)) = obj.get("binaryData") {
        m.insert("binaryData".into(), v.clone());
    }
    let json = Value::Map(m).to_json_sorted();
    let digest = Sha256::digest(json.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Appends the content hash to every generated name (done once, at the top).
pub(crate) fn add_hashes(list: &mut ResourceList) {
    for r in &mut list.items {
        if r.needs_hash {
            let h = hash(r);
            let name = format!("{}-{h}", r.name());
            r.set_name(name);
            r.needs_hash = false;
        }
    }
}
