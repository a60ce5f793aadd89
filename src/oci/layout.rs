//! The artifact format: the gzip tarball of a directory, the config blob
//! and the manifest, laid out as upstream's `flux push artifact` does, and
//! the safe extraction `flux pull artifact` does.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::{Compression, GzBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::build::ignore::Ignore;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
pub const CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
pub const SOURCE_ANNOTATION: &str = "org.opencontainers.image.source";
pub const REVISION_ANNOTATION: &str = "org.opencontainers.image.revision";
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// The config blob upstream v2.9.4 pushes (an empty image config); Flux
/// ignores it.
pub const CONFIG_BLOB: &[u8] = br#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}"#;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("source path does not exist: {0}")]
    Missing(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("tar contained invalid name error {0:?}")]
    InvalidName(String),
    #[error("tar file entry {name} contained unsupported file type {kind}")]
    UnsupportedType { name: String, kind: String },
    #[error("requires gzip-compressed body: {0}")]
    NotGzip(io::Error),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> LayoutError {
    let context = context.into();
    move |source| LayoutError::Io { context, source }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Writes the gzip tarball of `source` (a directory, or a single file
/// archived as the only entry of a directory) to `out`.
pub fn write_tarball<W: Write>(
    source: &Path,
    ignore_paths: &[String],
    out: W,
) -> Result<W, LayoutError> {
    let source = crate::build::clean(source);
    let meta =
        fs::metadata(&source).map_err(|_| LayoutError::Missing(source.display().to_string()))?;
    // A file is archived from a directory of its own, as upstream copies it.
    let staged;
    let root = if meta.is_file() {
        staged = tempfile::Builder::new()
            .prefix("oci-build-")
            .tempdir()
            .map_err(io_err("creating a temporary directory"))?;
        let name = source.file_name().unwrap_or_default();
        let copy = staged.path().join(name);
        fs::copy(&source, &copy).map_err(io_err(format!("copying {}", source.display())))?;
        staged.path().to_path_buf()
    } else {
        source.clone()
    };
    let ignore = Ignore::patterns_only(&root, ignore_paths);
    // Upstream's gzip header: no name, mtime 0, OS "unknown" (255).
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    append_tree(&mut tar, &root, &root, &ignore, true)?;
    let gz = tar.into_inner().map_err(io_err("writing the tarball"))?;
    gz.finish().map_err(io_err("writing the tarball"))
}

/// The tarball of `source` in memory.
pub fn tarball(source: &Path, ignore_paths: &[String]) -> Result<Vec<u8>, LayoutError> {
    write_tarball(source, ignore_paths, Vec::new())
}

/// A layer written to a private, unnamed temporary file (gone when the
/// file is dropped, whatever the exit path), hashed as it was written.
pub struct LayerFile {
    pub file: fs::File,
    pub digest: String,
    pub size: u64,
}

/// The tarball of `source` in an unnamed temporary file, with its digest
/// and size; memory stays bounded whatever the size of the tree.
pub fn tarball_file(source: &Path, ignore_paths: &[String]) -> Result<LayerFile, LayoutError> {
    let file = tempfile::tempfile().map_err(io_err(temp_file_context()))?;
    let out = HashingWriter::new(io::BufWriter::with_capacity(1 << 16, file));
    let (out, digest, size) = write_tarball(source, ignore_paths, out)?.finish();
    let file = out.into_inner().map_err(|e| LayoutError::Io {
        context: "writing the tarball".into(),
        source: e.into_error(),
    })?;
    Ok(LayerFile { file, digest, size })
}

/// Where layers are staged, and what to do when that fails.
pub fn temp_file_context() -> String {
    format!(
        "creating a temporary file for the layer in {} (set TMPDIR to a writable directory with room for it)",
        std::env::temp_dir().display()
    )
}

/// The digest and size of the tarball of `source`, nothing kept.
pub fn tarball_digest(
    source: &Path,
    ignore_paths: &[String],
) -> Result<(String, u64), LayoutError> {
    let (_, digest, size) =
        write_tarball(source, ignore_paths, HashingWriter::new(io::sink()))?.finish();
    Ok((digest, size))
}

/// Passes bytes on to `inner`, counting and hashing them.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The writer, the `sha256:<hex>` digest and the count of what went
    /// through.
    pub fn finish(self) -> (W, String, u64) {
        let digest = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        (self.inner, digest, self.size)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Exactly `left` bytes of a file: ending early is an error, so a file
/// that shrinks while archived cannot leave a short entry in the tarball.
struct Exact<R> {
    inner: io::Take<R>,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file changed while read",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Archives `dir` (itself when `include_self`) and what is below it. An
/// ignored directory is left out but still walked: a negated pattern may
/// keep one of its children, as upstream's filter allows.
fn append_tree<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    dir: &Path,
    ignore: &Ignore,
    include_self: bool,
) -> Result<(), LayoutError> {
    if include_self {
        let meta =
            fs::symlink_metadata(dir).map_err(io_err(format!("reading {}", dir.display())))?;
        append_entry(tar, root, dir, &meta)?;
    }
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io_err(format!("reading {}", dir.display())))?
        .collect::<Result<_, _>>()
        .map_err(io_err(format!("reading {}", dir.display())))?;
    // Go's filepath.Walk order: names compared byte-wise.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta =
            fs::symlink_metadata(&path).map_err(io_err(format!("reading {}", path.display())))?;
        // Symlinks, sockets and devices are left out.
        if meta.is_dir() {
            append_tree(tar, root, &path, ignore, !ignore.is_ignored(&path, true))?;
        } else if meta.is_file() && !ignore.is_ignored(&path, false) {
            append_entry(tar, root, &path, &meta)?;
        }
    }
    Ok(())
}

/// One normalised header: name relative to the root (`.` for the root,
/// no trailing slash), permission bits, owner 0, empty user names, mtime 0.
fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    path: &Path,
    meta: &fs::Metadata,
) -> Result<(), LayoutError> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let name = if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        rel.to_string_lossy().into_owned()
    };
    let mut header = tar::Header::new_ustar();
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
        .set_username("")
        .and_then(|()| header.set_groupname(""))
        .map_err(io_err("writing a tar header"))?;
    header
        .set_device_major(0)
        .and_then(|()| header.set_device_minor(0))
        .map_err(io_err("writing a tar header"))?;
    let context = format!("archiving {}", path.display());
    if !set_ustar_name(&mut header, &name) {
        // Go's archive/tar switches to PAX for names USTAR cannot hold.
        tar.append_pax_extensions([("path", name.as_bytes())])
            .map_err(io_err(context.clone()))?;
        let short: String = name
            .chars()
            .filter(char::is_ascii)
            .take(99)
            .collect::<String>();
        set_raw_name(&mut header, "", &short);
    }
    if meta.is_dir() {
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_cksum();
        tar.append(&header, io::empty()).map_err(io_err(context))
    } else {
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(meta.len());
        header.set_cksum();
        let file = fs::File::open(path).map_err(io_err(context.clone()))?;
        // Streamed; a file that changes size while archived fails the build
        // instead of corrupting the stream (growth past the size is cut).
        let reader = Exact {
            inner: file.take(meta.len()),
            left: meta.len(),
        };
        tar.append(&header, reader).map_err(io_err(context))
    }
}

