//! What `flux export` prints for a server object: identity, labels,
//! annotations and the spec as the typed API renders it, never status or
//! server-managed metadata.

use serde_json::{Map, Value};

use crate::duration;

/// The CRD schema of the storage version of `<plural>.<group>`'s `spec`.
pub fn spec_schema(resource_name: &str) -> Option<Value> {
    let info = flux_api::crds()
        .into_iter()
        .find(|c| c.crd.metadata.name.as_deref() == Some(resource_name))?;
    let version = info.crd.spec.versions.into_iter().find(|v| v.storage)?;
    let schema = serde_json::to_value(version.schema?.open_api_v3_schema?).ok()?;
    Some(schema["properties"]["spec"].clone())
}

/// The exported form of `object`; `schema` is its kind's `spec` schema.
pub fn export_object(object: &Value, schema: &Value) -> Value {
    let metadata = &object["metadata"];
    let mut meta = Map::new();
    for key in ["annotations", "labels"] {
        if metadata[key].as_object().is_some_and(|m| !m.is_empty()) {
            meta.insert(key.into(), metadata[key].clone());
        }
    }
    for key in ["name", "namespace"] {
        if let Some(value) = metadata[key].as_str() {
            meta.insert(key.into(), value.into());
        }
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), object["apiVersion"].clone());
    out.insert("kind".into(), object["kind"].clone());
    out.insert("metadata".into(), Value::Object(meta));
    if let Some(spec) = normalize(&object["spec"], schema, true) {
        out.insert("spec".into(), spec);
    }
    Value::Object(out)
}

/// Whether Go's `omitempty` drops the value: zero numbers, empty strings,
/// false, null and empty lists or maps.
pub fn omitted_when_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Duration fields are strings whose pattern is a sequence of number+unit.
fn is_duration(schema: &Value) -> bool {
    schema["type"] == "string"
        && schema["pattern"]
            .as_str()
            .is_some_and(|p| p.starts_with(r"^([0-9]+(\.[0-9]+)?(ms|s|m"))
}

/// Renders `value` as the Go types would: unknown fields dropped, empty
/// optional fields omitted, durations canonical. `required` says whether
/// the field is always written.
fn normalize(value: &Value, schema: &Value, required: bool) -> Option<Value> {
    if !required && omitted_when_empty(value) {
        return None;
    }
    if schema["x-kubernetes-preserve-unknown-fields"] == true && schema.get("properties").is_none()
    {
        return Some(value.clone());
    }
    match value {
        Value::String(s) if is_duration(schema) => Some(Value::String(
            duration::canonicalize(s).unwrap_or_else(|_| s.clone()),
        )),
        Value::Object(map) => {
            let Some(properties) = schema["properties"].as_object() else {
                // A map (additionalProperties) or free-form object: kept as is.
                return Some(value.clone());
            };
            let required_fields: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut out = Map::new();
            for (key, field) in map {
                let Some(field_schema) = properties.get(key) else {
                    continue;
                };
                if let Some(v) =
                    normalize(field, field_schema, required_fields.contains(&key.as_str()))
                {
                    out.insert(key.clone(), v);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => {
            let item_schema = &schema["items"];
            Some(Value::Array(
                items
                    .iter()
                    .filter_map(|i| normalize(i, item_schema, true))
                    .collect(),
            ))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn export_keeps_identity_and_spec_only() {
        let schema = spec_schema("kustomizations.kustomize.toolkit.fluxcd.io").unwrap();
        let object = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "uid": "x", "resourceVersion": "7",
                          "generation": 3, "labels": {}, "managedFields": [{}]},
            "spec": {"interval": "5m", "timeout": "60s", "path": "./apps", "prune": false, "suspend": false, "force": false,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"}, "unknownField": 1},
            "status": {"conditions": []}
        });
        assert_eq!(
            export_object(&object, &schema),
            json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": "flux-system"},
                "spec": {"interval": "5m0s", "timeout": "1m0s", "path": "./apps", "prune": false,
                         "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
            })
        );
    }
}
