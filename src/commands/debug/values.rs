//! The values helm-controller renders a chart with: `spec.valuesFrom`
//! merged in order, then the inline `spec.values`, with `targetPath`
//! references set as Helm's `--set` would.

use serde_json::{Map, Value};

/// Deep-merges `overlay` into `base`: maps merge key by key, anything else
/// replaces (Helm's `MergeMaps`).
pub fn merge(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Value::Object(inner)), Value::Object(over)) => merge(inner, over),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// One step of a `--set` path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// How the value of a `targetPath` reference is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    /// `--set`: `true`, `false`, `null` and integers are typed; commas
    /// separate further `path=value` assignments.
    Typed,
    /// `--set-string`: the value (quoted in the data) stays a string.
    String,
    /// `--set-literal`: the data is the value, byte for byte.
    Literal,
}

/// Why a `--set` expression could not be applied.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SetError {
    #[error("key \"{0}\" has no value")]
    NoValue(String),
    #[error("key has no name")]
    EmptyKey,
    #[error("failed to parse list index in \"{0}\"")]
    BadIndex(String),
}

/// The mode upstream picks for a reference's data: literal when asked,
/// string when the data is wrapped in quotes (which are dropped).
pub fn mode_for(data: &str, literal: bool) -> (SetMode, String) {
    if literal {
        return (SetMode::Literal, data.to_string());
    }
    let quoted = |q: char| data.starts_with(q) && data.ends_with(q);
    if quoted('\'') || quoted('"') {
        (
            SetMode::String,
            data.trim_matches(|c| c == '\'' || c == '"').to_string(),
        )
    } else {
        (SetMode::Typed, data.to_string())
    }
}

/// Sets `value` at the dot path `path` in `values`, as
/// `helm --set path=value` (or its string/literal variants) does.
pub fn set_path(
    values: &mut Map<String, Value>,
    path: &str,
    value: &str,
    mode: SetMode,
) -> Result<(), SetError> {
    let expression = format!("{path}={value}");
    let mut rest: &str = &expression;
    loop {
        let (key, after) = split_unescaped(rest, '=');
        let Some(after) = after else {
            return Err(SetError::NoValue(key.to_string()));
        };
        let steps = parse_path(key)?;
        let (raw, next) = match mode {
            SetMode::Literal => (after.to_string(), None),
            _ => {
                let (raw, next) = split_unescaped(after, ',');
                (unescape(raw), next)
            }
        };
        let typed = match mode {
            SetMode::Typed => typed_value(&raw),
            _ => Value::String(raw),
        };
        insert(values, &steps, typed);
        match next {
            Some(next) => rest = next,
            None => return Ok(()),
        }
    }
}

/// The text before the first `sep` not preceded by a backslash, and what
/// follows it.
fn split_unescaped(s: &str, sep: char) -> (&str, Option<&str>) {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == sep => return (&s[..i], Some(&s[i + c.len_utf8()..])),
            _ => {}
        }
    }
    (s, None)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `a.b\.c[0].d` → keys and list indexes.
fn parse_path(path: &str) -> Result<Vec<Step>, SetError> {
    let mut steps = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    key.push(next);
                }
            }
            '.' => {
                if !after_index {
                    if key.is_empty() {
                        return Err(SetError::EmptyKey);
                    }
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let index = digits
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| SetError::BadIndex(path.to_string()))?;
                steps.push(Step::Index(index));
                after_index = true;
            }
            c => {
                after_index = false;
                key.push(c);
            }
        }
    }
    if !key.is_empty() {
        steps.push(Step::Key(key));
    } else if steps.is_empty() {
        return Err(SetError::EmptyKey);
    }
    Ok(steps)
}

/// Helm's typing of `--set` values.
fn typed_value(raw: &str) -> Value {
    if raw.eq_ignore_ascii_case("true") {
        Value::Bool(true)
    } else if raw.eq_ignore_ascii_case("false") {
        Value::Bool(false)
    } else if raw.eq_ignore_ascii_case("null") {
        Value::Null
    } else if raw == "0" {
        Value::from(0)
    } else if !raw.starts_with('0')
        && let Ok(n) = raw.parse::<i64>()
    {
        Value::from(n)
    } else {
        Value::String(raw.to_string())
    }
}

fn insert(values: &mut Map<String, Value>, steps: &[Step], value: Value) {
    let Some((Step::Key(first), rest)) = steps.split_first() else {
        return;
    };
    let slot = values.entry(first.clone()).or_insert(Value::Null);
    insert_at(slot, rest, value);
}

fn insert_at(slot: &mut Value, steps: &[Step], value: Value) {
    let Some((step, rest)) = steps.split_first() else {
        *slot = value;
        return;
    };
    match step {
        Step::Key(key) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(map) = slot {
                let inner = map.entry(key.clone()).or_insert(Value::Null);
                insert_at(inner, rest, value);
            }
        }
        Step::Index(index) => {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(list) = slot {
                if list.len() <= *index {
                    list.resize(index + 1, Value::Null);
                }
                insert_at(&mut list[*index], rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(path: &str, data: &str, literal: bool) -> Value {
        let mut values = Map::new();
        let (mode, value) = mode_for(data, literal);
        set_path(&mut values, path, &value, mode).unwrap();
        Value::Object(values)
    }

    #[test]
    fn maps_merge_deeply_and_other_values_replace() {
        let mut base = json!({"a": {"b": 1, "c": [1]}, "d": 1})
            .as_object()
            .cloned()
            .unwrap();
        let over = json!({"a": {"c": [2], "e": 3}, "d": {"x": 1}});
        merge(&mut base, over.as_object().unwrap());
        assert_eq!(
            Value::Object(base),
            json!({"a": {"b": 1, "c": [2], "e": 3}, "d": {"x": 1}})
        );
    }

    #[test]
    fn set_values_are_typed_like_helm() {
        assert_eq!(set("a.b", "true", false), json!({"a": {"b": true}}));
        assert_eq!(set("a", "42", false), json!({"a": 42}));
        assert_eq!(set("a", "042", false), json!({"a": "042"}));
        assert_eq!(set("a", "0", false), json!({"a": 0}));
        assert_eq!(set("a", "null", false), json!({"a": null}));
        assert_eq!(set("a", "1.5", false), json!({"a": "1.5"}));
        assert_eq!(set("a", "'42'", false), json!({"a": "42"}));
        assert_eq!(set("a", "\"true\"", false), json!({"a": "true"}));
        assert_eq!(set("a", "x,b=2", false), json!({"a": "x", "b": 2}));
        assert_eq!(set("a", "x,b=2", true), json!({"a": "x,b=2"}));
        assert_eq!(set("a\\.b", "v", false), json!({"a.b": "v"}));
        assert_eq!(
            set("list[1].name", "v", false),
            json!({"list": [null, {"name": "v"}]})
        );
    }

    #[test]
    fn bad_expressions_are_errors() {
        let mut values = Map::new();
        assert_eq!(
            set_path(&mut values, "a", "x,b", SetMode::Typed),
            Err(SetError::NoValue("b".into()))
        );
        assert_eq!(
            set_path(&mut values, "a[x]", "1", SetMode::Typed),
            Err(SetError::BadIndex("a[x]".into()))
        );
    }
}
