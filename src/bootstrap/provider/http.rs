//! A small JSON-over-HTTPS client for provider APIs, on the hyper and
//! rustls stack the Kubernetes client already uses.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::ProviderError;

pub struct JsonApi {
    base: String,
    /// Header name and value carrying the token; never printed.
    auth: (&'static str, String),
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl JsonApi {
    /// `base` ends with `/`; paths are appended without their leading `/`.
    pub fn new(base: &str, auth: (&'static str, String)) -> Result<Self, ProviderError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| ProviderError::Unreachable {
                url: base.to_string(),
                message: format!("no root certificates: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.to_string(),
            auth,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Like [`JsonApi::new`], also trusting the certificates of the PEM
    /// bundle `ca_pem` (`--ca-file`) besides the system roots.
    pub fn with_ca(
        base: &str,
        auth: (&'static str, String),
        ca_pem: &[u8],
    ) -> Result<Self, ProviderError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_with_ca(ca_pem)?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.to_string(),
            auth,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends `request` (an absolute URL) as built, with the token header;
    /// any status is returned with its headers and raw body.
    pub async fn send_request(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Bytes>, ProviderError> {
        let url = request.uri().to_string();
        let unreachable = |message: String| ProviderError::Unreachable {
            url: url.clone(),
            message,
        };
        let (mut parts, body) = request.into_parts();
        let auth = http::HeaderValue::from_str(&self.auth.1)
            .map_err(|_| unreachable("the token is not a valid header value".into()))?;
        parts.headers.insert(self.auth.0, auth);
        let request = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, bytes))
    }

    /// Sends a request; any status is returned with the parsed body
    /// (`Null` when empty or not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ProviderError> {
        let url = format!("{}{}", self.base, path.trim_start_matches('/'));
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header("User-Agent", "flux-rs")
            .header("Accept", accept.unwrap_or("application/json"))
            .header(self.auth.0, &self.auth.1);
        let payload = match body {
            Some(body) => {
                request = request.header("Content-Type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| ProviderError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let response =
            self.client
                .request(request)
                .await
                .map_err(|e| ProviderError::Unreachable {
                    url: url.clone(),
                    message: e.to_string(),
                })?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ProviderError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?
            .to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

/// A TLS client configuration trusting the system roots and the
/// certificates of the PEM bundle `ca_pem` (`--ca-file`).
fn tls_with_ca(ca_pem: &[u8]) -> Result<rustls::ClientConfig, ProviderError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let invalid = |message: String| ProviderError::CaFile { message };
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| invalid(e.to_string()))?;
        roots.add(cert).map_err(|e| invalid(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(invalid("no PEM certificate found".into()));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
