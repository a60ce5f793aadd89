//! Compares our CRDs with the upstream Flux v2.9 CRDs in the shared reference
//! data: names and versions exactly, schemas by property path and facet.
//! Run with `--nocapture` to see the measured coverage.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

const COMB: [&str; 3] = ["allOf", "anyOf", "oneOf"];
/// Facets whose (path, facet) pairs must match for >= 95 %.
const CONSTRAINTS: [&str; 11] = [
    "enum",
    "pattern",
    "required",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "x-kubernetes-validations",
    "default",
];
/// Every facet compared by shared/tools/compare_install.py (reported, and
/// asserted at the same threshold).
const ALL_FACETS: [&str; 31] = [
    "type",
    "format",
    "enum",
    "pattern",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "uniqueItems",
    "nullable",
    "required",
    "additionalProperties",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
];

type Path = Vec<String>;

/// Every property path of a schema mapped to its node (same definition as
/// compare_install.py's `schema_paths`).
fn schema_paths(schema: &Value) -> BTreeMap<Path, Value> {
    fn walk(node: &Value, path: &Path, out: &mut BTreeMap<Path, Value>) {
        let Some(obj) = node.as_object() else { return };
        if !path.is_empty() && !out.contains_key(path) {
            out.insert(path.clone(), node.clone());
        }
        let child = |seg: &str| {
            let mut p = path.clone();
            p.push(seg.to_string());
            p
        };
        if let Some(Value::Object(props)) = obj.get("properties") {
            for (name, sub) in props {
                walk(sub, &child(name), out);
            }
        }
        match obj.get("items") {
            Some(items @ Value::Object(_)) => walk(items, &child("[]"), out),
            Some(Value::Array(list)) => list.iter().for_each(|s| walk(s, &child("[]"), out)),
            _ => {}
        }
        if let Some(ap @ Value::Object(_)) = obj.get("additionalProperties") {
            walk(ap, &child("{}"), out);
        }
        for comb in COMB {
            if let Some(Value::Array(subs)) = obj.get(comb) {
                for s in subs.iter().filter_map(Value::as_object) {
                    if !["properties", "items", "additionalProperties"]
                        .iter()
                        .any(|k| s.contains_key(*k))
                    {
                        continue;
                    }
                    if let Some(Value::Object(props)) = s.get("properties") {
                        for (name, sub) in props {
                            walk(sub, &child(name), out);
                        }
                    }
                    if let Some(items @ Value::Object(_)) = s.get("items") {
                        walk(items, &child("[]"), out);
                    }
                    if let Some(ap @ Value::Object(_)) = s.get("additionalProperties") {
                        walk(ap, &child("{}"), out);
                    }
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(schema, &Vec::new(), &mut out);
    out
}

fn strip_descriptions(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "description")
                .map(|(k, x)| (k.clone(), strip_descriptions(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_descriptions).collect()),
        other => other.clone(),
    }
}

fn facet_value(node: &Value, facet: &str) -> Option<Value> {
    let v = node.get(facet)?;
    if facet == "required"
        && let Value::Array(a) = v
    {
        let mut a = a.clone();
        a.sort_by_key(|x| x.to_string());
        return Some(Value::Array(a));
    }
    if facet == "additionalProperties" && v.is_object() {
        return None;
    }
    if COMB.contains(&facet) || facet == "not" {
        if let Value::Array(subs) = v {
            return Some(Value::Array(
                subs.iter()
                    .map(|s| match s {
                        Value::Object(o) => strip_descriptions(&Value::Object(
                            o.iter()
                                .filter(|(k, _)| {
                                    !["properties", "items", "additionalProperties"]
                                        .contains(&k.as_str())
                                })
                                .map(|(k, x)| (k.clone(), x.clone()))
                                .collect(),
                        )),
                        other => other.clone(),
                    })
                    .collect(),
            ));
        }
        return Some(strip_descriptions(v));
    }
    Some(v.clone())
}

/// Equality as in compare_install.py (Python): numbers compare by value, so
/// `0` equals `0.0`.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn pstr(path: &Path) -> String {
    let mut s = String::new();
    for seg in path {
        if seg == "[]" || seg == "{}" {
            s.push_str(seg);
        } else {
            s.push('.');
            s.push_str(seg);
        }
    }
    s
}

#[derive(Default)]
struct Stats {
    paths: usize,
    covered: usize,
    constraints: usize,
    constraints_equal: usize,
    facets: usize,
    facets_equal: usize,
    /// paths or schema keywords we have and upstream has not
    extra: usize,
}

/// Every keyword used in schema nodes (not inside values such as defaults).
fn keywords(node: &Value, out: &mut std::collections::BTreeSet<String>) {
    let Some(obj) = node.as_object() else { return };
    for (k, v) in obj {
        out.insert(k.clone());
        match k.as_str() {
            "properties" => v
                .as_object()
                .into_iter()
                .flat_map(|p| p.values())
                .for_each(|s| keywords(s, out)),
            "items" | "additionalProperties" | "not" => keywords(v, out),
            "allOf" | "anyOf" | "oneOf" => v
                .as_array()
                .into_iter()
                .flatten()
                .for_each(|s| keywords(s, out)),
            _ => {}
        }
    }
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn compare_schema(up: &Value, ours: &Value, stats: &mut Stats, diffs: &mut Vec<String>) {
    let up_paths = schema_paths(up);
    let our_paths = schema_paths(ours);
    for (path, node) in &up_paths {
        stats.paths += 1;
        let Some(cnode) = our_paths.get(path) else {
            diffs.push(format!("missing path {}", pstr(path)));
            continue;
        };
        stats.covered += 1;
        for facet in ALL_FACETS {
            let (a, b) = (facet_value(node, facet), facet_value(cnode, facet));
            if a.is_none() && b.is_none() {
                continue;
            }
            let equal = same(a.as_ref(), b.as_ref());
            stats.facets += 1;
            stats.facets_equal += usize::from(equal);
            if CONSTRAINTS.contains(&facet) && a.is_some() {
                stats.constraints += 1;
                stats.constraints_equal += usize::from(equal);
            }
            if !equal {
                diffs.push(format!(
                    "{} {facet}: upstream={:?} ours={:?}",
                    pstr(path),
                    a,
                    b
                ));
            }
        }
    }
    for path in our_paths.keys().filter(|p| !up_paths.contains_key(*p)) {
        diffs.push(format!("extra path {}", pstr(path)));
        stats.extra += 1;
    }
    let (mut up_keys, mut our_keys) = (Default::default(), Default::default());
    keywords(up, &mut up_keys);
    keywords(ours, &mut our_keys);
    for k in our_keys.difference(&up_keys) {
        diffs.push(format!("schema keyword {k:?} not used upstream"));
        stats.extra += 1;
    }
    // the root node itself (required, type) is not a path; compare its facets too
    for facet in ["type", "required"] {
        let (a, b) = (facet_value(up, facet), facet_value(ours, facet));
        if a != b {
            diffs.push(format!(". {facet}: upstream={a:?} ours={b:?}"));
        }
    }
}

#[test]
fn crds_match_upstream() {
    let dir = common::shared_dir().join("reference/flux-v2.9/crds");
    let ours: BTreeMap<String, Value> = flux_api::crds()
        .into_iter()
        .map(|c| {
            let v = c.to_json();
            (c.crd.metadata.name.clone().unwrap(), v)
        })
        .collect();
    let mut upstream_names = Vec::new();
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for file in common::files(&dir, &[".yaml"]) {
        let text = std::fs::read_to_string(&file).unwrap();
        let up = common::yaml_docs(&text).remove(0);
        let name = up["metadata"]["name"].as_str().unwrap().to_string();
        upstream_names.push(name.clone());
        let mine = ours
            .get(&name)
            .unwrap_or_else(|| panic!("no CRD {name} in flux_api::crds()"));

        // exact parts: every mismatch is recorded (and fails the test below)
        let mut exact = |what: &str, ours: Option<&Value>, theirs: Option<&Value>| {
            if ours != theirs {
                failures.push(format!("{name}: {what}: upstream={theirs:?} ours={ours:?}"));
            }
        };
        for key in ["group", "scope", "names"] {
            exact(key, mine["spec"].get(key), up["spec"].get(key));
        }
        let annotation = |v: &Value| {
            v["metadata"]["annotations"]
                .get("kustomize.toolkit.fluxcd.io/substitute")
                .cloned()
        };
        exact(
            "substitute annotation",
            annotation(mine).as_ref(),
            annotation(&up).as_ref(),
        );
        let up_versions = up["spec"]["versions"].as_array().unwrap();
        let my_versions = mine["spec"]["versions"].as_array().unwrap();
        exact(
            "number of versions",
            Some(&Value::from(my_versions.len())),
            Some(&Value::from(up_versions.len())),
        );
        for (u, m) in up_versions.iter().zip(my_versions) {
            for key in [
                "name",
                "served",
                "storage",
                "deprecated",
                "deprecationWarning",
                "additionalPrinterColumns",
                "subresources",
            ] {
                exact(&format!("versions[].{key}"), m.get(key), u.get(key));
            }
        }

        let mut stats = Stats::default();
        let mut diffs = Vec::new();
        for (u, m) in up_versions.iter().zip(my_versions) {
            compare_schema(
                &u["schema"]["openAPIV3Schema"],
                &m["schema"]["openAPIV3Schema"],
                &mut stats,
                &mut diffs,
            );
        }
        println!(
            "{name}: paths {}/{} ({:.1} %), constraints {}/{} ({:.1} %), all facets {}/{} ({:.1} %)",
            stats.covered,
            stats.paths,
            pct(stats.covered, stats.paths),
            stats.constraints_equal,
            stats.constraints,
            pct(stats.constraints_equal, stats.constraints),
            stats.facets_equal,
            stats.facets,
            pct(stats.facets_equal, stats.facets),
        );
        for d in &diffs {
            println!("    {d}");
        }
        if stats.extra > 0 {
            failures.push(format!("{name}: {} extra paths or keywords", stats.extra));
        }
        if stats.covered != stats.paths {
            failures.push(format!(
                "{name}: {} upstream paths missing",
                stats.paths - stats.covered
            ));
        }
        total.paths += stats.paths;
        total.covered += stats.covered;
        total.constraints += stats.constraints;
        total.constraints_equal += stats.constraints_equal;
        total.facets += stats.facets;
        total.facets_equal += stats.facets_equal;
        if pct(stats.constraints_equal, stats.constraints) < 95.0 {
            failures.push(format!("{name}: constraint coverage below 95 %"));
        }
    }
    println!(
        "TOTAL: paths {}/{} ({:.1} %), constraints {}/{} ({:.1} %), all facets {}/{} ({:.1} %)",
        total.covered,
        total.paths,
        pct(total.covered, total.paths),
        total.constraints_equal,
        total.constraints,
        pct(total.constraints_equal, total.constraints),
        total.facets_equal,
        total.facets,
        pct(total.facets_equal, total.facets),
    );
    let mut ours_names: Vec<_> = ours.keys().cloned().collect();
    ours_names.sort();
    upstream_names.sort();
    assert_eq!(ours_names, upstream_names, "set of CRDs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(pct(total.constraints_equal, total.constraints) >= 95.0);
    assert!(pct(total.facets_equal, total.facets) >= 95.0);
}
