//! The registry of Flux kinds: one table that drives get, reconcile,
//! suspend, resume, export and delete. A new kind is one entry here.
//!
//! Everything here is pure: cells and messages are computed from the
//! object's JSON, so the table is testable without a cluster.

use kube::api::ApiResource;
use serde_json::Value;

use crate::output::table::shorten_hex;

/// Which CLI group a kind's command word lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `flux <verb> kustomization`
    None,
    /// `flux <verb> source git`
    Source,
    /// `flux <verb> image policy`
    Image,
    /// `flux <verb> artifact generator`
    Artifact,
}

impl Group {
    /// The group word for verbs other than `get` (singular).
    pub fn word(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Source => Some("source"),
            Self::Image => Some("image"),
            Self::Artifact => Some("artifact"),
        }
    }

    /// The group word and aliases for `get` (plural first).
    pub fn get_words(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Self::None => None,
            Self::Source => Some(("sources", &["source"])),
            Self::Image => Some(("images", &["image"])),
            Self::Artifact => Some(("artifacts", &["artifact"])),
        }
    }
}

/// How completion of a wait is judged (upstream's "static" and "dynamic" readiness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The controller reports Ready with observedGeneration.
    Dynamic,
    /// No controller status to wait for (Alert, Provider): only kstatus.
    Static,
}

/// A table column: its header and how its cell is computed.
#[derive(Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    /// Shown only with `-o wide`.
    pub wide: bool,
    pub cell: fn(&Value) -> String,
}

/// Where `reconcile --with-source` finds the object to reconcile first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLookup {
    /// `spec.sourceRef` of a Kustomization (GitRepository, OCIRepository, Bucket).
    SourceRef,
    /// `spec.sourceRef` of a HelmChart, always in the chart's namespace.
    ChartSourceRef,
    /// `spec.chartRef`, else the HelmChart generated from `spec.chart`.
    HelmReleaseChart,
}

/// One Flux kind.
pub struct KindSpec {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// Lower-case phrase used in messages (`source git`, `kustomization`).
    pub human: &'static str,
    pub cli_group: Group,
    /// Command word for verbs other than `get`, with aliases.
    pub word: &'static str,
    pub aliases: &'static [&'static str],
    /// Command word for `get`, with aliases.
    pub get_word: &'static str,
    pub get_aliases: &'static [&'static str],
    pub columns: &'static [Column],
    pub readiness: fn(&Value) -> Readiness,
    /// `None`: the kind has no reconcile command.
    pub reconcile_success: Option<fn(&Value) -> String>,
    pub with_source: Option<SourceLookup>,
    pub suspendable: bool,
    pub deletable: bool,
    /// Listed by `flux get all`.
    pub in_get_all: bool,
    /// No controller status: `get` always shows it Ready (Alert, Provider).
    pub always_ready: bool,
    /// `get --show-source` adds a SOURCE column.
    pub show_source: bool,
    /// `reconcile --force/--reset` apply (HelmRelease).
    pub forceable: bool,
}

impl std::fmt::Debug for KindSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind)
    }
}

impl KindSpec {
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.into(),
            version: self.version.into(),
            api_version: self.api_version(),
            kind: self.kind.into(),
            plural: self.plural.into(),
        }
    }

    /// `<plural>.<group>`, the name kubectl and API errors use.
    pub fn resource_name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// Whether a reconcile request would be ignored: objects without
    /// controller status (oci HelmRepository) have nothing to wait for.
    pub fn reconcile_unsupported(&self, object: &Value) -> bool {
        (self.readiness)(object) == Readiness::Static
    }
}

// ---------------------------------------------------------------- cells

fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The last condition of `type` in `status.conditions`.
pub fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .rev()
        .find(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(type_))
        })
}

fn ready_status(object: &Value) -> String {
    condition(object, "Ready")
        .map_or("False", |c| c["status"].as_str().unwrap_or(""))
        .to_string()
}

fn ready_message(object: &Value) -> String {
    condition(object, "Ready")
        .map_or("waiting to be reconciled", |c| {
            c["message"].as_str().unwrap_or("")
        })
        .to_string()
}

fn ready_message_hex(object: &Value) -> String {
    shorten_hex(&ready_message(object))
}

