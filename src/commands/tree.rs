//! `flux tree kustomization` and `flux tree artifact generator`: the
//! objects a Flux object reconciles, drawn as a tree or printed as JSON/YAML.

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::pin::Pin;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::discovery::Scope;
use serde::Serialize;
use serde_json::Value;

use crate::cli::{TreeArtifactCommand, TreeCommand, TreeGeneratorArgs, TreeKustomizationArgs};
use crate::cluster::objects::{self, retrying};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds;
use crate::render::yaml;

const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
/// `--compact` keeps the objects whose group contains this.
const FLUX_GROUP: &str = "toolkit.fluxcd.io";

/// Group and kind of an object, with Go's field names as upstream prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupKind {
    #[serde(rename = "Group")]
    pub group: String,
    #[serde(rename = "Kind")]
    pub kind: String,
}

/// What identifies an object in an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjMetadata {
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "GroupKind")]
    pub group_kind: GroupKind,
}

impl ObjMetadata {
    pub fn new(namespace: &str, name: &str, group: &str, kind: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
            group_kind: GroupKind {
                group: group.to_string(),
                kind: kind.to_string(),
            },
        }
    }

    /// `Kind/namespace/name`, or `Kind/name` without a namespace.
    pub fn id(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.group_kind.kind, self.name)
        } else {
            format!("{}/{}/{}", self.group_kind.kind, self.namespace, self.name)
        }
    }

    fn is(&self, group: &str, kind: &str) -> bool {
        self.group_kind.group == group && self.group_kind.kind == kind
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unable to parse stored object metadata: {0}")]
pub struct BadInventoryId(String);

/// Parses an inventory ID `<namespace>_<name>_<group>_<kind>`; `__` in the
/// name stands for `:`.
pub fn parse_inventory_id(id: &str) -> Result<ObjMetadata, BadInventoryId> {
    let bad = || BadInventoryId(id.to_string());
    let (namespace, rest) = id.split_once('_').ok_or_else(bad)?;
    let (rest, kind) = rest.rsplit_once('_').ok_or_else(bad)?;
    let (name, group) = rest.rsplit_once('_').ok_or_else(bad)?;
    let name = name.replace("__", ":");
    if name.contains('_') {
        return Err(bad());
    }
    Ok(ObjMetadata::new(namespace, &name, group, kind))
}

/// One object and the objects under it.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub resource: ObjMetadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Node>,
}

impl Node {
    fn leaf(resource: ObjMetadata) -> Self {
        Self {
            resource,
            resources: Vec::new(),
        }
    }

    /// The drawing: the root's ID, then each child on its own line after
    /// the branch characters of its ancestors.
    pub fn draw(&self) -> String {
        let mut out = format!("{}\n", self.resource.id());
        draw_children(&self.resources, &mut Vec::new(), &mut out);
        out
    }
}

fn draw_children(children: &[Node], ancestors_last: &mut Vec<bool>, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        for &ancestor_last in ancestors_last.iter() {
            out.push_str(if ancestor_last { "    " } else { "│   " });
        }
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&child.resource.id());
        out.push('\n');
        ancestors_last.push(last);
        draw_children(&child.resources, ancestors_last, out);
        ancestors_last.pop();
    }
}

/// The tree in the format `-o` asks for, with the newline upstream's
/// print adds (Go's indented JSON has none of its own, so JSON ends without
/// a blank line; YAML and the drawing end with one).
fn render(tree: &Node, output: &str) -> anyhow::Result<String> {
    Ok(match output {
        "json" => format!("{}\n", serde_json::to_string_pretty(tree)?),
        "yaml" => format!("{}\n", yaml::to_string(&serde_json::to_value(tree)?)),
        _ => format!("{}\n", tree.draw()),
    })
}

