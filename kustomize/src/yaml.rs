//! The YAML document model.
//!
//! `kubectl kustomize` reads YAML with go-yaml v3 semantics (YAML 1.2 core
//! schema: only `true`/`false` are booleans, `yes` stays a string), turns
//! every resource into JSON and prints it back with go-yaml v2 (through
//! `sigs.k8s.io/yaml`'s `JSONToYAML`). So the output keeps no comments, no
//! input field order (mapping keys are sorted with go-yaml v2's "natural"
//! order) and no scalar styles: a scalar is re-emitted from its typed value.
//! This module therefore models a document as typed JSON-like values, parses
//! with v3 resolution rules and emits with v2's emitter rules.

use granit_parser::{Event, Parser, ScalarStyle};
use indexmap::IndexMap;
use std::fmt::Write as _;

/// An ordered mapping (input order is kept while transforming; the emitter sorts).
pub type Map = IndexMap<String, Value>;

/// A YAML/JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Value>),
    Map(Map),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_map_mut().and_then(|m| m.get_mut(key))
    }
    /// Follows a path of mapping keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        let mut cur = self;
        for p in path {
            cur = cur.get(p)?;
        }
        Some(cur)
    }
    pub fn get_str(&self, path: &[&str]) -> Option<&str> {
        self.get_path(path).and_then(Value::as_str)
    }
    /// The value as go's `fmt` would print a scalar read into a string field
    /// (kustomize reads label values etc. as strings).
    pub fn scalar_string(&self) -> Option<String> {
        match self {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Uint(u) => Some(u.to_string()),
            Value::Float(f) => Some(json_float_text(*f)),
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Uint(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "mapping",
        }
    }
    /// Compact JSON text (keys sorted like Go's `encoding/json` on maps).
    pub fn to_json_sorted(&self) -> String {
        let mut s = String::new();
        write_json(self, &mut s);
        s
    }
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Uint(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => out.push_str(&json_float_text(*f)),
        Value::Str(s) => write_json_string(s, out),
        Value::Seq(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(it, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

/// Go `encoding/json` string encoding (HTML-escaping included).
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// How Go's `encoding/json` prints a float64.
pub fn json_float_text(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // 'e' format, shortest, exponent without leading zeros.
        let (neg, digits, exp) = shortest_digits(f);
        let mut s = String::new();
        if neg {
            s.push('-');
        }
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(s, "{}", exp.abs());
        s
    } else {
        format_f(f)
    }
}

/// Shortest round-trip digits and decimal exponent (d.ddd × 10^exp).
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (f.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`.
fn format_f(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (neg, digits, exp) = shortest_digits(f);
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    let dp = exp + 1; // position of the decimal point
    if dp <= 0 {
        s.push_str("0.");
        for _ in 0..(-dp) {
            s.push('0');
        }
        s.push_str(&digits);
    } else if dp as usize >= digits.len() {
        s.push_str(&digits);
        for _ in 0..(dp as usize - digits.len()) {
            s.push('0');
        }
    } else {
        s.push_str(&digits[..dp as usize]);
        s.push('.');
        s.push_str(&digits[dp as usize..]);
    }
    s
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`.
fn format_g(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f.is_nan() {
        return ".nan".into();
    }
    if f == 0.0 {
        return format_f(f);
    }
    let (neg, digits, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        let mut s = String::new();
        if neg {
            s.push('-');
        }
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(s, "{:02}", exp.abs());
        s
    } else {
        format_f(f)
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// A YAML syntax or structure error, with a 1-based line.
#[derive(Debug, Clone)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Whether the value holds a float JSON cannot encode (NaN, ±Inf): kustomize
/// fails on those.
pub fn has_non_finite(v: &Value) -> bool {
    match v {
        Value::Float(f) => !f.is_finite(),
        Value::Seq(items) => items.iter().any(has_non_finite),
        Value::Map(m) => m.values().any(has_non_finite),
        _ => false,
    }
}

/// The first character go-yaml v2 cannot print back (kustomize fails on
/// these: its JSON round trip leaves them unescaped).
pub fn unprintable_char(v: &Value) -> Option<char> {
    let bad = |s: &str| {
        s.chars().find(|&c| {
            let u = c as u32;
            u == 0x7F || ((0x80..=0x9F).contains(&u) && u != 0x85) || u == 0xFFFE || u == 0xFFFF
        })
    };
    match v {
        Value::Str(s) => bad(s),
        Value::Seq(items) => items.iter().find_map(unprintable_char),
        Value::Map(m) => m
            .iter()
            .find_map(|(k, v)| bad(k).or_else(|| unprintable_char(v))),
        _ => None,
    }
}

/// Parses every document of a YAML stream. Empty documents are returned as `Null`.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_with(text, false)
}

/// Parses with go-yaml v2 (YAML 1.1) resolution, as `sigs.k8s.io/yaml` reads
/// kustomization files: `yes`, `on`, `y` are booleans there.
pub fn parse_documents_v2(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_with(text, true)
}

fn parse_with(text: &str, v2: bool) -> Result<Vec<Value>, YamlError> {
    let src = text;
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Builder> = Vec::new();
    let mut anchors: Vec<Option<Value>> = Vec::new();
    let mut doc: Option<Value> = None;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| YamlError {
            line: e.marker().line(),
            message: e.info(),
        })?;
        let line = span.start.line();
        // A plain timestamp resolves to text here but is not a string to kustomize.
        let timestamp_scalar =
            matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if is_timestamp(t));
        let (value, anchor) = match ev {
            Event::StreamStart | Event::StreamEnd => continue,
            Event::DocumentStart(..) => {
                doc = None;
                continue;
            }
            Event::DocumentEnd => {
                docs.push(doc.take().unwrap_or(Value::Null));
                anchors.clear();
                continue;
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Builder::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Builder::Map(Map::new(), None, anchor, Vec::new()));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Builder::Seq(items, anchor)) => (Value::Seq(items), anchor),
                _ => unreachable!("unbalanced sequence events"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Builder::Map(mut m, _, anchor, merges)) => {
                    // Keys written in the mapping win over merged ones.
                    for v in merges {
                        merge_into(&mut m, v);
                    }
                    (Value::Map(m), anchor)
                }
                _ => unreachable!("unbalanced mapping events"),
            },
            Event::Scalar(text, style, anchor, tag) => {
                // kustomize prints a block scalar again as a block scalar
                // (go-yaml v3) and reads it back with go-yaml v2, which fails
                // when its first line starts with a tab; and go-yaml refuses
                // tabs while detecting a block scalar's indentation.
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                let tab_line = if block && text.starts_with('\t') {
                    Some(line)
                } else if block {
                    span.start
                        .byte_offset()
                        .and_then(|start| block_scalar_tab(src, start))
                } else {
                    None
                };
                if let Some(bad_line) = tab_line {
                    return Err(YamlError {
                        line: bad_line,
                        message: "found a tab character where an indentation space is expected"
                            .into(),
                    });
                }
                let tag = tag.map(|t| {
                    if t.is_yaml_core_schema() {
                        format!("!!{}", t.suffix())
                    } else {
                        format!("{}{}", t.original_handle(), t.suffix())
                    }
                });
                let v = if v2 && style == ScalarStyle::Plain && tag.is_none() {
                    Ok(resolve_plain_v2(&text))
                } else {
                    resolve_v3(&text, style, tag.as_deref())
                }
                .map_err(|message| YamlError { line, message })?;
                (v, anchor)
            }
            Event::Alias(id) => {
                let v = anchors
                    .get(id)
                    .and_then(|a| a.clone())
                    .ok_or_else(|| YamlError {
                        line,
                        message: "unknown anchor referenced".into(),
                    })?;
                (v, 0)
            }
            _ => continue,
        };
        if anchor != 0 {
            if anchors.len() <= anchor {
                anchors.resize(anchor + 1, None);
            }
            anchors[anchor] = Some(value.clone());
        }
        match stack.last_mut() {
            None => doc = Some(value),
            Some(Builder::Seq(items, _)) => items.push(value),
            Some(Builder::Map(m, pending, _, merges)) => match pending.take() {
                None if !v2 && (timestamp_scalar || !matches!(value, Value::Str(_))) => {
                    // kustomize's JSON step fails on keys that are not strings.
                    let shown = value.scalar_string().unwrap_or_default();
                    return Err(YamlError {
                        line,
                        message: format!(
                            "mapping key `{shown}` reads as a {}, not a string; quote the key",
                            if timestamp_scalar {
                                "timestamp"
                            } else {
                                value.kind_name()
                            }
                        ),
                    });
                }
                None => {
                    let key = match value {
                        Value::Str(s) => s,
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(YamlError {
                                line,
                                message: "mapping keys must be scalars".into(),
                            });
                        }
                        other => other.scalar_string().unwrap_or_default(),
                    };
                    *pending = Some(key);
                }
                Some(key) => {
                    if key == "<<" {
                        merges.push(value);
                    } else if m.contains_key(&key) {
                        return Err(YamlError {
                            line,
                            message: format!("mapping key \"{key}\" already defined"),
                        });
                    } else {
                        m.insert(key, value);
                    }
                }
            },
        }
    }
    Ok(docs)
}

