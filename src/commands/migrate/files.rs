//! File-system mode: rewrite the `apiVersion` lines of Flux objects in the
//! manifests under `--path`.
//!
//! The scan is line based, as upstream's: a line holding `apiVersion: `
//! followed by a line holding `kind: ` names an object (or a reference such
//! as a `sourceRef`), whatever the indentation. Only the version on that
//! line changes, so comments, layout and line endings survive.
//!
//! Safety beyond upstream: the path must stay inside the current directory
//! and no symbolic link is followed; every file is read and its new content
//! computed before any is written; each file is replaced atomically (a
//! temporary file in the same directory, renamed over it) with its
//! permission bits, and only if it still holds what was scanned.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use super::Target;
use crate::output::Printer;

/// What file-system mode needs of the flags.
pub struct Options<'a> {
    pub path: &'a str,
    pub extensions: &'a [String],
    pub table: &'a [Target],
    pub yes: bool,
    pub dry_run: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("failed to stat path {path}: {reason}")]
    Stat { path: String, reason: String },
    #[error("failed to walk directory {path}: {reason}")]
    Walk { path: String, reason: String },
    #[error("file {path} does not match the specified extensions: {extensions}")]
    Extension { path: String, extensions: String },
    #[error("file {0} is irregular")]
    Irregular(String),
    #[error("failed to read file {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("failed to stat file {path}: {source}")]
    StatFile { path: String, source: io::Error },
    #[error("failed to write file {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error(
        "file {0} changed while flux migrate ran; it was left as it is, run flux migrate again"
    )]
    Changed(String),
    // Upstream's error here has no text at all (a bare `✗`).
    #[error("aborting: no file was changed")]
    Declined,
}

/// The path as upstream prints it (cleaned, relative to the current
/// directory) and where to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Root {
    /// Empty for the current directory itself.
    relative: PathBuf,
}

impl Root {
    fn display(&self) -> String {
        if self.relative.as_os_str().is_empty() {
            ".".into()
        } else {
            self.relative.to_string_lossy().into_owned()
        }
    }

    fn fs_path(&self) -> &Path {
        if self.relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &self.relative
        }
    }
}

/// Cleans `path` lexically and keeps it inside the current directory:
/// absolute paths, `..` above it and symbolic links on the way are refused,
/// so nothing outside the directory flux runs in is read or written.
fn resolve(path: &str) -> Result<Root, FilesError> {
    let refuse = |reason: String| FilesError::Stat {
        path: path.to_string(),
        reason,
    };
    let given = Path::new(path);
    if given.has_root() {
        return Err(refuse(
            "the path is absolute; give a path relative to the current directory, which must contain it".into(),
        ));
    }
    let mut relative = PathBuf::new();
    for component in given.components() {
        match component {
            Component::Normal(name) => relative.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                if !relative.pop() {
                    return Err(refuse(
                        "the path leaves the current directory; run flux from a directory that contains it".into(),
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("the path is absolute".into()));
            }
        }
    }
    // Links on the way could lead anywhere: refuse them rather than follow.
    let mut prefix = PathBuf::new();
    let parts: Vec<_> = relative.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        prefix.push(part);
        match fs::symlink_metadata(&prefix) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refuse(format!(
                    "{} is a symbolic link, which flux migrate does not follow; give the path it points to",
                    prefix.display()
                )));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(Root { relative })
}

fn matches(name: &OsStr, extensions: &[String]) -> bool {
    let name = name.as_encoded_bytes();
    extensions.iter().any(|e| name.ends_with(e.as_bytes()))
}

/// The regular files to scan, in upstream's order (a lexical walk).
fn list_files(
    root: &Root,
    extensions: &[String],
    printer: &Printer,
) -> Result<Vec<PathBuf>, FilesError> {
    let meta = fs::symlink_metadata(root.fs_path()).map_err(|e| FilesError::Stat {
        path: root.display(),
        reason: e.to_string(),
    })?;
    if !meta.is_dir() {
        let name = root.relative.file_name().unwrap_or_default();
        if !matches(name, extensions) {
            return Err(FilesError::Extension {
                path: root.display(),
                extensions: extensions.join(", "),
            });
        }
        if !meta.is_file() {
            return Err(FilesError::Irregular(root.display()));
        }
        return Ok(vec![root.relative.clone()]);
    }
    let mut files = Vec::new();
    walk(&root.relative, extensions, printer, &mut files).map_err(|(at, e)| FilesError::Walk {
        path: root.display(),
        reason: format!("{}: {e}", Root { relative: at }.display()),
    })?;
    Ok(files)
}

