//! Which HTTP proxy a connection goes through, decided one way for the
//! Kubernetes API, Git remotes and provider APIs.
//!
//! The rules are those of Go's `ProxyFromEnvironment`, which kubectl and
//! upstream flux use, so one environment means the same thing to both:
//! `HTTPS_PROXY` for https URLs and `HTTP_PROXY` for http ones (upper case
//! first), `NO_PROXY` entries as hosts, `.domains`, IPs, CIDRs or `*`, each
//! with an optional port, and loopback destinations never proxied.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

/// The proxy for a request to `url`, as the environment asks; `None` means
/// a direct connection. A value without a scheme means `http://`.
pub fn for_url(url: &url::Url) -> Option<url::Url> {
    from_settings(url, settings())
}

const VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

static SETTINGS: OnceLock<Settings> = OnceLock::new();

fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::from_env)
}

/// Reads the proxy variables once and removes them from this process's
/// environment, so that libraries with other rules do not act on them: the
/// Kubernetes client library would send every server, loopback included,
/// through `HTTPS_PROXY`, and fails on a `NO_PROXY` with an empty entry
/// (`a,b,`). Child processes get them back through [`child_env`].
///
/// # Safety
/// No other thread may exist yet (it changes the process environment).
pub unsafe fn take_from_env() {
    settings();
    for name in VARIABLES {
        // SAFETY: the caller guarantees a single thread.
        unsafe { std::env::remove_var(name) };
    }
}

/// The proxy variables as the process started with them, for credential
/// plugins and other children that reach the network themselves.
pub fn child_env() -> &'static [(String, String)] {
    &settings().raw
}

/// The proxy environment variables, as read at one moment.
#[derive(Default)]
struct Settings {
    http: Option<String>,
    https: Option<String>,
    no_proxy: String,
    raw: Vec<(String, String)>,
}

impl Settings {
    fn from_env() -> Self {
        let first = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        Settings {
            http: first(["HTTP_PROXY", "http_proxy"]),
            https: first(["HTTPS_PROXY", "https_proxy"]),
            no_proxy: first(["NO_PROXY", "no_proxy"]).unwrap_or_default(),
            raw: VARIABLES
                .iter()
                .filter_map(|n| Some((n.to_string(), std::env::var(n).ok()?)))
                .collect(),
        }
    }
}

fn from_settings(url: &url::Url, settings: &Settings) -> Option<url::Url> {
    let proxy = match url.scheme() {
        "https" => settings.https.as_deref()?,
        "http" => settings.http.as_deref()?,
        _ => return None,
    };
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    if is_loopback(host) || excluded(&settings.no_proxy, host, port) {
        return None;
    }
    let proxy = if proxy.contains("://") {
        proxy.to_string()
    } else {
        format!("http://{proxy}")
    };
    url::Url::parse(&proxy).ok()
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a `NO_PROXY` list covers `host:port`.
fn excluded(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                return ip.is_some_and(|ip| net.contains(&ip));
            }
            let (pattern, entry_port) = split_port(&entry);
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            if let Ok(entry_ip) = pattern.parse::<IpAddr>() {
                return ip == Some(entry_ip);
            }
            // `*.example.com` and `.example.com` cover subdomains only;
            // `example.com` covers itself too.
            let pattern = pattern.trim_start_matches('*');
            match pattern.strip_prefix('.') {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => host == pattern || host.ends_with(&format!(".{pattern}")),
            }
        })
}

/// Splits `host:port` (or `[v6]:port`); a bare IPv6 address has no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// A connector for hyper clients that tunnels through the environment's
/// proxy (HTTP CONNECT) where [`for_url`] says so, and connects directly
/// otherwise.
#[derive(Clone)]
pub struct Connector {
    direct: HttpConnector,
}

impl Connector {
    pub fn new() -> Self {
        let mut direct = HttpConnector::new();
        direct.enforce_http(false);
        Connector { direct }
    }
}

