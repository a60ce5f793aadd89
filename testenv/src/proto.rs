//! Decoding of the protobuf bodies kubectl's typed clients send (`kubectl create namespace`,
//! `create configmap|secret|serviceaccount`): the `runtime.Unknown` envelope and those kinds.

use base64::Engine;
use serde_json::{Map, Value, json};

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(b: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let f = match key & 7 {
            0 => Field::Varint(varint(b, &mut i)?),
            1 => {
                i = i.checked_add(8).filter(|e| *e <= b.len())?;
                continue;
            }
            2 => {
                let len = usize::try_from(varint(b, &mut i)?).ok()?;
                let end = i.checked_add(len).filter(|e| *e <= b.len())?;
                let s = &b[i..end];
                i = end;
                Field::Bytes(s)
            }
            5 => {
                i = i.checked_add(4).filter(|e| *e <= b.len())?;
                continue;
            }
            _ => return None,
        };
        out.push((key >> 3, f));
    }
    Some(out)
}

fn string(b: &[u8]) -> Option<Value> {
    std::str::from_utf8(b).ok().map(|s| json!(s))
}

fn map_entries(parts: &[(u64, Field<'_>)], num: u64, bytes_values: bool) -> Option<Value> {
    let mut m = Map::new();
    for (n, f) in parts {
        if *n != num {
            continue;
        }
        let Field::Bytes(entry) = f else { return None };
        let (mut k, mut v) = (String::new(), Value::String(String::new()));
        for (en, ef) in fields(entry)? {
            if let Field::Bytes(x) = ef {
                match en {
                    1 => k = std::str::from_utf8(x).ok()?.to_string(),
                    2 if bytes_values => {
                        v = json!(base64::engine::general_purpose::STANDARD.encode(x))
                    }
                    2 => v = string(x)?,
                    _ => {}
                }
            }
        }
        m.insert(k, v);
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

fn object_meta(b: &[u8]) -> Option<Value> {
    let parts = fields(b)?;
    let mut m = json!({});
    for (n, f) in &parts {
        match (n, f) {
            // proto2 strings are sent even when empty; JSON omits them.
            (_, Field::Bytes([])) => {}
            (1, Field::Bytes(x)) => m["name"] = string(x)?,
            (2, Field::Bytes(x)) => m["generateName"] = string(x)?,
            (3, Field::Bytes(x)) => m["namespace"] = string(x)?,
            (6, Field::Bytes(x)) => m["resourceVersion"] = string(x)?,
            (14, Field::Bytes(x)) => {
                if !m["finalizers"].is_array() {
                    m["finalizers"] = json!([]);
                }
                m["finalizers"].as_array_mut()?.push(string(x)?);
            }
            _ => {}
        }
    }
    if let Some(l) = map_entries(&parts, 11, false) {
        m["labels"] = l;
    }
    if let Some(a) = map_entries(&parts, 12, false) {
        m["annotations"] = a;
    }
    Some(m)
}

/// Decodes a `k8s\0`-prefixed protobuf body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Option<Value> {
    let envelope = fields(body.strip_prefix(b"k8s\0")?)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in &envelope {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (tn, tf) in fields(tm)? {
                    if let Field::Bytes(x) = tf {
                        let s = std::str::from_utf8(x).ok()?.to_string();
                        if tn == 1 {
                            api_version = s;
                        } else if tn == 2 {
                            kind = s;
                        }
                    }
                }
            }
            (2, Field::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let parts = fields(raw)?;
    let mut obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {}});
    for (n, f) in &parts {
        match (kind.as_str(), n, f) {
            (_, 1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            ("Secret", 3, Field::Bytes(x)) if !x.is_empty() => obj["type"] = string(x)?,
            ("Secret", 5, Field::Varint(v)) | ("ConfigMap", 4, Field::Varint(v)) => {
                obj["immutable"] = json!(*v != 0)
            }
            ("ServiceAccount", 4, Field::Varint(v)) => {
                obj["automountServiceAccountToken"] = json!(*v != 0)
            }
            _ => {}
        }
    }
    match kind.as_str() {
        "Namespace" | "ServiceAccount" => {}
        "ConfigMap" => {
            if let Some(d) = map_entries(&parts, 2, false) {
                obj["data"] = d;
            }
            if let Some(d) = map_entries(&parts, 3, true) {
                obj["binaryData"] = d;
            }
        }
        "Secret" => {
            if let Some(d) = map_entries(&parts, 2, true) {
                obj["data"] = d;
            }
            if let Some(d) = map_entries(&parts, 4, false) {
                obj["stringData"] = d;
            }
        }
        _ => return None,
    }
    Some(obj)
}
