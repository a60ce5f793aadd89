//! Structural-schema pruning, defaulting and validation of custom resources, as the API
//! server does on write.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde_json::{Map, Value, json};

/// One field error, as a `details.causes` entry of an Invalid Status.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    /// Without the field path: `Required value`, `Invalid value: "x": ...`.
    pub message: String,
}

impl Cause {
    fn new(reason: &'static str, field: &str, message: String) -> Self {
        Cause {
            reason,
            field: field.to_string(),
            message,
        }
    }

    /// `Invalid value: <value>: <detail>`, the value printed as Go's field errors print it.
    fn invalid(field: &str, value: &Value, detail: String) -> Self {
        Cause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {}: {detail}", go_value(value)),
        )
    }
}

/// Strings quoted, numbers and booleans bare, as field.Error renders a bad value.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => json!(s).to_string(),
        Value::Number(_) | Value::Bool(_) => v.to_string(),
        other => format!("\"{}\"", type_name(other)),
    }
}

/// What a write's object did not fit in the schema.
#[derive(Debug, Default)]
pub struct Report {
    /// Dotted paths of fields the schema does not declare (dropped).
    pub pruned: Vec<String>,
    /// Field errors in the API server's wording.
    pub invalid: Vec<Cause>,
}

/// Applies the defaults of `schema` to `obj`, drops undeclared fields and nulls, and checks types.
pub fn prune_and_default(obj: &mut Value, schema: &Value) -> Report {
    let mut report = Report::default();
    if let Some(m) = obj.as_object_mut() {
        let props = schema.get("properties").and_then(Value::as_object);
        fields(m, props, preserves(schema), false, "", &mut report);
        default_props(m, props);
    }
    // Value constraints are checked on the defaulted object, as the API server does.
    if report.invalid.is_empty() {
        validate(obj, schema, "", true, &mut report.invalid);
    }
    report
}

/// Whether `s` matches the schema pattern `p` (None when `p` does not compile). Compiled
/// patterns are kept: every write of a Flux object checks the same dozen.
fn matches(p: &str, s: &str) -> Option<bool> {
    static CACHE: LazyLock<Mutex<HashMap<String, Option<regex::Regex>>>> =
        LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let re = cache
        .entry(p.to_string())
        .or_insert_with(|| regex::Regex::new(p).ok());
    re.as_ref().map(|re| re.is_match(s))
}

fn num(schema: &Value, k: &str) -> Option<f64> {
    schema.get(k).and_then(Value::as_f64)
}

