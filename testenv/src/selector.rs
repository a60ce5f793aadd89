//! Label and field selectors.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone)]
enum Op {
    Eq,
    NotEq,
    In,
    NotIn,
    Exists,
    NotExists,
}

#[derive(Debug, Clone)]
struct Req {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<Req>);

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 316
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && k.split('/').count() <= 2
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_err(s: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: found '{s}', expected: identifier"
    ))
}

impl LabelSelector {
    pub fn parse(s: &str) -> ApiResult<LabelSelector> {
        let mut reqs = vec![];
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        let skip_ws = |i: &mut usize| {
            while *i < chars.len() && chars[*i].is_whitespace() {
                *i += 1;
            }
        };
        while i < chars.len() {
            skip_ws(&mut i);
            if i >= chars.len() {
                break;
            }
            let negate = chars[i] == '!';
            if negate {
                i += 1;
                skip_ws(&mut i);
            }
            let start = i;
            while i < chars.len() && !matches!(chars[i], '=' | '!' | ',' | ' ' | '(' | ')') {
                i += 1;
            }
            let key: String = chars[start..i].iter().collect();
            if !valid_key(&key) {
                return Err(parse_err(&key));
            }
            skip_ws(&mut i);
            if negate {
                reqs.push(Req {
                    key,
                    op: Op::NotExists,
                    values: vec![],
                });
            } else if i >= chars.len() || chars[i] == ',' {
                reqs.push(Req {
                    key,
                    op: Op::Exists,
                    values: vec![],
                });
            } else {
                let rest: String = chars[i..].iter().collect();
                let (op, len) = if rest.starts_with("==") {
                    (Op::Eq, 2)
                } else if rest.starts_with("!=") {
                    (Op::NotEq, 2)
                } else if rest.starts_with('=') {
                    (Op::Eq, 1)
                } else if rest.starts_with("notin") {
                    (Op::NotIn, 5)
                } else if rest.starts_with("in") {
                    (Op::In, 2)
                } else {
                    return Err(ApiError::bad_request(format!(
                        "unable to parse requirement: found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
                    )));
                };
                i += len;
                skip_ws(&mut i);
                let values = if matches!(op, Op::In | Op::NotIn) {
                    if i >= chars.len() || chars[i] != '(' {
                        return Err(ApiError::bad_request(
                            "unable to parse requirement: found '', expected: '('",
                        ));
                    }
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ')')
                        .map(|p| p + i)
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "unable to parse requirement: found '', expected: ')'",
                            )
                        })?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    i = close + 1;
                    inner
                        .split(',')
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                        .collect()
                } else {
                    let start = i;
                    while i < chars.len() && chars[i] != ',' {
                        i += 1;
                    }
                    vec![
                        chars[start..i]
                            .iter()
                            .collect::<String>()
                            .trim()
                            .to_string(),
                    ]
                };
                if let Some(bad) = values.iter().find(|v| !valid_value(v)) {
                    return Err(ApiError::bad_request(format!(
                        "unable to parse requirement: values[0][{key}]: Invalid value: \"{bad}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
                    )));
                }
                reqs.push(Req { key, op, values });
            }
            skip_ws(&mut i);
            if i < chars.len() {
                if chars[i] != ',' {
                    return Err(parse_err(&chars[i..].iter().collect::<String>()));
                }
                i += 1;
            }
        }
        Ok(LabelSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.0.iter().all(|r| {
            let v = labels.get(&r.key).and_then(Value::as_str);
            match r.op {
                Op::Eq => v == Some(r.values[0].as_str()),
                Op::NotEq => v != Some(r.values[0].as_str()),
                Op::In => v.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::NotIn => v.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> ApiResult<FieldSelector> {
        let mut reqs = vec![];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, eq, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let path = path.trim();
            if path.is_empty() || !path.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            }
            reqs.push((path.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, eq, want)| {
            let mut v = obj;
            for p in path.split('.') {
                v = &v[p];
            }
            let got = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (got == *want) == *eq
        })
    }
}
