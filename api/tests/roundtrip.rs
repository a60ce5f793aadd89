//! Every Flux object in the upstream CLI test data deserialises into its typed
//! kind and serialises back without any field lost, changed or added.

mod common;

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn roundtrip<K: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: K = serde_json::from_value(v.clone()).map_err(|e| format!("deserialising: {e}"))?;
    serde_json::to_value(&typed).map_err(|e| format!("serialising: {e}"))
}

/// Whether an apiVersion belongs to one of Flux's API groups (`*.fluxcd.io`).
fn is_flux_group(api_version: &str) -> bool {
    api_version
        .split_once('/')
        .is_some_and(|(group, _)| group.ends_with(".fluxcd.io"))
}

/// Round-trips one object through its typed kind. `None` for objects outside
/// Flux's API groups (Deployments, Services, kustomize's own Kustomization …).
fn roundtrip_object(v: &Value) -> Option<Result<Value, String>> {
    let api_version = v["apiVersion"].as_str().unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or_default();
    if !is_flux_group(api_version) {
        return None;
    }
    use flux_api::*;
    let out = match (api_version, kind) {
        ("source.toolkit.fluxcd.io/v1", "GitRepository") => roundtrip::<GitRepository>(v),
        ("source.toolkit.fluxcd.io/v1", "OCIRepository") => roundtrip::<OCIRepository>(v),
        ("source.toolkit.fluxcd.io/v1", "HelmRepository") => roundtrip::<HelmRepository>(v),
        ("source.toolkit.fluxcd.io/v1", "HelmChart") => roundtrip::<HelmChart>(v),
        ("source.toolkit.fluxcd.io/v1", "Bucket") => roundtrip::<Bucket>(v),
        ("source.toolkit.fluxcd.io/v1", "ExternalArtifact") => roundtrip::<ExternalArtifact>(v),
        ("source.extensions.fluxcd.io/v1beta1", "ArtifactGenerator") => {
            roundtrip::<ArtifactGenerator>(v)
        }
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization") => roundtrip::<Kustomization>(v),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease") => roundtrip::<HelmRelease>(v),
        ("notification.toolkit.fluxcd.io/v1beta3", "Alert") => roundtrip::<Alert>(v),
        ("notification.toolkit.fluxcd.io/v1beta3", "Provider") => roundtrip::<Provider>(v),
        ("notification.toolkit.fluxcd.io/v1", "Receiver") => roundtrip::<Receiver>(v),
        ("image.toolkit.fluxcd.io/v1", "ImageRepository") => roundtrip::<ImageRepository>(v),
        ("image.toolkit.fluxcd.io/v1", "ImagePolicy") => roundtrip::<ImagePolicy>(v),
        ("image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation") => {
            roundtrip::<ImageUpdateAutomation>(v)
        }
        _ => Err(format!("unexpected kind {api_version} {kind}")),
    };
    Some(out)
}

/// Lists every difference between `a` (input) and `b` (output).
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, av) in x {
                match y.get(k) {
                    Some(bv) => diff(av, bv, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: lost")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k}: added"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (av, bv)) in x.iter().zip(y).enumerate() {
                diff(av, bv, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}

/// Fills the Go template fields (`{{ .ns }}` and the like) of the test data.
fn fill_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("placeholder");
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// YAML documents of a file that look like Kubernetes objects; `None` if the
/// file is not YAML (e.g. a golden table).
fn objects(file: &Path) -> Option<Vec<Value>> {
    let text = fill_placeholders(&std::fs::read_to_string(file).unwrap());
    let docs = serde_saphyr::from_multiple::<Option<Value>>(&text).ok()?;
    let objs: Vec<Value> = docs
        .into_iter()
        .flatten()
        .filter(|d| d.get("apiVersion").is_some() && d.get("kind").is_some())
        .collect();
    (!objs.is_empty()).then_some(objs)
}

#[test]
fn testdata_objects_roundtrip() {
    let root = common::shared_dir().join("conformance/flux2-testdata");
    assert!(
        root.is_dir(),
        "conformance data not found at {}",
        root.display()
    );
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let (mut checked, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for dir in dirs {
        for file in common::files(&dir, &[".yaml", ".golden"]) {
            let Some(objs) = objects(&file) else { continue };
            let rel = file.strip_prefix(&root).unwrap().display().to_string();
            println!("{rel}: {} objects", objs.len());
            for obj in objs {
                let id = format!("{rel}: {} {}", obj["kind"], obj["metadata"]["name"]);
                match roundtrip_object(&obj) {
                    None => skipped += 1,
                    Some(Err(e)) => failures.push(format!("{id}: {e}")),
                    Some(Ok(out)) => {
                        checked += 1;
                        let mut d = Vec::new();
                        diff(&obj, &out, "", &mut d);
                        if !d.is_empty() {
                            failures.push(format!("{id}:\n    {}", d.join("\n    ")));
                        }
                    }
                }
            }
        }
    }
    println!("round-tripped {checked} Flux objects, skipped {skipped} non-Flux objects");
    assert!(
        checked >= 30,
        "expected many Flux objects in the test data, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "round-trip failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn diff_reports_lost_added_and_changed_fields() {
    let a = serde_json::json!({"spec": {"x": 1, "y": [1, 2]}, "z": "a"});
    let b = serde_json::json!({"spec": {"y": [1, 3], "w": true}, "z": "a"});
    let mut d = Vec::new();
    diff(&a, &b, "", &mut d);
    assert_eq!(
        d,
        vec![".spec.x: lost", ".spec.y[1]: 2 -> 3", ".spec.w: added"]
    );
}

#[test]
fn only_flux_groups_are_round_tripped() {
    for skipped in [
        "apps/v1",
        "v1",
        "autoscaling/v2",
        "kustomize.config.k8s.io/v1beta1",
    ] {
        let obj = serde_json::json!({"apiVersion": skipped, "kind": "Kustomization"});
        assert!(
            roundtrip_object(&obj).is_none(),
            "{skipped} should be skipped"
        );
    }
    // A Flux group with a kind or version the API does not know is a failure, not a skip.
    let unknown = serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v9", "kind": "Kustomization"});
    assert!(matches!(roundtrip_object(&unknown), Some(Err(_))));
}

#[test]
fn placeholders_are_filled() {
    assert_eq!(
        fill_placeholders("ns: {{ .fluxns }}\n"),
        "ns: placeholder\n"
    );
}