fn count(schema: &Value, k: &str) -> Option<usize> {
    schema
        .get(k)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

/// Checks required, enum, pattern, bounds, lengths and item counts (types were checked while
/// pruning). `root` skips apiVersion, kind and metadata, which the server validates itself.
fn validate(v: &Value, schema: &Value, path: &str, root: bool, out: &mut Vec<Cause>) {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        out.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                go_value(v),
                list.join(", ")
            ),
        ));
    }
    match v {
        Value::String(s) => {
            let chars = s.chars().count();
            if let Some(max) = count(schema, "maxLength")
                && chars > max
            {
                out.push(Cause::new(
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(min) = count(schema, "minLength")
                && chars < min
            {
                out.push(Cause::invalid(
                    path,
                    v,
                    format!("{path} in body should be at least {min} chars long"),
                ));
            }
            if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                && matches(p, s) == Some(false)
            {
                out.push(Cause::invalid(
                    path,
                    v,
                    format!("{path} in body should match '{p}'"),
                ));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            let exclusive = |k: &str| flag(schema, k);
            if let Some(max) = num(schema, "maximum") {
                let (bad, words) = if exclusive("exclusiveMaximum") {
                    (x >= max, "less than")
                } else {
                    (x > max, "less than or equal to")
                };
                if bad {
                    out.push(Cause::invalid(
                        path,
                        v,
                        format!("{path} in body should be {words} {}", schema["maximum"]),
                    ));
                }
            }
            if let Some(min) = num(schema, "minimum") {
                let (bad, words) = if exclusive("exclusiveMinimum") {
                    (x <= min, "greater than")
                } else {
                    (x < min, "greater than or equal to")
                };
                if bad {
                    out.push(Cause::invalid(
                        path,
                        v,
                        format!("{path} in body should be {words} {}", schema["minimum"]),
                    ));
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = count(schema, "maxItems")
                && items.len() > max
            {
                out.push(Cause::new(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(min) = count(schema, "minItems")
                && items.len() < min
            {
                // The bad value reported is the item count.
                out.push(Cause::invalid(
                    path,
                    &json!(items.len()),
                    format!("{path} in body should have at least {min} items"),
                ));
            }
            if let Some(s) = schema.get("items") {
                for (n, i) in items.iter().enumerate() {
                    validate(i, s, &format!("{path}[{n}]"), false, out);
                }
            }
        }
        Value::Object(m) => {
            let meta = |k: &str| root && matches!(k, "apiVersion" | "kind" | "metadata");
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !m.contains_key(r) && !meta(r) {
                    out.push(Cause::new(
                        "FieldValueRequired",
                        &join(path, r),
                        "Required value".into(),
                    ));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, x) in m {
                if meta(k) {
                    continue;
                }
                if let Some(s) = props.and_then(|p| p.get(k)).or(additional) {
                    validate(x, s, &join(path, k), false, out);
                }
            }
        }
        _ => {}
    }
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

fn preserves(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-preserve-unknown-fields")
        || flag(schema, "x-kubernetes-embedded-resource") && schema.get("properties").is_none()
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

/// Walks the fields of an object; at the root, apiVersion/kind/metadata are left alone.
fn fields(
    m: &mut Map<String, Value>,
    props: Option<&Map<String, Value>>,
    keep_unknown: bool,
    embedded: bool,
    path: &str,
    report: &mut Report,
) {
    let keys: Vec<String> = m.keys().cloned().collect();
    for k in keys {
        if (path.is_empty() || embedded) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
        {
            continue;
        }
        let p = join(path, &k);
        match props.and_then(|p| p.get(&k)) {
            Some(s) => {
                // Nulls in non-nullable fields are dropped, not rejected.
                if m[&k].is_null() && !flag(s, "nullable") {
                    m.remove(&k);
                } else if let Some(v) = m.get_mut(&k) {
                    walk(v, s, &p, report);
                }
            }
            None if !keep_unknown => {
                m.remove(&k);
                report.pruned.push(p);
            }
            None => {}
        }
    }
}

fn default_props(m: &mut Map<String, Value>, props: Option<&Map<String, Value>>) {
    for (k, s) in props.into_iter().flatten() {
        if let Some(d) = s.get("default")
            && !m.contains_key(k)
        {
            let mut d = d.clone();
            walk(&mut d, s, k, &mut Report::default());
            m.insert(k.clone(), d);
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(v: &Value, schema: &Value) -> Result<(), String> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return if v.is_string() || v.is_i64() || v.is_u64() {
            Ok(())
        } else {
            Err("integer or string".into())
        };
    }
    let Some(want) = schema.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let ok = match want {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    };
    if ok { Ok(()) } else { Err(want.to_string()) }
}

fn walk(v: &mut Value, schema: &Value, path: &str, report: &mut Report) {
    if let Err(want) = type_ok(v, schema) {
        let got = type_name(v);
        report.invalid.push(Cause::new(
            "FieldValueTypeInvalid",
            path,
            format!("Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""),
        ));
        return;
    }
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            if props.is_none()
                && additional.is_none()
                && !schema.get("type").is_some_and(|t| t == "object")
            {
                // Not a structural object schema (int-or-string and the like): leave it alone.
                return;
            }
            let keep_unknown =
                preserves(schema) || additional.and_then(Value::as_bool) == Some(true);
            match additional.filter(|a| a.is_object()) {
                // A map: every value follows the same schema.
                Some(item) if props.is_none() => {
                    for (k, x) in m.iter_mut() {
                        walk(x, item, &join(path, k), report);
                    }
                }
                _ => fields(
                    m,
                    props,
                    keep_unknown,
                    flag(schema, "x-kubernetes-embedded-resource"),
                    path,
                    report,
                ),
            }
            default_props(m, props);
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (n, i) in items.iter_mut().enumerate() {
                    walk(i, s, &format!("{path}[{n}]"), report);
                }
            }
        }
        _ => {}
    }
}
