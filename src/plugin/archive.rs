//! Taking the plugin's executable out of what was downloaded: a zip, a
//! (gzipped) tar, or the executable itself.
//!
//! Only a regular file entry whose name stays inside the archive is ever
//! taken; links, devices and `../` names are passed over, and nothing but
//! the one chosen entry is written anywhere.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use super::PluginError;
use super::catalog::is_local;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    TarGz,
    Tar,
    Raw,
}

impl Format {
    /// By the URL's suffix, else by the file's first bytes.
    pub fn detect(url: &str, head: &[u8]) -> Format {
        // The path only: a query string must not hide or fake a suffix.
        let path = url::Url::parse(url)
            .map(|u| u.path().to_ascii_lowercase())
            .unwrap_or_else(|_| url.to_ascii_lowercase());
        if path.ends_with(".zip") {
            Format::Zip
        } else if path.ends_with(".tar.gz") || path.ends_with(".tgz") {
            Format::TarGz
        } else if path.ends_with(".tar") {
            Format::Tar
        } else if [b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"]
            .iter()
            .any(|magic| head.starts_with(*magic))
        {
            Format::Zip
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Format::TarGz
        } else if head.get(257..262) == Some(b"ustar") {
            Format::Tar
        } else {
            Format::Raw
        }
    }
}

/// Which entry is the executable: an exact path when `extractPath` has a
/// `/`, else any entry with that base name.
#[derive(Debug, Clone)]
pub struct Target {
    wanted: PathBuf,
    exact: bool,
}

impl Target {
    pub fn new(bin: &str, extract_path: Option<&str>) -> Target {
        let name = extract_path.filter(|p| !p.is_empty()).unwrap_or(bin);
        Target {
            wanted: normal(Path::new(name)),
            exact: name.contains('/'),
        }
    }

    fn matches(&self, entry: &Path) -> bool {
        let entry = normal(entry);
        if self.exact {
            entry == self.wanted
        } else {
            entry.file_name() == self.wanted.file_name()
        }
    }

    pub fn shown(&self) -> String {
        self.wanted.to_string_lossy().into_owned()
    }
}

/// `./bin//x` → `bin/x`.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Copies the executable out of `download` (in `format`) into `out`.
pub fn extract(
    format: Format,
    download: &mut File,
    target: &Target,
    out: &mut File,
) -> Result<(), PluginError> {
    download.seek(SeekFrom::Start(0)).map_err(extract_error)?;
    let found = match format {
        Format::Raw => {
            io::copy(download, out).map_err(extract_error)?;
            true
        }
        Format::Tar => from_tar(download, target, out)?,
        Format::TarGz => from_tar(flate2::read::GzDecoder::new(download), target, out)?,
        Format::Zip => from_zip(download, target, out)?,
    };
    if !found {
        return Err(PluginError::NotInArchive(target.shown()));
    }
    out.flush().map_err(extract_error)
}

fn extract_error(err: impl std::fmt::Display) -> PluginError {
    PluginError::Extract(err.to_string())
}

fn from_tar(reader: impl Read, target: &Target, out: &mut File) -> Result<bool, PluginError> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(extract_error)? {
        let mut entry = entry.map_err(extract_error)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(extract_error)?.into_owned();
        let local = path.to_str().is_some_and(is_local);
        if local && target.matches(&path) {
            io::copy(&mut entry, out).map_err(extract_error)?;
            return Ok(true);
        }
    }
    Ok(false)
}

