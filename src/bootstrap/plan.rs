//! `--dry-run`: what a bootstrap run would do, computed from a read-only
//! clone and read-only cluster requests. Nothing is committed, pushed or
//! applied.

use std::fmt::Write;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;

use super::{Bootstrap, BootstrapError, Paths, check_foreign_files, check_path, flux_api};
use crate::render::install;
use crate::render::sync;

impl Bootstrap<'_> {
    /// The plan as text for stdout.
    pub async fn plan(&self) -> Result<String, BootstrapError> {
        let options = self.options;
        let ns = &options.sync.namespace;
        let paths = Paths::new(&options.sync);
        let components = install::render(&options.install)?;
        let tree = self.clone_repository()?;
        check_foreign_files(&tree, &paths)?;

        let mut out = String::new();
        let branch = &options.sync.branch;
        let _ = writeln!(
            out,
            "Git repository {} (branch {branch}):",
            options.repository_url
        );
        let sync_text = sync::render(&options.sync);
        let mut files = vec![
            (paths.components.clone(), components),
            (paths.sync.clone(), sync_text),
        ];
        if tree.read(&paths.kustomization).is_none() {
            files.push((
                paths.kustomization.clone(),
                sync::render_kustomization(&[
                    "gotk-components.yaml".to_string(),
                    "gotk-sync.yaml".to_string(),
                ]),
            ));
        }
        let mut changes = 0;
        for (path, new) in &files {
            match tree.read(path) {
                None => {
                    changes += 1;
                    let _ = writeln!(out, "  create {path} ({} lines)", new.lines().count());
                }
                Some(old) if old == *new => {
                    let _ = writeln!(out, "  unchanged {path}");
                }
                Some(old) => {
                    changes += 1;
                    let _ = writeln!(out, "  update {path}:");
                    let diff = similar::TextDiff::from_lines(&old, new);
                    let unified = diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("a/{path}"), &format!("b/{path}"))
                        .to_string();
                    for line in unified.lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "  {}",
            if changes == 0 {
                "nothing to commit".to_string()
            } else {
                format!("would commit and push {changes} file(s) to {branch}")
            }
        );

        let _ = writeln!(out, "Cluster (namespace {ns}):");
        match self.kube.client().await {
            Err(err) => {
                let _ = writeln!(out, "  not reachable: {err}");
            }
            Ok(client) => {
                let existing = flux_api(&client, "Kustomization", ns)
                    .get_opt(ns)
                    .await
                    .map_err(BootstrapError::api(format!("get Kustomization {ns}/{ns}")))?
                    .map(crate::cluster::objects::to_value);
                check_path(existing.as_ref(), &options.sync.target_path)?;
                let applied = existing
                    .as_ref()
                    .and_then(|k| k["status"]["lastAppliedRevision"].as_str())
                    .is_some_and(|r| !r.is_empty());
                let objects = install::objects(&options.install)?;
                if applied {
                    let _ = writeln!(
                        out,
                        "  components: already installed by Kustomization {ns}/{ns}; updated through the sync apply"
                    );
                } else {
                    let _ = writeln!(out, "  would install {} objects:", objects.len());
                    for object in &objects {
                        let _ = writeln!(out, "    {}", object_label(object));
                    }
                }
                let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
                let name = &options.sync.secret_name;
                let secret = secrets
                    .get_opt(name)
                    .await
                    .map_err(BootstrapError::api(format!("get Secret {ns}/{name}")))?;
                let line = match (&secret, options.secret.explicit()) {
                    (Some(s), true) if options.secret.stored_in(s) => {
                        format!("source secret {ns}/{name} exists and is up to date")
                    }
                    (Some(_), true) => {
                        format!("would update source secret {ns}/{name} with the given credentials")
                    }
                    (Some(_), false) => format!("source secret {ns}/{name} exists and is kept"),
                    (None, _) => format!(
                        "would create source secret {ns}/{name} ({})",
                        options.secret.describe()
                    ),
                };
                let _ = writeln!(out, "  {line}");
                let _ = writeln!(out, "  would apply the sync manifests:");
                for object in sync::objects(&options.sync) {
                    let _ = writeln!(out, "    {}", object_label(&object));
                }
            }
        }
        let _ = writeln!(out, "Git provider: no API calls (plain Git)");
        Ok(out)
    }
}

fn object_label(object: &Value) -> String {
    let s = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    match s("/metadata/namespace") {
        "" => format!("{}/{}", s("/kind"), s("/metadata/name")),
        ns => format!("{}/{ns}/{}", s("/kind"), s("/metadata/name")),
    }
}