fn suspended(object: &Value) -> String {
    if object["spec"]["suspend"].as_bool() == Some(true) {
        "True"
    } else {
        "False"
    }
    .to_string()
}

fn name(object: &Value) -> String {
    str_at(object, &["metadata", "name"]).to_string()
}

fn artifact_revision_hex(object: &Value) -> String {
    shorten_hex(str_at(object, &["status", "artifact", "revision"]))
}

fn artifact_revision(object: &Value) -> String {
    str_at(object, &["status", "artifact", "revision"]).to_string()
}

fn last_applied_revision_hex(object: &Value) -> String {
    shorten_hex(str_at(object, &["status", "lastAppliedRevision"]))
}

/// A HelmRelease's revision: the chart version of the latest release, else
/// the last attempted revision.
fn helm_release_revision(object: &Value) -> String {
    match object["status"]["history"]
        .as_array()
        .and_then(|h| h.first())
    {
        Some(latest) => str_at(latest, &["chartVersion"]).to_string(),
        None => str_at(object, &["status", "lastAttemptedRevision"]).to_string(),
    }
}

fn object_ref(object: &Value, reference: &Value) -> String {
    if reference.is_null() {
        return String::new();
    }
    let namespace = reference["namespace"]
        .as_str()
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| str_at(object, &["metadata", "namespace"]));
    format!(
        "{}/{}/{}",
        str_at(reference, &["kind"]),
        namespace,
        str_at(reference, &["name"])
    )
}

fn kustomization_source(object: &Value) -> String {
    object_ref(object, &object["spec"]["sourceRef"])
}

fn helm_release_source(object: &Value) -> String {
    let chart_ref = &object["spec"]["chartRef"];
    if chart_ref.is_object() {
        object_ref(object, chart_ref)
    } else {
        object_ref(object, &object["spec"]["chart"]["spec"]["sourceRef"])
    }
}

fn external_artifact_source(object: &Value) -> String {
    object_ref(object, &object["spec"]["sourceRef"])
}

fn is_oci_helm_repository(object: &Value) -> bool {
    object["spec"]["type"].as_str() == Some("oci")
}

fn helm_repository_ready(object: &Value) -> String {
    if is_oci_helm_repository(object) {
        "True".into()
    } else {
        ready_status(object)
    }
}

fn helm_repository_message(object: &Value) -> String {
    if is_oci_helm_repository(object) {
        "Helm repository is Ready".into()
    } else {
        ready_message_hex(object)
    }
}

fn always_true(_: &Value) -> String {
    "True".into()
}

fn alert_message(_: &Value) -> String {
    "Alert is Ready".into()
}

fn provider_message(_: &Value) -> String {
    "Provider is Ready".into()
}

