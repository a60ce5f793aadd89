//! A small JSON-over-HTTPS client for provider APIs, on the hyper and
//! rustls stack the Kubernetes client already uses.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use std::sync::Arc;

use super::ProviderError;
use crate::proxy;

pub struct JsonApi {
    base: String,
    /// Header name and value carrying the token; never printed.
    auth: (&'static str, String),
    client: Client<hyper_rustls::HttpsConnector<proxy::Connector>, Full<Bytes>>,
}

/// Builds the HTTPS (or plain HTTP) connector for provider APIs: the
/// system's root certificates, plus the PEM bundle of `--ca-file` if given,
/// through the environment's proxy where it applies.
pub fn https_connector(
    ca_pem: Option<&str>,
) -> Result<hyper_rustls::HttpsConnector<proxy::Connector>, ProviderError> {
    let mut roots = native_roots();
    if let Some(pem) = ca_pem {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| ProviderError::CaFile {
                message: format!("invalid PEM: {e}"),
            })?;
            roots.add(cert).map_err(|e| ProviderError::CaFile {
                message: format!("invalid certificate: {e}"),
            })?;
            found += 1;
        }
        if found == 0 {
            return Err(ProviderError::CaFile {
                message: "no PEM certificate found".to_string(),
            });
        }
    }
    if roots.is_empty() {
        return Err(ProviderError::CaFile {
            message: "no root certificates found on this system, and no --ca-file given"
                .to_string(),
        });
    }
    connector_trusting(roots).map_err(|e| ProviderError::CaFile {
        message: e.to_string(),
    })
}

/// The system's root certificates; empty when none can be read.
pub fn native_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

/// An HTTPS (or plain HTTP) connector that trusts `roots`, through the
/// environment's proxy where it applies.
pub fn connector_trusting(
    roots: rustls::RootCertStore,
) -> Result<hyper_rustls::HttpsConnector<proxy::Connector>, rustls::Error> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(proxy::Connector::new()))
}

impl JsonApi {
    /// `base` ends with `/`; paths are appended without their leading `/`.
    pub fn new(base: &str, auth: (&'static str, String)) -> Result<Self, ProviderError> {
        Self::with_ca(base, auth, None)
    }

    /// As [`Self::new`], also trusting the PEM bundle `ca_pem` (`--ca-file`).
    pub fn with_ca(
        base: &str,
        auth: (&'static str, String),
        ca_pem: Option<&str>,
    ) -> Result<Self, ProviderError> {
        let connector = https_connector(ca_pem)?;
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
                    message: crate::error::error_chain(&e),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_bundle_names_ca_file() {
        for pem in [
            "",
            "not a certificate",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            let error = https_connector(Some(pem))
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("unable to use --ca-file: "), "{error}");
        }
    }
}