pub async fn run(ctx: &Ctx, command: &TreeCommand) -> anyhow::Result<ExitStatus> {
    let out = match command {
        TreeCommand::Kustomization(args) => kustomization(ctx, args).await?,
        TreeCommand::Artifact(TreeArtifactCommand::Generator(args)) => generator(ctx, args).await?,
    };
    ctx.printer.out(&out).context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

async fn generator(ctx: &Ctx, args: &TreeGeneratorArgs) -> anyhow::Result<String> {
    let name = super::debug::exactly_one(&args.names)?;
    crate::validate::check_object_name(name)?;
    let spec = kinds::by_kind("ArtifactGenerator").expect("a registered kind");
    let api = objects::api(ctx.kube.client().await?, spec, Some(&ctx.global.namespace));
    let object = objects::get(spec, &api, name).await?;
    let mut tree = Node::leaf(object_metadata(&object, spec.group, spec.kind));
    for entry in object["status"]["inventory"]
        .as_array()
        .into_iter()
        .flatten()
    {
        tree.resources.push(Node::leaf(ObjMetadata::new(
            entry["namespace"].as_str().unwrap_or_default(),
            entry["name"].as_str().unwrap_or_default(),
            "source.toolkit.fluxcd.io",
            "ExternalArtifact",
        )));
    }
    render(&tree, &args.output)
}

fn object_metadata(object: &Value, group: &str, kind: &str) -> ObjMetadata {
    ObjMetadata::new(
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default(),
        group,
        kind,
    )
}

async fn kustomization(ctx: &Ctx, args: &TreeKustomizationArgs) -> anyhow::Result<String> {
    let Some(name) = args.names.first() else {
        bail!("kustomization name is required");
    };
    crate::validate::check_object_name(name)?;
    let spec = kinds::by_kind("Kustomization").expect("a registered kind");
    let client = ctx.kube.client().await?;
    let api = objects::api(client.clone(), spec, Some(&ctx.global.namespace));
    let root = objects::get(spec, &api, name).await?;
    let mut walker = Walker {
        client,
        compact: args.compact,
        scopes: HashMap::new(),
    };
    let mut tree = Node::leaf(object_metadata(&root, spec.group, spec.kind));
    tree.resources = walker.inventory(&root).await?;
    render(&tree, &args.output)
}

type Children<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Vec<Node>>> + 'a>>;

/// Walks inventories, asking the API server what it needs once.
struct Walker {
    client: kube::Client,
    compact: bool,
    /// Whether `(apiVersion, kind)` is namespaced, from discovery.
    scopes: HashMap<(String, String), bool>,
}

impl Walker {
    fn keeps(&self, object: &ObjMetadata) -> bool {
        !self.compact || object.group_kind.group.contains(FLUX_GROUP)
    }

    /// The children of a Kustomization: its inventory in order, without
    /// itself, HelmReleases and Kustomizations expanded.
    fn inventory<'a>(&'a mut self, ks: &'a Value) -> Children<'a> {
        Box::pin(async move {
            let (ks_namespace, ks_name) = (
                ks["metadata"]["namespace"].as_str().unwrap_or_default(),
                ks["metadata"]["name"].as_str().unwrap_or_default(),
            );
            let remote = !ks["spec"]["kubeConfig"].is_null();
            let mut children = Vec::new();
            let entries = ks["status"]["inventory"]["entries"].as_array();
            for entry in entries.into_iter().flatten() {
                let id = entry["id"].as_str().unwrap_or_default();
                let object = parse_inventory_id(id)?;
                if !self.keeps(&object) {
                    continue;
                }
                if object.is(KUSTOMIZE_GROUP, "Kustomization")
                    && object.namespace == ks_namespace
                    && object.name == ks_name
                {
                    continue;
                }
                let mut node = Node::leaf(object.clone());
                if object.is(HELM_GROUP, "HelmRelease") {
                    let released = self.helm_release(&object).await?;
                    node.resources.extend(
                        released
                            .into_iter()
                            .filter(|o| self.keeps(o))
                            .map(Node::leaf),
                    );
                }
                // Upstream looks at the parent's kubeConfig, not the child's.
                if object.is(KUSTOMIZE_GROUP, "Kustomization") && !remote {
                    let spec = kinds::by_kind("Kustomization").expect("a registered kind");
                    let api = objects::api(self.client.clone(), spec, Some(&object.namespace));
                    let child = objects::get(spec, &api, &object.name)
                        .await
                        .map_err(|e| anyhow!("failed to find object: {e}"))?;
                    node.resources = self.inventory(&child).await?;
                }
                children.push(node);
            }
            Ok(children)
        })
    }

    /// The objects of a HelmRelease's latest release, from Helm's storage Secret.
    async fn helm_release(&mut self, release: &ObjMetadata) -> anyhow::Result<Vec<ObjMetadata>> {
        let spec = kinds::by_kind("HelmRelease").expect("a registered kind");
        let api = objects::api(self.client.clone(), spec, Some(&release.namespace));
        let hr = objects::get(spec, &api, &release.name).await?;
        if !hr["spec"]["kubeConfig"].is_null() {
            return Ok(Vec::new());
        }
        let storage_namespace = hr["status"]["storageNamespace"]
            .as_str()
            .unwrap_or_default();
        let latest = hr["status"]["history"]
            .as_array()
            .into_iter()
            .flatten()
            .max_by_key(|snapshot| snapshot["version"].as_i64().unwrap_or_default());
        let Some(latest) = latest.filter(|_| !storage_namespace.is_empty()) else {
            return Ok(Vec::new());
        };
        let key = format!("{}/{}", release.namespace, release.name);
        let secret_name = format!(
            "sh.helm.release.v1.{}.v{}",
            latest["name"].as_str().unwrap_or_default(),
            latest["version"].as_i64().unwrap_or_default()
        );
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), storage_namespace);
        let secret = match retrying(|| secrets.get(&secret_name)).await {
            Ok(secret) => secret,
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Vec::new()),
            Err(err) => bail!(
                "failed to find the Helm storage object for HelmRelease '{key}': {}",
                objects::ObjectError::from_kube(spec, None, err)
            ),
        };
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get("release"))
            .ok_or_else(|| {
                anyhow!("failed to decode the Helm storage object for HelmRelease '{key}'")
            })?;
        let manifest = release_manifest(&data.0).map_err(|e| {
            anyhow!("failed to decode the Helm storage object for HelmRelease '{key}': {e}")
        })?;
        let documents: Vec<Value> = yaml::from_str_multi(&manifest).map_err(|e| {
            anyhow!("failed to read the Helm storage object for HelmRelease '{key}': {e}")
        })?;
        let release_namespace = latest["namespace"].as_str().unwrap_or_default();
        let mut result: Vec<ObjMetadata> = Vec::new();
        for document in documents.iter().flat_map(expand_lists) {
            let api_version = document["apiVersion"].as_str().unwrap_or_default();
            let kind = document["kind"].as_str().unwrap_or_default();
            let mut namespace = document["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if namespace.is_empty() && self.namespaced(api_version, kind).await {
                namespace = release_namespace.to_string();
            }
            let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            let object = ObjMetadata::new(
                &namespace,
                document["metadata"]["name"].as_str().unwrap_or_default(),
                group,
                kind,
            );
            if !result.contains(&object) {
                result.push(object);
            }
        }
        let installs_crds = ["install", "upgrade"].iter().any(|action| {
            hr["spec"][action]["crds"]
                .as_str()
                .is_some_and(|policy| !policy.is_empty() && policy != "Skip")
        });
        if installs_crds {
            self.add_release_crds(release, &mut result).await;
        }
        Ok(result)
    }

    /// CRDs labelled as the release's (they are not in the manifest).
    async fn add_release_crds(&self, release: &ObjMetadata, result: &mut Vec<ObjMetadata>) {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let selector = format!(
            "{HELM_GROUP}/name={},{HELM_GROUP}/namespace={}",
            release.name, release.namespace
        );
        let params = ListParams::default().labels(&selector);
        // Upstream ignores a failing list.
        let Ok(list) = retrying(|| api.list(&params)).await else {
            return;
        };
        for crd in list.items {
            let name = crd.metadata.name.unwrap_or_default();
            let known = result
                .iter()
                .any(|r| r.name == name && r.group_kind.kind == "CustomResourceDefinition");
            if !known {
                result.push(ObjMetadata::new(
                    "",
                    &name,
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                ));
            }
        }
    }

    /// Whether objects of the kind live in namespaces; unknown kinds do not.
    async fn namespaced(&mut self, api_version: &str, kind: &str) -> bool {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(known) = self.scopes.get(&key) {
            return *known;
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let namespaced = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .is_ok_and(|(_, caps)| caps.scope == Scope::Namespaced);
        self.scopes.insert(key, namespaced);
        namespaced
    }
}

