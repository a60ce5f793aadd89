//! The plugin catalog (`catalog.yaml`) and per-plugin manifests
//! (`<name>.yaml`), and the choice of what to install from them.

use std::path::{Component, Path};

use serde::Deserialize;

use super::PluginError;

pub const API_VERSION: &str = "cli.fluxcd.io/v1beta1";

/// `catalog.yaml`: the plugins one can search for.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Catalog {
    pub api_version: String,
    pub kind: String,
    pub plugins: Vec<CatalogEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CatalogEntry {
    pub name: String,
    pub description: String,
    pub homepage: String,
    pub source: String,
    pub license: String,
}

/// `<name>.yaml`: one plugin's versions, newest first.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub description: String,
    pub homepage: String,
    pub source: String,
    /// File name the executable is installed as.
    pub bin: String,
    pub versions: Vec<Version>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Version {
    pub version: String,
    pub platforms: Vec<Platform>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub url: String,
    /// `sha256:<hex>` of the file at `url`.
    pub checksum: String,
    /// The executable's path inside an archive, when its base name is not
    /// `bin`.
    pub extract_path: Option<String>,
}

/// Parses and checks `catalog.yaml`.
pub fn parse_catalog(text: &str) -> Result<Catalog, PluginError> {
    let catalog: Catalog = crate::render::yaml::from_str(text)
        .map_err(|e| PluginError::CatalogParse(e.to_string()))?;
    if catalog.api_version != API_VERSION {
        return Err(PluginError::CatalogApiVersion(catalog.api_version));
    }
    if catalog.kind != "PluginCatalog" {
        return Err(PluginError::CatalogKind(catalog.kind));
    }
    Ok(catalog)
}

/// Parses and checks the manifest of plugin `name`: a `bin` that could
/// name a file outside the plugin directory is refused here, before
/// anything is downloaded.
pub fn parse_manifest(name: &str, text: &str) -> Result<Manifest, PluginError> {
    let manifest: Manifest =
        crate::render::yaml::from_str(text).map_err(|e| PluginError::ManifestParse {
            name: name.to_string(),
            cause: e.to_string(),
        })?;
    if manifest.api_version != API_VERSION {
        return Err(PluginError::ManifestApiVersion {
            name: name.to_string(),
            found: manifest.api_version,
        });
    }
    if manifest.kind != "Plugin" {
        return Err(PluginError::ManifestKind {
            name: name.to_string(),
            found: manifest.kind,
        });
    }
    if !is_plain_bin(&manifest.bin) {
        return Err(PluginError::InvalidBin {
            name: name.to_string(),
            bin: manifest.bin,
        });
    }
    Ok(manifest)
}

/// One file name, `flux-` and something after it.
fn is_plain_bin(bin: &str) -> bool {
    bin.len() > super::PREFIX.len()
        && bin.starts_with(super::PREFIX)
        && !bin.contains(['/', '\\'])
        && !bin.chars().any(char::is_control)
}

/// Whether `path` stays inside the directory it is relative to: no root,
/// no `..`, nothing empty.
pub fn is_local(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && Path::new(path)
            .components()
            .any(|c| matches!(c, Component::Normal(_)))
}

/// What `plugin install` asked for after the `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Latest,
    Version(String),
    Digest(String),
}

impl Wanted {
    /// Splits `name[@version|@sha256:…]` at the first `@`.
    pub fn split(arg: &str) -> (&str, Wanted) {
        match arg.split_once('@') {
            None => (arg, Wanted::Latest),
            Some((name, r)) if r.starts_with("sha256:") => (name, Wanted::Digest(r.to_string())),
            Some((name, r)) => (name, Wanted::Version(r.to_string())),
        }
    }
}

/// The version and platform entry to install for `os`/`arch`.
pub fn select<'m>(
    manifest: &'m Manifest,
    name: &str,
    wanted: &Wanted,
    os: &str,
    arch: &str,
) -> Result<(&'m Version, &'m Platform), PluginError> {
    let on_this_system = |p: &&Platform| p.os == os && p.arch == arch;
    let version = match wanted {
        Wanted::Digest(digest) => {
            return manifest
                .versions
                .iter()
                .find_map(|v| {
                    v.platforms
                        .iter()
                        .filter(on_this_system)
                        .find(|p| p.checksum == *digest)
                        .map(|p| (v, p))
                })
                .ok_or_else(|| PluginError::DigestNotFound {
                    name: name.to_string(),
                    digest: digest.clone(),
                    os: os.to_string(),
                    arch: arch.to_string(),
                });
        }
        Wanted::Latest => manifest
            .versions
            .first()
            .ok_or_else(|| PluginError::NoVersions(name.to_string()))?,
        Wanted::Version(wanted) => manifest
            .versions
            .iter()
            .find(|v| v.version == *wanted)
            .ok_or_else(|| PluginError::VersionNotFound {
                name: name.to_string(),
                version: wanted.clone(),
            })?,
    };
    platform_of(version, name, os, arch).map(|p| (version, p))
}

