//! Structural-schema pruning, defaulting and type checking of custom resources, as the API
//! server does on write.

use serde_json::{Map, Value};

/// What a write's object did not fit in the schema.
#[derive(Debug, Default)]
pub struct Report {
    /// Dotted paths of fields the schema does not declare (dropped).
    pub pruned: Vec<String>,
    /// Field errors in the API server's wording.
    pub invalid: Vec<String>,
}

/// Applies the defaults of `schema` to `obj`, drops undeclared fields and nulls, and checks types.
pub fn prune_and_default(obj: &mut Value, schema: &Value) -> Report {
    let mut report = Report::default();
    if let Some(m) = obj.as_object_mut() {
        let props = schema.get("properties").and_then(Value::as_object);
        fields(m, props, preserves(schema), false, "", &mut report);
        default_props(m, props);
    }
    report
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
        report.invalid.push(format!(
            "{path}: Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""
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