/// An RFC 3339 timestamp shown in the local time zone, like upstream.
pub fn local_time(timestamp: &str) -> String {
    let Ok(ts) = timestamp.parse::<jiff::Timestamp>() else {
        return timestamp.to_string();
    };
    let zoned = ts.to_zoned(jiff::tz::TimeZone::system());
    let offset = zoned.offset();
    if offset.seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

fn last_scan(object: &Value) -> String {
    let at = str_at(object, &["status", "lastScanResult", "scanTime"]);
    if at.is_empty() {
        String::new()
    } else {
        local_time(at)
    }
}

fn last_run(object: &Value) -> String {
    let at = str_at(object, &["status", "lastAutomationRunTime"]);
    if at.is_empty() {
        String::new()
    } else {
        local_time(at)
    }
}

fn latest_image(object: &Value) -> String {
    str_at(object, &["status", "latestRef", "name"]).to_string()
}

fn latest_tag(object: &Value) -> String {
    str_at(object, &["status", "latestRef", "tag"]).to_string()
}

fn generator_disabled(object: &Value) -> String {
    let disabled = str_at(
        object,
        &[
            "metadata",
            "annotations",
            "source.extensions.fluxcd.io/reconcile",
        ],
    ) == "disabled";
    if disabled { "True" } else { "False" }.into()
}

fn kustomization_path(object: &Value) -> String {
    str_at(object, &["spec", "path"]).to_string()
}

fn last_transition(object: &Value) -> String {
    condition(object, "Ready")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .map(local_time)
        .unwrap_or_default()
}

fn source_url(object: &Value) -> String {
    str_at(object, &["spec", "url"]).to_string()
}

// ---------------------------------------------------------------- success messages

fn fetched_revision(object: &Value) -> String {
    format!("fetched revision {}", artifact_revision(object))
}

fn applied_revision(object: &Value) -> String {
    format!(
        "applied revision {}",
        str_at(object, &["status", "lastAppliedRevision"])
    )
}

fn helm_release_applied(object: &Value) -> String {
    format!("applied revision {}", helm_release_revision(object))
}

fn receiver_done(_: &Value) -> String {
    "Receiver reconciliation completed".into()
}

fn scan_result(object: &Value) -> String {
    let count = object["status"]["lastScanResult"]["tagCount"]
        .as_i64()
        .unwrap_or(0);
    format!("scan fetched {count} tags")
}

fn selected_ref(object: &Value) -> String {
    let latest = &object["status"]["latestRef"];
    let mut out = format!(
        "selected ref {}:{}",
        str_at(latest, &["name"]),
        str_at(latest, &["tag"])
    );
    let digest = str_at(latest, &["digest"]);
    if !digest.is_empty() {
        out.push('@');
        out.push_str(digest);
    }
    out
}

fn automation_result(object: &Value) -> String {
    if let Some(ready) = condition(object, "Ready") {
        return ready["message"].as_str().unwrap_or("").to_string();
    }
    let at = str_at(object, &["status", "lastAutomationRunTime"]);
    if at.is_empty() {
        "automation not yet run".into()
    } else {
        format!("last run {at}")
    }
}

fn dynamic(_: &Value) -> Readiness {
    Readiness::Dynamic
}

fn static_(_: &Value) -> Readiness {
    Readiness::Static
}

fn helm_repository_readiness(object: &Value) -> Readiness {
    if is_oci_helm_repository(object) {
        Readiness::Static
    } else {
        Readiness::Dynamic
    }
}

// ---------------------------------------------------------------- the table

const fn col(header: &'static str, cell: fn(&Value) -> String) -> Column {
    Column {
        header,
        wide: false,
        cell,
    }
}

const fn wide(header: &'static str, cell: fn(&Value) -> String) -> Column {
    Column {
        header,
        wide: true,
        cell,
    }
}

const SOURCE_COLUMNS: &[Column] = &[
    col("Name", name),
    col("Revision", artifact_revision_hex),
    col("Suspended", suspended),
    col("Ready", ready_status),
    col("Message", ready_message_hex),
    wide("URL", source_url),
    wide("Last transition", last_transition),
];

const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
const SOURCE_VERSION: &str = "v1";

/// Every Flux kind, in the order `get all` lists them.
/// Defaults shared by the registry entries; each entry names what differs.
const BASE: KindSpec = KindSpec {
    kind: "",
    group: "",
    version: "v1",
    plural: "",
    human: "",
    cli_group: Group::None,
    word: "",
    aliases: &[],
    get_word: "",
    get_aliases: &[],
    columns: &[],
    readiness: dynamic,
    reconcile_success: None,
    with_source: None,
    suspendable: true,
    deletable: true,
    in_get_all: true,
    always_ready: false,
    show_source: false,
    forceable: false,
};

/// Defaults of the source.toolkit.fluxcd.io kinds.
const SOURCE: KindSpec = KindSpec {
    group: SOURCE_GROUP,
    version: SOURCE_VERSION,
    cli_group: Group::Source,
    columns: SOURCE_COLUMNS,
    reconcile_success: Some(fetched_revision),
    ..BASE
};

pub static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: "OCIRepository",
        plural: "ocirepositories",
        human: "source oci",
        word: "oci",
        get_word: "oci",
        ..SOURCE
    },
    KindSpec {
        kind: "Bucket",
        plural: "buckets",
        human: "source bucket",
        word: "bucket",
        get_word: "bucket",
        ..SOURCE
    },
    KindSpec {
        kind: "GitRepository",
        plural: "gitrepositories",
        human: "source git",
        word: "git",
        get_word: "git",
        ..SOURCE
    },
    KindSpec {
        kind: "HelmRepository",
        plural: "helmrepositories",
        human: "source helm",
        word: "helm",
        get_word: "helm",
        columns: &[
            col("Name", name),
            col("Revision", artifact_revision_hex),
            col("Suspended", suspended),
            col("Ready", helm_repository_ready),
            col("Message", helm_repository_message),
            wide("URL", source_url),
            wide("Last transition", last_transition),
        ],
        readiness: helm_repository_readiness,
        ..SOURCE
    },
    KindSpec {
        kind: "HelmChart",
        plural: "helmcharts",
        human: "source chart",
        word: "chart",
        get_word: "chart",
        columns: &[
            col("Name", name),
            // A chart version, not a digest: never shortened.
            col("Revision", artifact_revision),
            col("Suspended", suspended),
            col("Ready", ready_status),
            col("Message", ready_message_hex),
            wide("Source", external_artifact_source),
            wide("Last transition", last_transition),
        ],
        with_source: Some(SourceLookup::ChartSourceRef),
        ..SOURCE
    },
    KindSpec {
        kind: "ExternalArtifact",
        plural: "externalartifacts",
        human: "source external-artifact",
        word: "external",
        get_word: "external",
        columns: &[
            col("Name", name),
            col("Revision", artifact_revision_hex),
            col("Source", external_artifact_source),
            col("Ready", ready_status),
            col("Message", ready_message_hex),
        ],
        reconcile_success: None,
        suspendable: false,
        deletable: false,
        ..SOURCE
    },
    KindSpec {
        kind: "ImageRepository",
        group: "image.toolkit.fluxcd.io",
        plural: "imagerepositories",
        human: "image repository",
        cli_group: Group::Image,
        word: "repository",
        get_word: "repository",
        columns: &[
            col("Name", name),
            col("Last scan", last_scan),
            col("Suspended", suspended),
            col("Ready", ready_status),
            col("Message", ready_message),
            wide("Image", |o| str_at(o, &["spec", "image"]).to_string()),
        ],
        reconcile_success: Some(scan_result),
        ..BASE
    },
    KindSpec {
        kind: "ImagePolicy",
        group: "image.toolkit.fluxcd.io",
        plural: "imagepolicies",
        human: "image policy",
        cli_group: Group::Image,
        word: "policy",
        get_word: "policy",
        columns: &[
            col("Name", name),
            col("Image", latest_image),
            col("Tag", latest_tag),
            col("Ready", ready_status),
            col("Message", ready_message),
            wide("Suspended", suspended),
        ],
        reconcile_success: Some(selected_ref),
        ..BASE
    },
    KindSpec {
        kind: "ImageUpdateAutomation",
        group: "image.toolkit.fluxcd.io",
        plural: "imageupdateautomations",
        human: "image update automation",
        cli_group: Group::Image,
        word: "update",
        get_word: "update",
        columns: &[
            col("Name", name),
            col("Last run", last_run),
            col("Suspended", suspended),
            col("Ready", ready_status),
            col("Message", ready_message),
        ],
        reconcile_success: Some(automation_result),
        ..BASE
    },
    KindSpec {
        kind: "HelmRelease",
        group: "helm.toolkit.fluxcd.io",
        version: "v2",
        plural: "helmreleases",
        human: "helmrelease",
        word: "helmrelease",
        aliases: &["hr"],
        get_word: "helmreleases",
        get_aliases: &["hr", "helmrelease"],
        columns: &[
            col("Name", name),
            col("Revision", helm_release_revision),
            col("Suspended", suspended),
            col("Ready", ready_status),
            col("Message", ready_message),
            wide("Source", helm_release_source),
            wide("Last transition", last_transition),
        ],
        reconcile_success: Some(helm_release_applied),
        with_source: Some(SourceLookup::HelmReleaseChart),
        show_source: true,
        forceable: true,
        ..BASE
    },
    KindSpec {
        kind: "Kustomization",
        group: "kustomize.toolkit.fluxcd.io",
        plural: "kustomizations",
        human: "kustomization",
        word: "kustomization",
        aliases: &["ks"],
        get_word: "kustomizations",
        get_aliases: &["ks", "kustomization"],
        columns: &[
            col("Name", name),
            col("Revision", last_applied_revision_hex),
            col("Suspended", suspended),
            col("Ready", ready_status),
            col("Message", ready_message_hex),
            wide("Source", kustomization_source),
            wide("Path", kustomization_path),
            wide("Last transition", last_transition),
        ],
        reconcile_success: Some(applied_revision),
        with_source: Some(SourceLookup::SourceRef),
        show_source: true,
        ..BASE
    },
    KindSpec {
        kind: "Receiver",
        group: "notification.toolkit.fluxcd.io",
        plural: "receivers",
        human: "receiver",
        word: "receiver",
        get_word: "receivers",
        get_aliases: &["receiver"],
        columns: &[
            col("Name", name),
            col("Suspended", suspended),
            col("Ready", ready_status),
            col("Message", ready_message),
        ],
        reconcile_success: Some(receiver_done),
        ..BASE
    },
    KindSpec {
        kind: "Provider",
        group: "notification.toolkit.fluxcd.io",
        version: "v1beta3",
        plural: "providers",
        human: "alert provider",
        word: "alert-provider",
        get_word: "alert-providers",
        get_aliases: &["alert-provider"],
        columns: &[
            col("Name", name),
            col("Ready", always_true),
            col("Message", provider_message),
        ],
        readiness: static_,
        always_ready: true,
        ..BASE
    },
    KindSpec {
        kind: "Alert",
        group: "notification.toolkit.fluxcd.io",
        version: "v1beta3",
        plural: "alerts",
        human: "alert",
        word: "alert",
        get_word: "alerts",
        get_aliases: &["alert"],
        columns: &[
            col("Name", name),
            col("Suspended", suspended),
            col("Ready", always_true),
            col("Message", alert_message),
        ],
        readiness: static_,
        always_ready: true,
        ..BASE
    },
    KindSpec {
        kind: "ArtifactGenerator",
        group: "source.extensions.fluxcd.io",
        version: "v1beta1",
        plural: "artifactgenerators",
        human: "artifactgenerator",
        cli_group: Group::Artifact,
        word: "generator",
        get_word: "generators",
        get_aliases: &["generator"],
        columns: &[
            col("Name", name),
            col("Suspended", generator_disabled),
            col("Ready", ready_status),
            col("Message", ready_message_hex),
        ],
        suspendable: false,
        deletable: false,
        in_get_all: false,
        ..BASE
    },
];

