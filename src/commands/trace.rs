//! `flux trace`: which Flux object manages an in-cluster object, from
//! which source and revision, and how their last reconciliations went.

use std::collections::HashMap;

use anyhow::{Context, anyhow, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use crate::cli::TraceArgs;
use crate::cluster::objects::{retrying, to_value};
use crate::commands::Ctx;
use crate::error::ExitStatus;

const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
const SOURCE_API: &str = "source.toolkit.fluxcd.io/v1";
const OCI_REVISION: &str = "org.opencontainers.image.revision";
const OCI_SOURCE: &str = "org.opencontainers.image.source";

/// One kind the API server serves.
#[derive(Debug, Clone)]
struct Served {
    group: String,
    version: String,
    resource: APIResource,
}

impl Served {
    fn api_resource(&self) -> ApiResource {
        let api_version = if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        };
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version,
            kind: self.resource.kind.clone(),
            plural: self.resource.name.clone(),
        }
    }

    /// Whether `word` names this kind as kubectl accepts it.
    fn named(&self, word: &str) -> bool {
        let r = &self.resource;
        r.name == word
            || r.singular_name == word
            || r.kind.to_lowercase() == word
            || r.short_names.iter().flatten().any(|s| s == word)
    }
}

/// What the API server serves, read from discovery as needed.
struct Catalog {
    client: kube::Client,
    /// Kinds per group/version (`v1` for the core group).
    versions: HashMap<String, Vec<Served>>,
    /// Preferred versions of every group, core first, once loaded.
    preferred: Option<Vec<String>>,
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Splits an apiVersion as Kubernetes does: `v1`, `group/version`.
fn parse_api_version(api_version: &str) -> Result<(String, String), String> {
    match api_version.split('/').collect::<Vec<_>>()[..] {
        [""] => Ok((String::new(), String::new())),
        [version] => Ok((String::new(), version.to_string())),
        [group, version] => Ok((group.to_string(), version.to_string())),
        _ => Err(format!("unexpected GroupVersion string: {api_version}")),
    }
}

impl Catalog {
    fn new(client: kube::Client) -> Self {
        Self {
            client,
            versions: HashMap::new(),
            preferred: None,
        }
    }

    /// The kinds of one group/version, from the server.
    async fn fetch(
        client: &kube::Client,
        group: &str,
        version: &str,
    ) -> Result<Vec<Served>, kube::Error> {
        let list = if group.is_empty() {
            retrying(|| client.list_core_api_resources(version)).await?
        } else {
            let gv = group_version(group, version);
            retrying(|| client.list_api_group_resources(&gv)).await?
        };
        Ok(list
            .resources
            .into_iter()
            .filter(|r| !r.name.contains('/'))
            .map(|resource| Served {
                group: group.to_string(),
                version: version.to_string(),
                resource,
            })
            .collect())
    }

    async fn version(&mut self, group: &str, version: &str) -> Result<&[Served], kube::Error> {
        let gv = group_version(group, version);
        if !self.versions.contains_key(&gv) {
            let served = Self::fetch(&self.client, group, version).await?;
            self.versions.insert(gv.clone(), served);
        }
        Ok(&self.versions[&gv])
    }

    /// The kind `kind` (any case) in `group/version`.
    async fn by_kind(&mut self, group: &str, version: &str, kind: &str) -> Result<Served, String> {
        let no_match = || {
            format!(
                "no matches for kind \"{kind}\" in version \"{}\"",
                group_version(group, version)
            )
        };
        let served = self.version(group, version).await.map_err(|_| no_match())?;
        served
            .iter()
            .find(|s| s.resource.kind.eq_ignore_ascii_case(kind))
            .cloned()
            .ok_or_else(no_match)
    }

