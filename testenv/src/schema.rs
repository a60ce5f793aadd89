//! Structural-schema pruning and defaulting of custom resources, as the API server does on write.

use serde_json::Value;

/// Applies the defaults of `schema` to `obj` and drops fields it does not declare; returns the
/// dotted paths of the dropped fields.
pub fn prune_and_default(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut pruned = vec![];
    let Some(m) = obj.as_object_mut() else {
        return pruned;
    };
    let props = schema.get("properties");
    let preserve = preserves(schema);
    let keys: Vec<String> = m.keys().cloned().collect();
    for k in keys {
        if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match props.and_then(|p| p.get(&k)) {
            Some(s) => walk(m.get_mut(&k).expect("key listed above"), s, &k, &mut pruned),
            None if !preserve => {
                m.remove(&k);
                pruned.push(k);
            }
            None => {}
        }
    }
    default_props(obj, schema);
    pruned
}

fn preserves(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
        || schema
            .get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            == Some(true)
            && schema.get("properties").is_none()
}

fn default_props(obj: &mut Value, schema: &Value) {
    let (Some(m), Some(props)) = (
        obj.as_object_mut(),
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    for (k, s) in props {
        if let Some(d) = s.get("default")
            && !m.contains_key(k)
        {
            let mut d = d.clone();
            walk(&mut d, s, k, &mut vec![]);
            m.insert(k.clone(), d);
        }
    }
}

fn walk(v: &mut Value, schema: &Value, path: &str, pruned: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            let keep_unknown =
                preserves(schema) || additional.and_then(Value::as_bool) == Some(true);
            let embedded = schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                == Some(true);
            if props.is_none()
                && additional.is_none()
                && !schema.get("type").is_some_and(|t| t == "object")
            {
                // Not a structural object schema (int-or-string and the like): leave it alone.
                return;
            }
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let sub = props
                    .and_then(|p| p.get(&k))
                    .or(additional.filter(|a| a.is_object()));
                match sub {
                    Some(s) => walk(
                        m.get_mut(&k).expect("key listed above"),
                        s,
                        &format!("{path}.{k}"),
                        pruned,
                    ),
                    None if !keep_unknown => {
                        m.remove(&k);
                        pruned.push(format!("{path}.{k}"));
                    }
                    None => {}
                }
            }
            default_props(v, schema);
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (n, i) in items.iter_mut().enumerate() {
                    walk(i, s, &format!("{path}[{n}]"), pruned);
                }
            }
        }
        _ => {}
    }
}
