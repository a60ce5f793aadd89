//! `flux build|push|pull|tag|diff artifact` and `flux list artifacts`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
// Short, so that each connect call fits on one line.
use oci_client::RegistryOperation as Op;

use crate::cli::{
    BuildArtifactArgs, DiffArtifactArgs, ListArtifactsArgs, PullArtifactArgs, PushArtifactArgs,
    RegistryLoginArgs, TagArtifactArgs,
};
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::oci::client::{Registry, RegistryError, with_retries};
use crate::oci::creds::{self, KeychainEnv, Login};
use crate::oci::layout::{self, PulledManifest};
use crate::oci::reference::ArtifactRef;
use crate::oci::semver::{Constraints, Version};

/// Bad input and failures with upstream's wording.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("invalid path {0:?}")]
    EmptyPath(String),
    #[error("invalid path '{0}', must point to an existing directory or file")]
    MissingPath(String),
    #[error("invalid path '{path}', must point to an existing directory or file: {reason}")]
    MissingPushPath { path: String, reason: String },
    #[error("invalid annotation {0}, must be in the format key=value")]
    Annotation(String),
    #[error(
        "error during login with provider: could not login to provider {provider} with url {url}: flux-rs does not implement {provider} authentication; {hint}"
    )]
    Provider {
        provider: String,
        url: String,
        hint: &'static str,
    },
    #[error("no layers found in artifact")]
    NoLayers,
    #[error("the remote artifact contents differs from the local one")]
    Differs,
}

/// The first positional argument, or `missing` as the error.
fn first_url<'a>(urls: &'a [String], missing: &str) -> anyhow::Result<&'a str> {
    urls.first()
        .map(String::as_str)
        .ok_or_else(|| anyhow!("{missing}"))
}

/// Credentials in upstream's order: provider, `--creds`, default keychain,
/// with upstream's `► logging in …` lines.
async fn login(
    ctx: &Ctx,
    args: &RegistryLoginArgs,
    artifact: &ArtifactRef,
) -> anyhow::Result<Login> {
    if args.provider != "generic" {
        ctx.printer
            .action("logging in to registry with provider credentials");
        let hint = match args.provider.as_str() {
            "aws" => {
                "pass an ECR token with --creds AWS:$(aws ecr get-login-password) or log in with `aws ecr get-login-password | docker login`"
            }
            "gcp" => {
                "pass an access token with --creds oauth2accesstoken:$(gcloud auth print-access-token) or configure `gcloud auth configure-docker`"
            }
            _ => {
                "pass an ACR token with --creds 00000000-0000-0000-0000-000000000000:<token from `az acr login --expose-token`> or run `az acr login`"
            }
        };
        return Err(ArtifactError::Provider {
            provider: args.provider.clone(),
            url: artifact.given.clone(),
            hint,
        }
        .into());
    }
    if !args.creds.is_empty() {
        ctx.printer
            .action("logging in to registry with credentials");
        return Ok(Login::from_flag(&args.creds));
    }
    let env = KeychainEnv::from_process();
    let repository = artifact.repository_name();
    let registry = artifact.registry.clone();
    // Credential helpers are external programs: off the async workers.
    let login =
        tokio::task::spawn_blocking(move || creds::from_keychain(&env, &repository, &registry))
            .await
            .context("reading registry credentials")??;
    Ok(login)
}

/// `--path`, with `-` read from stdin into a temporary `.yaml` file (kept
/// alive by the returned guard).
fn stdin_or_path(path: &str) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    if path != "-" {
        return Ok((PathBuf::from(path), None));
    }
    let mut text = Vec::new();
    std::io::stdin()
        .read_to_end(&mut text)
        .context("reading stdin")?;
    while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        text.pop();
    }
    let dir = tempfile::Builder::new()
        .prefix("flux-artifact-stdin-")
        .tempdir()
        .context("creating a temporary directory")?;
    let digits: u32 = rand::random();
    let file = dir.path().join(format!("{digits}.yaml"));
    std::fs::write(&file, &text).context("writing stdin to a temporary file")?;
    Ok((file, Some(dir)))
}

/// `--resolve-symlinks`: the tree copied with links replaced by their
/// targets, in a temporary directory (kept alive by the returned guard).
fn resolve_symlinks(path: PathBuf) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    let dir = layout::resolve_symlinks(&path).context("resolving symlinks failed")?;
    let copy = if path.is_file() {
        dir.path().join(path.file_name().unwrap_or_default())
    } else {
        dir.path().to_path_buf()
    };
    Ok((copy, Some(dir)))
}