/// go-yaml refuses a tab where a block scalar's indentation is still being
/// detected (the lines after `|`/`>` up to the first content line, when the
/// header has no indentation digit). `start` is the byte offset of the
/// scalar's first content character. Returns the 1-based line of the tab.
fn block_scalar_tab(src: &str, start: usize) -> Option<usize> {
    let content_line_start = src.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    // Walk back over blank lines to the header line.
    let mut first = content_line_start;
    let header = loop {
        if first == 0 {
            return None;
        }
        let prev_end = first - 1;
        let prev_start = src[..prev_end].rfind('\n').map_or(0, |i| i + 1);
        let prev = &src[prev_start..prev_end];
        if prev.trim().is_empty() {
            first = prev_start;
            continue;
        }
        break prev.trim_end_matches('\r');
    };
    let header = header.split(" #").next().unwrap_or(header).trim_end();
    let indicator = header.rsplit([' ', '\t']).next().unwrap_or("");
    if !(indicator.starts_with('|') || indicator.starts_with('>'))
        || indicator.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let content_line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let mut pos = first;
    while pos <= content_line_end {
        let end = src[pos..].find('\n').map_or(src.len(), |i| pos + i);
        if src[pos..end].trim_start_matches(' ').starts_with('\t') {
            return Some(src[..pos].matches('\n').count() + 1);
        }
        pos = end + 1;
    }
    None
}

