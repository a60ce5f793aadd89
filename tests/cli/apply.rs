//! Server-side apply of the install set, on both backends.

use flux_rs::cluster::apply::{Action, apply_all};
use flux_rs::render::install::{InstallOptions, objects};

use crate::common::cluster::{Backend, Cluster, on_both_backends};

fn install_set_applies_then_reapplies_unchanged(backend: Backend) {
    let cluster = Cluster::empty_on(backend);
    let set = objects(&InstallOptions::default()).unwrap();
    let first =
        cluster.with_client(async |client| apply_all(&client, &set, "flux-system").await.unwrap());
    assert_eq!(first.len(), 32);
    assert!(
        first.iter().all(|a| a.action == Action::Created),
        "{first:?}"
    );
    assert_eq!(first[0].kind, "CustomResourceDefinition");
    let second =
        cluster.with_client(async |client| apply_all(&client, &set, "flux-system").await.unwrap());
    let changed: Vec<String> = second
        .iter()
        .filter(|a| a.action != Action::Unchanged)
        .map(|a| a.to_string())
        .collect();
    assert!(changed.is_empty(), "re-applying changed {changed:?}");
    let upgraded = InstallOptions {
        log_level: flux_rs::cli::LogLevel::Debug,
        ..Default::default()
    };
    let set = objects(&upgraded).unwrap();
    let third =
        cluster.with_client(async |client| apply_all(&client, &set, "flux-system").await.unwrap());
    let configured: Vec<String> = third
        .iter()
        .filter(|a| a.action == Action::Configured)
        .map(|a| a.to_string())
        .collect();
    assert_eq!(configured.len(), 4, "{configured:?}");
    assert!(
        configured
            .iter()
            .all(|c| c.starts_with("Deployment/flux-system/"))
    );
}

on_both_backends!(install_set_applies_then_reapplies_unchanged,);
