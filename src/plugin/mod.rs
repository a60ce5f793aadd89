//! CLI plugins: executables named `flux-<name>` in the plugin directory,
//! run as `flux <name>`, and the catalog they are installed from.
//!
//! Discovery runs at every start of the CLI, so it does one `readdir` and
//! one `stat` per candidate, and never fails: a directory that cannot be
//! read simply holds no plugins.

pub mod archive;
pub mod catalog;
pub mod fetch;
pub mod install;

use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Overrides the plugin directory; never created by the CLI.
pub const DIR_ENV: &str = "FLUXCD_PLUGINS";
/// Overrides the catalog's base URL (it must end with `/`).
pub const CATALOG_ENV: &str = "FLUXCD_PLUGIN_CATALOG";
pub const DEFAULT_CATALOG: &str = "https://github.com/fluxcd/plugins/releases/latest/download/";
/// Every plugin executable's file name starts with this.
pub const PREFIX: &str = "flux-";
/// Names that are never plugins: `flux plugin …` and `flux help …` stay ours.
const RESERVED: [&str; 2] = ["plugin", "help"];

/// The directory plugins live in.
#[derive(Debug, Clone)]
pub struct PluginDir {
    pub path: PathBuf,
    /// Chosen with `$FLUXCD_PLUGINS`: the user manages it, we never create it.
    pub from_env: bool,
}

impl PluginDir {
    /// `$FLUXCD_PLUGINS` if set and not empty, else `~/.fluxcd/plugins`;
    /// `None` when there is no home directory to put it in.
    pub fn locate() -> Option<Self> {
        Self::locate_with(&|key| std::env::var_os(key))
    }

    fn locate_with(env: &dyn Fn(&str) -> Option<OsString>) -> Option<Self> {
        if let Some(dir) = env(DIR_ENV).filter(|d| !d.is_empty()) {
            return Some(Self {
                path: absolute(Path::new(&dir)),
                from_env: true,
            });
        }
        let home = env("HOME").filter(|h| !h.is_empty())?;
        Some(Self {
            path: absolute(&Path::new(&home).join(".fluxcd").join("plugins")),
            from_env: false,
        })
    }

    /// Creates the default directory before an install; a directory named
    /// by `$FLUXCD_PLUGINS` is left as the user made it. Errors surface
    /// later, when the download cannot be written.
    pub fn ensure(&self) {
        if !self.from_env {
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(&self.path);
        }
    }

    /// The executable of plugin `name` as `plugin uninstall` removes it.
    pub fn binary_of(&self, name: &str) -> PathBuf {
        self.path.join(format!("{PREFIX}{name}"))
    }

    /// The install receipt of plugin `name`.
    pub fn receipt_of(&self, name: &str) -> PathBuf {
        self.path.join(format!("{PREFIX}{name}.yaml"))
    }
}

/// Plugin paths are shown and passed as argv[0]; a relative
/// `$FLUXCD_PLUGINS` is resolved against the working directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One discovered plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    /// The command name: the file name without `flux-`.
    pub name: String,
    /// Absolute path of the executable (a symlink stays a symlink).
    pub path: PathBuf,
}

/// The plugins in `dir`, in lexical order of their file names. `builtins`
/// are the CLI's own root command names, which a plugin cannot take over.
pub fn discover(dir: &Path, builtins: &[&str]) -> Vec<Plugin> {
    discover_with(dir, || builtins.iter().map(|b| b.to_string()).collect())
}

