//! The Flux install set (`flux install --export`, `gotk-components.yaml`),
//! generated from the typed CRDs of `flux-api` and the component
//! descriptors: no upstream YAML is embedded.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, LocalObjectReference, Namespace, ObjectFieldSelector, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe, ResourceFieldSelector, ResourceQuota, ResourceQuotaSpec,
    ResourceRequirements, ScopeSelector, ScopedResourceSelectorRequirement, SeccompProfile,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

use super::components::{self, COMPONENTS, Component, FLUX_VERSION, Role};
use super::yaml;
use crate::log_level::LogLevel;
use crate::validate::qualified_name_problem;

/// Bad `install` flags, reported before anything is rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InstallFlagError {
    #[error("targeted version '{0}' must be prefixed with 'v'")]
    VersionPrefix(String),
    #[error(
        "targeted version '{0}' is not available: this flux binary embeds Flux {FLUX_VERSION} only; omit --version or pass --version={FLUX_VERSION}"
    )]
    VersionUnavailable(String),
    #[error("--registry-creds requires --image-pull-secret to be set")]
    CredsWithoutSecret,
    #[error("invalid --registry-creds format, expected 'user:password'")]
    CredsFormat,
}

/// Checks `--version`: this binary renders only the Flux it embeds.
pub fn check_version(version: Option<&str>) -> Result<(), InstallFlagError> {
    let Some(version) = version else {
        return Ok(());
    };
    if version != "latest" && !version.starts_with('v') {
        return Err(InstallFlagError::VersionPrefix(version.to_string()));
    }
    if version != FLUX_VERSION {
        return Err(InstallFlagError::VersionUnavailable(version.to_string()));
    }
    Ok(())
}

/// Everything that shapes the install set. `Default` matches upstream's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallOptions {
    pub namespace: String,
    /// Components in the order given; the header lists them in this order.
    pub components: Vec<String>,
    pub registry: String,
    pub image_pull_secret: Option<String>,
    pub watch_all_namespaces: bool,
    pub network_policy: bool,
    pub log_level: LogLevel,
    pub cluster_domain: String,
    pub toleration_keys: Vec<String>,
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            namespace: crate::settings::DEFAULT_NAMESPACE.to_string(),
            components: components::default_names()
                .into_iter()
                .map(String::from)
                .collect(),
            registry: "ghcr.io/fluxcd".to_string(),
            image_pull_secret: None,
            watch_all_namespaces: true,
            network_policy: true,
            log_level: LogLevel::Info,
            cluster_domain: "cluster.local".to_string(),
            toleration_keys: Vec::new(),
        }
    }
}

/// Invalid install options, found before anything is rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InstallError {
    #[error("component {name} is not available (available components: {available})")]
    UnknownComponent { name: String, available: String },
    #[error("invalid --toleration-keys value '{key}': {problem}")]
    InvalidTolerationKey { key: String, problem: String },
    #[error("invalid --image-pull-secret '{0}': it must be a lower-case DNS subdomain name")]
    InvalidPullSecret(String),
    #[error("invalid --cluster-domain '{0}': it must be a DNS domain such as cluster.local")]
    InvalidClusterDomain(String),
}

