//! `oci://` artifact URLs, parsed the way go-containerregistry's
//! `name.ParseReference` (non-strict) does, so messages name the registry
//! and repository exactly as upstream prints them.

use std::net::Ipv4Addr;

const DEFAULT_REGISTRY: &str = "index.docker.io";
const DEFAULT_TAG: &str = "latest";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("URL must be in format 'oci://<domain>/<org>/<repo>'")]
    NotOci,
    #[error("'{url}' invalid URL: could not parse reference: {rest}")]
    Invalid { url: String, rest: String },
}

/// A parsed artifact reference: a tag or a digest in one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    pub registry: String,
    pub repository: String,
    /// The tag (`latest` when neither a tag nor a digest was given).
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// What followed `oci://`, as given.
    pub given: String,
}

impl ArtifactRef {
    /// Parses `oci://<registry>/<repository>[:tag|@sha256:…]`.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url.strip_prefix("oci://").ok_or(UrlError::NotOci)?;
        let invalid = || UrlError::Invalid {
            url: url.to_string(),
            rest: rest.to_string(),
        };
        let (base, digest) = match rest.split_once('@') {
            Some((base, digest)) => {
                let hex = digest.strip_prefix("sha256:").ok_or_else(invalid)?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid());
                }
                (base, Some(digest.to_string()))
            }
            None => (rest, None),
        };
        // A `:` after the last `/` starts the tag (before it, a port).
        let (name, tag) = match base.rfind(':') {
            Some(i) if !base[i..].contains('/') => (&base[..i], Some(&base[i + 1..])),
            _ => (base, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(invalid());
        }
        let (registry, repository) = split_registry(name).ok_or_else(invalid)?;
        if !valid_repository(&repository) {
            return Err(invalid());
        }
        let tag = match (&digest, tag) {
            // A tag beside a digest is dropped, as upstream does.
            (Some(_), _) => None,
            (None, Some(tag)) => Some(tag.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
            given: rest.to_string(),
        })
    }

    /// `<registry>/<repository>`.
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `<registry>/<repository>@<digest>`.
    pub fn digest_name(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository_name())
    }

    /// The same repository under another tag.
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_string()),
            digest: None,
            given: format!("{}:{tag}", self.repository_name()),
            ..self.clone()
        }
    }

    /// Registries upstream talks plain HTTP to when HTTPS does not answer:
    /// loopback names and addresses and RFC 1918 networks.
    pub fn is_local(&self) -> bool {
        let host = &self.registry;
        let without_port = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
            _ => host.as_str(),
        };
        host.starts_with("localhost:")
            || without_port.ends_with(".localhost")
            || host.contains("127.0.0.1")
            || host.contains("::1")
            || without_port
                .parse::<Ipv4Addr>()
                .is_ok_and(|ip| ip.is_private())
    }
}

fn split_registry(name: &str) -> Option<(String, String)> {
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
    };
    if registry.is_empty() || registry.chars().any(|c| c.is_whitespace() || c == '@') {
        return None;
    }
    let registry = if registry == "docker.io" {
        DEFAULT_REGISTRY.to_string()
    } else {
        registry
    };
    let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    Some((registry, repository))
}

/// A tag as OCI allows it: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

fn valid_repository(repo: &str) -> bool {
    (2..=255).contains(&repo.len())
        && repo
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-./".contains(&b))
        && repo.split('/').all(|part| !part.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> ArtifactRef {
        ArtifactRef::parse(url).unwrap()
    }

    #[test]
    fn tags_digests_and_defaults() {
        let r = parse("oci://ghcr.io/org/app:v1");
        assert_eq!(r.repository_name(), "ghcr.io/org/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        let r = parse("oci://localhost:5000/app");
        assert_eq!(
            (r.registry.as_str(), r.tag.as_deref()),
            ("localhost:5000", Some("latest"))
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("oci://ghcr.io/org/app:v1@{digest}"));
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(digest.as_str())));
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        assert_eq!(
            parse("oci://docker.io/app").repository_name(),
            "index.docker.io/library/app"
        );
        assert_eq!(
            parse("oci://org/app").repository_name(),
            "index.docker.io/org/app"
        );
    }

    #[test]
    fn bad_urls_are_rejected_with_upstream_messages() {
        assert_eq!(
            ArtifactRef::parse("ghcr.io/org/app")
                .unwrap_err()
                .to_string(),
            "URL must be in format 'oci://<domain>/<org>/<repo>'"
        );
        assert_eq!(
            ArtifactRef::parse("oci://ghcr.io/Org/App")
                .unwrap_err()
                .to_string(),
            "'oci://ghcr.io/Org/App' invalid URL: could not parse reference: ghcr.io/Org/App"
        );
        assert!(ArtifactRef::parse("oci://ghcr.io/org/app@sha256:12").is_err());
        assert!(ArtifactRef::parse("oci://ghcr.io/org/app:-x").is_err());
        assert!(ArtifactRef::parse("oci://").is_err());
    }

    #[test]
    fn local_registries() {
        for local in [
            "localhost:5000",
            "reg.localhost",
            "127.0.0.1:5000",
            "[::1]:5000",
            "10.1.2.3:80",
            "192.168.0.1",
        ] {
            assert!(parse(&format!("oci://{local}/app")).is_local(), "{local}");
        }
        for remote in ["ghcr.io", "8.8.8.8:5000", "localhost.example.com"] {
            assert!(
                !parse(&format!("oci://{remote}/app")).is_local(),
                "{remote}"
            );
        }
    }
}