/// [`discover`], asking for the built-in names only when the directory has
/// a candidate: building the command tree is the costly part of a start.
pub fn discover_with(dir: &Path, builtins: impl FnOnce() -> Vec<String>) -> Vec<Plugin> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<OsString> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let candidates: Vec<Plugin> = names
        .into_iter()
        .filter_map(|file_name| {
            let name = file_name.to_str()?.strip_prefix(PREFIX)?;
            if name.is_empty() || RESERVED.contains(&name) {
                return None;
            }
            let path = dir.join(&file_name);
            // Follows symlinks: a broken link or a link to a directory is
            // no plugin.
            let meta = std::fs::metadata(&path).ok()?;
            (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then(|| Plugin {
                name: name.to_string(),
                path,
            })
        })
        .collect();
    if candidates.is_empty() {
        return candidates;
    }
    let builtins = builtins();
    candidates
        .into_iter()
        .filter(|p| !builtins.contains(&p.name))
        .collect()
}

/// Plugin names go into URLs and file names: they must be one plain path
/// segment.
pub fn check_name(name: &str) -> Result<(), PluginError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '?' | '#' | '%') || c.is_control() || c == ' ');
    if plain {
        Ok(())
    } else {
        Err(PluginError::InvalidName(name.to_string()))
    }
}

/// The running system as Go names it (`GOOS`), which catalogs use.
pub fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// The running architecture as Go names it (`GOARCH`).
pub fn go_arch() -> &'static str {
    go_arch_of(std::env::consts::ARCH, cfg!(target_endian = "little"))
}