    /// The kind a kubectl resource word (`deploy`, `deployments.apps`,
    /// `helmrelease`) names, core group first.
    async fn by_word(&mut self, word: &str) -> anyhow::Result<Served> {
        if self.preferred.is_none() {
            let mut preferred = vec!["v1".to_string()];
            let groups = retrying(|| self.client.list_api_groups()).await?;
            preferred.extend(groups.groups.into_iter().filter_map(|g| {
                g.preferred_version
                    .map(|v| v.group_version)
                    .or_else(|| g.versions.first().map(|v| v.group_version.clone()))
            }));
            // Every group's kinds at once: one round trip, not one per group.
            let client = self.client.clone();
            let lists = futures::future::join_all(preferred.iter().map(|gv| {
                let client = client.clone();
                async move {
                    let (group, version) = parse_api_version(gv).unwrap_or_default();
                    (gv.clone(), Self::fetch(&client, &group, &version).await)
                }
            }))
            .await;
            for (gv, list) in lists {
                if let Ok(served) = list {
                    self.versions.entry(gv).or_insert(served);
                }
            }
            self.preferred = Some(preferred);
        }
        let lowered = word.to_lowercase();
        let (name, group) = match lowered.split_once('.') {
            Some((name, group)) => (name.to_string(), Some(group.to_string())),
            None => (lowered.clone(), None),
        };
        for gv in self.preferred.clone().unwrap_or_default() {
            let (g, v) = parse_api_version(&gv).unwrap_or_default();
            if group.as_ref().is_some_and(|wanted| *wanted != g) {
                continue;
            }
            let Ok(served) = self.version(&g, &v).await else {
                continue;
            };
            if let Some(found) = served.iter().find(|s| s.named(&name)) {
                return Ok(found.clone());
            }
        }
        bail!("the server doesn't have a resource type \"{word}\"")
    }

    /// GETs `name` of `served`, in `namespace` when the kind is namespaced.
    async fn get(
        &self,
        served: &Served,
        namespace: &str,
        name: &str,
    ) -> Result<Value, kube::Error> {
        let resource = served.api_resource();
        let api: Api<DynamicObject> = if served.resource.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        };
        retrying(|| api.get(name)).await.map(to_value)
    }
}

fn kube_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// An object to trace and the kind its report names.
struct Traced {
    object: Value,
    kind: String,
}

impl Traced {
    fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }
}

pub async fn run(ctx: &Ctx, args: &TraceArgs) -> anyhow::Result<ExitStatus> {
    let namespace = ctx.global.namespace.as_str();
    let mut catalog = Catalog::new(ctx.kube.client().await?);
    let objects = if !args.kind.is_empty() || !args.api_version.is_empty() {
        vec![static_object(&mut catalog, args, namespace).await?]
    } else {
        dynamic_objects(&mut catalog, &args.objects, namespace).await?
    };
    for (i, traced) in objects.iter().enumerate() {
        match trace(&mut catalog, traced).await {
            Ok(report) => ctx
                .printer
                .out(&report)
                .context("unable to write to stdout")?,
            // Upstream prints this without a newline and goes on.
            Err(err) => ctx.printer.report(&format!(
                "failed to trace {}/{} in namespace {}: {err:#}",
                traced.kind,
                traced.name(),
                traced.namespace()
            )),
        }
        if i + 1 < objects.len() {
            ctx.printer
                .out("---\n")
                .context("unable to write to stdout")?;
        }
    }
    Ok(ExitStatus::Success)
}

/// `NAME --kind K --api-version G/V`: the kind is printed as typed.
async fn static_object(
    catalog: &mut Catalog,
    args: &TraceArgs,
    namespace: &str,
) -> anyhow::Result<Traced> {
    let Some(name) = args.objects.first() else {
        bail!("object name is required");
    };
    if args.kind.is_empty() {
        bail!("object kind is required (--kind)");
    }
    if args.api_version.is_empty() {
        bail!("object apiVersion is required (--api-version)");
    }
    let (group, version) =
        parse_api_version(&args.api_version).map_err(|e| anyhow!("invaild apiVersion: {e}"))?;
    let served = catalog
        .by_kind(&group, &version, &args.kind)
        .await
        .map_err(|e| anyhow!("failed to find object: {e}"))?;
    let object = catalog
        .get(&served, namespace, name)
        .await
        .map_err(|e| anyhow!("failed to find object: {}", kube_message(&e)))?;
    Ok(Traced {
        object,
        kind: args.kind.clone(),
    })
}