/// Looks a kind up by its Kubernetes kind name, case-insensitively.
pub fn by_kind(kind: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.kind.eq_ignore_ascii_case(kind))
}

/// The kinds `get <scope> all` lists, in upstream's order.
pub fn all_in(scope: Group) -> impl Iterator<Item = &'static KindSpec> {
    let sources = KINDS.iter().filter(|k| k.cli_group == Group::Source);
    let images = KINDS.iter().filter(|k| k.cli_group == Group::Image);
    let rest = KINDS.iter().filter(|k| k.cli_group == Group::None);
    let chosen: Vec<&'static KindSpec> = match scope {
        Group::Source => sources.collect(),
        Group::Image => images.collect(),
        Group::Artifact => KINDS
            .iter()
            .filter(|k| k.cli_group == Group::Artifact)
            .collect(),
        Group::None => sources
            .chain(images)
            .chain(rest)
            .filter(|k| k.in_get_all)
            .collect(),
    };
    chosen.into_iter()
}

// ---------------------------------------------------------------- status logic

/// kstatus for Flux objects, as upstream computes it (Ready is not consulted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KStatus {
    Current,
    InProgress(String),
    Failed(String),
    Terminating,
}

pub fn kstatus(object: &Value) -> KStatus {
    if object["metadata"]["deletionTimestamp"].is_string() {
        return KStatus::Terminating;
    }
    let generation = object["metadata"]["generation"].as_i64();
    let observed = object["status"]["observedGeneration"].as_i64();
    if let (Some(generation), Some(observed)) = (generation, observed)
        && generation != observed
    {
        let kind = str_at(object, &["kind"]);
        return KStatus::InProgress(format!(
            "{kind} generation is {generation}, but latest observed generation is {observed}"
        ));
    }
    for condition in object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let is_true = condition["status"] == "True";
        let message = condition["message"].as_str().unwrap_or("").to_string();
        match condition["type"].as_str() {
            Some("Reconciling") if is_true => return KStatus::InProgress(message),
            Some("Stalled") if is_true => return KStatus::Failed(message),
            _ => {}
        }
    }
    KStatus::Current
}