/// A copy of `source` in a new temporary directory with every symlink
/// replaced by what it points to: a file source becomes `<dir>/<name>`.
/// Directory cycles are broken by remembering the real paths visited;
/// dangling links and special files are left out.
pub fn resolve_symlinks(source: &Path) -> io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("flux-artifact-")
        .tempdir()?;
    let meta = fs::metadata(source)?;
    if meta.is_file() {
        let target = dir.path().join(source.file_name().unwrap_or_default());
        fs::copy(source, target)?;
    } else {
        let mut visited = std::collections::HashSet::new();
        copy_resolved(source, dir.path(), &mut visited)?;
    }
    Ok(dir)
}

fn copy_resolved(
    from: &Path,
    to: &Path,
    visited: &mut std::collections::HashSet<PathBuf>,
) -> io::Result<()> {
    if !visited.insert(fs::canonicalize(from)?) {
        return Ok(());
    }
    let mut entries: Vec<_> = fs::read_dir(from)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let target = to.join(entry.file_name());
        // `metadata` follows links; a dangling one is skipped.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            fs::create_dir_all(&target)?;
            fs::set_permissions(&target, meta.permissions())?;
            copy_resolved(&path, &target, visited)?;
        } else if meta.is_file() {
            fs::copy(&path, &target)?;
        }
    }
    Ok(())
}

