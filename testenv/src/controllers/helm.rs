//! What helm-controller leaves in the cluster for a release: the objects the chart renders and
//! Helm v3's storage Secrets (`sh.helm.release.v1.<release>.v<version>`), which `flux tree` and
//! `flux trace` read.
//!
//! The simulated charts have no templates of their own, so every release renders one ConfigMap
//! named as the common `fullname` helper names things, labelled as a chart's helpers label them,
//! plus the labels helm-controller's post-renderer adds (`helm.toolkit.fluxcd.io/name|namespace`).
//! The stored release is Helm's JSON, gzipped and base64-encoded as its Secret driver does.

use std::io::{Read, Write};

use base64::Engine;
use serde_json::{Value, json};

use super::api::Api;
use super::build::parse_docs;
use crate::store::meta_str;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const MANAGER: &str = "helm-controller";

/// A release to write: the chart, its values and where it goes.
pub struct Release<'a> {
    pub name: &'a str,
    /// Where the release's objects go (`spec.targetNamespace` or the HelmRelease's).
    pub namespace: &'a str,
    /// Where its storage Secrets go.
    pub storage_namespace: &'a str,
    pub version: u64,
    pub chart_name: &'a str,
    pub chart_version: &'a str,
    pub values: &'a Value,
    /// The HelmRelease's name and namespace, for the post-renderer's labels.
    pub owner: (&'a str, &'a str),
    pub first_deployed: &'a str,
    pub now: &'a str,
    /// `spec.maxHistory`: how many storage Secrets are kept (0 keeps all).
    pub max_history: u64,
    pub create_namespace: bool,
}

/// The name Helm's common `fullname` helper gives: `fullnameOverride`, else the release name
/// when it already contains the chart's name (or `nameOverride`), else `<release>-<name>`; at most
/// 63 characters, without a trailing dash.
pub fn fullname(release: &str, chart: &str, values: &Value) -> String {
    let full = match values["fullnameOverride"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        Some(f) => f.to_string(),
        None => {
            let name = values["nameOverride"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or(chart);
            if release.contains(name) {
                release.to_string()
            } else {
                format!("{release}-{name}")
            }
        }
    };
    full.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// The objects the chart renders for `r`, as they appear in the release's manifest.
pub fn rendered(r: &Release) -> Vec<Value> {
    let values_yaml = match r.values {
        Value::Null => String::new(),
        v => serde_saphyr::to_string(v).unwrap_or_default(),
    };
    let chart_label = format!("{}-{}", r.chart_name, r.chart_version).replace('+', "_");
    vec![json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": fullname(r.name, r.chart_name, r.values),
            "labels": {
                "helm.sh/chart": chart_label,
                "app.kubernetes.io/name": r.chart_name,
                "app.kubernetes.io/instance": r.name,
                "app.kubernetes.io/version": r.chart_version.replace('+', "_"),
                "app.kubernetes.io/managed-by": "Helm",
                "helm.toolkit.fluxcd.io/name": r.owner.0,
                "helm.toolkit.fluxcd.io/namespace": r.owner.1,
            },
        },
        "data": {
            "chart": format!("{}-{}", r.chart_name, r.chart_version),
            "values.yaml": values_yaml,
        },
    })]
}

/// The release's manifest: each rendered object under a `# Source:` comment, as Helm writes it.
pub fn manifest(chart: &str, objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| {
            let file = o["kind"].as_str().unwrap_or_default().to_lowercase();
            format!(
                "---\n# Source: {chart}/templates/{file}.yaml\n{}",
                serde_saphyr::to_string(o).unwrap_or_default()
            )
        })
        .collect()
}

/// Helm's release record (the JSON its storage holds).
pub fn record(r: &Release, status: &str, manifest: &str) -> Value {
    let description = if r.version == 1 {
        "Install complete"
    } else {
        "Upgrade complete"
    };
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"chart.fullname\" . }}\n  labels:\n    {{- include \"chart.labels\" . | nindent 4 }}\ndata:\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n  values.yaml: {{ toYaml .Values | quote }}\n";
    json!({
        "name": r.name,
        "info": {
            "first_deployed": r.first_deployed,
            "last_deployed": r.now,
            "deleted": "",
            "description": description,
            "status": status,
        },
        "chart": {
            "metadata": {
                "name": r.chart_name,
                "version": r.chart_version,
                "appVersion": r.chart_version,
                "apiVersion": "v2",
                "type": "application",
            },
            "lock": null,
            "templates": [{"name": "templates/configmap.yaml", "data": B64.encode(template)}],
            "values": {},
            "schema": null,
            "files": [],
        },
        "config": if r.values.is_object() { r.values.clone() } else { json!({}) },
        "manifest": manifest,
        "version": r.version,
        "namespace": r.namespace,
    })
}

/// A release record as Helm's Secret driver stores it: base64 text of the gzipped JSON.
pub fn encode(record: &Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(record.to_string().as_bytes());
    B64.encode(gz.finish().unwrap_or_default())
}