fn merge_into(m: &mut Map, value: Value) {
    let sources = match value {
        Value::Seq(items) => items,
        other => vec![other],
    };
    for src in sources {
        if let Value::Map(src) = src {
            for (k, v) in src {
                m.entry(k).or_insert(v);
            }
        }
    }
}

enum Builder {
    Seq(Vec<Value>, usize),
    Map(Map, Option<String>, usize, Vec<Value>),
}

/// go-yaml v3 scalar resolution (as decoded into `interface{}`).
fn resolve_v3(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<Value, String> {
    match tag {
        Some("!!str") | Some("!!binary") => return Ok(Value::Str(text.to_string())),
        Some("!!null") => return Ok(Value::Null),
        Some("!!bool") => {
            return match resolve_plain_v3(text) {
                Value::Bool(b) => Ok(Value::Bool(b)),
                _ => Err(format!("cannot decode !!str `{text}` as a !!bool")),
            };
        }
        Some("!!int") | Some("!!float") => {
            return match resolve_plain_v3(text) {
                v @ (Value::Int(_) | Value::Uint(_) | Value::Float(_)) => Ok(v),
                _ => Err(format!("cannot decode `{text}` as a number")),
            };
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.to_string()));
    }
    Ok(resolve_plain_v3(text))
}

fn resolve_plain_v3(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        if let Some(f) = go_parse_float(s) {
            return Value::Float(f);
        }
    } else if first.is_ascii_digit() || first == b'+' || first == b'-' {
        if is_timestamp(s) {
            return Value::Str(timestamp_rfc3339(s));
        }
        if let Some(v) = resolve_number(s) {
            return v;
        }
    }
    Value::Str(s.to_string())
}