/// USTAR's name/prefix split as Go's `splitUSTARPath` does; false when the
/// name needs PAX.
fn set_ustar_name(header: &mut tar::Header, name: &str) -> bool {
    if !name.is_ascii() || name.contains('\0') {
        return false;
    }
    if name.len() <= 100 {
        set_raw_name(header, "", name);
        return true;
    }
    let limit = name.len().min(156);
    let Some(i) = name[..limit].rfind('/') else {
        return false;
    };
    if i == 0 || name.len() - i - 1 > 100 || name.len() - i - 1 == 0 {
        return false;
    }
    set_raw_name(header, &name[..i], &name[i + 1..]);
    true
}

fn set_raw_name(header: &mut tar::Header, prefix: &str, name: &str) {
    if let Some(ustar) = header.as_ustar_mut() {
        ustar.name = [0; 100];
        ustar.name[..name.len()].copy_from_slice(name.as_bytes());
        ustar.prefix = [0; 155];
        ustar.prefix[..prefix.len()].copy_from_slice(prefix.as_bytes());
    }
}

#[derive(Serialize)]
struct Descriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    size: u64,
    digest: &'a str,
}

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Descriptor<'a>,
    layers: [Descriptor<'a>; 1],
    annotations: &'a BTreeMap<String, String>,
}

/// The manifest of a Flux artifact whose layer has `layer_digest` and
/// `layer_size`, serialised as Go's `encoding/json` does (field order, no
/// spaces, HTML characters escaped).
pub fn manifest(
    layer_digest: &str,
    layer_size: u64,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let config_digest = sha256_digest(CONFIG_BLOB);
    let manifest = Manifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE,
        config: Descriptor {
            media_type: CONFIG_MEDIA_TYPE,
            size: CONFIG_BLOB.len() as u64,
            digest: &config_digest,
        },
        layers: [Descriptor {
            media_type: CONTENT_MEDIA_TYPE,
            size: layer_size,
            digest: layer_digest,
        }],
        annotations,
    };
    let json = serde_json::to_string(&manifest).unwrap_or_default();
    go_html_escape(&json).into_bytes()
}

/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside JSON strings; in
/// serialised JSON they can only occur inside strings.
fn go_html_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The parts of a pulled manifest the commands read.
#[derive(Debug, serde::Deserialize, Default)]
pub struct PulledManifest {
    #[serde(default)]
    pub layers: Vec<PulledLayer>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
}

#[derive(Debug, serde::Deserialize, Clone)]
pub struct PulledLayer {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
}

/// Extracts the gzip tarball `data` into the existing directory `dest`.
pub fn extract(data: &[u8], dest: &Path) -> Result<(), LayoutError> {
    extract_from(|| Ok(data), dest)
}

/// Extracts the gzip tarball in `file` (read from its start) into the
/// existing directory `dest`, streaming: memory stays bounded whatever the
/// size of the entries.
pub fn extract_file(file: &fs::File, dest: &Path) -> Result<(), LayoutError> {
    use std::io::{Seek, SeekFrom};
    extract_from(
        || {
            let mut file = file.try_clone()?;
            file.seek(SeekFrom::Start(0))?;
            Ok(io::BufReader::with_capacity(1 << 16, file))
        },
        dest,
    )
}

/// What the first pass decided for one tar entry.
struct Planned {
    target: PathBuf,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
}

/// Keeps the first error of the gzip layer, so a failure that reaches the
/// caller through the tar reader can still be told apart as bad gzip.
struct Gunzip<R: Read> {
    inner: flate2::read::GzDecoder<R>,
    failed: Option<(io::ErrorKind, String)>,
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.failed.get_or_insert((e.kind(), e.to_string()));
        })
    }
}

impl<R: Read> Gunzip<R> {
    fn new(inner: R) -> Self {
        Self {
            inner: flate2::read::GzDecoder::new(inner),
            failed: None,
        }
    }

    /// `err` as bad gzip when the gzip layer failed, else as `context`.
    fn error(&self, context: &str, err: io::Error) -> LayoutError {
        match &self.failed {
            Some((kind, text)) => LayoutError::NotGzip(io::Error::new(*kind, text.clone())),
            None => LayoutError::Io {
                context: context.to_string(),
                source: err,
            },
        }
    }
}

