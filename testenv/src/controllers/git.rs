//! Git resolution with libgit2: references to `<ref>@sha1:<commit>` revisions, and reading
//! manifests from a commit's tree. Fetches authenticate with the keys of a GitRepository's
//! `spec.secretRef` Secret, as source-controller does.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use git2::{CertificateCheckStatus, Cred, CredentialType, ErrorCode, Oid, Repository};
use serde_json::Value;

/// The decoded `data` of a GitRepository's secretRef Secret (empty without one).
pub type Auth = BTreeMap<String, String>;

/// A resolved Git reference.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub revision: String,
    pub commit: String,
    /// The repository holding the commit (the source itself, or a local fetch of it).
    pub repo: PathBuf,
}

/// Whether `url` points at something on this machine (a path, file://, or a loopback server).
pub fn is_local(url: &str) -> bool {
    if url.starts_with('/') || url.starts_with("file://") {
        return true;
    }
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or(host);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

fn clone_error(url: &str, e: impl std::fmt::Display) -> String {
    format!("failed to checkout and determine revision: unable to clone '{url}': {e}")
}

fn open(url: &str, auth: &Auth, cache: &Path) -> Result<(Repository, bool), String> {
    if let Some(p) = url
        .strip_prefix("file://")
        .or(url.starts_with('/').then_some(url))
    {
        return Repository::open(p)
            .map(|r| (r, false))
            .map_err(|e| clone_error(url, e.message()));
    }
    // Remote (loopback) servers: fetch into a bare repository kept per URL.
    let dir = cache.join(format!("{:016x}", fnv(url.as_bytes())));
    let repo = match Repository::open_bare(&dir) {
        Ok(r) => r,
        Err(_) => Repository::init_bare(&dir).map_err(|e| clone_error(url, e.message()))?,
    };
    {
        let mut remote = repo
            .remote_anonymous(url)
            .map_err(|e| clone_error(url, e.message()))?;
        let tried_key = Cell::new(false);
        // libgit2 replaces the callback's error with its own words; keep ours to report.
        let host_error = RefCell::new(None);
        let (host, port) = host_port(url);
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks.credentials(|_, user, allowed| {
            // libgit2 asks again after a refused key; asking once ends the loop.
            match auth.get("identity") {
                Some(key) if allowed.contains(CredentialType::SSH_KEY) && !tried_key.get() => {
                    tried_key.set(true);
                    Cred::ssh_key_from_memory(
                        user.unwrap_or("git"),
                        None,
                        key,
                        auth.get("password").map(String::as_str),
                    )
                }
                // Upstream's wording: Go's ssh client, or go-git's for HTTP 401.
                _ if allowed.contains(CredentialType::SSH_KEY) => Err(git2::Error::new(
                    ErrorCode::Auth,
                    git2::ErrorClass::Ssh,
                    "ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain",
                )),
                _ => Err(git2::Error::new(
                    ErrorCode::Auth,
                    git2::ErrorClass::Http,
                    "authentication required",
                )),
            }
        });
        if url.starts_with("ssh://") {
            callbacks.certificate_check(|cert, _| {
                let (Some(known), Some(key)) = (
                    auth.get("known_hosts"),
                    cert.as_hostkey().and_then(|h| h.hostkey()),
                ) else {
                    return Ok(CertificateCheckStatus::CertificateOk);
                };
                check_known_hosts(known, &host, port, key).map_err(|m| {
                    let e = git2::Error::new(ErrorCode::Certificate, git2::ErrorClass::Ssh, &m);
                    *host_error.borrow_mut() = Some(m);
                    e
                })?;
                Ok(CertificateCheckStatus::CertificateOk)
            });
        }
        if url.starts_with("https://")
            && let Some(ca) = auth.get("ca.crt")
        {
            // The Secret's CA replaces the system's, as source-controller's
            // TLS config does.
            callbacks.certificate_check(|cert, host| {
                let Some(der) = cert.as_x509().map(|x| x.data().to_vec()) else {
                    return Ok(CertificateCheckStatus::CertificatePassthrough);
                };
                verify_with_ca(ca, &der, host).map_err(|m| {
                    let e = git2::Error::new(ErrorCode::Certificate, git2::ErrorClass::Ssl, &m);
                    *host_error.borrow_mut() = Some(m);
                    e
                })?;
                Ok(CertificateCheckStatus::CertificateOk)
            });
        }
        let mut opts = git2::FetchOptions::new();
        opts.remote_callbacks(callbacks);
        // Sent with every request, as go-git does, rather than only after a 401.
        let header = http_authorization(auth);
        if let Some(h) = &header {
            opts.custom_headers(&[h.as_str()]);
        }
        remote
            .fetch(
                &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                Some(&mut opts),
                None,
            )
            .map_err(|e| match host_error.take() {
                Some(m) => clone_error(url, m),
                None => clone_error(url, e.message()),
            })?;
    }
    Ok((repo, true))
}

/// Checks a server certificate (DER) for `host` against the PEM `ca` only,
/// in the wording of Go's x509 package that source-controller reports.
fn verify_with_ca(ca: &str, der: &[u8], host: &str) -> Result<(), String> {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        let cert = cert.map_err(|e| format!("failed to parse CA certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("failed to add CA certificate: {e}"))?;
    }
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        std::sync::Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .map_err(|e| format!("invalid CA certificate: {e}"))?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(
            &CertificateDer::from(der.to_vec()),
            &[],
            &name,
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
        .map_err(|e| match e {
            // Go reports an issuer whose signature does not verify (another
            // CA of the same name) as an unknown authority too.
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
            ) => "x509: certificate signed by unknown authority".to_string(),
            other => format!("x509: {other}"),
        })
}

/// The Authorization header for http(s) remotes: basic auth, or a bearer token.
fn http_authorization(auth: &Auth) -> Option<String> {
    if let Some(token) = auth.get("bearerToken") {
        return Some(format!("Authorization: Bearer {token}"));
    }
    let (user, password) = (auth.get("username")?, auth.get("password")?);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Authorization: Basic {basic}"))
}

/// Host and port (22 when absent) of an `ssh://[user@]host[:port]/path` URL.
fn host_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_matches(['[', ']']).to_string(),
            p.parse().unwrap_or(22),
        ),
        _ => (authority.trim_matches(['[', ']']).to_string(), 22),
    }
}

