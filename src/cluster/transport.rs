//! Why a request never reached the API server, in words that name the
//! server and the cause (as kubectl words them), from the transport error's
//! cause chain: "client error (Connect)" alone says nothing.

use std::error::Error;
use std::sync::OnceLock;

/// The API server's `host:port`, set once the client is built.
static SERVER: OnceLock<String> = OnceLock::new();
/// The proxy's `host:port` (never its credentials), when one is used.
static PROXY: OnceLock<String> = OnceLock::new();

/// Records the proxy the client goes through, for error messages.
pub fn set_proxy(uri: &http::Uri) {
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(80);
    let _ = PROXY.set(format!("{host}:{port}"));
}

/// Records the server the client talks to, for error messages.
pub fn set_server(uri: &http::Uri) {
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let with_port = match uri.port_u16() {
        Some(_) => authority,
        None if uri.scheme_str() == Some("http") => format!("{authority}:80"),
        None => format!("{authority}:443"),
    };
    let _ = SERVER.set(with_port);
}

fn server() -> &'static str {
    SERVER.get().map(String::as_str).unwrap_or("(unknown)")
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens at the address.
    Refused,
    /// The host name did not resolve.
    Dns(String),
    /// The TLS handshake failed; the text says which check.
    Tls(String),
    /// The proxy refused or failed the tunnel (credentials, status,
    /// unreachable), with its messages.
    Proxy(String),
    /// Anything else (reset, timeout), with the innermost messages.
    Other(String),
}

impl Cause {
    /// Failures that sending again cannot fix: a bad certificate or an
    /// unknown host name.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Tls(_) | Self::Dns(_) | Self::Proxy(_))
    }
}

/// Classifies a transport error by walking its causes.
pub fn classify(err: &(dyn Error + 'static)) -> Cause {
    let mut current: Option<&(dyn Error + 'static)> = Some(err);
    let mut dns = false;
    while let Some(e) = current {
        let message = e.to_string();
        if message.starts_with("dns error") {
            dns = true;
        }
        // hyper-util's tunnel error is not exported; its text is stable.
        if message.starts_with("tunnel error: ") {
            return Cause::Proxy(with_causes(e));
        }
        // An io::Error hides what it wraps from `source()`: look inside,
        // through any io::Errors wrapped in io::Errors.
        let mut inner: Option<&(dyn Error + 'static)> = Some(e);
        while let Some(layer) = inner {
            if let Some(tls) = layer.downcast_ref::<rustls::Error>() {
                return Cause::Tls(describe_tls(tls));
            }
            let Some(io) = layer.downcast_ref::<std::io::Error>() else {
                break;
            };
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return Cause::Refused;
            }
            inner = io.get_ref().map(|i| i as &(dyn Error + 'static));
        }
        current = e.source();
    }
    let text = with_causes(err);
    if dns {
        Cause::Dns(text)
    } else {
        Cause::Other(text)
    }
}

/// The error and its causes, each message once.
pub fn with_causes(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        let message = inner.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = inner.source();
    }
    text
}

fn describe_tls(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => "x509: certificate signed by unknown authority (set the cluster's certificate-authority in kubeconfig, or --certificate-authority)".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("x509: certificate is not valid for the server's name ({cert:?}); check the server address or --tls-server-name")
            }
            C::Expired | C::ExpiredContext { .. } => {
                "x509: certificate has expired or is not yet valid".into()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "x509: certificate is not yet valid".into()
            }
            C::Revoked => "x509: certificate has been revoked".into(),
            C::BadSignature => "x509: certificate has a bad signature".into(),
            other => format!("x509: invalid certificate: {other:?}"),
        },
        other => format!("tls: {other}"),
    }
}

/// The sentence for a request that did not reach the server.
pub fn describe(err: &(dyn Error + 'static)) -> String {
    let server = server();
    match classify(err) {
        Cause::Refused => format!(
            "The connection to the server {server} was refused - did you specify the right host or port?"
        ),
        Cause::Dns(text) => format!("unable to resolve the server host of {server}: {text}"),
        Cause::Tls(text) => format!("unable to connect to the server {server}: {text}"),
        Cause::Proxy(text) => {
            let proxy = PROXY.get().map(String::as_str).unwrap_or("(unknown)");
            format!("unable to reach the server {server} through the proxy {proxy}: {text}")
        }
        Cause::Other(text) => format!("unable to connect to the server {server}: {text}"),
    }
}

/// [`describe`] for a kube error from the transport (`HyperError` or
/// `Service`); `None` for other kube errors.
pub fn describe_kube(err: &kube::Error) -> Option<String> {
    match err {
        kube::Error::HyperError(e) => Some(describe(e)),
        kube::Error::Service(e) => Some(describe(e.as_ref())),
        _ => None,
    }
}

/// Whether a kube transport error cannot be fixed by sending again.
pub fn is_permanent(err: &kube::Error) -> bool {
    match err {
        kube::Error::HyperError(e) => classify(e).is_permanent(),
        kube::Error::Service(e) => classify(e.as_ref()).is_permanent(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_found_in_the_chain() {
        let refused = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(&refused), Cause::Refused);
        let tls = Wrapper(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        match classify(&tls) {
            Cause::Tls(text) => {
                assert!(text.starts_with("x509: certificate signed by unknown authority"))
            }
            other => panic!("{other:?}"),
        }
        assert!(classify(&tls).is_permanent());
    }
}