/// Outcome of one readiness evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done,
    Pending,
    Failed(String),
}

fn from_kstatus(status: KStatus) -> Progress {
    match status {
        KStatus::Current => Progress::Done,
        KStatus::InProgress(_) => Progress::Pending,
        KStatus::Failed(message) => Progress::Failed(message),
        KStatus::Terminating => Progress::Failed("Resource scheduled for deletion".into()),
    }
}

/// Upstream's readiness rules for create/resume waits.
pub fn readiness(spec: &KindSpec, object: &Value) -> Progress {
    if (spec.readiness)(object) == Readiness::Dynamic {
        let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
        let observed = object["status"]["observedGeneration"].as_i64().unwrap_or(0);
        if observed < 1 {
            return Progress::Pending;
        }
        let Some(ready) = condition(object, "Ready") else {
            return Progress::Pending;
        };
        let ready_observed = ready["observedGeneration"].as_i64().unwrap_or(0);
        if (ready_observed != 0 && ready_observed != generation)
            || (ready_observed == 0 && observed != generation)
        {
            return Progress::Pending;
        }
    }
    from_kstatus(kstatus(object))
}

/// Whether a reconcile request has been handled: `lastHandledReconcileAt`
/// moved past the value read before annotating, and kstatus settled.
pub fn reconcile_progress(object: &Value, handled_before: &str) -> Progress {
    if str_at(object, &["status", "lastHandledReconcileAt"]) == handled_before {
        return Progress::Pending;
    }
    from_kstatus(kstatus(object))
}