/// Checks the server's host key blob against known_hosts lines, in the wording of Go's
/// knownhosts package that source-controller reports.
fn check_known_hosts(known: &str, host: &str, port: u16, key: &[u8]) -> Result<(), String> {
    let name = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let mut listed = false;
    for line in known.lines().map(str::trim) {
        let mut fields = line.split_whitespace();
        let (Some(hosts), Some(_), Some(blob)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if line.starts_with('#') || !hosts.split(',').any(|p| host_matches(p, &name)) {
            continue;
        }
        listed = true;
        if base64::engine::general_purpose::STANDARD
            .decode(blob)
            .is_ok_and(|b| b == key)
        {
            return Ok(());
        }
    }
    Err(if listed {
        "ssh: handshake failed: knownhosts: key mismatch".into()
    } else {
        "ssh: handshake failed: knownhosts: key is unknown".into()
    })
}

/// A known_hosts host pattern: a plain name or a hashed `|1|salt|hmac` entry.
fn host_matches(pattern: &str, name: &str) -> bool {
    let Some(hashed) = pattern.strip_prefix("|1|") else {
        return pattern == name;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, mac)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(mac)) = (b64.decode(salt), b64.decode(mac)) else {
        return false;
    };
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt);
    ring::hmac::verify(&k, name.as_bytes(), &mac).is_ok()
}

pub fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x100000001b3)
    })
}

fn peel(repo: &Repository, refname: &str) -> Option<Oid> {
    repo.find_reference(refname)
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id())
}

