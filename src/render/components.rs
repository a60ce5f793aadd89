//! The Flux distribution this binary embeds: one descriptor per controller.
//! The install renderer turns these facts into Kubernetes objects.

/// The Flux distribution version the embedded install set corresponds to.
pub const FLUX_VERSION: &str = "v2.9.4";

/// How a controller serves artifacts, which decides its storage args,
/// readiness probe, ports, volumes and rollout strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves artifacts over HTTP from /data (source-controller, source-watcher).
    ArtifactServer,
    /// Receives events and webhooks (notification-controller).
    EventReceiver,
    /// Reconciles and emits events to the notification-controller.
    Reconciler,
}

/// A Service in front of a controller.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    pub name: &'static str,
    /// Named container port the Service forwards to.
    pub target_port: &'static str,
    /// Value of the `control-plane` label.
    pub control_plane: &'static str,
}

/// One controller of the distribution.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    pub name: &'static str,
    /// Image tag of the controller at this distribution version.
    pub version: &'static str,
    /// Installed unless the user picks components explicitly.
    pub default: bool,
    pub role: Role,
    /// Whether the pods run with `system-cluster-critical` priority.
    pub critical: bool,
    pub termination_grace_seconds: i64,
    /// emptyDir volumes as (name, mount path), in container order.
    pub volumes: &'static [(&'static str, &'static str)],
    pub services: &'static [ServiceSpec],
    /// Extra environment variables with literal values.
    pub env: &'static [(&'static str, &'static str)],
    /// Gets `--feature-gates=ExternalArtifact=true` when source-watcher is installed.
    pub consumes_external_artifacts: bool,
}

const STORAGE_VOLUMES: &[(&str, &str)] = &[("data", "/data"), ("tmp", "/tmp")];
const TEMP_VOLUME: &[(&str, &str)] = &[("temp", "/tmp")];

/// Every controller, in the upstream order (defaults first).
pub const COMPONENTS: &[Component] = &[
    Component {
        name: "source-controller",
        version: "v1.9.4",
        default: true,
        role: Role::ArtifactServer,
        critical: true,
        termination_grace_seconds: 10,
        volumes: STORAGE_VOLUMES,
        services: &[ServiceSpec {
            name: "source-controller",
            target_port: "http",
            control_plane: "controller",
        }],
        env: &[("TUF_ROOT", "/tmp/.sigstore")],
        consumes_external_artifacts: false,
    },
    Component {
        name: "kustomize-controller",
        version: "v1.9.4",
        default: true,
        role: Role::Reconciler,
        critical: true,
        termination_grace_seconds: 60,
        volumes: TEMP_VOLUME,
        services: &[],
        env: &[],
        consumes_external_artifacts: true,
    },
    Component {
        name: "helm-controller",
        version: "v1.6.3",
        default: true,
        role: Role::Reconciler,
        critical: true,
        termination_grace_seconds: 600,
        volumes: TEMP_VOLUME,
        services: &[],
        env: &[],
        consumes_external_artifacts: true,
    },
    Component {
        name: "notification-controller",
        version: "v1.9.3",
        default: true,
        role: Role::EventReceiver,
        critical: false,
        termination_grace_seconds: 10,
        volumes: TEMP_VOLUME,
        services: &[
            ServiceSpec {
                name: "notification-controller",
                target_port: "http",
                control_plane: "controller",
            },
            ServiceSpec {
                name: "webhook-receiver",
                target_port: "http-webhook",
                control_plane: "controller",
            },
        ],
        env: &[],
        consumes_external_artifacts: false,
    },
    Component {
        name: "image-reflector-controller",
        version: "v1.2.4",
        default: false,
        role: Role::Reconciler,
        critical: false,
        termination_grace_seconds: 10,
        volumes: &[("temp", "/tmp"), ("data", "/data")],
        services: &[],
        env: &[],
        consumes_external_artifacts: false,
    },
    Component {
        name: "image-automation-controller",
        version: "v1.2.4",
        default: false,
        role: Role::Reconciler,
        critical: false,
        termination_grace_seconds: 10,
        volumes: TEMP_VOLUME,
        services: &[],
        env: &[],
        consumes_external_artifacts: false,
    },
    Component {
        name: "source-watcher",
        version: "v2.2.3",
        default: false,
        role: Role::ArtifactServer,
        critical: true,
        termination_grace_seconds: 10,
        volumes: STORAGE_VOLUMES,
        services: &[ServiceSpec {
            name: "source-watcher",
            target_port: "http",
            control_plane: "source-watcher",
        }],
        env: &[],
        consumes_external_artifacts: false,
    },
];

/// The component that enables the ExternalArtifact feature gate in others.
pub const SOURCE_WATCHER: &str = "source-watcher";
/// The component whose presence gives the others an events address.
pub const NOTIFICATION_CONTROLLER: &str = "notification-controller";

/// Looks a component up by name.
pub fn find(name: &str) -> Option<&'static Component> {
    COMPONENTS.iter().find(|c| c.name == name)
}

/// Names of the components installed by default.
pub fn default_names() -> Vec<&'static str> {
    COMPONENTS
        .iter()
        .filter(|c| c.default)
        .map(|c| c.name)
        .collect()
}

/// Names of the optional components.
pub fn extra_names() -> Vec<&'static str> {
    COMPONENTS
        .iter()
        .filter(|c| !c.default)
        .map(|c| c.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_has_a_unique_name_and_a_v_prefixed_version() {
        let mut names: Vec<_> = COMPONENTS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COMPONENTS.len());
        assert!(COMPONENTS.iter().all(|c| c.version.starts_with('v')));
    }

    #[test]
    fn defaults_and_extras_split_the_distribution() {
        assert_eq!(
            default_names(),
            [
                "source-controller",
                "kustomize-controller",
                "helm-controller",
                "notification-controller"
            ]
        );
        assert_eq!(
            extra_names(),
            [
                "image-reflector-controller",
                "image-automation-controller",
                "source-watcher"
            ]
        );
    }

    #[test]
    fn every_crd_belongs_to_a_known_component() {
        for info in flux_api::crds() {
            assert!(find(info.component).is_some(), "{}", info.component);
        }
    }
}