/// Two passes over the tarball `open` gives: the first checks every entry
/// and the whole gzip stream (checksum included) and writes nothing, so a
/// bad archive leaves `dest` untouched; the second writes the entries,
/// copying contents straight from the stream. Symlinks and hard links are
/// skipped.
fn extract_from<R: Read>(open: impl Fn() -> io::Result<R>, dest: &Path) -> Result<(), LayoutError> {
    let mut gz = Gunzip::new(open().map_err(io_err("reading the tarball"))?);
    let mut plan = Vec::new();
    let mut failure = None;
    {
        let mut archive = tar::Archive::new(&mut gz);
        match archive.entries() {
            Err(err) => failure = Some(err),
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(entry) => plan.push(plan_entry(&entry, dest)?),
                        Err(err) => {
                            failure = Some(err);
                            break;
                        }
                    }
                }
            }
        }
    }
    if let Some(err) = failure {
        return Err(gz.error("reading the tarball", err));
    }
    // What follows the tar trailer, to the gzip checksum.
    io::copy(&mut gz, &mut io::sink()).map_err(|e| gz.error("reading the tarball", e))?;
    if gz.failed.is_some() {
        return Err(gz.error("reading the tarball", io::Error::other("gzip")));
    }

    let mut gz = Gunzip::new(open().map_err(io_err("reading the tarball"))?);
    let mut archive = tar::Archive::new(&mut gz);
    let entries = archive.entries().map_err(io_err("reading the tarball"))?;
    let now = std::time::SystemTime::now();
    let mut plan = plan.into_iter();
    for entry in entries {
        let mut entry = entry.map_err(io_err("reading the tarball"))?;
        let Some(planned) = plan.next().ok_or_else(|| LayoutError::Io {
            context: "reading the tarball".into(),
            source: io::Error::other("the archive changed between passes"),
        })?
        else {
            continue;
        };
        write_entry(&mut entry, planned, now)?;
    }
    Ok(())
}

/// Checks one entry: its name must stay inside `dest` and its type be one
/// an artifact may hold. `None` for entries that are skipped.
fn plan_entry<R: Read>(
    entry: &tar::Entry<'_, R>,
    dest: &Path,
) -> Result<Option<Planned>, LayoutError> {
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let kind = entry.header().entry_type();
    let target = safe_join(dest, &name)?;
    match kind {
        tar::EntryType::Symlink | tar::EntryType::Link => return Ok(None),
        tar::EntryType::Directory => {}
        tar::EntryType::Regular | tar::EntryType::Continuous => {}
        // Go's tar reader consumes PAX and GNU long-name records itself.
        tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => return Ok(None),
        other => {
            return Err(LayoutError::UnsupportedType {
                name,
                kind: format!("{:?}", other),
            });
        }
    }
    Ok(Some(Planned {
        target,
        kind,
        mode: entry.header().mode().unwrap_or(0o644) & 0o7777,
        mtime: entry.header().mtime().unwrap_or(0),
    }))
}