/// kubectl's argument forms: `TYPE[,TYPE…] NAME…` or `TYPE/NAME…`.
fn resource_args(args: &[String]) -> Option<Vec<(String, String)>> {
    let usage = args.is_empty() || args.iter().any(|a| a.is_empty());
    if usage {
        return None;
    }
    if args.iter().all(|a| a.contains('/')) {
        args.iter()
            .map(|a| {
                let (kind, name) = a.split_once('/')?;
                (!kind.is_empty() && !name.is_empty() && !name.contains('/'))
                    .then(|| (kind.to_string(), name.to_string()))
            })
            .collect()
    } else if args.iter().any(|a| a.contains('/')) || args.len() < 2 {
        None
    } else {
        let types: Vec<&str> = args[0].split(',').collect();
        if types.iter().any(|t| t.is_empty()) {
            return None;
        }
        Some(
            types
                .iter()
                .flat_map(|t| args[1..].iter().map(|name| (t.to_string(), name.clone())))
                .collect(),
        )
    }
}

async fn dynamic_objects(
    catalog: &mut Catalog,
    args: &[String],
    namespace: &str,
) -> anyhow::Result<Vec<Traced>> {
    let Some(wanted) = resource_args(args) else {
        bail!("either `<resource>/<name>` or `<resource> <name>` is required as an argument");
    };
    let mut kinds = Vec::new();
    for (word, name) in &wanted {
        kinds.push((catalog.by_word(word).await?, name));
    }
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for (served, name) in kinds {
        match catalog.get(&served, namespace, name).await {
            Ok(object) => {
                let kind = object["kind"].as_str().unwrap_or_default().to_string();
                objects.push(Traced { object, kind });
            }
            Err(err) => errors.push(kube_message(&err)),
        }
    }
    match errors.len() {
        0 => Ok(objects),
        1 => bail!("x: {}", errors[0]),
        _ => bail!("x: [{}]", errors.join(", ")),
    }
}

/// The Flux object of `group` whose labels the object carries.
fn managed_by(object: &Value, group: &str) -> Option<(String, String)> {
    let labels = &object["metadata"]["labels"];
    let name = labels[format!("{group}/name")].as_str().unwrap_or_default();
    let namespace = labels[format!("{group}/namespace")]
        .as_str()
        .unwrap_or_default();
    (!name.is_empty()).then(|| (namespace.to_string(), name.to_string()))
}

