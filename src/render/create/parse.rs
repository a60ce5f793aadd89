//! Reference-string parsers shared by the `create` subcommands.

use std::path::Component;

use super::{CreateError, invalid};

/// A `<kind>/<name>[.<namespace>]` reference; `kind` is empty when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KindName {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// `kind/name` when `s` has exactly one `/`, else the whole of `s` is the name.
pub fn parse_kind_name(s: &str) -> KindName {
    match s.split('/').collect::<Vec<_>>().as_slice() {
        [kind, name] => KindName {
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: None,
        },
        _ => KindName {
            kind: String::new(),
            name: s.to_string(),
            namespace: None,
        },
    }
}

/// As [`parse_kind_name`], then a namespace after the last `.` of the name.
pub fn parse_kind_name_namespace(s: &str) -> KindName {
    let mut parsed = parse_kind_name(s);
    if let Some((name, namespace)) = parsed.name.rsplit_once('.') {
        parsed.namespace = Some(namespace.to_string());
        parsed.name = name.to_string();
    }
    parsed
}

/// A `--depends-on` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependsOn {
    pub name: String,
    pub namespace: Option<String>,
    /// The `@<expr>` suffix, for APIs that take a readiness expression.
    pub ready_expr: Option<String>,
}

/// `[<namespace>/]<name>[@<expr>]`: split on the first `/`.
pub fn parse_depends_on(s: &str) -> DependsOn {
    let (reference, ready_expr) = match s.split_once('@') {
        Some((r, e)) => (r, Some(e.to_string())),
        None => (s, None),
    };
    match reference.split_once('/') {
        Some((namespace, name)) => DependsOn {
            name: name.to_string(),
            namespace: Some(namespace.to_string()),
            ready_expr,
        },
        None => DependsOn {
            name: reference.to_string(),
            namespace: None,
            ready_expr,
        },
    }
}

/// Normalises a `--path` into `./<clean relative path>`: `..` can never
/// leave the root, an absolute path becomes relative (a lexical clean).
pub fn safe_relative_path(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in std::path::Path::new(s.trim()).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    format!("./{}", parts.join("/"))
}