fn walk(
    dir: &Path,
    extensions: &[String],
    printer: &Printer,
    files: &mut Vec<PathBuf>,
) -> Result<(), (PathBuf, io::Error)> {
    let at = Root {
        relative: dir.to_path_buf(),
    };
    let failed = |e| (dir.to_path_buf(), e);
    let mut entries = fs::read_dir(at.fs_path())
        .map_err(failed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let path = dir.join(&name);
        // The entry's own type: a link is not followed.
        let kind = entry.file_type().map_err(|e| (path.clone(), e))?;
        if kind.is_dir() {
            walk(&path, extensions, printer, files)?;
        } else if matches(&name, extensions) {
            if kind.is_file() {
                files.push(path);
            } else {
                printer.warning(&format!("skipping irregular file {}", path.display()));
            }
        }
    }
    Ok(())
}

/// One `apiVersion` line to rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Upgrade {
    /// 0-based line index.
    line: usize,
    kind: String,
    from: String,
    to: &'static str,
    /// Byte range of the old version in the line.
    at: std::ops::Range<usize>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value after a `key: ` marker: trimmed, up to the first space, with
/// one pair of surrounding quotes removed (upstream takes quoted values
/// literally and so misses them). Returns its byte range in `line`.
fn value_after(line: &[u8], marker: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = find(line, marker)? + marker.len();
    let rest = &line[start..];
    let lead = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let trimmed = &rest[lead..];
    let end = trimmed.iter().position(|b| *b == b' ').unwrap_or_else(|| {
        trimmed
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |p| p + 1)
    });
    let (mut from, mut to) = (start + lead, start + lead + end);
    let word = &line[from..to];
    if word.len() >= 2 && (word[0] == b'"' || word[0] == b'\'') && word[word.len() - 1] == word[0] {
        from += 1;
        to -= 1;
    }
    Some(from..to)
}

/// Go's `schema.ParseGroupVersion`: `group/version`, a bare version, or
/// nothing; more than one `/` is an error.
fn parse_group_version(value: &str) -> Result<(&str, &str), String> {
    if value.is_empty() || value == "/" {
        return Ok(("", ""));
    }
    match value.matches('/').count() {
        0 => Ok(("", value)),
        1 => Ok(value.split_once('/').unwrap_or_default()),
        _ => Err(format!("unexpected GroupVersion string: {value}")),
    }
}

/// Finds the upgrades of one file, warning about unparsable apiVersions as
/// it goes.
fn scan(content: &[u8], table: &[Target], file: &str, printer: &Printer) -> Vec<Upgrade> {
    let lines: Vec<&[u8]> = content.split(|b| *b == b'\n').collect();
    let mut upgrades = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(range) = value_after(line, b"apiVersion: ") else {
            continue;
        };
        let value = String::from_utf8_lossy(&line[range.clone()]);
        let (group, version) = match parse_group_version(&value) {
            Ok(gv) => gv,
            Err(err) => {
                printer.warning(&format!("{file}:{}: {err}", i + 1));
                continue;
            }
        };
        let Some(next) = lines.get(i + 1) else {
            continue;
        };
        let Some(kind) = value_after(next, b"kind: ") else {
            continue;
        };
        let kind = String::from_utf8_lossy(&next[kind]);
        let Some(target) = table.iter().find(|t| t.group == group && t.kind == kind) else {
            continue;
        };
        if target.version != version {
            let version_start = range.start + group.len() + 1;
            upgrades.push(Upgrade {
                line: i,
                kind: kind.into_owned(),
                from: version.to_string(),
                to: target.version,
                at: version_start..range.end,
            });
        }
    }
    upgrades
}