fn write_entry<R: Read>(
    content: &mut R,
    planned: Planned,
    now: std::time::SystemTime,
) -> Result<(), LayoutError> {
    let Planned {
        target,
        kind,
        mode,
        mtime,
    } = planned;
    let context = format!("writing {}", target.display());
    if kind == tar::EntryType::Directory {
        fs::create_dir_all(&target).map_err(io_err(context.clone()))?;
        return fs::set_permissions(&target, fs::Permissions::from_mode(mode | 0o700))
            .map_err(io_err(context));
    }
    if let Some(parent) = target.parent()
        && !parent.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(parent)
            .map_err(io_err(context.clone()))?;
    }
    // An existing entry is replaced, never written through (it may be a
    // symlink planted before the pull).
    if fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
        fs::remove_file(&target).map_err(io_err(context.clone()))?;
    }
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&target)
        .map_err(io_err(context.clone()))?;
    let mut out = io::BufWriter::with_capacity(1 << 16, file);
    io::copy(content, &mut out).map_err(io_err(context.clone()))?;
    let file = out.into_inner().map_err(|e| LayoutError::Io {
        context: context.clone(),
        source: e.into_error(),
    })?;
    fs::set_permissions(&target, fs::Permissions::from_mode(mode))
        .map_err(io_err(context.clone()))?;
    let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
    if modified <= now {
        file.set_times(fs::FileTimes::new().set_modified(modified))
            .map_err(io_err(context))?;
    }
    Ok(())
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// `dest/name`, refusing names that are empty, absolute, contain `\` or
/// climb out with `..`.
fn safe_join(dest: &Path, name: &str) -> Result<PathBuf, LayoutError> {
    let invalid = || LayoutError::InvalidName(name.to_string());
    if name.is_empty() || name.contains('\\') || name.starts_with('/') || name.contains('\0') {
        return Err(invalid());
    }
    let mut path = dest.to_path_buf();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(invalid());
            }
        }
    }
    // A directory already in `dest` that is a symlink must not lead out.
    let mut walked = dest.to_path_buf();
    if let Ok(rel) = path.strip_prefix(dest) {
        let parts: Vec<_> = rel.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            walked.push(part);
            if fs::symlink_metadata(&walked).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(invalid());
            }
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_ignore() -> Vec<String> {
        crate::build::ignore::VCS_AND_MEDIA
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn entries(data: &[u8]) -> Vec<(String, u32, u64)> {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut plain)
            .unwrap();
        let mut archive = tar::Archive::new(plain.as_slice());
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                assert_eq!(
                    (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
                    (0, 0, 0)
                );
                assert_eq!(h.username_bytes(), Some(&b""[..]));
                (
                    String::from_utf8(e.path_bytes().to_vec()).unwrap(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn tarball_is_normalised_sorted_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join(".git/HEAD"), "x").unwrap();
        fs::write(root.join("a.yaml"), "a: 1\n").unwrap();
        fs::write(root.join("b/c/d.yaml"), "d").unwrap();
        fs::write(root.join("logo.png"), "png").unwrap();
        fs::set_permissions(root.join("b"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(root.join("a.yaml"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("a.yaml", root.join("link.yaml")).unwrap();
        let data = tarball(root, &default_ignore()).unwrap();
        assert_eq!(&data[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(
            &data[4..10],
            &[0, 0, 0, 0, 0, 255],
            "mtime 0, XFL 0, OS 255"
        );
        let names: Vec<_> = entries(&data)
            .into_iter()
            .map(|(n, m, s)| format!("{n} {m:o} {s}"))
            .collect();
        let root_mode = fs::metadata(root).unwrap().mode() & 0o7777;
        assert_eq!(
            names,
            [
                format!(". {root_mode:o} 0"),
                "a.yaml 640 5".into(),
                "b 755 0".into(),
                format!(
                    "b/c {:o} 0",
                    fs::metadata(root.join("b/c")).unwrap().mode() & 0o7777
                ),
                "b/c/d.yaml 644 1".into(),
            ]
        );
    }

    #[test]
    fn same_tree_same_bytes_and_touching_a_file_does_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.yaml"), "x").unwrap();
        let first = tarball(dir.path(), &[]).unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(dir.path().join("x.yaml"))
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(first, tarball(dir.path(), &[]).unwrap());
        fs::write(dir.path().join("x.yaml"), "y").unwrap();
        assert_ne!(first, tarball(dir.path(), &[]).unwrap());
    }

    #[test]
    fn a_single_file_is_archived_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("one.yaml"), "1").unwrap();
        let data = tarball(&dir.path().join("one.yaml"), &[]).unwrap();
        let names: Vec<_> = entries(&data).into_iter().map(|e| e.0).collect();
        assert_eq!(names, [".", "one.yaml"]);
    }

    #[test]
    fn long_names_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let deep = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        fs::create_dir_all(dir.path().join("d".repeat(120))).unwrap();
        fs::write(dir.path().join(&deep), "x").unwrap();
        let long = "l".repeat(200);
        fs::write(dir.path().join(&long), "y").unwrap();
        let data = tarball(dir.path(), &[]).unwrap();
        let out = tempfile::tempdir().unwrap();
        extract(&data, out.path()).unwrap();
        assert_eq!(fs::read_to_string(out.path().join(&deep)).unwrap(), "x");
        assert_eq!(fs::read_to_string(out.path().join(&long)).unwrap(), "y");
    }

    #[test]
    fn manifest_is_go_json() {
        let mut annotations = BTreeMap::new();
        annotations.insert(SOURCE_ANNOTATION.to_string(), "https://x?a=1&b=<2>".into());
        let m = String::from_utf8(manifest(&sha256_digest(b"layer"), 5, &annotations)).unwrap();
        assert!(m.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.flux.config.v1+json","size":115,"digest":"sha256:"#), "{m}");
        assert!(m.contains(r#""layers":[{"mediaType":"application/vnd.cncf.flux.content.v1.tar+gzip","size":5,"digest":"sha256:"#));
        assert!(m.ends_with(r#""annotations":{"org.opencontainers.image.source":"https://x?a=1\u0026b=\u003c2\u003e"}}"#), "{m}");
    }

    fn raw_tarball(name: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(0o644);
        if let Some(link) = link {
            h.set_link_name(link).unwrap();
        }
        h.set_size(if kind == tar::EntryType::Regular {
            1
        } else {
            0
        });
        h.set_cksum();
        let data: &[u8] = if kind == tar::EntryType::Regular {
            b"x"
        } else {
            b""
        };
        tar.append(&h, data).unwrap();
        let plain = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&plain).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn escaping_names_are_refused_and_nothing_is_written() {
        for name in ["../evil", "a/../../evil", "/abs", "a\\b"] {
            let out = tempfile::tempdir().unwrap();
            let err = extract(
                &raw_tarball(name, tar::EntryType::Regular, None),
                out.path(),
            )
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("tar contained invalid name error {name:?}")
            );
            assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn links_are_skipped_and_planted_symlinks_not_followed() {
        let out = tempfile::tempdir().unwrap();
        let tgz = raw_tarball("l", tar::EntryType::Symlink, Some("/etc/passwd"));
        extract(&tgz, out.path()).unwrap();
        assert!(fs::symlink_metadata(out.path().join("l")).is_err());

        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("sub")).unwrap();
        let tgz = raw_tarball("sub/x", tar::EntryType::Regular, None);
        assert!(matches!(
            extract(&tgz, out.path()),
            Err(LayoutError::InvalidName(_))
        ));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_layer_file_holds_the_same_bytes_as_the_tarball_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a")).unwrap();
        fs::write(dir.path().join("a/x.yaml"), "x: 1\n").unwrap();
        // Larger than every buffer on the way.
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(dir.path().join("big.bin"), &big).unwrap();
        let bytes = tarball(dir.path(), &[]).unwrap();
        let mut layer = tarball_file(dir.path(), &[]).unwrap();
        let mut from_file = Vec::new();
        io::Seek::rewind(&mut layer.file).unwrap();
        layer.file.read_to_end(&mut from_file).unwrap();
        assert_eq!(from_file, bytes);
        assert_eq!(layer.digest, sha256_digest(&bytes));
        assert_eq!(layer.size, bytes.len() as u64);
        assert_eq!(
            tarball_digest(dir.path(), &[]).unwrap(),
            (layer.digest.clone(), layer.size)
        );

        let out = tempfile::tempdir().unwrap();
        extract_file(&layer.file, out.path()).unwrap();
        assert_eq!(fs::read(out.path().join("big.bin")).unwrap(), big);
        assert_eq!(
            fs::read_to_string(out.path().join("a/x.yaml")).unwrap(),
            "x: 1\n"
        );
    }

    #[test]
    fn a_file_shorter_than_its_header_says_fails_the_entry() {
        let mut short = Exact {
            inner: (&b"abc"[..]).take(5),
            left: 5,
        };
        let err = io::copy(&mut short, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(err.to_string(), "file changed while read");
        let mut exact = Exact {
            inner: (&b"abcdef"[..]).take(5),
            left: 5,
        };
        assert_eq!(io::copy(&mut exact, &mut io::sink()).unwrap(), 5);
    }

    #[test]
    fn a_corrupt_gzip_stream_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.yaml"), "x").unwrap();
        let mut data = tarball(dir.path(), &[]).unwrap();
        // The CRC-32 in the trailer: only the first pass's read to the end
        // of the stream sees it.
        let crc = data.len() - 8;
        data[crc] ^= 0xff;
        let out = tempfile::tempdir().unwrap();
        let err = extract(&data, out.path()).unwrap_err();
        assert!(matches!(err, LayoutError::NotGzip(_)), "{err}");
        assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
        // Cut short inside the compressed tar.
        let data = tarball(dir.path(), &[]).unwrap();
        let err = extract(&data[..data.len() / 2], out.path()).unwrap_err();
        assert!(
            matches!(err, LayoutError::NotGzip(_) | LayoutError::Io { .. }),
            "{err}"
        );
        assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
    }

    #[test]
    fn non_gzip_is_reported() {
        let out = tempfile::tempdir().unwrap();
        let err = extract(b"plain text", out.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("requires gzip-compressed body: "),
            "{err}"
        );
    }
}