pub async fn build(ctx: &Ctx, args: &BuildArtifactArgs) -> anyhow::Result<ExitStatus> {
    if args.path.is_empty() {
        return Err(ArtifactError::EmptyPath(String::new()).into());
    }
    let (mut path, mut _guard) = stdin_or_path(&args.path)?;
    if std::fs::metadata(&path).is_err() {
        return Err(ArtifactError::MissingPath(path.display().to_string()).into());
    }
    if args.resolve_symlinks {
        (path, _guard) = resolve_symlinks(path)?;
    }
    ctx.printer
        .action(&format!("building artifact from {}", path.display()));
    let output = PathBuf::from(&args.output);
    let ignore = args.ignore_paths.clone();
    tokio::task::spawn_blocking(move || write_artifact_file(&path, &ignore, &output))
        .await
        .context("building artifact failed")?
        .map_err(|e| anyhow!("building artifact failed, error: {e:#}"))?;
    ctx.printer
        .success(&format!("artifact created at {}", args.output));
    Ok(ExitStatus::Success)
}

/// Writes the tarball to a temporary file beside `output`, then renames it
/// over `output`: a failure never leaves a partial file there.
fn write_artifact_file(source: &Path, ignore: &[String], output: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = output.file_name().unwrap_or_default().to_string_lossy();
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}"))
        .tempfile_in(&parent)
        .with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    let file = layout::write_tarball(source, ignore, std::io::BufWriter::new(temp.reopen()?))?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o640))?;
    temp.persist(output)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", output.display()))?;
    Ok(())
}

/// `org.opencontainers.image.created`: now in UTC, or with
/// `--reproducible` the Unix epoch in the local time zone (upstream's
/// rendering, which is `1970-01-01T00:00:00Z` only under UTC).
fn created_timestamp(reproducible: bool) -> String {
    let zoned = if reproducible {
        jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::system())
    } else {
        jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC)
    };
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