fn resolve_plain_v2(s: &str) -> Value {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
        _ => {}
    }
    match resolve_plain_v3(s) {
        // v2 leaves timestamps as text when decoding into interface{}.
        Value::Str(_) => Value::Str(s.to_string()),
        v => v,
    }
}

/// Integer / float resolution shared by v2 and v3 (underscores dropped,
/// Go base prefixes, YAML-style floats).
fn resolve_number(s: &str) -> Option<Value> {
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(Value::Int(i));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Value::Uint(u));
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = go_parse_float(&plain)
    {
        return Some(Value::Float(f));
    }
    if let Some(rest) = plain.strip_prefix("-0b")
        && let Ok(i) = i64::from_str_radix(rest, 2)
    {
        return Some(Value::Int(-i));
    }
    None
}

fn split_base(s: &str) -> (u32, &str) {
    let lower = s.get(..2).map(|p| p.to_ascii_lowercase());
    match lower.as_deref() {
        Some("0x") => (16, &s[2..]),
        Some("0o") => (8, &s[2..]),
        Some("0b") => (2, &s[2..]),
        _ if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
        _ => (10, s),
    }
}

fn go_parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with('+') || s.starts_with('-') {
        return None;
    }
    let (base, digits) = split_base(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    u64::from_str_radix(digits, base).ok()
}

fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

fn is_yaml_style_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn go_parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        let low = t.to_ascii_lowercase();
        if low == "inf" || low == "infinity" || low == "nan" {
            return s.parse().ok();
        }
        return None;
    }
    // Go's ParseFloat reports overflow (±Inf) as an error.
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// go-yaml's timestamp detection (`2006-1-2`, with optional time part).
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i != 4 || i == b.len() || b[i] != b'-' {
        return false;
    }
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        if *i == st {
            None
        } else {
            s[st..*i].parse().ok()
        }
    };
    i += 1;
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > mdays[month as usize - 1] {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return false;
    }
    i += 1;
    let Some(h) = num(&mut i, 2) else {
        return false;
    };
    if h > 23 || i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(m) = num(&mut i, 2) else {
        return false;
    };
    if m > 59 || i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(sec) = num(&mut i, 2) else {
        return false;
    };
    if sec > 59 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    if i == b.len() {
        return true;
    }
    if sep == b' ' {
        return false;
    }
    if b[i] == b'Z' {
        return i + 1 == b.len();
    }
    if b[i] == b'+' || b[i] == b'-' {
        let rest = &s[i + 1..];
        let rb = rest.as_bytes();
        return rb.len() == 5
            && rb[2] == b':'
            && rb[..2].iter().all(u8::is_ascii_digit)
            && rb[3..].iter().all(u8::is_ascii_digit);
    }
    false
}

/// A go-yaml timestamp as Go's `time.Time` prints it in JSON (RFC 3339).
fn timestamp_rfc3339(s: &str) -> String {
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y = parts.next().unwrap_or("0");
    let m: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let d: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut out = format!("{y}-{m:02}-{d:02}T");
    let Some(rest) = rest else {
        out.push_str("00:00:00Z");
        return out;
    };
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b.trim_end_matches('0')),
        None => (time, ""),
    };
    let nums: Vec<u32> = hms.split(':').map(|p| p.parse().unwrap_or(0)).collect();
    out.push_str(&format!(
        "{:02}:{:02}:{:02}",
        nums.first().unwrap_or(&0),
        nums.get(1).unwrap_or(&0),
        nums.get(2).unwrap_or(&0)
    ));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if zone.is_empty() || zone == "Z" || zone == "+00:00" || zone == "-00:00" {
        out.push('Z');
    } else {
        out.push_str(zone);
    }
    out
}

