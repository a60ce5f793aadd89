//! The resource types the server serves: built-in kinds plus those of created CRDs.

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct VersionDef {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    pub schema: Option<Value>,
    pub status: bool,
    /// additionalPrinterColumns, for Table output.
    pub columns: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct ResourceDef {
    pub group: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub versions: Vec<VersionDef>,
    /// Built-in kinds accept strategic merge patches; custom resources do not.
    pub builtin: bool,
    pub subresources: Vec<&'static str>,
}

impl ResourceDef {
    pub fn key(&self) -> (String, String) {
        (self.group.clone(), self.plural.clone())
    }

    pub fn version(&self, v: &str) -> Option<&VersionDef> {
        self.versions.iter().find(|x| x.name == v && x.served)
    }

    pub fn storage_version(&self) -> &str {
        self.versions
            .iter()
            .find(|v| v.storage)
            .or(self.versions.first())
            .map(|v| v.name.as_str())
            .unwrap_or("v1")
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub fn verbs() -> Vec<&'static str> {
    VERBS.to_vec()
}

fn builtin(
    group: &str,
    plural: &str,
    kind: &str,
    namespaced: bool,
    short: &[&str],
    subs: &[&'static str],
) -> ResourceDef {
    ResourceDef {
        group: group.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: if ["pods", "services", "deployments"].contains(&plural) {
            vec!["all".into()]
        } else {
            vec![]
        },
        versions: vec![VersionDef {
            name: "v1".into(),
            served: true,
            storage: true,
            schema: None,
            status: subs.contains(&"status"),
            columns: vec![],
        }],
        builtin: true,
        subresources: subs.to_vec(),
    }
}

pub fn builtins() -> Vec<ResourceDef> {
    vec![
        builtin("", "namespaces", "Namespace", false, &["ns"], &["status"]),
        builtin("", "secrets", "Secret", true, &[], &[]),
        builtin("", "configmaps", "ConfigMap", true, &["cm"], &[]),
        builtin("", "serviceaccounts", "ServiceAccount", true, &["sa"], &[]),
        builtin("", "services", "Service", true, &["svc"], &["status"]),
        builtin("", "pods", "Pod", true, &["po"], &["status", "log"]),
        builtin("", "events", "Event", true, &["ev"], &[]),
        builtin(
            "",
            "resourcequotas",
            "ResourceQuota",
            true,
            &["quota"],
            &["status"],
        ),
        builtin(
            "apps",
            "deployments",
            "Deployment",
            true,
            &["deploy"],
            &["status"],
        ),
        builtin("events.k8s.io", "events", "Event", true, &["ev"], &[]),
        // Served as autoscaling/v2, the version manifests use today.
        ResourceDef {
            versions: vec![VersionDef {
                name: "v2".into(),
                served: true,
                storage: true,
                schema: None,
                status: true,
                columns: vec![],
            }],
            ..builtin(
                "autoscaling",
                "horizontalpodautoscalers",
                "HorizontalPodAutoscaler",
                true,
                &["hpa"],
                &["status"],
            )
        },
        builtin(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "ClusterRole",
            false,
            &[],
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            &[],
            &[],
        ),
        builtin("rbac.authorization.k8s.io", "roles", "Role", true, &[], &[]),
        builtin(
            "rbac.authorization.k8s.io",
            "rolebindings",
            "RoleBinding",
            true,
            &[],
            &[],
        ),
        builtin(
            "networking.k8s.io",
            "networkpolicies",
            "NetworkPolicy",
            true,
            &["netpol"],
            &[],
        ),
        builtin(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            &["status"],
        ),
    ]
}

/// Reads a CRD object into the type it defines; `Err` carries the validation message.
pub fn from_crd(crd: &Value) -> Result<ResourceDef, String> {
    let spec = crd.get("spec").ok_or("spec: Required value")?;
    let group = spec["group"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("spec.group: Required value")?;
    let names = &spec["names"];
    let plural = names["plural"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("spec.names.plural: Required value")?;
    let kind = names["kind"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("spec.names.kind: Required value")?;
    let expected = format!("{plural}.{group}");
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    if name != expected {
        return Err(format!(
            "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
        ));
    }
    let scope = spec["scope"].as_str().unwrap_or("Namespaced");
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut versions = vec![];
    for v in spec["versions"]
        .as_array()
        .ok_or("spec.versions: Required value")?
    {
        versions.push(VersionDef {
            name: v["name"]
                .as_str()
                .ok_or("spec.versions.name: Required value")?
                .to_string(),
            served: v["served"].as_bool().unwrap_or(true),
            storage: v["storage"].as_bool().unwrap_or(false),
            schema: v["schema"].get("openAPIV3Schema").cloned(),
            status: v["subresources"].get("status").is_some(),
            columns: v["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        });
    }
    if versions.is_empty() {
        return Err(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
                .into(),
        );
    }
    let has_status = versions.iter().any(|v| v.status);
    Ok(ResourceDef {
        group: group.into(),
        plural: plural.into(),
        singular: names["singular"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        kind: kind.into(),
        list_kind: names["listKind"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("{kind}List")),
        namespaced: scope == "Namespaced",
        short_names: strs(&names["shortNames"]),
        categories: strs(&names["categories"]),
        versions,
        builtin: false,
        subresources: if has_status { vec!["status"] } else { vec![] },
    })
}

/// The status the API server gives an accepted CRD.
pub fn crd_status(crd: &Value, now: &str) -> Value {
    let spec = &crd["spec"];
    let stored: Vec<Value> = spec["versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["storage"].as_bool() == Some(true))
                .map(|v| v["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    let mut accepted = spec["names"].clone();
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(
            spec["names"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
        );
    }
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!(
            "{}List",
            spec["names"]["kind"].as_str().unwrap_or_default()
        ));
    }
    json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": stored,
    })
}

/// A CRD's `status.storedVersions` after a write, as the API server keeps
/// it: the storage version on create; on a spec update the old list plus a
/// new storage version, each of which must still be in spec.versions; on a
/// status write the list the client sent, unchecked (how `flux migrate`
/// drops old versions), or the storage version if it sent none.
/// `Err` carries the validation message.
pub fn stored_versions(
    crd: &Value,
    old: Option<&Value>,
    status_write: bool,
) -> Result<Vec<String>, String> {
    let versions: Vec<(&str, bool)> = crd["spec"]["versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| Some((v["name"].as_str()?, v["storage"].as_bool() == Some(true))))
                .collect()
        })
        .unwrap_or_default();
    let storage = versions
        .iter()
        .find(|(_, storage)| *storage)
        .map(|(name, _)| name.to_string())
        .unwrap_or_default();
    let listed = |status: &Value| -> Vec<String> {
        status["storedVersions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let Some(old) = old else {
        return Ok(vec![storage]);
    };
    if status_write {
        let sent = listed(&crd["status"]);
        return Ok(if sent.is_empty() { vec![storage] } else { sent });
    }
    let mut stored = listed(&old["status"]);
    if !stored.contains(&storage) {
        stored.push(storage);
    }
    if let Some((i, v)) = stored
        .iter()
        .enumerate()
        .find(|(_, v)| !versions.iter().any(|(name, _)| name == v))
    {
        return Err(format!(
            "status.storedVersions[{i}]: Invalid value: {v:?}: missing from spec.versions; {v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {v} and removes {v} from status.storedVersions"
        ));
    }
    Ok(stored)
}