/// `--status-selector type=status` or `type!=status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSelector {
    pub condition: String,
    pub status: String,
    pub negated: bool,
}

impl std::str::FromStr for StatusSelector {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (parts, negated) = match s.split_once("!=") {
            Some(parts) => (Some(parts), true),
            None => (s.split_once('='), false),
        };
        let (condition, status) = parts.ok_or_else(|| {
            format!(
                "expected status selector in type=status or type!=status format, but found: {s}"
            )
        })?;
        Ok(Self {
            condition: condition.to_string(),
            status: status.to_string(),
            negated,
        })
    }
}

impl StatusSelector {
    pub fn matches(&self, spec: &KindSpec, object: &Value) -> bool {
        let found = if (spec.readiness)(object) == Readiness::Static
            && matches!(spec.kind, "Alert" | "Provider")
        {
            // Alerts and providers are always reported Ready.
            self.condition.eq_ignore_ascii_case("ready") && self.status.eq_ignore_ascii_case("true")
        } else {
            condition(object, &self.condition).is_some_and(|c| {
                c["status"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&self.status))
            })
        };
        found != self.negated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_unique_within_each_cli_group() {
        for group in [Group::None, Group::Source, Group::Image, Group::Artifact] {
            let mut words: Vec<&str> = KINDS
                .iter()
                .filter(|k| k.cli_group == group)
                .flat_map(|k| std::iter::once(k.word).chain(k.aliases.iter().copied()))
                .collect();
            let total = words.len();
            words.sort();
            words.dedup();
            assert_eq!(words.len(), total, "{group:?}");
        }
    }

    #[test]
    fn every_kind_is_served_by_the_embedded_crds() {
        let crds = flux_api::crds();
        for spec in KINDS {
            let crd = crds
                .iter()
                .find(|c| c.crd.metadata.name.as_deref() == Some(spec.resource_name().as_str()))
                .unwrap_or_else(|| panic!("no CRD for {}", spec.kind));
            assert_eq!(crd.crd.spec.names.kind, spec.kind);
            let version = crd.crd.spec.versions.iter().find(|v| v.storage).unwrap();
            assert_eq!(version.name, spec.version, "{}", spec.kind);
        }
    }

    #[test]
    fn headers_follow_upstream() {
        let headers = |kind: &str| -> Vec<&str> {
            by_kind(kind)
                .unwrap()
                .columns
                .iter()
                .filter(|c| !c.wide)
                .map(|c| c.header)
                .collect()
        };
        assert_eq!(
            headers("GitRepository"),
            ["Name", "Revision", "Suspended", "Ready", "Message"]
        );
        assert_eq!(headers("Provider"), ["Name", "Ready", "Message"]);
        assert_eq!(
            headers("ImagePolicy"),
            ["Name", "Image", "Tag", "Ready", "Message"]
        );
        assert_eq!(
            headers("ExternalArtifact"),
            ["Name", "Revision", "Source", "Ready", "Message"]
        );
    }