fn parse_semver(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// Masterminds-style constraints ("1.x", ">=1.0 <2.0", "*") as a semver requirement.
pub fn semver_req(c: &str) -> Option<semver::VersionReq> {
    let c = c.trim();
    if c.is_empty() || c == "*" {
        return Some(semver::VersionReq::STAR);
    }
    let parts: Vec<String> = c
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.replace(".x", ".*")
                .replace(".X", ".*")
                .trim_start_matches('v')
                .to_string()
        })
        .collect();
    semver::VersionReq::parse(&parts.join(", ")).ok()
}

/// Resolves `spec.ref` of a GitRepository against `url`.
pub fn resolve(url: &str, git_ref: &Value, auth: &Auth, cache: &Path) -> Result<Resolved, String> {
    let (repo, _) = open(url, auth, cache)?;
    let s = |k: &str| {
        git_ref
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let not_found = |r: &str| clone_error(url, format!("couldn't find remote ref \"{r}\""));
    let (label, oid) = if let Some(commit) = s("commit") {
        let oid = Oid::from_str(commit).map_err(|e| clone_error(url, e.message()))?;
        repo.find_commit(oid)
            .map_err(|_| clone_error(url, format!("git commit '{commit}' not found")))?;
        (s("branch").map(String::from), oid)
    } else if let Some(name) = s("name") {
        (
            Some(name.to_string()),
            peel(&repo, name).ok_or_else(|| not_found(name))?,
        )
    } else if let Some(c) = s("semver") {
        let req = semver_req(c).ok_or_else(|| format!("failed to checkout and determine revision: semver parse error: improper constraint: {c}"))?;
        let names = repo
            .tag_names(None)
            .map_err(|e| clone_error(url, e.message()))?;
        let best = names
            .iter()
            .flatten()
            .filter_map(|t| {
                parse_semver(t)
                    .filter(|v| req.matches(v))
                    .map(|v| (v, t.to_string()))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .ok_or_else(|| {
                format!("failed to checkout and determine revision: no match found for semver: {c}")
            })?;
        let oid =
            peel(&repo, &format!("refs/tags/{}", best.1)).ok_or_else(|| not_found(&best.1))?;
        (Some(best.1), oid)
    } else if let Some(tag) = s("tag") {
        (
            Some(tag.to_string()),
            peel(&repo, &format!("refs/tags/{tag}"))
                .ok_or_else(|| not_found(&format!("refs/tags/{tag}")))?,
        )
    } else {
        let branch = s("branch").unwrap_or("master");
        let oid = peel(&repo, &format!("refs/heads/{branch}"))
            .or_else(|| peel(&repo, &format!("refs/remotes/origin/{branch}")))
            .ok_or_else(|| not_found(&format!("refs/heads/{branch}")))?;
        (Some(branch.to_string()), oid)
    };
    let commit = oid.to_string();
    let revision = match label {
        Some(l) => format!("{l}@sha1:{commit}"),
        None => format!("sha1:{commit}"),
    };
    Ok(Resolved {
        revision,
        commit,
        repo: repo.path().to_path_buf(),
    })
}

/// Files (path relative to `dir`, contents) under `dir` in the commit, recursively.
pub fn files(r: &Resolved, dir: &str) -> Result<Vec<(String, String)>, String> {
    let repo = Repository::open(&r.repo).map_err(|e| e.message().to_string())?;
    let commit = repo
        .find_commit(Oid::from_str(&r.commit).map_err(|e| e.message().to_string())?)
        .map_err(|e| e.message().to_string())?;
    let root = commit.tree().map_err(|e| e.message().to_string())?;
    let dir = dir.trim_start_matches("./").trim_matches('/');
    let tree = if dir.is_empty() || dir == "." {
        root
    } else {
        let entry = root.get_path(Path::new(dir)).map_err(|_| {
            format!("kustomization path not found: stat {dir}: no such file or directory")
        })?;
        repo.find_tree(entry.id())
            .map_err(|_| format!("kustomization path not found: {dir} is not a directory"))?
    };
    let mut out = vec![];
    tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob)
            && let Ok(blob) = repo.find_blob(entry.id())
        {
            let name = format!("{parent}{}", entry.name().unwrap_or_default());
            out.push((name, String::from_utf8_lossy(blob.content()).into_owned()));
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(|e| e.message().to_string())?;
    Ok(out)
}