/// Why a URL does not parse, worded as Go's `url.Parse` words the common
/// cases (`parse "<url>": <reason>`), so messages match upstream's.
pub fn url_parse_error(raw: &str, err: url::ParseError) -> String {
    let reason = match err {
        url::ParseError::RelativeUrlWithoutBase
            if raw
                .split('/')
                .next()
                .is_some_and(|first| first.contains(':')) =>
        {
            "first path segment in URL cannot contain colon".to_string()
        }
        url::ParseError::InvalidPort => {
            let authority = raw
                .split_once("://")
                .map_or(raw, |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let after_host = match host_port.split_once(']') {
                Some((_, rest)) => rest,
                None => host_port.find(':').map_or("", |i| &host_port[i..]),
            };
            format!("invalid port {after_host:?} after host")
        }
        other => other.to_string(),
    };
    format!("parse {:?}: {reason}", redact_password(raw))
}

/// `raw` with the password of its user info replaced by `xxxxx`, as Go's
/// `URL.Redacted` writes it: an error about a URL must not print a secret.
fn redact_password(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:xxxxx@{host}{path}"),
            None => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

/// A `--health-check` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

const HEALTH_CHECK_KINDS: &[&str] = &["Deployment", "DaemonSet", "StatefulSet", "HelmRelease"];

/// `<Kind>/<name>.<namespace>` with a workload kind.
pub fn parse_health_check(s: &str) -> Result<HealthCheck, CreateError> {
    let parts: Vec<&str> = s.split('/').collect();
    let [kind, rest] = parts.as_slice() else {
        return Err(invalid(format!(
            "invalid health check '{s}' must be in the format 'kind/name.namespace' [{}]",
            parts.join(" ")
        )));
    };
    if !HEALTH_CHECK_KINDS.contains(kind) {
        return Err(invalid(format!(
            "invalid health check kind '{kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
        )));
    }
    let name_ns: Vec<&str> = rest.split('.').collect();
    let [name, namespace] = name_ns.as_slice() else {
        return Err(invalid(format!(
            "invalid health check '{s}' must be in the format 'kind/name.namespace'"
        )));
    };
    Ok(HealthCheck {
        api_version: (*kind == "HelmRelease").then(|| "helm.toolkit.fluxcd.io/v2".to_string()),
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: namespace.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_errors_never_print_the_password() {
        let raw = "https://user:s3cret@exa mple.com/repo";
        let err = url::Url::parse(raw).unwrap_err();
        assert_eq!(
            url_parse_error(raw, err),
            "parse \"https://user:xxxxx@exa mple.com/repo\": invalid international domain name"
        );
        assert_eq!(
            redact_password("https://user@host/p"),
            "https://user@host/p"
        );
        assert_eq!(
            redact_password("https://a:b@c@host/p?q=@"),
            "https://a:xxxxx@host/p?q=@"
        );
        assert_eq!(
            redact_password("git@github.com:org/repo"),
            "git@github.com:org/repo"
        );
    }

    #[test]
    fn kind_name_needs_exactly_one_slash() {
        assert_eq!(
            parse_kind_name("GitRepository/podinfo"),
            KindName {
                kind: "GitRepository".into(),
                name: "podinfo".into(),
                namespace: None
            }
        );
        assert_eq!(parse_kind_name("a/b/c").kind, "");
        assert_eq!(parse_kind_name("a/b/c").name, "a/b/c");
        assert_eq!(parse_kind_name("podinfo").name, "podinfo");
    }

    #[test]
    fn namespace_is_after_the_last_dot() {
        let parsed = parse_kind_name_namespace("HelmRepository/my.repo.flux-system");
        assert_eq!(parsed.kind, "HelmRepository");
        assert_eq!(parsed.name, "my.repo");
        assert_eq!(parsed.namespace.as_deref(), Some("flux-system"));
        assert_eq!(parse_kind_name_namespace("podinfo").namespace, None);
    }

    #[test]
    fn depends_on_splits_on_first_slash_and_keeps_expression_apart() {
        assert_eq!(
            parse_depends_on("infra/controllers@ready"),
            DependsOn {
                name: "controllers".into(),
                namespace: Some("infra".into()),
                ready_expr: Some("ready".into())
            }
        );
        assert_eq!(parse_depends_on("a/b/c").namespace.as_deref(), Some("a"));
        assert_eq!(parse_depends_on("a/b/c").name, "b/c");
        assert_eq!(parse_depends_on("apps").namespace, None);
    }

    #[test]
    fn paths_stay_inside_the_root() {
        assert_eq!(safe_relative_path("./"), "./");
        assert_eq!(safe_relative_path(""), "./");
        assert_eq!(safe_relative_path("."), "./");
        assert_eq!(safe_relative_path("deploy/"), "./deploy");
        assert_eq!(safe_relative_path("../x"), "./x");
        assert_eq!(safe_relative_path("/abs/p"), "./abs/p");
        assert_eq!(safe_relative_path(" ./a//b/../c "), "./a/c");
    }

    #[test]
    fn url_errors_read_like_go() {
        let err = |raw: &str| url_parse_error(raw, url::Url::parse(raw).unwrap_err());
        assert_eq!(
            err("git@github.com:org/repo"),
            "parse \"git@github.com:org/repo\": first path segment in URL cannot contain colon"
        );
        assert_eq!(
            err("ssh://git@github.com:org/repo"),
            "parse \"ssh://git@github.com:org/repo\": invalid port \":org\" after host"
        );
    }

    #[test]
    fn health_checks_need_kind_name_and_namespace() {
        let hc = parse_health_check("HelmRelease/podinfo.apps").unwrap();
        assert_eq!(hc.api_version.as_deref(), Some("helm.toolkit.fluxcd.io/v2"));
        assert_eq!(
            (hc.name.as_str(), hc.namespace.as_str()),
            ("podinfo", "apps")
        );
        assert_eq!(
            parse_health_check("Deployment").unwrap_err().to_string(),
            "invalid health check 'Deployment' must be in the format 'kind/name.namespace' [Deployment]"
        );
        assert_eq!(
            parse_health_check("Pod/x.y").unwrap_err().to_string(),
            "invalid health check kind 'Pod' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
        );
        assert_eq!(
            parse_health_check("Deployment/x").unwrap_err().to_string(),
            "invalid health check 'Deployment/x' must be in the format 'kind/name.namespace'"
        );
    }
}