impl InstallOptions {
    /// Checks every option; the first problem is returned.
    pub fn validate(&self) -> Result<Vec<&'static Component>, InstallError> {
        let selected = self
            .components
            .iter()
            .map(|name| {
                components::find(name).ok_or_else(|| InstallError::UnknownComponent {
                    name: name.clone(),
                    available: COMPONENTS
                        .iter()
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for key in &self.toleration_keys {
            if let Some(problem) = qualified_name_problem(key) {
                return Err(InstallError::InvalidTolerationKey {
                    key: key.clone(),
                    problem,
                });
            }
        }
        if let Some(secret) = &self.image_pull_secret
            && !crate::validate::is_dns_subdomain(secret)
        {
            return Err(InstallError::InvalidPullSecret(secret.clone()));
        }
        if !crate::validate::is_dns_subdomain(&self.cluster_domain) {
            return Err(InstallError::InvalidClusterDomain(
                self.cluster_domain.clone(),
            ));
        }
        Ok(selected)
    }
}

/// The install set as YAML: the generated-by header, then one document per object.
pub fn render(options: &InstallOptions) -> Result<String, InstallError> {
    let objects = objects(options)?;
    let mut out = format!(
        "---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: {FLUX_VERSION}\n# Components: {}\n",
        options.components.join(",")
    );
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml::to_string(object));
    }
    Ok(out)
}

/// The install set as objects, in upstream's order: namespace, network
/// policies, quota, RBAC, then per component its CRDs, service account,
/// services and deployment.
pub fn objects(options: &InstallOptions) -> Result<Vec<Value>, InstallError> {
    let selected = options.validate()?;
    let builder = Builder {
        options,
        selected: &selected,
    };
    let mut out = vec![to_value(builder.namespace())];
    if options.network_policy {
        out.extend(builder.network_policies().into_iter().map(to_value));
    }
    out.push(to_value(builder.resource_quota()));
    out.extend(builder.cluster_roles().into_iter().map(to_value));
    out.extend(builder.cluster_role_bindings().into_iter().map(to_value));
    let crds = flux_api::crds();
    for component in &selected {
        for info in crds.iter().filter(|info| info.component == component.name) {
            let mut crd = info.to_json();
            crd["metadata"]["labels"] =
                serde_json::to_value(builder.component_labels(component, None))
                    .expect("string maps serialise to JSON");
            out.push(crd);
        }
        out.push(to_value(builder.service_account(component)));
        let mut services: Vec<_> = component.services.iter().collect();
        services.sort_by_key(|s| s.name);
        out.extend(
            services
                .into_iter()
                .map(|s| to_value(builder.service(component, s))),
        );
        out.push(to_value(builder.deployment(component)));
    }
    Ok(out)
}

fn to_value<T: Serialize + k8s_openapi::Resource>(object: T) -> Value {
    let mut value = serde_json::to_value(&object).expect("Kubernetes objects serialise to JSON");
    // k8s-openapi types do not carry apiVersion/kind as fields.
    if let Value::Object(map) = &mut value {
        map.insert("apiVersion".into(), T::API_VERSION.into());
        map.insert("kind".into(), T::KIND.into());
    }
    value
}

struct Builder<'a> {
    options: &'a InstallOptions,
    selected: &'a [&'static Component],
}

type Labels = BTreeMap<String, String>;

fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Labels {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const FLUX_API_GROUPS: &[&str] = &[
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io",
    "image.toolkit.fluxcd.io",
    "source.extensions.fluxcd.io",
];

/// The aggregated edit/view roles list the groups in this order upstream.
const AGGREGATED_API_GROUPS: &[&str] = &[
    "notification.toolkit.fluxcd.io",
    "source.toolkit.fluxcd.io",
    "source.extensions.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "image.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
];

/// Service accounts bound to the controller role, whether installed or not,
/// so adding a component later needs no RBAC change.
const CONTROLLER_ACCOUNTS: &[&str] = &[
    "kustomize-controller",
    "helm-controller",
    "source-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
];

/// The accounts that apply arbitrary manifests and so get cluster-admin.
const RECONCILER_ACCOUNTS: &[&str] = &["kustomize-controller", "helm-controller"];

impl Builder<'_> {
    fn ns(&self) -> &str {
        &self.options.namespace
    }

    fn common_labels(&self) -> Labels {
        labels([
            ("app.kubernetes.io/instance", self.ns()),
            ("app.kubernetes.io/part-of", "flux"),
            ("app.kubernetes.io/version", FLUX_VERSION),
        ])
    }

    fn component_labels(&self, component: &Component, control_plane: Option<&str>) -> Labels {
        let mut labels = self.common_labels();
        labels.insert("app.kubernetes.io/component".into(), component.name.into());
        if let Some(value) = control_plane {
            labels.insert("control-plane".into(), value.into());
        }
        labels
    }

    fn meta(&self, name: &str, namespaced: bool, labels: Labels) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespaced.then(|| self.ns().to_string()),
            labels: Some(labels),
            ..Default::default()
        }
    }

    fn namespace(&self) -> Namespace {
        let mut labels = self.common_labels();
        labels.insert(
            "pod-security.kubernetes.io/warn".into(),
            "restricted".into(),
        );
        labels.insert(
            "pod-security.kubernetes.io/warn-version".into(),
            "latest".into(),
        );
        Namespace {
            metadata: self.meta(self.ns(), false, labels),
            ..Default::default()
        }
    }

    fn network_policies(&self) -> Vec<NetworkPolicy> {
        let tcp_port = |port: i32| NetworkPolicyPort {
            port: Some(IntOrString::Int(port)),
            protocol: Some("TCP".into()),
            ..Default::default()
        };
        let from_all_namespaces = |port: i32| NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector::default()),
                ..Default::default()
            }]),
            ports: Some(vec![tcp_port(port)]),
        };
        let policy =
            |name: &str, pod_selector: LabelSelector, spec: NetworkPolicySpec| NetworkPolicy {
                metadata: self.meta(name, true, self.common_labels()),
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(pod_selector),
                    ..spec
                }),
            };
        vec![
            // Pods in the namespace may talk to each other and to anything outside.
            policy(
                "allow-egress",
                LabelSelector::default(),
                NetworkPolicySpec {
                    egress: Some(vec![NetworkPolicyEgressRule::default()]),
                    ingress: Some(vec![NetworkPolicyIngressRule {
                        from: Some(vec![NetworkPolicyPeer {
                            pod_selector: Some(LabelSelector::default()),
                            ..Default::default()
                        }]),
                        ports: None,
                    }]),
                    policy_types: Some(strings(&["Ingress", "Egress"])),
                    ..Default::default()
                },
            ),
            // Prometheus may scrape the metrics port from any namespace.
            policy(
                "allow-scraping",
                LabelSelector::default(),
                NetworkPolicySpec {
                    ingress: Some(vec![from_all_namespaces(8080)]),
                    policy_types: Some(strings(&["Ingress"])),
                    ..Default::default()
                },
            ),
            // Git hosts and registries reach the webhook receiver.
            policy(
                "allow-webhooks",
                LabelSelector {
                    match_labels: Some(labels([("app", components::NOTIFICATION_CONTROLLER)])),
                    ..Default::default()
                },
                NetworkPolicySpec {
                    ingress: Some(vec![from_all_namespaces(9292)]),
                    policy_types: Some(strings(&["Ingress"])),
                    ..Default::default()
                },
            ),
        ]
    }

    /// Lets the controllers use system-cluster-critical priority outside kube-system.
    fn resource_quota(&self) -> ResourceQuota {
        ResourceQuota {
            metadata: self.meta(
                &format!("critical-pods-{}", self.ns()),
                true,
                self.common_labels(),
            ),
            spec: Some(ResourceQuotaSpec {
                hard: Some([("pods".to_string(), Quantity("1000".into()))].into()),
                scope_selector: Some(ScopeSelector {
                    match_expressions: Some(vec![ScopedResourceSelectorRequirement {
                        operator: "In".into(),
                        scope_name: "PriorityClass".into(),
                        values: Some(strings(&[
                            "system-node-critical",
                            "system-cluster-critical",
                        ])),
                    }]),
                }),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn cluster_roles(&self) -> Vec<ClusterRole> {
        let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            verbs: strings(verbs),
            ..Default::default()
        };
        let mut controller_rules: Vec<PolicyRule> = FLUX_API_GROUPS
            .iter()
            .map(|group| rule(&[group], &["*"], &["*"]))
            .collect();
        controller_rules.extend([
            rule(
                &[""],
                &["namespaces", "secrets", "configmaps", "serviceaccounts"],
                &["get", "list", "watch"],
            ),
            rule(&[""], &["events"], &["create", "patch"]),
            // Leader election.
            rule(
                &[""],
                &["configmaps"],
                &[
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ],
            ),
            rule(&[""], &["configmaps/status"], &["get", "update", "patch"]),
            rule(
                &["coordination.k8s.io"],
                &["leases"],
                &[
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ],
            ),
            // Object-level workload identity.
            rule(&[""], &["serviceaccounts/token"], &["create"]),
            // API priority and fairness probe.
            PolicyRule {
                non_resource_urls: Some(strings(&["/livez/ping"])),
                verbs: strings(&["head"]),
                ..Default::default()
            },
        ]);
        let aggregate = |targets: &[&str]| {
            let mut labels = self.common_labels();
            for target in targets {
                labels.insert(
                    format!("rbac.authorization.k8s.io/aggregate-to-{target}"),
                    "true".into(),
                );
            }
            labels
        };
        let ns = self.ns();
        vec![
            ClusterRole {
                metadata: self.meta(&format!("crd-controller-{ns}"), false, self.common_labels()),
                rules: Some(controller_rules),
                aggregation_rule: None,
            },
            ClusterRole {
                metadata: self.meta(
                    &format!("flux-edit-{ns}"),
                    false,
                    aggregate(&["edit", "admin"]),
                ),
                rules: Some(vec![rule(
                    AGGREGATED_API_GROUPS,
                    &["*"],
                    &["create", "delete", "deletecollection", "patch", "update"],
                )]),
                aggregation_rule: None,
            },
            ClusterRole {
                metadata: self.meta(
                    &format!("flux-view-{ns}"),
                    false,
                    aggregate(&["view", "edit", "admin"]),
                ),
                rules: Some(vec![rule(
                    AGGREGATED_API_GROUPS,
                    &["*"],
                    &["get", "list", "watch"],
                )]),
                aggregation_rule: None,
            },
        ]
    }

    fn cluster_role_bindings(&self) -> Vec<ClusterRoleBinding> {
        let ns = self.ns();
        let binding = |name: String, role: String, accounts: &[&str]| ClusterRoleBinding {
            metadata: self.meta(&name, false, self.common_labels()),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: role,
            },
            subjects: Some(
                accounts
                    .iter()
                    .map(|account| Subject {
                        kind: "ServiceAccount".into(),
                        name: account.to_string(),
                        namespace: Some(ns.to_string()),
                        api_group: None,
                    })
                    .collect(),
            ),
        };
        vec![
            binding(
                format!("cluster-reconciler-{ns}"),
                "cluster-admin".into(),
                RECONCILER_ACCOUNTS,
            ),
            binding(
                format!("crd-controller-{ns}"),
                format!("crd-controller-{ns}"),
                CONTROLLER_ACCOUNTS,
            ),
        ]
    }

    fn service_account(&self, component: &Component) -> ServiceAccount {
        ServiceAccount {
            metadata: self.meta(component.name, true, self.component_labels(component, None)),
            ..Default::default()
        }
    }

    fn service(&self, component: &Component, service: &components::ServiceSpec) -> Service {
        Service {
            metadata: self.meta(
                service.name,
                true,
                self.component_labels(component, Some(service.control_plane)),
            ),
            spec: Some(ServiceSpec {
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    protocol: Some("TCP".into()),
                    target_port: Some(IntOrString::String(service.target_port.into())),
                    ..Default::default()
                }]),
                selector: Some(labels([("app", component.name)])),
                type_: Some("ClusterIP".into()),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn selected(&self, name: &str) -> bool {
        self.selected.iter().any(|c| c.name == name)
    }

    fn args(&self, component: &Component) -> Vec<String> {
        let domain = &self.options.cluster_domain;
        let mut args = Vec::new();
        if component.role != Role::EventReceiver {
            let events_addr = if self.selected(components::NOTIFICATION_CONTROLLER) {
                format!("http://notification-controller.$(RUNTIME_NAMESPACE).svc.{domain}./")
            } else {
                String::new()
            };
            args.push(format!("--events-addr={events_addr}"));
        }
        args.push(format!(
            "--watch-all-namespaces={}",
            self.options.watch_all_namespaces
        ));
        args.push(format!("--log-level={}", self.options.log_level));
        args.push("--log-encoding=json".into());
        args.push("--enable-leader-election".into());
        if component.role == Role::ArtifactServer {
            args.push("--storage-path=/data".into());
            args.push(format!(
                "--storage-adv-addr={}.$(RUNTIME_NAMESPACE).svc.{domain}.",
                component.name
            ));
        }
        if component.consumes_external_artifacts && self.selected(components::SOURCE_WATCHER) {
            args.push("--feature-gates=ExternalArtifact=true".into());
        }
        args
    }

    fn image(&self, component: &Component) -> String {
        let registry = self.options.registry.trim_end_matches('/');
        // An empty registry keeps the bare Docker Hub name, as upstream does.
        let repository = if registry.is_empty() {
            "fluxcd"
        } else {
            registry
        };
        format!("{repository}/{}:{}", component.name, component.version)
    }

    fn container(&self, component: &Component) -> Container {
        let port = |name: &str, number: i32| ContainerPort {
            container_port: number,
            name: Some(name.into()),
            protocol: Some("TCP".into()),
            ..Default::default()
        };
        let mut ports = match component.role {
            Role::ArtifactServer => vec![port("http", 9090)],
            Role::EventReceiver => vec![port("http", 9090), port("http-webhook", 9292)],
            Role::Reconciler => vec![],
        };
        ports.extend([port("http-prom", 8080), port("healthz", 9440)]);

        let http_probe = |path: &str, port: &str| Probe {
            http_get: Some(HTTPGetAction {
                path: Some(path.into()),
                port: IntOrString::String(port.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let readiness = match component.role {
            Role::ArtifactServer => http_probe("/", "http"),
            _ => http_probe("/readyz", "healthz"),
        };

        let mut env = vec![EnvVar {
            name: "RUNTIME_NAMESPACE".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.namespace".into(),
                    api_version: None,
                }),
                ..Default::default()
            }),
            value: None,
        }];
        env.extend(component.env.iter().map(|(name, value)| EnvVar {
            name: name.to_string(),
            value: Some(value.to_string()),
            value_from: None,
        }));
        // Keeps the Go runtime's heap target under the container memory limit.
        env.push(EnvVar {
            name: "GOMEMLIMIT".into(),
            value_from: Some(EnvVarSource {
                resource_field_ref: Some(ResourceFieldSelector {
                    container_name: Some("manager".into()),
                    resource: "limits.memory".into(),
                    divisor: None,
                }),
                ..Default::default()
            }),
            value: None,
        });

        let cpu_request = if component.role == Role::ArtifactServer {
            "50m"
        } else {
            "100m"
        };
        let quantities = |pairs: [(&str, &str); 2]| {
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                .collect()
        };
        Container {
            name: "manager".into(),
            image: Some(self.image(component)),
            image_pull_policy: Some("IfNotPresent".into()),
            args: Some(self.args(component)),
            env: Some(env),
            ports: Some(ports),
            liveness_probe: Some(http_probe("/healthz", "healthz")),
            readiness_probe: Some(readiness),
            resources: Some(ResourceRequirements {
                limits: Some(quantities([("cpu", "1000m"), ("memory", "1Gi")])),
                requests: Some(quantities([("cpu", cpu_request), ("memory", "64Mi")])),
                ..Default::default()
            }),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                capabilities: Some(Capabilities {
                    drop: Some(strings(&["ALL"])),
                    add: None,
                }),
                read_only_root_filesystem: Some(true),
                run_as_non_root: Some(true),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..Default::default()
            }),
            volume_mounts: Some(
                component
                    .volumes
                    .iter()
                    .map(|(name, path)| VolumeMount {
                        mount_path: path.to_string(),
                        name: name.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn deployment(&self, component: &Component) -> Deployment {
        let mut pod_labels = self.component_labels(component, None);
        pod_labels.insert("app".into(), component.name.into());
        let tolerations = (!self.options.toleration_keys.is_empty()).then(|| {
            self.options
                .toleration_keys
                .iter()
                .map(|key| Toleration {
                    key: Some(key.clone()),
                    operator: Some("Exists".into()),
                    ..Default::default()
                })
                .collect()
        });
        Deployment {
            metadata: self.meta(
                component.name,
                true,
                self.component_labels(component, Some("controller")),
            ),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(labels([("app", component.name)])),
                    ..Default::default()
                },
                // Artifact servers own an emptyDir store; two pods must not serve it at once.
                strategy: (component.role == Role::ArtifactServer).then(|| DeploymentStrategy {
                    type_: Some("Recreate".into()),
                    rolling_update: None,
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        annotations: Some(labels([
                            ("prometheus.io/port", "8080"),
                            ("prometheus.io/scrape", "true"),
                        ])),
                        labels: Some(pod_labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![self.container(component)],
                        image_pull_secrets: self
                            .options
                            .image_pull_secret
                            .as_ref()
                            .map(|name| vec![LocalObjectReference { name: name.clone() }]),
                        node_selector: Some(labels([("kubernetes.io/os", "linux")])),
                        priority_class_name: component
                            .critical
                            .then(|| "system-cluster-critical".into()),
                        security_context: Some(PodSecurityContext {
                            fs_group: Some(1337),
                            ..Default::default()
                        }),
                        service_account_name: Some(component.name.into()),
                        termination_grace_period_seconds: Some(component.termination_grace_seconds),
                        tolerations,
                        volumes: Some(
                            component
                                .volumes
                                .iter()
                                .map(|(name, _)| Volume {
                                    name: name.to_string(),
                                    empty_dir: Some(EmptyDirVolumeSource::default()),
                                    ..Default::default()
                                })
                                .collect(),
                        ),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} missing"))
    }

    fn args(objects: &[Value], deployment: &str) -> Vec<String> {
        let value = &find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
            [0]["args"];
        serde_json::from_value(value.clone()).unwrap()
    }

    #[test]
    fn default_set_has_the_upstream_object_count_and_order() {
        let objects = objects(&InstallOptions::default()).unwrap();
        assert_eq!(objects.len(), 32);
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            &kinds[..9],
            [
                "Namespace",
                "NetworkPolicy",
                "NetworkPolicy",
                "NetworkPolicy",
                "ResourceQuota",
                "ClusterRole",
                "ClusterRole",
                "ClusterRole",
                "ClusterRoleBinding"
            ]
        );
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "CustomResourceDefinition")
                .count(),
            11
        );
    }

    #[test]
    fn all_components_add_eleven_objects() {
        let mut options = InstallOptions::default();
        options
            .components
            .extend(components::extra_names().into_iter().map(String::from));
        assert_eq!(objects(&options).unwrap().len(), 43);
    }

    #[test]
    fn source_watcher_enables_the_external_artifact_gate() {
        let mut options = InstallOptions::default();
        let gate = "--feature-gates=ExternalArtifact=true".to_string();
        assert!(!args(&objects(&options).unwrap(), "kustomize-controller").contains(&gate));
        options.components.push("source-watcher".into());
        let objects = objects(&options).unwrap();
        assert!(args(&objects, "kustomize-controller").contains(&gate));
        assert!(args(&objects, "helm-controller").contains(&gate));
        assert!(!args(&objects, "source-controller").contains(&gate));
    }

    #[test]
    fn events_address_is_empty_without_the_notification_controller() {
        let options = InstallOptions {
            components: vec!["source-controller".into(), "kustomize-controller".into()],
            ..Default::default()
        };
        assert_eq!(
            args(&objects(&options).unwrap(), "source-controller")[0],
            "--events-addr="
        );
    }

    #[test]
    fn flags_shape_every_deployment() {
        let options = InstallOptions {
            namespace: "gitops".into(),
            registry: "registry.example.com/mirror/".into(),
            image_pull_secret: Some("regcred".into()),
            watch_all_namespaces: false,
            log_level: LogLevel::Debug,
            cluster_domain: "example.internal".into(),
            toleration_keys: vec!["dedicated".into()],
            ..Default::default()
        };
        let objects = objects(&options).unwrap();
        let deployment = find(&objects, "Deployment", "source-controller");
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["containers"][0]["image"],
            "registry.example.com/mirror/source-controller:v1.9.4"
        );
        assert_eq!(pod["imagePullSecrets"][0]["name"], "regcred");
        assert_eq!(
            pod["tolerations"][0],
            serde_json::json!({"key": "dedicated", "operator": "Exists"})
        );
        assert_eq!(deployment["metadata"]["namespace"], "gitops");
        assert_eq!(
            args(&objects, "source-controller"),
            [
                "--events-addr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.example.internal./",
                "--watch-all-namespaces=false",
                "--log-level=debug",
                "--log-encoding=json",
                "--enable-leader-election",
                "--storage-path=/data",
                "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.example.internal.",
            ]
        );
        let binding = find(&objects, "ClusterRoleBinding", "crd-controller-gitops");
        assert_eq!(binding["subjects"][0]["namespace"], "gitops");
        assert_eq!(binding["roleRef"]["name"], "crd-controller-gitops");
    }

    #[test]
    fn disabling_network_policies_drops_them() {
        let options = InstallOptions {
            network_policy: false,
            ..Default::default()
        };
        let objects = objects(&options).unwrap();
        assert!(objects.iter().all(|o| o["kind"] != "NetworkPolicy"));
        assert_eq!(objects.len(), 29);
    }

    #[test]
    fn invalid_options_are_rejected() {
        let unknown = InstallOptions {
            components: vec!["tiller".into()],
            ..Default::default()
        };
        assert!(
            matches!(unknown.validate(), Err(InstallError::UnknownComponent { name, .. }) if name == "tiller")
        );
        let bad_key = InstallOptions {
            toleration_keys: vec!["bad key".into()],
            ..Default::default()
        };
        assert!(matches!(
            bad_key.validate(),
            Err(InstallError::InvalidTolerationKey { .. })
        ));
    }

    #[test]
    fn render_is_deterministic_and_starts_with_the_header() {
        let options = InstallOptions::default();
        let first = render(&options).unwrap();
        assert_eq!(first, render(&options).unwrap());
        assert!(first.starts_with(
            "---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.9.4\n# Components: source-controller,kustomize-controller,helm-controller,notification-controller\napiVersion: v1\nkind: Namespace\n"
        ));
    }
}