/// The entry of `version` for `os`/`arch`.
pub fn platform_of<'v>(
    version: &'v Version,
    name: &str,
    os: &str,
    arch: &str,
) -> Result<&'v Platform, PluginError> {
    version
        .platforms
        .iter()
        .find(|p| p.os == os && p.arch == arch)
        .ok_or_else(|| PluginError::NoPlatform {
            name: name.to_string(),
            version: version.version.clone(),
            os: os.to_string(),
            arch: arch.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "apiVersion: cli.fluxcd.io/v1beta1
kind: Plugin
name: operator
description: Flux Operator CLI
bin: flux-operator
versions:
  - version: 0.45.0
    platforms:
      - os: linux
        arch: amd64
        url: https://example.com/new-linux-amd64.tar.gz
        checksum: sha256:aaa
        extractPath: bin/flux-operator
      - os: darwin
        arch: arm64
        url: https://example.com/new-darwin-arm64.tar.gz
        checksum: sha256:bbb
  - version: 0.44.0
    platforms:
      - os: linux
        arch: amd64
        url: https://example.com/old-linux-amd64.tar.gz
        checksum: sha256:ccc
";

    #[test]
    fn a_manifest_is_read_with_its_versions_newest_first() {
        let m = parse_manifest("operator", MANIFEST).unwrap();
        assert_eq!(m.bin, "flux-operator");
        assert_eq!(m.versions.len(), 2);
        assert_eq!(
            m.versions[0].platforms[0].extract_path.as_deref(),
            Some("bin/flux-operator")
        );
        assert_eq!(m.versions[0].platforms[1].extract_path, None);
    }

    #[test]
    fn selection_by_latest_version_and_digest() {
        let m = parse_manifest("operator", MANIFEST).unwrap();
        let pick = |w: Wanted, os, arch| {
            select(&m, "operator", &w, os, arch)
                .map(|(v, p)| (v.version.clone(), p.checksum.clone()))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            pick(Wanted::Latest, "linux", "amd64"),
            Ok(("0.45.0".into(), "sha256:aaa".into()))
        );
        assert_eq!(
            pick(Wanted::Version("0.44.0".into()), "linux", "amd64"),
            Ok(("0.44.0".into(), "sha256:ccc".into()))
        );
        assert_eq!(
            pick(Wanted::Digest("sha256:ccc".into()), "linux", "amd64"),
            Ok(("0.44.0".into(), "sha256:ccc".into()))
        );
        assert_eq!(
            pick(Wanted::Version("v0.44.0".into()), "linux", "amd64"),
            Err("version \"v0.44.0\" not found for plugin \"operator\"".into())
        );
        assert_eq!(
            pick(Wanted::Version("0.44.0".into()), "darwin", "arm64"),
            Err("plugin \"operator\" v0.44.0 has no binary for darwin/arm64".into())
        );
        // A digest of another platform does not count.
        assert_eq!(
            pick(Wanted::Digest("sha256:bbb".into()), "linux", "amd64"),
            Err("digest \"sha256:bbb\" not found for plugin \"operator\" on linux/amd64".into())
        );
    }

    #[test]
    fn a_manifest_without_versions_says_so() {
        let text = MANIFEST.split("versions:").next().unwrap();
        let m = parse_manifest("operator", text).unwrap();
        let err = select(&m, "operator", &Wanted::Latest, "linux", "amd64").unwrap_err();
        assert_eq!(err.to_string(), "plugin \"operator\" has no versions");
    }

    #[test]
    fn the_reference_is_split_at_the_first_at_sign() {
        assert_eq!(Wanted::split("op"), ("op", Wanted::Latest));
        assert_eq!(
            Wanted::split("op@1.0@x"),
            ("op", Wanted::Version("1.0@x".into()))
        );
        assert_eq!(
            Wanted::split("op@sha256:ab"),
            ("op", Wanted::Digest("sha256:ab".into()))
        );
    }

    #[test]
    fn bins_that_leave_the_plugin_directory_are_refused() {
        for bad in [
            "operator",
            "flux-",
            "../flux-x",
            "flux-x/../../y",
            "bin/flux-x",
            "flux-a\\b",
        ] {
            let text = MANIFEST.replace("bin: flux-operator", &format!("bin: '{bad}'"));
            let err = parse_manifest("operator", &text).unwrap_err().to_string();
            assert!(err.contains("has invalid bin"), "{bad}: {err}");
        }
    }

    #[test]
    fn wrong_api_version_or_kind_is_refused() {
        let text = MANIFEST.replace("v1beta1", "v2");
        assert_eq!(
            parse_manifest("operator", &text).unwrap_err().to_string(),
            "plugin \"operator\" has unsupported apiVersion \"cli.fluxcd.io/v2\" (expected \"cli.fluxcd.io/v1beta1\")"
        );
        let text = MANIFEST.replace("kind: Plugin", "kind: PluginCatalog");
        assert_eq!(
            parse_manifest("operator", &text).unwrap_err().to_string(),
            "plugin \"operator\" has unexpected kind \"PluginCatalog\" (expected \"Plugin\")"
        );
        let err = parse_catalog("apiVersion: x\nkind: PluginCatalog\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin catalog has unsupported apiVersion \"x\" (expected \"cli.fluxcd.io/v1beta1\")"
        );
        let err = parse_catalog("plugins: 3\n").unwrap_err().to_string();
        assert!(err.starts_with("failed to parse plugin catalog: "), "{err}");
    }

    #[test]
    fn local_paths() {
        for good in ["flux-x", "bin/flux-x", "./bin/flux-x"] {
            assert!(is_local(good), "{good}");
        }
        for bad in ["", "/bin/x", "../x", "a/../../x", "a/..", ".", "a\\b"] {
            assert!(!is_local(bad), "{bad}");
        }
    }
}