fn go_arch_of(rust: &'static str, little_endian: bool) -> &'static str {
    match rust {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        "powerpc64" if little_endian => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        "mips" if little_endian => "mipsle",
        "mips64" if little_endian => "mips64le",
        other => other,
    }
}

/// What can go wrong with plugins; each message names the problem and,
/// where there is one, the way out.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(
        "invalid plugin name {0:?}: use the name as the catalog lists it (one word, no slashes)"
    )]
    InvalidName(String),
    #[error("failed to fetch plugin catalog: {0}")]
    CatalogFetch(String),
    #[error("failed to parse plugin catalog: {0}")]
    CatalogParse(String),
    #[error("plugin catalog has unsupported apiVersion {0:?} (expected \"cli.fluxcd.io/v1beta1\")")]
    CatalogApiVersion(String),
    #[error("plugin catalog has unexpected kind {0:?} (expected \"PluginCatalog\")")]
    CatalogKind(String),
    #[error("plugin {0:?} not found in catalog")]
    NotInCatalog(String),
    #[error("failed to fetch the manifest of plugin {name:?}: {cause}")]
    ManifestFetch { name: String, cause: String },
    #[error("failed to parse plugin manifest for {name:?}: {cause}")]
    ManifestParse { name: String, cause: String },
    #[error(
        "plugin {name:?} has unsupported apiVersion {found:?} (expected \"cli.fluxcd.io/v1beta1\")"
    )]
    ManifestApiVersion { name: String, found: String },
    #[error("plugin {name:?} has unexpected kind {found:?} (expected \"Plugin\")")]
    ManifestKind { name: String, found: String },
    #[error(
        "plugin {name:?} has invalid bin {bin:?} (must be a plain filename prefixed with \"flux-\")"
    )]
    InvalidBin { name: String, bin: String },
    #[error(
        "plugin {name:?} has invalid extractPath {path:?} (must be a relative path inside the archive)"
    )]
    InvalidExtractPath { name: String, path: String },
    #[error("plugin {0:?} has no versions")]
    NoVersions(String),
    #[error("version {version:?} not found for plugin {name:?}")]
    VersionNotFound { name: String, version: String },
    #[error("digest {digest:?} not found for plugin {name:?} on {os}/{arch}")]
    DigestNotFound {
        name: String,
        digest: String,
        os: String,
        arch: String,
    },
    #[error("plugin {name:?} v{version} has no binary for {os}/{arch}")]
    NoPlatform {
        name: String,
        version: String,
        os: String,
        arch: String,
    },
    #[error("failed to download plugin: {0}")]
    Download(String),
    #[error("checksum verification failed (expected: {expected}, got: {actual})")]
    Checksum { expected: String, actual: String },
    #[error("binary {0:?} not found in archive")]
    NotInArchive(String),
    #[error("failed to extract plugin: {0}")]
    Extract(String),
    #[error("failed to write plugin into {dir}: {cause}")]
    Write { dir: String, cause: String },
    #[error("plugin {0:?} is not installed")]
    NotInstalled(String),
    #[error("failed to remove plugin binary: {0}")]
    RemoveBinary(std::io::Error),
    #[error("failed to remove plugin receipt: {0}")]
    RemoveReceipt(std::io::Error),
    #[error("unable to set up TLS: {0}")]
    Tls(String),
    #[error("no plugin directory: set ${DIR_ENV} or $HOME so that plugins have somewhere to live")]
    NoDirectory,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, mode: u32) {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn discovery_keeps_executable_flux_files_in_lexical_order() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "flux-zeta", 0o755);
        write(dir.path(), "flux-alpha", 0o700);
        write(dir.path(), "flux-noexec", 0o644);
        write(dir.path(), "other-tool", 0o755);
        write(dir.path(), "flux-", 0o755);
        write(dir.path(), "flux-plugin", 0o755);
        write(dir.path(), "flux-help", 0o755);
        write(dir.path(), "flux-get", 0o755);
        std::fs::create_dir(dir.path().join("flux-dir")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("flux-zeta"), dir.path().join("flux-link"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("missing"), dir.path().join("flux-broken"))
            .unwrap();
        let found = discover(dir.path(), &["get", "version"]);
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["alpha", "link", "zeta"]);
        assert_eq!(found[1].path, dir.path().join("flux-link"));
    }

    #[test]
    fn builtin_names_are_only_asked_for_when_there_is_a_candidate() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "flux-noexec", 0o644);
        write(dir.path(), "tool", 0o755);
        let found = discover_with(dir.path(), || panic!("asked for built-in names"));
        assert!(found.is_empty());
        write(dir.path(), "flux-get", 0o755);
        write(dir.path(), "flux-mine", 0o755);
        let found = discover_with(dir.path(), || vec!["get".to_string()]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "mine");
    }

    #[test]
    fn an_unreadable_directory_holds_no_plugins() {
        assert!(discover(Path::new("/nonexistent/plugins"), &[]).is_empty());
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(discover(file.path(), &[]).is_empty());
    }

    #[test]
    fn the_directory_comes_from_the_environment_or_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                vars.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let dir = PluginDir::locate_with(&env(&[(DIR_ENV, "/p"), ("HOME", "/h")])).unwrap();
        assert_eq!((dir.path, dir.from_env), (PathBuf::from("/p"), true));
        let dir = PluginDir::locate_with(&env(&[(DIR_ENV, ""), ("HOME", "/h")])).unwrap();
        assert_eq!(
            (dir.path, dir.from_env),
            (PathBuf::from("/h/.fluxcd/plugins"), false)
        );
        assert!(PluginDir::locate_with(&env(&[])).is_none());
        let relative = PluginDir::locate_with(&env(&[(DIR_ENV, "rel")])).unwrap();
        assert!(relative.path.is_absolute(), "{:?}", relative.path);
    }

    #[test]
    fn rust_architectures_map_to_go_names() {
        assert_eq!(go_arch_of("x86_64", true), "amd64");
        assert_eq!(go_arch_of("aarch64", true), "arm64");
        assert_eq!(go_arch_of("x86", true), "386");
        assert_eq!(go_arch_of("powerpc64", true), "ppc64le");
        assert_eq!(go_arch_of("powerpc64", false), "ppc64");
        assert_eq!(go_arch_of("s390x", false), "s390x");
        assert_eq!(go_arch_of("riscv64", true), "riscv64");
        assert!(!go_os().is_empty() && go_os() != "macos");
    }

    #[test]
    fn names_are_one_plain_segment() {
        for good in ["operator", "my-tool", "x.y"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a\\b", "a b", "a?b", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