/// The record a storage Secret's `release` holds (the text [`encode`] wrote).
pub fn decode(text: &[u8]) -> Result<Value, String> {
    let bytes = B64.decode(text).map_err(|e| e.to_string())?;
    let json = if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        out
    } else {
        bytes
    };
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

pub fn secret_name(release: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{release}.v{version}")
}

fn unix_seconds() -> String {
    jiff::Timestamp::now().as_second().to_string()
}

/// The storage Secret of a record.
pub fn storage_secret(r: &Release, record: &Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(r.name, r.version),
            "namespace": r.storage_namespace,
            "labels": {
                "name": r.name,
                "owner": "helm",
                "status": record["info"]["status"],
                "version": r.version.to_string(),
                "createdAt": unix_seconds(),
            },
        },
        "type": "helm.sh/release.v1",
        // The Secret's bytes are the base64 text; the API wants those bytes in base64 again.
        "data": {"release": B64.encode(encode(record))},
    })
}

/// Installs or upgrades: applies the rendered objects, writes the new storage Secret, marks the
/// one before it superseded and removes those beyond `max_history`.
pub async fn release(api: &Api, r: &Release<'_>) -> Result<(), String> {
    if r.create_namespace && r.version == 1 {
        let ns =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": r.namespace}});
        let res = api
            .resolve("", "namespaces")
            .await
            .ok_or("the server does not serve namespaces")?;
        api.apply(&res, "", &ns, MANAGER)
            .await
            .map_err(|e| super::api::message(&e))?;
    }
    let objects = rendered(r);
    for o in &objects {
        let api_version = o["apiVersion"].as_str().unwrap_or_default();
        let kind = o["kind"].as_str().unwrap_or_default();
        let res = api.resolve_kind(api_version, kind).await.ok_or_else(|| {
            format!("no matches for kind \"{kind}\" in version \"{api_version}\"")
        })?;
        let mut applied = o.clone();
        applied["metadata"]["namespace"] = json!(r.namespace);
        applied["metadata"]["annotations"] = json!({
            "meta.helm.sh/release-name": r.name,
            "meta.helm.sh/release-namespace": r.namespace,
        });
        api.apply(&res, r.namespace, &applied, MANAGER)
            .await
            .map_err(|e| super::api::message(&e))?;
    }
    let secrets = api
        .resolve("", "secrets")
        .await
        .ok_or("the server does not serve secrets")?;
    let record = record(r, "deployed", &manifest(r.chart_name, &objects));
    let secret = storage_secret(r, &record);
    api.apply(&secrets, r.storage_namespace, &secret, MANAGER)
        .await
        .map_err(|e| format!("create: failed to create: {}", super::api::message(&e)))?;
    if r.version > 1 {
        let previous = secret_name(r.name, r.version - 1);
        if let Ok(Some(old)) = api.get(&secrets, r.storage_namespace, &previous).await {
            // What the previous release had and this one does not goes, as `helm upgrade`
            // deletes it.
            let old_record = stored_record(&old).unwrap_or_default();
            let before = old_record["manifest"].as_str().unwrap_or_default();
            let previous_ns = old_record["namespace"].as_str().unwrap_or(r.namespace);
            let now: Vec<(String, String, String)> =
                objects.iter().map(|o| identity(o, r.namespace)).collect();
            let gone: Vec<Value> = parse_docs(before, "manifest")
                .unwrap_or_default()
                .into_iter()
                .filter(|o| !now.contains(&identity(o, previous_ns)))
                .collect();
            delete_objects(api, &gone, previous_ns).await;
            let edit = |s: &mut Value| {
                let Some(mut rec) = stored_record(s) else {
                    return;
                };
                rec["info"]["status"] = json!("superseded");
                s["data"]["release"] = json!(B64.encode(encode(&rec)));
                s["metadata"]["labels"]["status"] = json!("superseded");
                s["metadata"]["labels"]["modifiedAt"] = json!(unix_seconds());
            };
            api.update(&secrets, &old, MANAGER, false, edit)
                .await
                .map_err(|e| format!("update: failed to update: {}", super::api::message(&e)))?;
        }
    }
    if r.max_history > 0 && r.version > r.max_history {
        let oldest = secret_name(r.name, r.version - r.max_history);
        // Best effort, as Helm's history pruning.
        let _ = api.delete(&secrets, r.storage_namespace, &oldest).await;
    }
    Ok(())
}

/// The record a storage Secret (as the API returns it) holds.
fn stored_record(secret: &Value) -> Option<Value> {
    let text = B64.decode(secret["data"]["release"].as_str()?).ok()?;
    decode(&text).ok()
}

/// (kind, namespace, name) of a manifest object; `default_ns` when it names none.
fn identity(o: &Value, default_ns: &str) -> (String, String, String) {
    let ns = match meta_str(o, "namespace") {
        "" => default_ns,
        n => n,
    };
    (
        o["kind"].as_str().unwrap_or_default().to_string(),
        ns.to_string(),
        meta_str(o, "name").to_string(),
    )
}