impl Default for Connector {
    fn default() -> Self {
        Self::new()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<http::Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let mut direct = self.direct.clone();
        let proxy = url::Url::parse(&dst.to_string())
            .ok()
            .and_then(|url| for_url(&url));
        Box::pin(async move {
            let Some(proxy) = proxy else {
                return direct.call(dst).await.map_err(Into::into);
            };
            let mut tunnel = Tunnel::new(without_userinfo(&proxy)?, direct);
            if let Some(auth) = basic_auth(&proxy) {
                tunnel = tunnel.with_auth(auth);
            }
            tunnel.call(dst).await.map_err(Into::into)
        })
    }
}

fn without_userinfo(proxy: &url::Url) -> Result<http::Uri, BoxError> {
    let host = proxy.host_str().unwrap_or_default();
    let port = proxy.port_or_known_default().unwrap_or(80);
    Ok(format!("{}://{host}:{port}/", proxy.scheme()).parse()?)
}

/// `Basic` authorization from a URL's user info (percent-decoded, as Go
/// does): a proxy's `Proxy-Authorization`, or a Git remote's credentials.
/// Marked sensitive so it never reaches debug output.
pub(crate) fn basic_auth(proxy: &url::Url) -> Option<http::HeaderValue> {
    use base64::Engine;
    if proxy.username().is_empty() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(proxy.username()),
        decode(proxy.password().unwrap_or_default())
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(no_proxy: &str) -> Settings {
        Settings {
            http: Some("proxy.corp:3128".into()),
            https: Some("http://user:p%40ss@proxy.corp:3129".into()),
            no_proxy: no_proxy.into(),
            raw: Vec::new(),
        }
    }

    fn proxy_of(url: &str, no_proxy: &str) -> Option<String> {
        from_settings(&url::Url::parse(url).unwrap(), &settings(no_proxy)).map(|u| u.to_string())
    }

    #[test]
    fn the_scheme_picks_the_variable_and_a_bare_host_means_http() {
        assert_eq!(
            proxy_of("https://api.example.com:6443", "").as_deref(),
            Some("http://user:p%40ss@proxy.corp:3129/")
        );
        assert_eq!(
            proxy_of("http://git.example.com/repo.git", "").as_deref(),
            Some("http://proxy.corp:3128/")
        );
        assert_eq!(proxy_of("ssh://git.example.com/repo.git", ""), None);
    }

    #[test]
    fn loopback_destinations_are_never_proxied() {
        for url in [
            "https://127.0.0.1:6443",
            "https://localhost:6443",
            "https://[::1]:6443",
            "http://127.3.4.5/",
        ] {
            assert_eq!(proxy_of(url, ""), None, "{url}");
        }
    }

    #[test]
    fn no_proxy_entries_match_as_go_reads_them() {
        let cases = [
            ("https://api.example.com", "example.com", true),
            ("https://example.com", "example.com", true),
            ("https://example.com", ".example.com", false),
            ("https://api.example.com", ".example.com", true),
            ("https://api.example.com", "*.example.com", true),
            ("https://notexample.com", "example.com", false),
            ("https://10.1.2.3:6443", "10.0.0.0/8", true),
            ("https://10.1.2.3:6443", "10.1.2.3", true),
            ("https://10.1.2.3:6443", "10.1.2.3:443", false),
            ("https://api.example.com:6443", "api.example.com:6443", true),
            ("https://api.example.com", "api.example.com:6443", false),
            ("https://[fd00::1]:6443", "fd00::/8", true),
            ("https://anything.test", " other.test , * ", true),
            ("https://API.Example.com", "example.COM", true),
        ];
        for (url, no_proxy, bypassed) in cases {
            assert_eq!(
                proxy_of(url, no_proxy).is_none(),
                bypassed,
                "{url} with NO_PROXY={no_proxy}"
            );
        }
    }

    #[test]
    fn proxy_credentials_become_a_sensitive_header_and_leave_the_uri() {
        let proxy = url::Url::parse("http://user:p%40ss@proxy.corp:3129").unwrap();
        let auth = basic_auth(&proxy).unwrap();
        assert!(auth.is_sensitive());
        // base64("user:p@ss")
        assert_eq!(auth, "Basic dXNlcjpwQHNz");
        assert_eq!(
            without_userinfo(&proxy).unwrap().to_string(),
            "http://proxy.corp:3129/"
        );
    }
}
