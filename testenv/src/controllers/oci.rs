//! The simulated source-controller's OCI client: anonymous, plain HTTP, for
//! registries on loopback only (tests run a real one there). It resolves an
//! OCIRepository's `spec.ref` to a manifest digest and reads the files of
//! the artifact's first layer (a gzip tarball, as `flux push artifact`
//! makes).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::sha256_hex;

/// An `oci://` URL whose registry is on this machine.
pub fn is_local(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("oci://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

/// What source-controller records for a pulled artifact.
pub struct Pulled {
    /// `<tag>@sha256:<hex>`, or `sha256:<hex>` for a digest reference.
    pub revision: String,
    /// Text files of the first layer, paths relative to its root.
    pub files: Vec<(String, String)>,
}

/// Resolves `spec.ref` of an OCIRepository at `url` and reads its content.
pub fn pull(url: &str, reference: &Value) -> Result<Pulled, String> {
    let rest = url
        .strip_prefix("oci://")
        .ok_or_else(|| format!("URL must start with oci://: {url}"))?;
    let (host, repo) = rest
        .split_once('/')
        .ok_or_else(|| format!("URL has no repository: {url}"))?;
    let field = |k: &str| {
        reference
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (label, manifest_ref) = if let Some(digest) = field("digest") {
        (None, digest.to_string())
    } else if let Some(tag) = field("tag") {
        (Some(tag.to_string()), tag.to_string())
    } else if let Some(range) = field("semver") {
        let tag = highest_matching(host, repo, range)?;
        (Some(tag.clone()), tag)
    } else {
        (Some("latest".to_string()), "latest".to_string())
    };
    let manifest = get(
        host,
        &format!("/v2/{repo}/manifests/{manifest_ref}"),
        "application/vnd.oci.image.manifest.v1+json",
    )
    .map_err(|e| format!("failed to pull artifact from '{url}': {e}"))?;
    let digest = format!("sha256:{}", sha256_hex(&manifest));
    let parsed: Value = serde_json::from_slice(&manifest)
        .map_err(|e| format!("failed to parse manifest of '{url}': {e}"))?;
    let layer = parsed["layers"][0]["digest"]
        .as_str()
        .ok_or_else(|| format!("no layers found in artifact '{url}'"))?;
    let blob = get(host, &format!("/v2/{repo}/blobs/{layer}"), "*/*")
        .map_err(|e| format!("failed to pull layer of '{url}': {e}"))?;
    let files = untar(&blob).map_err(|e| format!("failed to extract layer of '{url}': {e}"))?;
    let revision = match label {
        Some(label) => format!("{label}@{digest}"),
        None => digest,
    };
    Ok(Pulled { revision, files })
}

/// The highest tag that parses as a version inside `range` (Cargo's
/// range syntax, close enough to source-controller's for tests).
fn highest_matching(host: &str, repo: &str, range: &str) -> Result<String, String> {
    let req = semver::VersionReq::parse(range)
        .map_err(|e| format!("semver parse error '{range}': {e}"))?;
    let body = get(host, &format!("/v2/{repo}/tags/list"), "application/json")?;
    let tags: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    tags["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|t| {
            let v = semver::Version::parse(t.strip_prefix('v').unwrap_or(t)).ok()?;
            req.matches(&v).then(|| (v, t.to_string()))
        })
        .max()
        .map(|(_, t)| t)
        .ok_or_else(|| format!("no match found for semver: {range}"))
}

/// One HTTP/1.1 GET; the body of a 200 answer.
fn get(host: &str, path: &str, accept: &str) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nUser-Agent: source-controller\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP answer")?;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head.lines().next().unwrap_or_default().to_string();
    if !status.starts_with("http/1.1 200") {
        return Err(format!("GET {path}: {status}"));
    }
    let body = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        Ok(body)
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("malformed chunk")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "malformed chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// Regular files of a gzip tarball, names without a leading `./`.
fn untar(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut plain)
        .map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(plain.as_slice());
    let mut files = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes())
            .trim_start_matches("./")
            .to_string();
        let mut text = Vec::new();
        entry.read_to_end(&mut text).map_err(|e| e.to_string())?;
        files.push((name, String::from_utf8_lossy(&text).into_owned()));
    }
    Ok(files)
}

/// The files under `path` (a Kustomization's `spec.path`), relative to it.
pub fn under(files: Vec<(String, String)>, path: &str) -> Result<Vec<(String, String)>, String> {
    let dir = path.trim_start_matches("./").trim_matches('/');
    if dir.is_empty() || dir == "." {
        return Ok(files);
    }
    let prefix = format!("{dir}/");
    let inside: Vec<_> = files
        .into_iter()
        .filter_map(|(name, text)| name.strip_prefix(&prefix).map(|n| (n.to_string(), text)))
        .collect();
    if inside.is_empty() {
        return Err(format!(
            "kustomization path not found: stat {dir}: no such file or directory"
        ));
    }
    Ok(inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_only() {
        assert!(is_local("oci://127.0.0.1:5000/app"));
        assert!(is_local("oci://localhost/app"));
        assert!(!is_local("oci://ghcr.io/org/app"));
        assert!(!is_local("https://127.0.0.1/app"));
    }

    #[test]
    fn chunked_bodies_and_paths() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        let files = vec![
            ("a/x.yaml".to_string(), "x".to_string()),
            ("b/y.yaml".to_string(), "y".to_string()),
        ];
        assert_eq!(
            under(files.clone(), "./a").unwrap(),
            [("x.yaml".to_string(), "x".to_string())]
        );
        assert_eq!(under(files.clone(), "./").unwrap().len(), 2);
        assert!(under(files, "c").is_err());
    }
}