/// Deletes manifest objects, those without a namespace from `default_ns`; best effort.
async fn delete_objects(api: &Api, objects: &[Value], default_ns: &str) {
    for doc in objects {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        let Some(res) = api.resolve_kind(api_version, kind).await else {
            continue;
        };
        let ns = match meta_str(doc, "namespace") {
            "" => default_ns,
            n => n,
        };
        let _ = api.delete(&res, ns, meta_str(doc, "name")).await;
    }
}

/// Uninstalls the release a HelmRelease's status names: deletes the objects of its latest
/// manifest and its storage Secrets. Best effort, as the controller's finalizer.
pub async fn uninstall(api: &Api, hr: &Value) {
    let status = &hr["status"];
    let storage_ns = status["storageNamespace"].as_str().unwrap_or_default();
    let Some(latest) = status["history"].as_array().and_then(|h| h.first()) else {
        return;
    };
    let (release, release_ns) = (
        latest["name"].as_str().unwrap_or_default(),
        latest["namespace"].as_str().unwrap_or_default(),
    );
    if storage_ns.is_empty() || release.is_empty() {
        return;
    }
    let Some(secrets) = api.resolve("", "secrets").await else {
        return;
    };
    let selector = format!("owner=helm,name={release}");
    let Ok(stored) = api
        .list("", "secrets", Some(storage_ns), Some(&selector))
        .await
    else {
        return;
    };
    let newest = stored.iter().max_by_key(|s| {
        s["metadata"]["labels"]["version"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default()
    });
    let manifest = newest
        .and_then(stored_record)
        .and_then(|rec| rec["manifest"].as_str().map(String::from))
        .unwrap_or_default();
    let objects = parse_docs(&manifest, "manifest").unwrap_or_default();
    delete_objects(api, &objects, release_ns).await;
    for s in &stored {
        let _ = api.delete(&secrets, storage_ns, meta_str(s, "name")).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release<'a>(values: &'a Value) -> Release<'a> {
        Release {
            name: "podinfo",
            namespace: "apps",
            storage_namespace: "flux-system",
            version: 2,
            chart_name: "podinfo",
            chart_version: "6.5.4",
            values,
            owner: ("podinfo", "flux-system"),
            first_deployed: "2026-01-01T00:00:00Z",
            now: "2026-01-02T00:00:00Z",
            max_history: 5,
            create_namespace: false,
        }
    }

    #[test]
    fn names_follow_the_fullname_helper() {
        let none = Value::Null;
        assert_eq!(fullname("podinfo", "podinfo", &none), "podinfo");
        assert_eq!(fullname("apps-podinfo", "podinfo", &none), "apps-podinfo");
        assert_eq!(fullname("web", "podinfo", &none), "web-podinfo");
        assert_eq!(
            fullname("web", "podinfo", &json!({"nameOverride": "site"})),
            "web-site"
        );
        assert_eq!(
            fullname("web", "podinfo", &json!({"fullnameOverride": "front"})),
            "front"
        );
        let long = "r".repeat(62);
        assert_eq!(fullname(&long, "x", &none), long);
    }

    #[test]
    fn the_storage_secret_holds_the_gzipped_record_in_base64_text() {
        let values = json!({"replicaCount": 2});
        let r = release(&values);
        let objects = rendered(&r);
        let text = manifest(r.chart_name, &objects);
        assert!(
            text.starts_with("---\n# Source: podinfo/templates/configmap.yaml\n"),
            "{text}"
        );
        let docs = parse_docs(&text, "manifest").unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["kind"], "ConfigMap");
        assert_eq!(docs[0]["metadata"]["name"], "podinfo");
        assert!(docs[0]["metadata"].get("namespace").is_none());
        assert_eq!(
            docs[0]["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
            "podinfo"
        );
        assert_eq!(docs[0]["data"]["values.yaml"], "replicaCount: 2\n");

        let rec = record(&r, "deployed", &text);
        let secret = storage_secret(&r, &rec);
        assert_eq!(secret["metadata"]["name"], "sh.helm.release.v1.podinfo.v2");
        assert_eq!(secret["metadata"]["namespace"], "flux-system");
        assert_eq!(secret["type"], "helm.sh/release.v1");
        let labels = &secret["metadata"]["labels"];
        assert_eq!(
            (
                &labels["name"],
                &labels["owner"],
                &labels["status"],
                &labels["version"]
            ),
            (
                &json!("podinfo"),
                &json!("helm"),
                &json!("deployed"),
                &json!("2")
            )
        );
        // The API's base64 wraps Helm's own base64 text of gzip data.
        let stored = B64
            .decode(secret["data"]["release"].as_str().unwrap())
            .unwrap();
        let gzipped = B64.decode(&stored).unwrap();
        assert_eq!(&gzipped[..3], &[0x1f, 0x8b, 0x08]);
        let back = decode(&stored).unwrap();
        assert_eq!(back, rec);
        assert_eq!(back["manifest"], text);
        assert_eq!(back["info"]["description"], "Upgrade complete");
        assert_eq!(back["config"], values);
        assert_eq!(back["namespace"], "apps");
    }
}
