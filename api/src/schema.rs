//! Turning the schemars output into the structural OpenAPI v3 schema of a CRD.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

/// Field-level schemars transform: drops the `format` schemars gives to Rust
/// integers, for fields the API declares as plain `integer`.
pub(crate) fn drop_format(schema: &mut Schema) {
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("format");
    }
}

fn generator() -> SchemaGenerator {
    SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
            s.transforms.clear();
        })
        .into_generator()
}

/// The normalised, fully inlined schema of `T`.
pub(crate) fn schema_of<T: JsonSchema>() -> Value {
    let mut v = generator().into_root_schema_for::<T>().to_value();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("title");
    }
    normalise(&mut v);
    v
}

/// Removes what schemars adds for `Option` (null types, `nullable`) so that
/// optional fields look like upstream's: optional by absence from `required`.
pub(crate) fn normalise(v: &mut Value) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    // `anyOf: [X, {type: null}]` -> X
    if let Some(Value::Array(any)) = obj.get("anyOf")
        && any.len() == 2
        && any.iter().any(is_null_schema)
    {
        let inner = any.iter().find(|s| !is_null_schema(s)).cloned();
        obj.remove("anyOf");
        if let Some(Value::Object(inner)) = inner {
            for (k, x) in inner {
                obj.entry(k).or_insert(x);
            }
        }
    }
    obj.remove("nullable");
    if let Some(Value::Array(types)) = obj.get("type") {
        let rest: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        match rest.len() {
            0 => {
                obj.remove("type");
            }
            1 => {
                obj.insert("type".into(), rest[0].clone());
            }
            _ => {
                obj.insert("type".into(), Value::Array(rest));
            }
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|x| !x.is_null());
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.values_mut().for_each(normalise);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get_mut(key) {
            normalise(sub);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            subs.iter_mut().for_each(normalise);
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// The root schema of a kind: the standard object fields plus spec and status.
pub(crate) fn root_schema(description: &str, spec: Value, status: Option<Value>) -> Value {
    let mut props = Map::new();
    props.insert(
        "apiVersion".into(),
        json!({"type": "string", "description": "Versioned schema of this object (group/version)."}),
    );
    props.insert(
        "kind".into(),
        json!({"type": "string", "description": "The REST resource this object represents."}),
    );
    props.insert("metadata".into(), json!({"type": "object"}));
    props.insert("spec".into(), spec);
    if let Some(status) = status {
        props.insert("status".into(), status);
    }
    json!({"description": description, "type": "object", "properties": props})
}

/// Rewrites whole-valued `minimum`/`maximum` of a schema and its subschemas
/// as JSON integers (they come out of `JSONSchemaProps` as `f64`).
pub(crate) fn integer_bounds(v: &mut Value) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    for key in ["minimum", "maximum"] {
        if let Some(Value::Number(n)) = obj.get(key)
            && let Some(x) = n.as_f64()
            && x.fract() == 0.0
            && x.abs() < 2f64.powi(53)
        {
            obj.insert(key.into(), Value::from(x as i64));
        }
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.values_mut().for_each(integer_bounds);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = obj.get_mut(key) {
            integer_bounds(sub);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            subs.iter_mut().for_each(integer_bounds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_become_integers_when_whole() {
        let mut v = json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "minimum": 0.0, "maximum": 10.0},
                "b": {"type": "number", "minimum": 0.5},
                "c": {"type": "array", "items": {"type": "integer", "minimum": -3.0}},
                "d": {"type": "object", "additionalProperties": {"type": "integer", "maximum": 7.0}},
                "e": {"anyOf": [{"type": "integer", "minimum": 1.0}]},
                "f": {"type": "object", "default": {"minimum": 2.0}}
            }
        });
        integer_bounds(&mut v);
        assert!(v["properties"]["a"]["minimum"].is_i64());
        assert_eq!(v["properties"]["a"]["minimum"], json!(0));
        assert_eq!(v["properties"]["a"]["maximum"], json!(10));
        assert_eq!(v["properties"]["b"]["minimum"], json!(0.5));
        assert_eq!(v["properties"]["c"]["items"]["minimum"], json!(-3));
        assert_eq!(
            v["properties"]["d"]["additionalProperties"]["maximum"],
            json!(7)
        );
        assert_eq!(v["properties"]["e"]["anyOf"][0]["minimum"], json!(1));
        // values inside defaults are data, not schema: left alone
        assert!(v["properties"]["f"]["default"]["minimum"].is_f64());
    }

    #[test]
    fn optional_fields_lose_null() {
        let mut v = json!({
            "type": "object",
            "properties": {
                "a": {"type": ["string", "null"], "nullable": true},
                "b": {"anyOf": [{"type": "object", "properties": {"c": {"type": "boolean"}}}, {"type": "null"}]},
                "e": {"type": ["string", "null"], "enum": ["x", null]}
            }
        });
        normalise(&mut v);
        assert_eq!(
            v,
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string"},
                    "b": {"type": "object", "properties": {"c": {"type": "boolean"}}},
                    "e": {"type": "string", "enum": ["x"]}
                }
            })
        );
    }
}