// ---------------------------------------------------------------------------
// Emitting (go-yaml v2 rules, as `sigs.k8s.io/yaml` prints JSON objects)
// ---------------------------------------------------------------------------

/// Prints one document the way go-yaml v2's `Marshal` prints it.
pub fn to_yaml(v: &Value) -> String {
    let mut e = Emitter::default();
    match v {
        Value::Map(m) if !m.is_empty() => e.map(m, 0, false),
        Value::Seq(s) if !s.is_empty() => e.seq(s, 0, false),
        other => {
            e.scalar_or_empty(other, 0, false);
        }
    }
    if e.column > 0 {
        e.newline();
    }
    e.out
}

#[derive(Default)]
struct Emitter {
    out: String,
    column: usize,
}

const BEST_WIDTH: usize = 80;

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        if c == '\n' {
            self.column = 0;
        } else {
            self.column += 1;
        }
    }
    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }
    /// Writes a line break character as it is (libyaml copies LS/PS/NEL).
    fn put_break(&mut self, c: char) {
        self.out.push(c);
        self.column = 0;
    }
    fn newline(&mut self) {
        self.put('\n');
    }
    fn indent_to(&mut self, indent: usize) {
        if self.column > 0 {
            self.newline();
        }
        while self.column < indent {
            self.put(' ');
        }
    }

    /// A block mapping whose keys sit at `indent`. With `inline`, the first key
    /// continues the current line (after `- `).
    fn map(&mut self, m: &Map, indent: usize, inline: bool) {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|a, b| v2_key_cmp(a, b));
        for (i, k) in keys.into_iter().enumerate() {
            if !(i == 0 && inline) {
                self.indent_to(indent);
            }
            let folded = if k.contains('\u{85}') {
                fold_nel(k)
            } else {
                k.to_string()
            };
            let simple = folded.len() <= 128 && !folded.chars().any(is_break);
            if simple {
                self.key(k);
                self.put(':');
            } else {
                // A long or multi-line key is written as a complex key.
                self.put('?');
                self.string(k, indent + 2, true, false);
                self.indent_to(indent);
                self.put(':');
            }
            let v = &m[k.as_str()];
            match v {
                // After a complex key, collections start on the `:` line.
                Value::Map(c) if !c.is_empty() && !simple => {
                    self.put(' ');
                    self.map(c, indent + 2, true)
                }
                Value::Seq(s) if !s.is_empty() && !simple => {
                    self.put(' ');
                    self.seq(s, indent + 2, true)
                }
                Value::Map(c) if !c.is_empty() => self.map(c, indent + 2, false),
                // Sequences in a mapping are not indented.
                Value::Seq(s) if !s.is_empty() => self.seq(s, indent, false),
                other => self.scalar_or_empty(other, indent + 2, true),
            }
        }
    }

    /// A block sequence whose dashes sit at `indent`.
    fn seq(&mut self, s: &[Value], indent: usize, inline: bool) {
        for (i, item) in s.iter().enumerate() {
            if !(i == 0 && inline) {
                self.indent_to(indent);
            }
            self.put('-');
            match item {
                Value::Map(c) if !c.is_empty() => {
                    self.put(' ');
                    self.map(c, indent + 2, true)
                }
                Value::Seq(c) if !c.is_empty() => {
                    self.put(' ');
                    self.seq(c, indent + 2, true)
                }
                other => self.scalar_or_empty(other, indent + 2, true),
            }
        }
    }

    /// `indent` is the indentation of continuation lines / block scalar content.
    fn scalar_or_empty(&mut self, v: &Value, indent: usize, need_space: bool) {
        let sp = |e: &mut Emitter| {
            if need_space {
                e.put(' ');
            }
        };
        match v {
            Value::Map(_) => {
                sp(self);
                self.put_str("{}");
            }
            Value::Seq(_) => {
                sp(self);
                self.put_str("[]");
            }
            Value::Null => {
                sp(self);
                self.put_str("null");
            }
            Value::Bool(b) => {
                sp(self);
                self.put_str(if *b { "true" } else { "false" });
            }
            Value::Int(i) => {
                sp(self);
                self.put_str(&i.to_string());
            }
            Value::Uint(u) => {
                sp(self);
                self.put_str(&u.to_string());
            }
            Value::Float(f) => {
                sp(self);
                self.put_str(&float_v2(*f));
            }
            Value::Str(s) => self.string(s, indent, need_space, false),
        }
    }

    fn key(&mut self, k: &str) {
        self.string(k, 0, false, true);
    }

    fn string(&mut self, s: &str, indent: usize, need_space: bool, simple_key: bool) {
        let folded;
        let s = if s.contains('\u{85}') {
            folded = fold_nel(s);
            folded.as_str()
        } else {
            s
        };
        let literal = s.contains('\n');
        let can_plain = v2_resolves_to_str(s) && !is_base60_float(s);
        let a = analyze(s);
        let style = if literal {
            if !a.block_allowed || simple_key {
                Style::Double
            } else {
                Style::Literal
            }
        } else if can_plain {
            if !a.block_plain_allowed || (s.is_empty() && simple_key) {
                if a.single_quoted_allowed {
                    Style::Single
                } else {
                    Style::Double
                }
            } else {
                Style::Plain
            }
        } else {
            Style::Double
        };
        let style = if style == Style::Single && !a.single_quoted_allowed {
            Style::Double
        } else {
            style
        };
        if need_space {
            self.put(' ');
        }
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(s, indent, allow_breaks),
            Style::Single => self.write_single(s, indent, allow_breaks),
            Style::Double => self.write_double(s, indent, allow_breaks),
            Style::Literal => self.write_literal(s, indent),
        }
    }

    fn write_indent(&mut self, indent: usize) {
        self.newline();
        while self.column < indent {
            self.put(' ');
        }
    }

    fn write_plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
    }

    fn write_single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('\'');
        let mut spaces = false;
        let mut breaks = false;
        let n = chars.len();
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != n - 1
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.newline();
                }
                self.put_break(c);
                breaks = true;
            } else {
                if breaks {
                    while self.column < indent {
                        self.put(' ');
                    }
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            while self.column < indent {
                self.put(' ');
            }
        }
        self.put('\'');
    }

    fn write_double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        self.put('"');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => Some('0'),
                    '\x07' => Some('a'),
                    '\x08' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\x0b' => Some('v'),
                    '\x0c' => Some('f'),
                    '\r' => Some('r'),
                    '\x1b' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let u = c as u32;
                        let t = if u <= 0xFF {
                            format!("x{u:02X}")
                        } else if u <= 0xFFFF {
                            format!("u{u:04X}")
                        } else {
                            format!("U{u:08X}")
                        };
                        self.put_str(&t);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i != n - 1 {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
    }

    fn write_literal(&mut self, s: &str, indent: usize) {
        self.put('|');
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            self.put('2');
        }
        let last = chars.last().copied();
        match last {
            None => self.put('-'),
            Some(c) if !is_break(c) => self.put('-'),
            Some(_) => {
                if chars.len() == 1 || is_break(chars[chars.len() - 2]) {
                    self.put('+');
                }
            }
        }
        self.newline();
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.put_break(c);
                breaks = true;
            } else {
                if breaks {
                    while self.column < indent {
                        self.put(' ');
                    }
                }
                self.put(c);
                breaks = false;
            }
        }
    }
}