/// `content` with the upgrades applied; every other byte is kept.
fn rewrite(content: &[u8], upgrades: &[Upgrade]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    for (i, line) in content.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        match upgrades.iter().find(|u| u.line == i) {
            Some(u) => {
                out.extend_from_slice(&line[..u.at.start]);
                out.extend_from_slice(u.to.as_bytes());
                out.extend_from_slice(&line[u.at.end..]);
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// One file to rewrite.
struct Plan {
    path: PathBuf,
    scanned: Vec<u8>,
    migrated: Vec<u8>,
}

pub fn migrate(printer: &Printer, options: &Options<'_>) -> anyhow::Result<()> {
    printer.action("starting migration of custom resources");
    let root = resolve(options.path)?;
    let files = list_files(&root, options.extensions, printer)?;
    let mut plans = Vec::new();
    for path in files {
        let shown = path.display().to_string();
        let scanned = fs::read(&path).map_err(|source| FilesError::Read {
            path: shown.clone(),
            source,
        })?;
        let upgrades = scan(&scanned, options.table, &shown, printer);
        for u in &upgrades {
            printer.generate(&format!(
                "{shown}:{}: {} {} -> {}",
                u.line + 1,
                u.kind,
                u.from,
                u.to
            ));
        }
        if !upgrades.is_empty() {
            let migrated = rewrite(&scanned, &upgrades);
            plans.push(Plan {
                path,
                scanned,
                migrated,
            });
        }
    }
    if plans.is_empty() {
        printer.success("no custom resources found that require migration");
        return Ok(());
    }
    if options.dry_run {
        printer.success("dry-run mode enabled, no changes will be made");
        return Ok(());
    }
    if !options.yes
        && !crate::prompt::confirm_unless(
            "Are you sure you want to proceed with the above upgrades",
            "--yes",
        )?
    {
        return Err(FilesError::Declined.into());
    }
    for plan in &plans {
        replace(plan)?;
        printer.success(&format!(
            "file {} migrated successfully",
            plan.path.display()
        ));
    }
    printer.success("custom resources migrated successfully");
    Ok(())
}

/// Replaces the file with its migrated content, atomically and with its
/// permission bits, if it still holds what was scanned.
fn replace(plan: &Plan) -> Result<(), FilesError> {
    let shown = plan.path.display().to_string();
    let write_error = |source| FilesError::Write {
        path: shown.clone(),
        source,
    };
    let meta = fs::symlink_metadata(&plan.path).map_err(|source| FilesError::StatFile {
        path: shown.clone(),
        source,
    })?;
    if !meta.is_file() {
        return Err(FilesError::Irregular(shown));
    }
    let current = fs::read(&plan.path).map_err(|source| FilesError::Read {
        path: shown.clone(),
        source,
    })?;
    if current != plan.scanned {
        return Err(FilesError::Changed(shown));
    }
    // The rename below would replace a read-only file too; opening it for
    // writing (without truncating) lets the system say whether this user
    // may change it, as an in-place write would.
    fs::OpenOptions::new()
        .write(true)
        .open(&plan.path)
        .map_err(write_error)?;
    let dir = match plan.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".flux-migrate-")
        .tempfile_in(dir)
        .map_err(write_error)?;
    temporary.write_all(&plan.migrated).map_err(write_error)?;
    let file = temporary.as_file();
    file.set_permissions(meta.permissions())
        .map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    temporary
        .persist(&plan.path)
        .map_err(|e| write_error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Target> {
        super::super::latest_versions("2.9").unwrap()
    }

    #[test]
    fn paths_stay_inside_the_current_directory() {
        assert_eq!(resolve("a/./b/").unwrap().display(), "a/b");
        assert_eq!(resolve("a/../b").unwrap().display(), "b");
        assert_eq!(resolve(".").unwrap().display(), ".");
        for bad in ["/etc", "..", "a/../../b", "../x.yaml"] {
            let err = resolve(bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("failed to stat path {bad}: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn group_versions_parse_as_go_does() {
        assert_eq!(parse_group_version("a/v1"), Ok(("a", "v1")));
        assert_eq!(parse_group_version("v1"), Ok(("", "v1")));
        assert_eq!(parse_group_version(""), Ok(("", "")));
        assert_eq!(
            parse_group_version("a/v1/v2"),
            Err("unexpected GroupVersion string: a/v1/v2".into())
        );
    }

    #[test]
    fn only_the_version_of_the_api_version_changes() {
        let (printer, captured) = Printer::capture();
        let content = b"# v1beta2 is old\r\n  - apiVersion: \"image.toolkit.fluxcd.io/v1beta2\" # v1beta2\r\n    kind: ImagePolicy  \r\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\napiVersion: example.com/v1\nkind: ImagePolicy\napiVersion: helm.toolkit.fluxcd.io/v2beta2";
        let upgrades = scan(content, &table(), "f", &printer);
        assert_eq!(upgrades.len(), 1, "{upgrades:?}");
        assert_eq!(
            (upgrades[0].line, upgrades[0].from.as_str()),
            (1, "v1beta2")
        );
        let out = rewrite(content, &upgrades);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(content.to_vec())
                .unwrap()
                .replace("fluxcd.io/v1beta2\"", "fluxcd.io/v1\"")
        );
        assert_eq!(captured.stderr(), "");
    }

    #[test]
    fn bytes_that_are_not_utf8_survive() {
        let (printer, _) = Printer::capture();
        let content =
            b"\xff\xfe\napiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\n\xc3";
        let upgrades = scan(content, &table(), "f", &printer);
        let out = rewrite(content, &upgrades);
        assert_eq!(
            out,
            b"\xff\xfe\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n\xc3"
        );
    }

    #[test]
    fn a_file_changed_since_the_scan_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, "edited meanwhile").unwrap();
        let plan = Plan {
            path: path.clone(),
            scanned: b"as scanned".to_vec(),
            migrated: b"migrated".to_vec(),
        };
        let err = replace(&plan).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("file {} changed", path.display())),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "edited meanwhile");

        fs::write(&path, "as scanned").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        replace(&plan).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "migrated");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "a temporary file is left"
        );
    }

    #[test]
    fn a_marker_at_the_end_of_a_line_or_file_is_not_an_object() {
        let (printer, captured) = Printer::capture();
        for content in [
            &b"apiVersion: "[..],
            b"apiVersion: image.toolkit.fluxcd.io/v1beta1",
            b"kind: ImagePolicy\napiVersion:",
            b"apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind:",
        ] {
            assert!(scan(content, &table(), "f", &printer).is_empty());
        }
        assert_eq!(captured.stderr(), "");
    }
}