/// The objects of a document: the items of a `…List`, or the document.
fn expand_lists(document: &Value) -> Vec<Value> {
    let kind = document["kind"].as_str().unwrap_or_default();
    match document["items"].as_array() {
        Some(items) if kind.ends_with("List") => items.clone(),
        _ if document.is_object() => vec![document.clone()],
        _ => Vec::new(),
    }
}

/// Why a Helm storage record could not be read.
#[derive(Debug, thiserror::Error)]
enum StorageError {
    #[error("illegal base64 data at input byte {0}")]
    Base64(usize),
    #[error("gzip: {0}")]
    Gzip(std::io::Error),
    #[error("{0}")]
    Json(serde_json::Error),
}

/// The `manifest` of a release as Helm stores it: base64 text of the
/// (usually gzipped) release JSON.
fn release_manifest(data: &[u8]) -> Result<String, StorageError> {
    let text: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(at, _) => StorageError::Base64(at),
            base64::DecodeError::InvalidLastSymbol(at, _) => StorageError::Base64(at),
            _ => StorageError::Base64(text.len()),
        })?;
    let json = if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(StorageError::Gzip)?;
        out
    } else {
        bytes
    };
    #[derive(serde::Deserialize)]
    struct Release {
        #[serde(default)]
        manifest: String,
    }
    let release: Release = serde_json::from_slice(&json).map_err(StorageError::Json)?;
    Ok(release.manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_ids_parse_as_upstream() {
        assert_eq!(
            parse_inventory_id("_cert-manager__Namespace").unwrap(),
            ObjMetadata::new("", "cert-manager", "", "Namespace")
        );
        assert_eq!(
            parse_inventory_id("flux-system_podinfo_apps_Deployment").unwrap(),
            ObjMetadata::new("flux-system", "podinfo", "apps", "Deployment")
        );
        assert_eq!(
            parse_inventory_id("_system__controller_rbac.authorization.k8s.io_ClusterRole")
                .unwrap()
                .name,
            "system:controller"
        );
        for bad in ["nope", "a_b", "ns_na_me_g_K"] {
            assert_eq!(
                parse_inventory_id(bad),
                Err(BadInventoryId(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn trees_are_drawn_with_upstreams_characters() {
        let node = |id: &str, children: Vec<Node>| Node {
            resource: parse_inventory_id(id).unwrap(),
            resources: children,
        };
        let tree = node(
            "flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization",
            vec![
                node("_flux-system__Namespace", vec![]),
                node(
                    "flux-system_infra_kustomize.toolkit.fluxcd.io_Kustomization",
                    vec![
                        node("_cert-manager__Namespace", vec![]),
                        node(
                            "cert-manager_cm_helm.toolkit.fluxcd.io_HelmRelease",
                            vec![node("cert-manager_cm_apps_Deployment", vec![])],
                        ),
                    ],
                ),
                node(
                    "flux-system_flux-system_source.toolkit.fluxcd.io_GitRepository",
                    vec![],
                ),
            ],
        );
        assert_eq!(
            tree.draw(),
            "Kustomization/flux-system/flux-system
├── Namespace/flux-system
├── Kustomization/flux-system/infra
│   ├── Namespace/cert-manager
│   └── HelmRelease/cert-manager/cm
│       └── Deployment/cert-manager/cm
└── GitRepository/flux-system/flux-system
"
        );
    }

    #[test]
    fn helm_storage_is_base64_of_gzipped_json() {
        use std::io::Write;
        let json = br#"{"name":"x","manifest":"---\nkind: A\n"}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        assert_eq!(
            release_manifest(encoded.as_bytes()).unwrap(),
            "---\nkind: A\n"
        );
        let plain = base64::engine::general_purpose::STANDARD.encode(json);
        assert_eq!(
            release_manifest(plain.as_bytes()).unwrap(),
            "---\nkind: A\n"
        );
        assert_eq!(
            release_manifest(b"@@@@").unwrap_err().to_string(),
            "illegal base64 data at input byte 0"
        );
    }
}