    #[test]
    fn get_all_order_matches_upstream() {
        let kinds: Vec<&str> = all_in(Group::None).map(|k| k.kind).collect();
        assert_eq!(
            kinds,
            [
                "OCIRepository",
                "Bucket",
                "GitRepository",
                "HelmRepository",
                "HelmChart",
                "ExternalArtifact",
                "ImageRepository",
                "ImagePolicy",
                "ImageUpdateAutomation",
                "HelmRelease",
                "Kustomization",
                "Receiver",
                "Provider",
                "Alert"
            ]
        );
    }

    #[test]
    fn reconcilable_kinds_say_how_success_reads() {
        for spec in KINDS.iter().filter(|k| k.reconcile_success.is_some()) {
            assert_eq!(
                (spec.readiness)(&json!({})),
                Readiness::Dynamic,
                "{}",
                spec.kind
            );
        }
    }

    #[test]
    fn ready_cells_default_when_no_condition() {
        let object = json!({"metadata": {"name": "a"}});
        assert_eq!(ready_status(&object), "False");
        assert_eq!(ready_message(&object), "waiting to be reconciled");
    }

    #[test]
    fn kstatus_follows_generation_and_conditions() {
        let object = json!({"kind": "Kustomization", "metadata": {"generation": 2}, "status": {"observedGeneration": 1}});
        assert_eq!(
            kstatus(&object),
            KStatus::InProgress(
                "Kustomization generation is 2, but latest observed generation is 1".into()
            )
        );
        let stalled = json!({"status": {"conditions": [{"type": "Stalled", "status": "True", "message": "bad"}]}});
        assert_eq!(kstatus(&stalled), KStatus::Failed("bad".into()));
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert_eq!(kstatus(&not_ready), KStatus::Current);
    }

    #[test]
    fn dynamic_readiness_waits_for_the_current_generation() {
        let spec = by_kind("GitRepository").unwrap();
        let pending = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 1}]}});
        assert_eq!(readiness(spec, &pending), Progress::Pending);
        let done = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2}]}});
        assert_eq!(readiness(spec, &done), Progress::Done);
        assert_eq!(
            readiness(by_kind("Alert").unwrap(), &json!({})),
            Progress::Done
        );
    }

    #[test]
    fn status_selector_parses_and_matches() {
        let spec = by_kind("GitRepository").unwrap();
        let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let unknown = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        let selector: StatusSelector = "ready=true".parse().unwrap();
        assert!(selector.matches(spec, &ready) && !selector.matches(spec, &unknown));
        let negated: StatusSelector = "Ready!=True".parse().unwrap();
        assert!(!negated.matches(spec, &ready) && negated.matches(spec, &unknown));
        assert!(negated.matches(spec, &json!({})));
        assert_eq!(
            "Ready".parse::<StatusSelector>().unwrap_err(),
            "expected status selector in type=status or type!=status format, but found: Ready"
        );
        let alert: StatusSelector = "Ready=True".parse().unwrap();
        assert!(alert.matches(by_kind("Alert").unwrap(), &json!({})));
    }

    #[test]
    fn success_messages_follow_upstream() {
        let policy =
            json!({"status": {"latestRef": {"name": "ghcr.io/x/podinfo", "tag": "5.0.3"}}});
        assert_eq!(
            selected_ref(&policy),
            "selected ref ghcr.io/x/podinfo:5.0.3"
        );
        let release = json!({"status": {"history": [{"chartVersion": "6.3.5"}], "lastAttemptedRevision": "6.3.4"}});
        assert_eq!(helm_release_applied(&release), "applied revision 6.3.5");
        assert_eq!(automation_result(&json!({})), "automation not yet run");
    }

    #[test]
    fn local_time_prints_z_for_utc() {
        // The test process may have any TZ; UTC inputs at least parse and keep the instant.
        let shown = local_time("2026-08-01T10:00:00Z");
        assert!(shown.starts_with("2026-08-01T"), "{shown}");
        assert_eq!(local_time("not a time"), "not a time");
    }
}