/// The managing Flux object of `group`, from the object's labels or those
/// of its owners (Pod → ReplicaSet → Deployment).
async fn owner_managed_by(
    catalog: &mut Catalog,
    object: &Value,
    group: &str,
) -> Option<(String, String)> {
    let mut current = object.clone();
    'walk: loop {
        if let Some(found) = managed_by(&current, group) {
            return Some(found);
        }
        let namespace = current["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let references = current["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for reference in &references {
            let api_version = reference["apiVersion"].as_str().unwrap_or_default();
            let (g, v) = parse_api_version(api_version).ok()?;
            let kind = reference["kind"].as_str().unwrap_or_default();
            let name = reference["name"].as_str().unwrap_or_default();
            let served = catalog.by_kind(&g, &v, kind).await.ok()?;
            let owner = catalog.get(&served, &namespace, name).await.ok()?;
            if let Some(found) = managed_by(&owner, group) {
                return Some(found);
            }
            let has_owners = owner["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| !r.is_empty());
            if has_owners {
                current = owner;
                continue 'walk;
            }
        }
        return None;
    }
}

async fn trace(catalog: &mut Catalog, traced: &Traced) -> anyhow::Result<String> {
    if let Some(ks) = owner_managed_by(catalog, &traced.object, KUSTOMIZE_GROUP).await {
        return kustomization_report(catalog, traced, &ks).await;
    }
    if let Some(hr) = owner_managed_by(catalog, &traced.object, HELM_GROUP).await {
        return helm_report(catalog, traced, &hr).await;
    }
    bail!("object not managed by Flux")
}

/// GETs a Flux object; `what` names it in the error.
async fn get_flux(
    catalog: &mut Catalog,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    what: &str,
) -> anyhow::Result<Value> {
    let (group, version) = parse_api_version(api_version).map_err(|e| anyhow!(e))?;
    let served = catalog
        .by_kind(&group, &version, kind)
        .await
        .map_err(|e| anyhow!("failed to find {what}: {e}"))?;
    catalog
        .get(&served, namespace, name)
        .await
        .map_err(|e| anyhow!("failed to find {what}: {}", kube_message(&e)))
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The first `Ready` condition.
fn ready(object: &Value) -> Option<&Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
}

/// A Kubernetes timestamp as Go prints a local `time.Time`:
/// `2006-01-02 15:04:05.999999999 -0700 MST`.
fn go_time(timestamp: &str) -> String {
    go_time_in(timestamp, jiff::tz::TimeZone::system())
}

fn go_time_in(timestamp: &str, zone: jiff::tz::TimeZone) -> String {
    let Ok(ts) = timestamp.parse::<jiff::Timestamp>() else {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    };
    let zoned = ts.to_zoned(zone);
    let mut out = zoned.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = zoned.subsec_nanosecond();
    if nanos != 0 {
        out.push_str(format!(".{nanos:09}").trim_end_matches('0'));
    }
    out.push_str(&zoned.strftime(" %z %Z").to_string());
    out
}

/// Lines of one block, labels padded to `width` columns.
struct Block {
    width: usize,
    out: String,
}

impl Block {
    fn new(width: usize) -> Self {
        Self {
            width,
            out: String::new(),
        }
    }

    fn line(&mut self, label: &str, value: &str) {
        let label = format!("{label}:");
        self.out
            .push_str(&format!("{label:<width$}{value}\n", width = self.width));
    }

    fn raw(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
    }

    /// `Status:` and `Message:` from the Ready condition; `failed` says
    /// whether a False status is reported as a failure.
    fn status(&mut self, object: &Value, failed: bool) {
        match ready(object) {
            Some(condition) => {
                let at = go_time(condition["lastTransitionTime"].as_str().unwrap_or_default());
                if failed && condition["status"] == "False" {
                    self.line("Status", &format!("Last reconciliation failed at {at}"));
                } else {
                    self.line("Status", &format!("Last reconciled at {at}"));
                }
                self.line("Message", text(condition, "/message"));
            }
            None => self.line("Status", "Unknown"),
        }
    }

    fn object_header(&mut self, traced: &Traced) {
        self.raw("");
        self.line("Object", &format!("{}/{}", traced.kind, traced.name()));
        if !traced.namespace().is_empty() {
            self.line("Namespace", traced.namespace());
        }
        self.line("Status", "Managed by Flux");
    }

    fn header(&mut self, label: &str, object: &Value) {
        self.raw("---");
        self.line(label, text(object, "/metadata/name"));
        self.line("Namespace", text(object, "/metadata/namespace"));
    }

    /// The reference lines of a Git or OCI source: the first of tag,
    /// semver and `last` (branch or digest).
    fn reference(&mut self, source: &Value, last: &str, last_label: &str) {
        let reference = &source["spec"]["ref"];
        if reference.is_null() {
            return;
        }
        if let Some(tag) = reference["tag"].as_str().filter(|s| !s.is_empty()) {
            self.line("Tag", tag);
        } else if let Some(semver) = reference["semver"].as_str().filter(|s| !s.is_empty()) {
            self.line("Tag", semver);
        } else if let Some(value) = reference[last].as_str().filter(|s| !s.is_empty()) {
            self.line(last_label, value);
        }
    }

    /// `Revision:` of the artifact and, with `origin`, the artifact's
    /// origin metadata lines (a missing key leaves an empty line).
    fn artifact(&mut self, source: &Value, origin: bool) {
        let artifact = &source["status"]["artifact"];
        if artifact.is_null() {
            return;
        }
        self.line("Revision", text(artifact, "/revision"));
        let metadata = artifact["metadata"].as_object();
        if origin && metadata.is_some_and(|m| !m.is_empty()) {
            for (label, key) in [
                ("Origin Revision: ", OCI_REVISION),
                ("Origin Source:   ", OCI_SOURCE),
            ] {
                match artifact["metadata"][key].as_str().filter(|v| !v.is_empty()) {
                    Some(value) => self.raw(&format!("{label}{value}")),
                    None => self.raw(""),
                }
            }
        }
    }

    fn oci_repository(&mut self, source: &Value, origin: bool) {
        self.header("OCIRepository", source);
        self.line("URL", text(source, "/spec/url"));
        self.reference(source, "digest", "Digest");
        self.artifact(source, origin);
        self.status(source, true);
    }

    fn external_artifact(&mut self, source: &Value, origin: bool) {
        self.header("ExternalArtifact", source);
        let reference = &source["spec"]["sourceRef"];
        self.line(
            "Source",
            &format!(
                "{}/{}/{}",
                text(reference, "/kind"),
                text(reference, "/namespace"),
                text(reference, "/name")
            ),
        );
        self.artifact(source, origin);
        self.status(source, true);
    }

    fn git_repository(&mut self, source: &Value) {
        self.header("GitRepository", source);
        self.line("URL", text(source, "/spec/url"));
        self.reference(source, "branch", "Branch");
        self.artifact(source, false);
        self.status(source, true);
    }
}

/// The source a Kustomization or HelmRelease refers to, GET in the
/// reference's namespace or the referrer's.
async fn referenced_source(
    catalog: &mut Catalog,
    reference: &Value,
    referrer_namespace: &str,
) -> anyhow::Result<Option<(String, Value)>> {
    let kind = text(reference, "/kind");
    if !matches!(
        kind,
        "GitRepository" | "OCIRepository" | "ExternalArtifact" | "HelmRepository"
    ) {
        return Ok(None);
    }
    let namespace = reference["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(referrer_namespace);
    let source = get_flux(
        catalog,
        SOURCE_API,
        kind,
        namespace,
        text(reference, "/name"),
        kind,
    )
    .await?;
    if kind == "ExternalArtifact" && source["spec"]["sourceRef"].is_null() {
        bail!(
            "ExternalArtifact {}/{} is missing spec.sourceRef",
            text(&source, "/metadata/namespace"),
            text(&source, "/metadata/name")
        );
    }
    Ok(Some((kind.to_string(), source)))
}

async fn kustomization_report(
    catalog: &mut Catalog,
    traced: &Traced,
    (namespace, name): &(String, String),
) -> anyhow::Result<String> {
    let ks = get_flux(
        catalog,
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        namespace,
        name,
        "kustomization",
    )
    .await?;
    let ks_namespace = text(&ks, "/metadata/namespace").to_string();
    let reference = &ks["spec"]["sourceRef"];
    let source = match text(reference, "/kind") {
        "GitRepository" | "OCIRepository" | "ExternalArtifact" => {
            referenced_source(catalog, reference, &ks_namespace).await?
        }
        _ => None,
    };
    let mut block = Block::new(17);
    block.object_header(traced);
    block.header("Kustomization", &ks);
    if let Some(target) = ks["spec"]["targetNamespace"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        block.line("Target", target);
    }
    block.line("Path", text(&ks, "/spec/path"));
    block.line("Revision", text(&ks, "/status/lastAppliedRevision"));
    block.status(&ks, false);
    match source {
        Some((kind, source)) if kind == "GitRepository" => block.git_repository(&source),
        Some((kind, source)) if kind == "OCIRepository" => block.oci_repository(&source, true),
        Some((_, source)) => block.external_artifact(&source, true),
        None => {}
    }
    Ok(block.out)
}

async fn helm_report(
    catalog: &mut Catalog,
    traced: &Traced,
    (namespace, name): &(String, String),
) -> anyhow::Result<String> {
    let hr = get_flux(
        catalog,
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        namespace,
        name,
        "HelmRelease",
    )
    .await?;
    let hr_namespace = text(&hr, "/metadata/namespace").to_string();
    let chart = match text(&hr, "/status/helmChart") {
        "" => None,
        reference => {
            let (chart_namespace, chart_name) =
                reference.split_once('/').unwrap_or(("", reference));
            Some(
                get_flux(
                    catalog,
                    SOURCE_API,
                    "HelmChart",
                    chart_namespace,
                    chart_name,
                    "HelmChart",
                )
                .await?,
            )
        }
    };
    let source = if hr["spec"]["chart"].is_null() {
        let reference = &hr["spec"]["chartRef"];
        match text(reference, "/kind") {
            "OCIRepository" | "ExternalArtifact" => {
                referenced_source(catalog, reference, &hr_namespace).await?
            }
            _ => None,
        }
    } else {
        let reference = &hr["spec"]["chart"]["spec"]["sourceRef"];
        match text(reference, "/kind") {
            "GitRepository" | "HelmRepository" => {
                referenced_source(catalog, reference, &hr_namespace).await?
            }
            _ => None,
        }
    };
    let mut block = Block::new(16);
    block.object_header(traced);
    block.header("HelmRelease", &hr);
    if let Some(target) = hr["spec"]["targetNamespace"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        block.line("Target", target);
    }
    block.line("Revision", text(&hr, "/status/lastAttemptedRevision"));
    block.status(&hr, false);
    if let Some(chart) = &chart {
        block.header("HelmChart", chart);
        block.line("Chart", text(chart, "/spec/chart"));
        block.line("Version", text(chart, "/spec/version"));
        if !chart["status"]["artifact"].is_null() {
            block.line("Revision", text(chart, "/status/artifact/revision"));
        }
        block.status(chart, false);
    }
    let mut out = block.out;
    match source {
        Some((kind, source)) if kind == "HelmRepository" => {
            let mut repo = Block::new(16);
            repo.header("HelmRepository", &source);
            repo.line("URL", text(&source, "/spec/url"));
            if !source["status"]["artifact"].is_null() {
                repo.line("Revision", text(&source, "/status/artifact/revision"));
            }
            repo.status(&source, false);
            out.push_str(&repo.out);
        }
        Some((kind, source)) if kind == "GitRepository" => {
            let mut git = Block::new(15);
            git.git_repository(&source);
            out.push_str(&git.out);
        }
        Some((kind, source)) => {
            let mut wide = Block::new(17);
            if kind == "OCIRepository" {
                wide.oci_repository(&source, false);
            } else {
                wide.external_artifact(&source, false);
            }
            out.push_str(&wide.out);
        }
        None => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kubectl_argument_forms() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, n)| (k.to_string(), n.to_string()))
                .collect()
        };
        assert_eq!(
            resource_args(&strings(&["deploy", "a", "b"])),
            Some(pairs(&[("deploy", "a"), ("deploy", "b")]))
        );
        assert_eq!(
            resource_args(&strings(&["deploy,svc", "a"])),
            Some(pairs(&[("deploy", "a"), ("svc", "a")]))
        );
        assert_eq!(
            resource_args(&strings(&["pod/x", "cm/y"])),
            Some(pairs(&[("pod", "x"), ("cm", "y")]))
        );
        for bad in [
            &[][..],
            &["deploy"],
            &["deploy", "cm/y"],
            &["pod/"],
            &["a/b/c"],
        ] {
            assert_eq!(resource_args(&strings(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn api_versions_split_as_kubernetes_does() {
        assert_eq!(parse_api_version("v1"), Ok(("".into(), "v1".into())));
        assert_eq!(
            parse_api_version("apps/v1"),
            Ok(("apps".into(), "v1".into()))
        );
        assert_eq!(
            parse_api_version("a/b/c"),
            Err("unexpected GroupVersion string: a/b/c".into())
        );
    }

    #[test]
    fn times_print_as_go_prints_a_local_time() {
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            go_time_in("2021-07-16T15:42:20Z", jiff::tz::TimeZone::UTC),
            "2021-07-16 15:42:20 +0000 UTC"
        );
        assert_eq!(
            go_time_in("2021-01-16T15:42:20.250Z", berlin),
            "2021-01-16 16:42:20.25 +0100 CET"
        );
    }

    #[test]
    fn labels_are_padded_to_the_blocks_width() {
        let mut block = Block::new(17);
        block.line("ExternalArtifact", "x");
        block.line("Path", "./");
        assert_eq!(block.out, "ExternalArtifact:x\nPath:            ./\n");
    }
}