pub async fn push(ctx: &Ctx, args: &PushArtifactArgs) -> anyhow::Result<ExitStatus> {
    let url = first_url(&args.urls, "artifact URL is required")?;
    if args.source.is_empty() {
        bail!("--source is required");
    }
    if args.revision.is_empty() {
        bail!("--revision is required");
    }
    if args.path.is_empty() {
        return Err(ArtifactError::EmptyPath(String::new()).into());
    }
    let artifact = ArtifactRef::parse(url)?;
    // Upstream uploads first and then fails reading the tag back; refusing
    // first leaves nothing half-pushed (and the registry would reject a
    // manifest whose digest is not the one named anyway).
    if artifact.tag.is_none() {
        bail!(
            "artifact tag parsing failed: {} names a digest; push to a tag (oci://{}:<tag>)",
            artifact.given,
            artifact.repository_name()
        );
    }
    let (mut path, mut _guard) = stdin_or_path(&args.path)?;
    if let Err(err) = std::fs::metadata(&path) {
        return Err(ArtifactError::MissingPushPath {
            path: path.display().to_string(),
            reason: err.to_string(),
        }
        .into());
    }
    if args.resolve_symlinks {
        (path, _guard) = resolve_symlinks(path)?;
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(
        layout::CREATED_ANNOTATION.to_string(),
        created_timestamp(args.reproducible),
    );
    annotations.insert(layout::SOURCE_ANNOTATION.to_string(), args.source.clone());
    annotations.insert(
        layout::REVISION_ANNOTATION.to_string(),
        args.revision.clone(),
    );
    for annotation in &args.annotations {
        let parts: Vec<&str> = annotation.split('=').collect();
        let [key, value] = parts[..] else {
            return Err(ArtifactError::Annotation(annotation.clone()).into());
        };
        annotations.insert(key.to_string(), value.to_string());
    }

    let login = login(ctx, &args.login, &artifact).await?;
    let registry = Registry::connect(&artifact, &login, args.insecure_registry, Op::Push)
        .await
        .map_err(|e| anyhow!("error setting up transport: {e}"))?;
    if args.output.is_empty() {
        ctx.printer
            .action(&format!("pushing artifact to {}", artifact.given));
    }

    // The layer goes to a private temporary file, hashed as it is written,
    // and is uploaded from there: memory stays bounded by the buffers.
    let ignore = args.ignore_paths.clone();
    let layer = tokio::task::spawn_blocking(move || layout::tarball_file(&path, &ignore))
        .await
        .context("pushing artifact failed")?
        .map_err(|e| anyhow!("pushing artifact failed: error creating layer: {e}"))?;
    let created = annotations
        .entry(layout::CREATED_ANNOTATION.to_string())
        .or_default();
    if created.is_empty() {
        *created = created_timestamp(args.reproducible);
    }
    if let Err(err) = created.parse::<jiff::Timestamp>() {
        bail!("pushing artifact failed: invalid created timestamp {created:?}: {err}");
    }
    let manifest = layout::manifest(&layer.digest, layer.size, &annotations);
    // `--timeout 0` turns retries off, as upstream; `--debug` shows them.
    let cap = ctx.global.timeout;
    let log = |err: &RegistryError| {
        if args.debug {
            ctx.printer.report(&format!("retrying {err}\n"));
        }
    };
    let config_digest = layout::sha256_digest(layout::CONFIG_BLOB);
    let pushed = async {
        with_retries(cap, log, || {
            registry.push_blob(&artifact, layout::CONFIG_BLOB, &config_digest)
        })
        .await?;
        with_retries(cap, log, || {
            registry.push_blob_file(&artifact, &layer.file, layer.size, &layer.digest)
        })
        .await?;
        with_retries(cap, log, || {
            registry.push_manifest(&artifact, manifest.clone(), layout::MANIFEST_MEDIA_TYPE)
        })
        .await
    };
    pushed
        .await
        .map_err(|e| anyhow!("pushing artifact failed: pushing artifact failed: {e}"))?;
    let digest = layout::sha256_digest(&manifest);
    let digest_url = artifact.digest_name(&digest);
    let tag = artifact.tag.clone().unwrap_or_default();
    match args.output.as_str() {
        "json" => {
            let value = serde_json::json!({
                "url": format!("oci://{digest_url}"),
                "repository": artifact.repository_name(),
                "tag": tag,
                "digest": digest,
            });
            let text = go_indented_json(&value);
            ctx.printer
                .out(&format!("{text}\n"))
                .context("unable to write to stdout")?;
        }
        "yaml" => {
            let value = serde_json::json!({
                "digest": digest,
                "repository": artifact.repository_name(),
                "tag": tag,
                "url": format!("oci://{digest_url}"),
            });
            ctx.printer
                .out(&crate::render::yaml::to_string(&value))
                .context("unable to write to stdout")?;
        }
        _ => ctx
            .printer
            .success(&format!("artifact successfully pushed to {digest_url}")),
    }
    Ok(ExitStatus::Success)
}

/// `json.MarshalIndent(v, "", "  ")` of a flat object, keys in the order
/// given (serde_json's `json!` keeps insertion order only with
/// `preserve_order`, so the fields are written here).
fn go_indented_json(value: &serde_json::Value) -> String {
    let keys: &[&str] = &["url", "repository", "tag", "digest"];
    let fields: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            value
                .get(*k)
                .map(|v| format!("  {}: {}", serde_json::json!(k), v))
        })
        .collect();
    format!("{{\n{}\n}}", fields.join(",\n"))
}

pub async fn pull(ctx: &Ctx, args: &PullArtifactArgs) -> anyhow::Result<ExitStatus> {
    let url = first_url(&args.urls, "artifact URL is required")?;
    if args.output.is_empty() {
        bail!("output path cannot be empty");
    }
    match std::fs::metadata(&args.output) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => bail!(
            "invalid output path {:?}: not a directory (give an existing directory to extract into)",
            args.output
        ),
        Err(err) => bail!("invalid output path {:?}: {err}", args.output),
    }
    let artifact = ArtifactRef::parse(url)?;
    let login = login(ctx, &args.login, &artifact).await?;
    ctx.printer
        .action(&format!("pulling artifact from {}", artifact.given));
    let registry = Registry::connect(&artifact, &login, args.insecure_registry, Op::Pull).await?;
    let (raw, digest) = registry.pull_manifest(&artifact).await?;
    let manifest: PulledManifest =
        serde_json::from_slice(&raw).context("parsing artifact manifest failed")?;
    let layer = manifest.layers.first().ok_or(ArtifactError::NoLayers)?;
    // Streamed to a private, unnamed temporary file and checked against the
    // layer digest on the way; extracted from there only when complete.
    let blob = tempfile::tempfile().with_context(layout::temp_file_context)?;
    registry.pull_blob_to(&artifact, layer, &blob).await?;
    let mut magic = [0u8; 2];
    let is_gzip = {
        use std::io::{Seek, SeekFrom};
        let mut reader = &blob;
        reader
            .seek(SeekFrom::Start(0))
            .context("reading the layer")?;
        reader.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b]
    };
    if !is_gzip {
        bail!(
            "the artifact's layer ({}) is not a gzip tarball, so it cannot be extracted into {}",
            layer.media_type,
            args.output
        );
    }
    let output = PathBuf::from(&args.output);
    tokio::task::spawn_blocking(move || layout::extract_file(&blob, &output))
        .await
        .context("extracting the artifact")??;
    for (key, label) in [
        (layout::SOURCE_ANNOTATION, "source"),
        (layout::REVISION_ANNOTATION, "revision"),
    ] {
        if let Some(value) = manifest.annotations.get(key).filter(|v| !v.is_empty()) {
            ctx.printer.success(&format!("{label} {value}"));
        }
    }
    ctx.printer
        .success(&format!("digest {}", artifact.digest_name(&digest)));
    ctx.printer
        .success(&format!("artifact content extracted to {}", args.output));
    Ok(ExitStatus::Success)
}