/// go-yaml v2 reads kustomize's JSON back; a raw NEL in a quoted JSON string
/// is a line break there and folds like one (blanks around it dropped, one
/// break becomes a space, n breaks become n-1 newlines).
fn fold_nel(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{85}' {
            while out.ends_with([' ', '\t']) {
                out.pop();
            }
            let mut breaks = 0;
            while i < chars.len() && matches!(chars[i], '\u{85}' | ' ' | '\t') {
                if chars[i] == '\u{85}' {
                    breaks += 1;
                }
                i += 1;
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                for _ in 1..breaks {
                    out.push('\n');
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[derive(PartialEq, Clone, Copy)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, block context only.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let blankz = |i: usize| i >= n || matches!(chars[i], ' ' | '\t') || is_break(chars[i]);
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut special, mut line_breaks) =
        (false, false, false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_ws = blankz(i + 1);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_ws => block_indicators = true,
                '#' if preceded_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = blankz(i);
    }
    let mut a = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Whether go-yaml v2 would read `s`, written plain, back as a string.
fn v2_resolves_to_str(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => go_parse_float(s).is_none(),
        b'0'..=b'9' | b'+' | b'-' => !is_timestamp(s) && resolve_number(s).is_none(),
        _ => true,
    }
}

/// go-yaml v2's base 60 float check (`1:20` is quoted).
fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i = 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let g = &s[st..i];
        let ok = match g.len() {
            1 => true,
            2 => g.as_bytes()[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A float as it comes out of JSON and go-yaml v2: integral values print as
/// integers, others with Go's `%g` shortest form.
fn float_v2(f: f64) -> String {
    let text = json_float_text(f);
    match resolve_number(&text) {
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Uint(u)) => u.to_string(),
        _ => format_g(f),
    }
}

/// go-yaml v2's map key order (`keyList.Less`): letters before other
/// characters, digit runs compared as numbers. Go tests digits with
/// `unicode.IsDigit`; `char::is_numeric` is the nearest test std offers.
///
/// Both strings agree up to the first differing character, so the rule
/// (which looks back at the digits before it) is symmetric and one pass
/// gives the order; no allocation, as every emitted mapping sorts its keys.
pub fn v2_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let mut ai = a.char_indices();
    let mut bi = b.char_indices();
    loop {
        let ((at, ca), (bt, cb)) = match (ai.next(), bi.next()) {
            (Some(x), Some(y)) => (x, y),
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        };
        if ca == cb {
            continue;
        }
        match (ca.is_alphabetic(), cb.is_alphabetic()) {
            (true, true) => return ca.cmp(&cb),
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        // A zero inside a number is a digit, not a leading zero.
        let start = if ca == '0' || cb == '0' {
            a[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_numeric())
                .any(|c| c != '0')
                .into()
        } else {
            0i64
        };
        let digit_run = |rest: &str| {
            rest.chars()
                .take_while(|c| c.is_numeric())
                .fold((start, 0usize), |(n, len), c| {
                    let digit = i64::from(c as u32) - i64::from(b'0');
                    (n.wrapping_mul(10).wrapping_add(digit), len + 1)
                })
        };
        let (an, alen) = digit_run(&a[at..]);
        let (bn, blen) = digit_run(&b[bt..]);
        return an.cmp(&bn).then(alen.cmp(&blen)).then(ca.cmp(&cb));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn v2_key_order_is_natural() {
        let mut keys = vec!["a10", "a9", "b", "A", "1", "_x", "a"];
        keys.sort_by(|a, b| v2_key_cmp(a, b));
        // Order checked against kubectl kustomize.
        assert_eq!(keys, vec!["_x", "1", "A", "a", "a9", "a10", "b"]);
        let order = [
            "",
            ".1",
            ".2",
            ".a",
            "1",
            "2",
            "a!10",
            "a/0001",
            "a/002",
            "a/3",
            "a/10",
            "a/11",
            "a/0012",
            "a/100",
            "a~10",
            "ab/1",
            "b/1",
            "b/01",
            "b/2",
            "b/02",
            "b/3",
            "b/03",
            "b1",
            "b01",
            "b3",
            "c2.10",
            "c10.2",
            "d1",
            "d7",
            "d7abc",
            "d12",
            "d12a",
            "name",
            "namespace",
        ];
        for w in order.windows(2) {
            assert_eq!(
                v2_key_cmp(w[0], w[1]),
                Ordering::Less,
                "{:?} < {:?}",
                w[0],
                w[1]
            );
            assert_eq!(
                v2_key_cmp(w[1], w[0]),
                Ordering::Greater,
                "{:?} > {:?}",
                w[1],
                w[0]
            );
        }
        assert_eq!(v2_key_cmp("apiVersion", "kind"), Ordering::Less);
        assert_eq!(v2_key_cmp("a/10", "a/10"), Ordering::Equal);
    }

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v3() {
        let d = parse_documents("a: yes\nb: 012\nc: 0x1F\nd: 1_000\ne: ~\nf: 1.5\ng: 2001-12-14\n")
            .unwrap();
        let m = d[0].as_map().unwrap();
        assert_eq!(m["a"], Value::Str("yes".into()));
        assert_eq!(m["b"], Value::Int(10));
        assert_eq!(m["c"], Value::Int(31));
        assert_eq!(m["d"], Value::Int(1000));
        assert_eq!(m["e"], Value::Null);
        assert_eq!(m["f"], Value::Float(1.5));
        assert_eq!(m["g"], Value::Str("2001-12-14T00:00:00Z".into()));
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float_v2(1000.0), "1000");
        assert_eq!(float_v2(1.5), "1.5");
        assert_eq!(float_v2(1234567.5), "1.2345675e+06");
        assert_eq!(float_v2(1e20), "1e+20");
        assert_eq!(float_v2(0.0001), "0.0001");
        assert_eq!(float_v2(0.00001), "1e-05");
    }

    fn emit(v: Value) -> String {
        let mut m = Map::new();
        m.insert("k".into(), v);
        to_yaml(&Value::Map(m))
    }

    #[test]
    fn strings_are_quoted_when_yaml_1_1_would_retype_them() {
        for (s, want) in [
            ("yes", "k: \"yes\"\n"),
            ("on", "k: \"on\"\n"),
            ("1_000", "k: \"1_000\"\n"),
            ("1:20", "k: \"1:20\"\n"),
            ("2001-12-14", "k: \"2001-12-14\"\n"),
            ("plain text", "k: plain text\n"),
            ("- dash", "k: '- dash'\n"),
            ("it's: x", "k: 'it''s: x'\n"),
            ("tab\there", "k: \"tab\\there\"\n"),
            ("", "k: \"\"\n"),
        ] {
            assert_eq!(emit(Value::Str(s.into())), want, "{s:?}");
        }
    }

    #[test]
    fn multi_line_strings_use_block_styles() {
        assert_eq!(emit(Value::Str("a\nb".into())), "k: |-\n  a\n  b\n");
        assert_eq!(emit(Value::Str("a\n".into())), "k: |\n  a\n");
        assert_eq!(emit(Value::Str("a\n\n".into())), "k: |+\n  a\n\n");
        assert_eq!(emit(Value::Str(" a\nb".into())), "k: |2-\n   a\n  b\n");
        // A space before a break rules block styles out.
        assert_eq!(emit(Value::Str("a \nb".into())), "k: \"a \\nb\"\n");
    }

    #[test]
    fn long_plain_strings_fold_at_80_columns() {
        let s = "word ".repeat(20).trim_end().to_string();
        let out = emit(Value::Str(s.clone()));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].len() > 80 && lines[1].starts_with("  word"),
            "{out}"
        );
        assert_eq!(
            parse_documents(&out).unwrap()[0].get("k"),
            Some(&Value::Str(s))
        );
    }

    #[test]
    fn nel_folds_like_a_line_break_in_json() {
        assert_eq!(fold_nel("a \u{85} b"), "a b");
        assert_eq!(fold_nel("a\u{85}\u{85}b"), "a\nb");
    }

    #[test]
    fn base60_and_timestamps_are_detected() {
        assert!(is_base60_float("1:20"));
        assert!(is_base60_float("-190:20:30.15"));
        assert!(!is_base60_float("1:60"));
        assert!(is_timestamp("2001-12-14t21:59:43.10-05:00"));
        assert!(!is_timestamp("2001-02-30"));
        assert_eq!(
            timestamp_rfc3339("2001-12-14 21:59:43.10"),
            "2001-12-14T21:59:43.1Z"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse_documents("a: b\nc: [\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
    }
}
