//! JSON merge, JSON and strategic merge patches.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::fields::list_key;

pub fn json_merge(target: &Value, patch: &Value) -> Value {
    let mut t = target.clone();
    json_patch::merge(&mut t, patch);
    t
}

pub fn json_patch(target: &Value, patch: &Value) -> ApiResult<Value> {
    let p: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut t = target.clone();
    json_patch::patch(&mut t, &p).map_err(|e| {
        ApiError::invalid(
            "",
            "",
            "",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })?;
    Ok(t)
}

/// Strategic merge for the built-in kinds: lists of keyed items merge by key, `null` deletes,
/// and the `$patch` / `$setElementOrder` / `$retainKeys` directives are understood.
pub fn strategic(target: &Value, patch: &Value) -> Value {
    merge_value(target, patch, "")
}

fn merge_value(target: &Value, patch: &Value, field: &str) -> Value {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            if p.get("$patch").and_then(Value::as_str) == Some("replace") {
                let mut p = p.clone();
                p.remove("$patch");
                return Value::Object(p);
            }
            let mut out = t.clone();
            if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
                out.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
            }
            for (k, v) in p {
                if k.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(cur) => merge_value(cur, v, k),
                    None => strip_directives(v),
                };
                out.insert(k.clone(), merged);
            }
            for (k, v) in p {
                if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/")
                    && let (Some(Value::Array(cur)), Some(del)) = (out.get_mut(list), v.as_array())
                {
                    cur.retain(|x| !del.contains(x));
                }
            }
            Value::Object(out)
        }
        (Value::Array(t), Value::Array(p)) => {
            let all: Vec<Value> = t.iter().chain(p.iter()).cloned().collect();
            match list_key(field, &all) {
                Some(key) => Value::Array(merge_list(t, p, key, field)),
                None => Value::Array(p.iter().map(strip_directives).collect()),
            }
        }
        (_, p) => strip_directives(p),
    }
}

fn merge_list(t: &[Value], p: &[Value], key: &str, field: &str) -> Vec<Value> {
    let mut out: Vec<Value> = t.to_vec();
    for item in p {
        let k = &item[key];
        let pos = out.iter().position(|x| &x[key] == k);
        let directive = item.get("$patch").and_then(Value::as_str);
        match (pos, directive) {
            (Some(i), Some("delete")) => {
                out.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), _) => out[i] = merge_value(&out[i], item, field),
            (None, _) => out.push(strip_directives(item)),
        }
    }
    out
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}
