//! Installing one plugin version: download, verify, extract, receipt.
//!
//! Everything is first written to temporary files inside the plugin
//! directory and renamed into place only once the checksum matched and the
//! executable was extracted whole, so an interrupted or failed install
//! leaves the previous state (and no half-written executable) behind.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::archive::{Format, Target, extract};
use super::catalog::{Platform, is_local};
use super::fetch::Fetcher;
use super::{PluginDir, PluginError};

/// `flux-<name>.yaml` beside the executable: what was installed, from where.
/// Fields are in sorted order, as the YAML shows them.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Receipt {
    pub installed_at: String,
    pub name: String,
    pub platform: ReceiptPlatform,
    pub version: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReceiptPlatform {
    pub arch: String,
    pub checksum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract_path: Option<String>,
    pub os: String,
    pub url: String,
}

/// The receipt of plugin `name`, if there is a readable one.
pub fn read_receipt(dir: &PluginDir, name: &str) -> Option<Receipt> {
    let text = std::fs::read_to_string(dir.receipt_of(name)).ok()?;
    crate::render::yaml::from_str(&text).ok()
}

/// Installs `platform` of `version` as `bin` and records it.
pub async fn install(
    fetcher: &Fetcher,
    dir: &PluginDir,
    name: &str,
    bin: &str,
    version: &str,
    platform: &Platform,
) -> Result<(), PluginError> {
    let extract_path = platform.extract_path.as_deref().filter(|p| !p.is_empty());
    if let Some(path) = extract_path
        && !is_local(path)
    {
        return Err(PluginError::InvalidExtractPath {
            name: name.to_string(),
            path: path.to_string(),
        });
    }
    dir.ensure();
    let write_error = |cause: std::io::Error| PluginError::Write {
        dir: dir.path.display().to_string(),
        cause: cause.to_string(),
    };
    let mut download = tempfile::Builder::new()
        .prefix(".flux-download-")
        .tempfile_in(&dir.path)
        .map_err(write_error)?;
    let digest = fetcher
        .download(&platform.url, download.as_file_mut())
        .await
        .map_err(|e| PluginError::Download(e.short()))?;
    let actual = format!("sha256:{digest}");
    if !platform.checksum.eq_ignore_ascii_case(&actual) {
        return Err(PluginError::Checksum {
            expected: platform.checksum.clone(),
            actual,
        });
    }

    let file = download.as_file_mut();
    let mut head = Vec::with_capacity(512);
    file.seek(SeekFrom::Start(0)).map_err(write_error)?;
    file.by_ref()
        .take(512)
        .read_to_end(&mut head)
        .map_err(write_error)?;
    let format = Format::detect(&platform.url, &head);
    let mut binary = tempfile::Builder::new()
        .prefix(".flux-install-")
        .tempfile_in(&dir.path)
        .map_err(write_error)?;
    extract(
        format,
        download.as_file_mut(),
        &Target::new(bin, extract_path),
        binary.as_file_mut(),
    )?;
    binary
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))
        .map_err(write_error)?;
    // A rename replaces a symlink at the destination, never its target.
    binary
        .persist(dir.path.join(bin))
        .map_err(|e| write_error(e.error))?;

    let receipt = Receipt {
        installed_at: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        name: name.to_string(),
        platform: ReceiptPlatform {
            arch: platform.arch.clone(),
            checksum: platform.checksum.clone(),
            extract_path: extract_path.map(str::to_string),
            os: platform.os.clone(),
            url: platform.url.clone(),
        },
        version: version.to_string(),
    };
    write_receipt(&dir.receipt_of(name), &receipt).map_err(write_error)
}

fn write_receipt(path: &Path, receipt: &Receipt) -> std::io::Result<()> {
    let value = serde_json::to_value(receipt).map_err(std::io::Error::other)?;
    let text = crate::render::yaml::to_string(&value);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".flux-receipt-")
        .tempfile_in(dir)?;
    std::io::Write::write_all(file.as_file_mut(), text.as_bytes())?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_is_yaml_with_sorted_keys_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = PluginDir {
            path: dir.path().to_path_buf(),
            from_env: true,
        };
        let receipt = Receipt {
            installed_at: "2026-01-02T03:04:05Z".into(),
            name: "hello".into(),
            platform: ReceiptPlatform {
                arch: "amd64".into(),
                checksum: "sha256:ab".into(),
                extract_path: None,
                os: "linux".into(),
                url: "http://h/x".into(),
            },
            version: "1.0.0".into(),
        };
        write_receipt(&plugins.receipt_of("hello"), &receipt).unwrap();
        let path = plugins.receipt_of("hello");
        let text = std::fs::read_to_string(&path).unwrap();
        let keys: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "installedAt",
                "name",
                "platform",
                "  arch",
                "  checksum",
                "  os",
                "  url",
                "version"
            ],
            "{text}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(read_receipt(&plugins, "hello").unwrap().version, "1.0.0");
        assert!(read_receipt(&plugins, "other").is_none());
    }
}
