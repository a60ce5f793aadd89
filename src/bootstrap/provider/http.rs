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