pub async fn tag(ctx: &Ctx, args: &TagArtifactArgs) -> anyhow::Result<ExitStatus> {
    let url = first_url(&args.urls, "artifact name is required")?;
    if args.tags.is_empty() {
        bail!("--tag is required");
    }
    let artifact = ArtifactRef::parse(url)?;
    let login = login(ctx, &args.login, &artifact).await?;
    let registry = Registry::connect(&artifact, &login, false, Op::Push)
        .await
        .map_err(|e| anyhow!("tagging artifact failed: {e}"))?;
    ctx.printer.action("tagging artifact");
    for tag in &args.tags {
        if !crate::oci::reference::valid_tag(tag) {
            bail!(
                "tagging artifact failed: invalid tag {tag:?}: a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            );
        }
        let target = artifact.with_tag(tag);
        let result = async {
            let (raw, _) = registry.pull_manifest(&artifact).await?;
            let media_type = serde_json::from_slice::<PulledManifest>(&raw)
                .ok()
                .and_then(|m| m.media_type)
                .unwrap_or_else(|| layout::MANIFEST_MEDIA_TYPE.to_string());
            registry.push_manifest(&target, raw, &media_type).await
        };
        result
            .await
            .map_err(|e| anyhow!("tagging artifact failed: {e}"))?;
        ctx.printer.success(&format!(
            "artifact tagged as {}:{tag}",
            artifact.repository_name()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Cosign's signature, attestation and SBOM tags.
fn is_cosign_tag(tag: &str) -> bool {
    [".att", ".sbom", ".sig"].iter().any(|s| tag.ends_with(s))
}

/// The tags `--filter-semver`/`--filter-regex` keep, sorted as upstream
/// does: descending, by plain string comparison.
fn filter_tags(
    mut tags: Vec<String>,
    semver: Option<&Constraints>,
    regex: Option<&regex::Regex>,
) -> Vec<String> {
    tags.sort_by(|a, b| b.cmp(a));
    tags.into_iter()
        .filter(|t| !is_cosign_tag(t))
        .filter(|t| {
            semver.is_none_or(|c| {
                t.split('.').count() == 3 && Version::parse(t).is_some_and(|v| c.matches(&v))
            })
        })
        .filter(|t| regex.is_none_or(|r| r.is_match(t)))
        .collect()
}

pub async fn list(ctx: &Ctx, args: &ListArtifactsArgs) -> anyhow::Result<ExitStatus> {
    let url = first_url(&args.urls, "artifact repository URL is required")?;
    let artifact = ArtifactRef::parse(url)?;
    let semver = match args.filter_semver.as_str() {
        "" => None,
        c => Some(Constraints::parse(c).map_err(|e| anyhow!("semver '{c}' parse error: {e}"))?),
    };
    let regex = match args.filter_regex.as_str() {
        "" => None,
        r => Some(regex::Regex::new(r).map_err(|e| anyhow!("regex '{r}' parse error: {e}"))?),
    };
    let login = login(ctx, &args.login, &artifact).await?;
    let last_segment = artifact.given.rsplit('/').next().unwrap_or_default();
    if last_segment.contains([':', '@']) {
        bail!(
            "listing tags failed: {} names a tag or digest; give the repository only, oci://{}",
            artifact.given,
            artifact.repository_name()
        );
    }
    let registry = Registry::connect(&artifact, &login, args.insecure_registry, Op::Pull)
        .await
        .map_err(|e| anyhow!("listing tags failed: {e}"))?;
    let tags = registry
        .list_tags(&artifact)
        .await
        .map_err(|e| anyhow!("listing tags failed: {e}"))?;
    let mut rows = Vec::new();
    for tag in filter_tags(tags, semver.as_ref(), regex.as_ref()) {
        let tagged = artifact.with_tag(&tag);
        let (raw, digest) = registry
            .pull_manifest(&tagged)
            .await
            .map_err(|e| anyhow!("fetching manifest failed: {e}"))?;
        let manifest: PulledManifest =
            serde_json::from_slice(&raw).map_err(|e| anyhow!("parsing manifest failed: {e}"))?;
        let annotation = |key: &str| manifest.annotations.get(key).cloned().unwrap_or_default();
        rows.push(vec![
            format!("{}:{tag}", artifact.given),
            digest,
            annotation(layout::SOURCE_ANNOTATION),
            annotation(layout::REVISION_ANNOTATION),
        ]);
    }
    let table =
        crate::output::table::render(Some(&["ARTIFACT", "DIGEST", "SOURCE", "REVISION"]), &rows);
    ctx.printer
        .out(&table)
        .context("unable to write to stdout")?;
    Ok(ExitStatus::Success)
}

pub async fn diff(ctx: &Ctx, args: &DiffArtifactArgs) -> anyhow::Result<ExitStatus> {
    let url = first_url(&args.urls, "artifact URL is required")?;
    if args.path.is_empty() {
        return Err(ArtifactError::EmptyPath(String::new()).into());
    }
    let artifact = ArtifactRef::parse(url)?;
    if std::fs::metadata(&args.path).is_err() {
        return Err(ArtifactError::MissingPath(args.path.clone()).into());
    }
    let login = login(ctx, &args.login, &artifact).await?;
    let registry = Registry::connect(&artifact, &login, args.insecure_registry, Op::Pull).await?;
    let path = PathBuf::from(&args.path);
    let ignore = args.ignore_paths.clone();
    let (local_digest, local_size) =
        tokio::task::spawn_blocking(move || layout::tarball_digest(&path, &ignore))
            .await
            .context("building artifact failed")?
            .map_err(|e| anyhow!("building artifact failed: {e}"))?;
    let (raw, _) = registry.pull_manifest(&artifact).await?;
    let manifest: PulledManifest =
        serde_json::from_slice(&raw).context("parsing artifact manifest failed")?;
    let layer = manifest.layers.first().ok_or(ArtifactError::NoLayers)?;
    if layer.digest != local_digest || u64::try_from(layer.size).ok() != Some(local_size) {
        return Err(ArtifactError::Differs.into());
    }
    ctx.printer.success("no changes detected");
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_sorted_by_string_filtered_and_cosign_skipped() {
        let tags: Vec<String> = [
            "v1.0.0",
            "v10.0.0",
            "v2.0.0",
            "sha256-x.sig",
            "latest",
            "1.2",
            "v2.0.0-rc.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            filter_tags(tags.clone(), None, None),
            [
                "v2.0.0-rc.1",
                "v2.0.0",
                "v10.0.0",
                "v1.0.0",
                "latest",
                "1.2"
            ]
        );
        let c = Constraints::parse(">=2.0.0").unwrap();
        assert_eq!(
            filter_tags(tags.clone(), Some(&c), None),
            ["v2.0.0", "v10.0.0"]
        );
        let r = regex::Regex::new("^v1").unwrap();
        assert_eq!(filter_tags(tags, Some(&c), Some(&r)), ["v10.0.0"]);
    }

    #[test]
    fn created_timestamps() {
        let now = created_timestamp(false);
        assert!(now.ends_with('Z') && now.len() == 20, "{now}");
        assert!(now.parse::<jiff::Timestamp>().is_ok());
        let epoch: jiff::Timestamp = created_timestamp(true).parse().unwrap();
        assert_eq!(epoch, jiff::Timestamp::UNIX_EPOCH);
    }

    #[test]
    fn push_json_is_go_indented() {
        let value = serde_json::json!({"url": "oci://r/a@sha256:1", "repository": "r/a", "tag": "v1", "digest": "sha256:1"});
        assert_eq!(
            go_indented_json(&value),
            "{\n  \"url\": \"oci://r/a@sha256:1\",\n  \"repository\": \"r/a\",\n  \"tag\": \"v1\",\n  \"digest\": \"sha256:1\"\n}"
        );
    }
}