fn from_zip(file: &mut File, target: &Target, out: &mut File) -> Result<bool, PluginError> {
    let mut archive = zip::ZipArchive::new(file).map_err(extract_error)?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(extract_error)?;
        if !entry.is_file() || entry.is_symlink() {
            continue;
        }
        let name = entry.name().map_err(extract_error)?.into_owned();
        if is_local(&name) && target.matches(Path::new(&name)) {
            io::copy(&mut entry, out).map_err(extract_error)?;
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o755);
            // set_path refuses `..`; the raw name field takes anything.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn run(format: Format, bytes: &[u8], target: Target) -> Result<Vec<u8>, String> {
        let mut download = tempfile::tempfile().unwrap();
        download.write_all(bytes).unwrap();
        let mut out = tempfile::tempfile().unwrap();
        extract(format, &mut download, &target, &mut out).map_err(|e| e.to_string())?;
        out.seek(SeekFrom::Start(0)).unwrap();
        let mut got = Vec::new();
        out.read_to_end(&mut got).unwrap();
        Ok(got)
    }

    #[test]
    fn the_format_comes_from_the_suffix_then_the_magic() {
        let mut tar_head = vec![0u8; 300];
        tar_head[257..262].copy_from_slice(b"ustar");
        assert_eq!(Format::detect("http://h/x.ZIP", b""), Format::Zip);
        assert_eq!(
            Format::detect("http://h/x.tar.gz", b"PK\x03\x04"),
            Format::TarGz
        );
        assert_eq!(Format::detect("http://h/x.tgz?a=b", b""), Format::TarGz);
        assert_eq!(Format::detect("http://h/x.tar", b""), Format::Tar);
        assert_eq!(Format::detect("http://h/x", b"PK\x05\x06"), Format::Zip);
        assert_eq!(
            Format::detect("http://h/x", &[0x1f, 0x8b, 8]),
            Format::TarGz
        );
        assert_eq!(Format::detect("http://h/x", &tar_head), Format::Tar);
        assert_eq!(Format::detect("http://h/x", b"#!/bin/sh"), Format::Raw);
        assert_eq!(Format::detect("http://h/x.zip?x", b""), Format::Zip);
    }

    #[test]
    fn only_a_regular_local_entry_is_taken() {
        use tar::EntryType as E;
        let archive = tar_with(&[
            ("../flux-x", E::Regular, b"escape"),
            ("/flux-x", E::Regular, b"absolute"),
            ("link/flux-x", E::Symlink, b""),
            ("dir/flux-x", E::Directory, b""),
            ("./pkg/flux-x", E::Regular, b"good"),
            ("other/flux-x", E::Regular, b"second"),
        ]);
        assert_eq!(
            run(Format::Tar, &archive, Target::new("flux-x", None)),
            Ok(b"good".to_vec())
        );
        assert_eq!(
            run(
                Format::Tar,
                &archive,
                Target::new("flux-x", Some("other/flux-x"))
            ),
            Ok(b"second".to_vec())
        );
        assert_eq!(
            run(Format::Tar, &archive, Target::new("flux-y", None)),
            Err("binary \"flux-y\" not found in archive".into())
        );
        let only_bad = tar_with(&[("../flux-x", E::Regular, b"escape")]);
        assert!(run(Format::Tar, &only_bad, Target::new("flux-x", None)).is_err());
    }

    #[test]
    fn gzip_and_zip_archives() {
        let tar = tar_with(&[("flux-x", tar::EntryType::Regular, b"gz")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(
            run(Format::TarGz, &gz, Target::new("flux-x", None)),
            Ok(b"gz".to_vec())
        );

        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("../flux-x", options).unwrap();
        zip.write_all(b"escape").unwrap();
        zip.add_directory("bin/", options).unwrap();
        zip.start_file("bin/flux-x", options).unwrap();
        zip.write_all(b"zipped").unwrap();
        let zip = zip.finish().unwrap().into_inner();
        assert_eq!(
            run(Format::Zip, &zip, Target::new("flux-x", None)),
            Ok(b"zipped".to_vec())
        );
        assert!(run(Format::Zip, b"PK\x03\x04junk", Target::new("flux-x", None)).is_err());
    }

    #[test]
    fn a_raw_download_is_the_executable() {
        assert_eq!(
            run(Format::Raw, b"#!/bin/sh\n", Target::new("flux-x", None)),
            Ok(b"#!/bin/sh\n".to_vec())
        );
    }
}
