//! `flux build kustomization`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::build::{self, BuildError, Options, Vars};
use crate::cli::{BuildCommand, BuildKind, BuildKsArgs, KsSourceArgs};
use crate::cluster::objects::{self, ObjectError};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds;

pub async fn run(ctx: &Ctx, command: &BuildCommand) -> anyhow::Result<ExitStatus> {
    let args = match &command.kind {
        BuildKind::Kustomization(args) => args,
        BuildKind::Artifact(args) => return crate::commands::artifact::build(ctx, args).await,
    };
    let out = build_kustomization(ctx, args).await?;
    ctx.printer.out(&out).context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

/// The checks before any work, in upstream's order; the Kustomization's
/// name and the absolute `--path`.
pub fn validate(
    source: &KsSourceArgs,
    absolute_path_in_errors: bool,
) -> Result<(String, PathBuf), anyhow::Error> {
    let name = source
        .names
        .first()
        .ok_or_else(|| anyhow::anyhow!("kustomization name is required"))?;
    let path = build::resolve_path(&source.path).map_err(|err| match err {
        // `diff` names the path as it was given.
        BuildError::InvalidPath(_) if !absolute_path_in_errors => {
            BuildError::InvalidPath(source.path.clone())
        }
        other => other,
    })?;
    Ok((name.clone(), path))
}

/// Refuses a `--kustomization-file` that is missing or a directory.
pub fn check_kustomization_file(file: &str) -> anyhow::Result<()> {
    match std::fs::metadata(file) {
        Ok(meta) if !meta.is_dir() => Ok(()),
        Ok(_) => anyhow::bail!("invalid kustomization file {file:?}"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!("invalid kustomization file {file:?}")
        }
        Err(err) => Err(err).with_context(|| format!("invalid kustomization file {file:?}")),
    }
}

pub fn options(source: &KsSourceArgs, dry_run: bool) -> Options {
    Options {
        ignore_paths: source.ignore_paths.clone(),
        strict_substitute: source.strict_substitute,
        dry_run,
        in_memory: source.in_memory_build,
        local_sources: source
            .local_sources
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The first Flux Kustomization named `name` in `namespace` (or without a
/// namespace) in the YAML or JSON documents of `file`.
pub fn read_kustomization_file(file: &str, name: &str, namespace: &str) -> Result<Value, String> {
    let text = crate::input::read_path_to_string(file)
        .map_err(|e| format!("failed to read kustomization file {file}: {e}"))?;
    let documents: Vec<Value> = crate::render::yaml::from_str_multi(&text)
        .map_err(|e| format!("failed to unmarshall kustomization file {file}: {e}"))?;
    documents
        .into_iter()
        .find(|doc| {
            let (doc_name, doc_ns) = build::name_and_namespace(doc);
            build::is_flux_kustomization(doc)
                && doc_name == name
                && (doc_ns == namespace || doc_ns.is_empty())
        })
        .ok_or_else(|| {
            format!(
                "failed find kustomization with name '{name}' and namespace '{namespace}' in file '{file}'"
            )
        })
}

fn kustomization_kind() -> &'static kinds::KindSpec {
    kinds::by_kind("Kustomization").expect("Kustomization is a known kind")
}

/// GETs the Kustomization; `Ok(None)` when it does not exist.
pub async fn get_kustomization(
    client: &kube::Client,
    name: &str,
    namespace: &str,
) -> Result<Option<Value>, ObjectError> {
    let spec = kustomization_kind();
    let api = objects::api(client.clone(), spec, Some(namespace));
    match objects::get(spec, &api, name).await {
        Ok(object) => Ok(Some(object)),
        Err(ObjectError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The variables of `substituteFrom`, fetched from the Kustomization's namespace.
pub async fn substitute_from_vars(client: &kube::Client, ks: &Value) -> Result<Vars, BuildError> {
    let mut vars = Vars::new();
    let Some(Value::Array(refs)) = ks.pointer("/spec/postBuild/substituteFrom") else {
        return Ok(vars);
    };
    let namespace = ks
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for reference in refs {
        let kind = reference
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = reference
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let optional = reference.get("optional") == Some(&Value::Bool(true));
        let (plural, api_version) = match kind {
            "ConfigMap" => ("configmaps", "v1"),
            "Secret" => ("secrets", "v1"),
            _ => continue,
        };
        let resource = kube::api::ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: kube::Api<kube::api::DynamicObject> =
            kube::Api::namespaced_with(client.clone(), namespace, &resource);
        match objects::retrying(|| api.get(name)).await {
            Ok(object) => build::object_vars(kind, &objects::to_value(object), &mut vars),
            Err(kube::Error::Api(status)) if status.code == 404 && optional => {}
            Err(err) => {
                let message = match err {
                    kube::Error::Api(status) => status.message,
                    other => other.to_string(),
                };
                return Err(BuildError::SubstituteFrom {
                    kind: kind.into(),
                    name: name.into(),
                    message,
                });
            }
        }
    }
    Ok(vars)
}

/// Builds `ks` from `root`, then (with `recursive`) the Kustomizations
/// found in its output, each after all of its parent's objects.
pub async fn build_tree(
    client: Option<&kube::Client>,
    ks: &Value,
    root: &Path,
    options: &Options,
    recursive: bool,
) -> anyhow::Result<Vec<Value>> {
    let vars = match client {
        Some(client) if !options.dry_run => substitute_from_vars(client, ks).await?,
        _ => Vars::new(),
    };
    let mut objects = build::build_objects(ks, root, options, &vars)?;
    if !recursive {
        return Ok(objects);
    }
    let own = build::name_and_namespace(ks);
    let children: Vec<Value> = objects
        .iter()
        .filter(|o| build::is_flux_kustomization(o) && build::name_and_namespace(o) != own)
        .cloned()
        .collect();
    for child in children {
        let path = build::child_path(&child, options)?;
        let root = build::resolve_path(&path.to_string_lossy())?;
        let (name, namespace) = build::name_and_namespace(&child);
        let child = match client {
            Some(client) if !options.dry_run => get_kustomization(client, &name, &namespace)
                .await
                .map_err(|e| BuildError::GetKustomization(e.to_string()))?
                .unwrap_or(child),
            _ => child,
        };
        let built = Box::pin(build_tree(client, &child, &root, options, recursive)).await?;
        objects.extend(built);
    }
    Ok(objects)
}

async fn build_kustomization(ctx: &Ctx, args: &BuildKsArgs) -> anyhow::Result<String> {
    let source = &args.source;
    let (name, root) = validate(source, true)?;
    if args.dry_run && source.kustomization_file.is_empty() {
        anyhow::bail!("dry-run mode requires a kustomization file");
    }
    if !source.kustomization_file.is_empty() {
        check_kustomization_file(&source.kustomization_file)?;
    }
    let namespace = &ctx.global.namespace;
    let options = options(source, args.dry_run);
    let from_file = || {
        read_kustomization_file(&source.kustomization_file, &name, namespace)
            .map_err(BuildError::GetKustomization)
    };
    let objects = if args.dry_run {
        build_tree(None, &from_file()?, &root, &options, args.recursive).await?
    } else {
        let client = ctx.kube.client().await?;
        let live = get_kustomization(&client, &name, namespace)
            .await
            .and_then(|found| {
                found.ok_or_else(|| ObjectError::NotFound {
                    resource: kustomization_kind().resource_name(),
                    name: name.clone(),
                })
            })
            .map_err(|e| BuildError::GetKustomization(e.to_string()))?;
        let ks = if source.kustomization_file.is_empty() {
            live
        } else {
            with_live_status(from_file()?, &live)
        };
        build_tree(Some(&client), &ks, &root, &options, args.recursive).await?
    };
    let mut out = String::new();
    for object in &objects {
        crate::render::yaml::append(&mut out, object);
        out.push_str("---\n");
    }
    Ok(out)
}

/// The file's Kustomization with the live object's status when that has
/// an inventory (what prune detection compares with).
pub fn with_live_status(mut file: Value, live: &Value) -> Value {
    if live
        .pointer("/status/inventory")
        .is_some_and(|i| !i.is_null())
        && let (Some(map), Some(status)) = (file.as_object_mut(), live.get("status"))
    {
        map.insert("status".into(), status.clone());
    }
    file
}
