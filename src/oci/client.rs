//! A registry session for one command: oci-client does the protocol
//! (ping, token exchange, uploads, manifests, tags); this picks the scheme
//! the way upstream does and keeps the credentials.

use std::sync::OnceLock;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::creds::Login;
use super::reference::ArtifactRef;
use crate::error::error_chain;

const USER_AGENT: &str = "flux/v2";

/// A registry failure, described with its causes (reqwest hides the
/// connection error in its source chain).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RegistryError {
    message: String,
    /// A network failure or a status upstream's transport retries.
    retryable: bool,
}

impl RegistryError {
    fn new(message: String) -> Self {
        Self {
            message,
            retryable: false,
        }
    }
}

impl From<OciDistributionError> for RegistryError {
    fn from(err: OciDistributionError) -> Self {
        let retryable = match &err {
            // Timeouts and failures mid-request (reset, EOF); not a refused
            // connection or a TLS handshake, which the next try repeats.
            OciDistributionError::RequestError(e) => {
                e.is_timeout() || (!e.is_connect() && (e.is_request() || e.is_body()))
            }
            OciDistributionError::ServerError { code, .. } => {
                matches!(code, 408 | 500 | 502 | 503 | 504)
            }
            _ => false,
        };
        // Registry bodies end with a newline; the message is one line.
        let mut message = error_chain(&err).trim_end().to_string();
        if let Some(hint) = certificate_hint(&message) {
            message.push_str(hint);
        }
        RegistryError { message, retryable }
    }
}

/// What to do about a certificate rustls refused (its words follow
/// "invalid peer certificate: ": a variant name, or a sentence for the
/// variants that carry context), in the terms Go's x509 errors use.
fn certificate_hint(message: &str) -> Option<&'static str> {
    let (_, reason) = message.split_once("invalid peer certificate: ")?;
    Some(if reason.starts_with("UnknownIssuer") {
        " (x509: certificate signed by unknown authority): add the registry's CA to the system trust store, or point SSL_CERT_FILE at a PEM file that holds it; --insecure-registry (push, pull, list, diff) skips verification"
    } else if ["NotValidForName", "certificate not valid for name"]
        .iter()
        .any(|p| reason.starts_with(p))
    {
        " (x509: certificate is not valid for this host name): use the name the registry's certificate was issued for"
    } else if [
        "Expired",
        "NotValidYet",
        "certificate expired",
        "certificate not valid yet",
    ]
    .iter()
    .any(|p| reason.starts_with(p))
    {
        " (x509: certificate has expired or is not yet valid): renew the registry's certificate or check the clock"
    } else {
        " (x509: the registry's certificate was refused)"
    })
}

/// The certificate authorities this process trusts besides the Mozilla
/// roots built in: the system store, with `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` honoured as Go's crypto/x509 honours them. Read once;
/// certificates rustls cannot parse are left out.
fn system_roots() -> &'static [Vec<u8>] {
    static ROOTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut check = rustls::RootCertStore::empty();
        rustls_native_certs::load_native_certs()
            .certs
            .into_iter()
            .filter(|cert| check.add(cert.clone()).is_ok())
            .map(|cert| cert.as_ref().to_vec())
            .collect()
    })
}

/// How each request of the session authenticates: what `auth` settled on.
#[derive(Clone)]
enum Authorization {
    None,
    Basic(String, String),
    Bearer(String),
}

/// Runs `op` again after retryable failures, as upstream's push transport
/// does: waits of 1 s growing threefold with up to 10 % jitter, each capped
/// at `cap`, at most 10 attempts in all. `on_retry` sees each failure that
/// is retried.
pub async fn with_retries<T, F, Fut>(
    cap: std::time::Duration,
    mut on_retry: impl FnMut(&RegistryError),
    mut op: F,
) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RegistryError>>,
{
    const ATTEMPTS: u32 = 10;
    let mut wait = std::time::Duration::from_secs(1);
    for attempt in 1.. {
        match op().await {
            Err(err) if err.retryable && attempt < ATTEMPTS && !cap.is_zero() => {
                on_retry(&err);
                let jitter = wait.mul_f64(rand::random::<f64>() * 0.1);
                tokio::time::sleep((wait + jitter).min(cap)).await;
                wait *= 3;
            }
            result => return result,
        }
    }
    unreachable!("the loop returns by its last attempt")
}

pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    /// For the requests oci-client has no streaming form of (blob uploads).
    http: reqwest::Client,
    scheme: &'static str,
    authorization: Authorization,
}

impl Registry {
    /// Connects to the registry of `artifact` for `operation`: pings it,
    /// exchanges the credentials for a token when the registry asks for one.
    /// Loopback and private registries, and any with `insecure`, fall back
    /// to plain HTTP when HTTPS does not answer; `insecure` also skips TLS
    /// verification.
    pub async fn connect(
        artifact: &ArtifactRef,
        login: &Login,
        insecure: bool,
        operation: RegistryOperation,
    ) -> Result<Self, RegistryError> {
        let auth = login.to_registry_auth();
        let reference = to_reference(artifact);
        let protocol = if insecure || artifact.is_local() {
            Self::probe(&reference, insecure).await?
        } else {
            ClientProtocol::Https
        };
        let mut session = Self::build(protocol, insecure, auth.clone())?;
        let token = session.client.auth(&reference, &auth, operation).await?;
        session.authorization = match (token, &auth) {
            (Some(token), _) => Authorization::Bearer(token),
            (None, RegistryAuth::Basic(user, password)) => {
                Authorization::Basic(user.clone(), password.clone())
            }
            (None, _) => Authorization::None,
        };
        Ok(session)
    }

    /// Whether the registry answers HTTPS (preferred) or only plain HTTP.
    /// Anonymous, on a client of its own: oci-client keeps the first
    /// credentials it sees per registry, and a bearer token would skip the
    /// request that tells the schemes apart.
    async fn probe(reference: &Reference, insecure: bool) -> Result<ClientProtocol, RegistryError> {
        let anonymous = RegistryAuth::Anonymous;
        let https = Self::build(ClientProtocol::Https, insecure, anonymous.clone())?;
        let https_error = match https
            .client
            .auth(reference, &anonymous, RegistryOperation::Pull)
            .await
        {
            // A refused certificate comes from an HTTPS server: falling
            // back to plain HTTP would hide why.
            Err(OciDistributionError::RequestError(err))
                if !error_chain(&err).contains("invalid peer certificate") =>
            {
                err
            }
            Err(err @ OciDistributionError::RequestError(_)) => return Err(err.into()),
            // Any answer, even a refusal, comes from an HTTPS server.
            _ => return Ok(ClientProtocol::Https),
        };
        let http = Self::build(ClientProtocol::Http, insecure, anonymous.clone())?;
        match http
            .client
            .auth(reference, &anonymous, RegistryOperation::Pull)
            .await
        {
            // Neither answers: the HTTPS error says more.
            Err(OciDistributionError::RequestError(_)) => {
                Err(OciDistributionError::RequestError(https_error).into())
            }
            _ => Ok(ClientProtocol::Http),
        }
    }

    fn build(
        protocol: ClientProtocol,
        insecure: bool,
        auth: RegistryAuth,
    ) -> Result<Self, RegistryError> {
        let scheme = match protocol {
            ClientProtocol::Http => "http",
            _ => "https",
        };
        let roots: &[Vec<u8>] = if insecure || scheme == "http" {
            &[]
        } else {
            system_roots()
        };
        let config = ClientConfig {
            protocol,
            accept_invalid_certificates: insecure,
            extra_root_certificates: roots
                .iter()
                .map(|der| Certificate {
                    encoding: CertificateEncoding::Der,
                    data: der.clone(),
                })
                .collect(),
            user_agent: USER_AGENT,
            // One request per blob: registries differ in chunk support.
            use_monolithic_push: true,
            ..Default::default()
        };
        let client = Client::try_from(config)?;
        let mut http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .danger_accept_invalid_certs(insecure);
        for der in roots {
            let cert =
                reqwest::Certificate::from_der(der).map_err(OciDistributionError::RequestError)?;
            http = http.add_root_certificate(cert);
        }
        let http = http.build().map_err(OciDistributionError::RequestError)?;
        Ok(Self {
            client,
            auth,
            http,
            scheme,
            authorization: Authorization::None,
        })
    }

    /// Uploads a small blob held in memory, in one request (oci-client
    /// does not ask first whether the registry has it).
    pub async fn push_blob(
        &self,
        artifact: &ArtifactRef,
        data: &[u8],
        digest: &str,
    ) -> Result<(), RegistryError> {
        let reference = to_reference(artifact);
        self.client.push_blob(&reference, data, digest).await?;
        Ok(())
    }

    /// Uploads the `size` bytes of `file` (from its start) as the blob
    /// `digest`, streamed, unless the registry has it already: a POST opens
    /// the upload, one PATCH streams the body, a PUT with the digest
    /// commits it (the sequence go-containerregistry uses).
    pub async fn push_blob_file(
        &self,
        artifact: &ArtifactRef,
        file: &std::fs::File,
        size: u64,
        digest: &str,
    ) -> Result<(), RegistryError> {
        let reference = to_reference(artifact);
        let base = format!(
            "{}://{}/v2/{}/",
            self.scheme,
            reference.resolve_registry(),
            reference.repository()
        );
        let blob_url = format!("{base}blobs/{digest}");
        let head = self.send(self.http.head(&blob_url)).await?;
        if head.status().is_success() {
            return Ok(());
        }
        let upload_url = format!("{base}blobs/uploads/");
        let started = self
            .send(self.http.post(&upload_url).header("Content-Length", "0"))
            .await?;
        let location = Self::location(&upload_url, started, http::StatusCode::ACCEPTED).await?;

        use tokio::io::AsyncSeekExt;
        let mut reader = tokio::fs::File::from_std(
            file.try_clone()
                .map_err(|e| RegistryError::new(format!("reading the layer: {e}")))?,
        );
        reader
            .seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(|e| RegistryError::new(format!("reading the layer: {e}")))?;
        let body = reqwest::Body::wrap_stream(file_chunks(reader, size));
        let patched = self
            .send(
                self.http
                    .patch(location.clone())
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Length", size.to_string())
                    .body(body),
            )
            .await?;
        let location =
            Self::location(location.as_str(), patched, http::StatusCode::ACCEPTED).await?;

        let mut commit = location;
        commit.query_pairs_mut().append_pair("digest", digest);
        let committed = self
            .send(self.http.put(commit.clone()).header("Content-Length", "0"))
            .await?;
        Self::location(commit.as_str(), committed, http::StatusCode::CREATED).await?;
        Ok(())
    }

    /// Sends `request` with the session's credentials.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RegistryError> {
        let request = match &self.authorization {
            Authorization::None => request,
            Authorization::Basic(user, password) => request.basic_auth(user, Some(password)),
            Authorization::Bearer(token) => request.bearer_auth(token),
        };
        Ok(request
            .send()
            .await
            .map_err(OciDistributionError::RequestError)?)
    }

    /// The `Location` of an answer with status `expected`, resolved against
    /// `url`; any other answer is a server error carrying its body.
    async fn location(
        url: &str,
        response: reqwest::Response,
        expected: http::StatusCode,
    ) -> Result<url::Url, RegistryError> {
        let status = response.status();
        if status != expected {
            let message = response.text().await.unwrap_or_default();
            return Err(OciDistributionError::ServerError {
                code: status.as_u16(),
                url: url.to_string(),
                message,
            }
            .into());
        }
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                RegistryError::new(format!("the registry answered {url} without a Location"))
            })?;
        url::Url::parse(url)
            .and_then(|base| base.join(location))
            .map_err(|e| RegistryError::new(format!("invalid upload location {location:?}: {e}")))
    }

    /// PUTs `manifest` under the tag or digest of `artifact`.
    pub async fn push_manifest(
        &self,
        artifact: &ArtifactRef,
        manifest: Vec<u8>,
        media_type: &str,
    ) -> Result<(), RegistryError> {
        let content_type = http::HeaderValue::from_str(media_type).map_err(|_| {
            RegistryError::new(format!("invalid manifest media type {media_type:?}"))
        })?;
        self.client
            .push_manifest_raw(&to_reference(artifact), manifest, content_type)
            .await?;
        Ok(())
    }

    /// The raw manifest of `artifact` and its digest.
    pub async fn pull_manifest(
        &self,
        artifact: &ArtifactRef,
    ) -> Result<(Vec<u8>, String), RegistryError> {
        let (raw, _) = self
            .client
            .pull_manifest_raw(
                &to_reference(artifact),
                &self.auth,
                &[
                    super::layout::MANIFEST_MEDIA_TYPE,
                    "application/vnd.docker.distribution.manifest.v2+json",
                ],
            )
            .await?;
        // The digest of the bytes received, whatever the registry says.
        let digest = super::layout::sha256_digest(&raw);
        Ok((raw, digest))
    }

    /// Streams the blob of `layer` into `file` (from its current offset);
    /// oci-client checks the bytes against the layer's digest as they come.
    pub async fn pull_blob_to(
        &self,
        artifact: &ArtifactRef,
        layer: &super::layout::PulledLayer,
        file: &std::fs::File,
    ) -> Result<(), RegistryError> {
        use tokio::io::AsyncWriteExt;
        let descriptor = oci_client::manifest::OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: layer.size,
            ..Default::default()
        };
        let io_error = |e: std::io::Error| RegistryError::new(format!("writing the layer: {e}"));
        let file = tokio::fs::File::from_std(file.try_clone().map_err(io_error)?);
        let mut out = tokio::io::BufWriter::with_capacity(1 << 16, file);
        self.client
            .pull_blob(&to_reference(artifact), &descriptor, &mut out)
            .await?;
        out.flush().await.map_err(io_error)?;
        Ok(())
    }

    /// Every tag of the repository, following pagination.
    pub async fn list_tags(&self, artifact: &ArtifactRef) -> Result<Vec<String>, RegistryError> {
        const PAGE: usize = 1000;
        let reference = to_reference(artifact);
        let mut tags = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .client
                .list_tags(&reference, &self.auth, Some(PAGE), last.as_deref())
                .await?;
            let count = page.tags.len();
            last = page.tags.last().cloned();
            tags.extend(page.tags);
            if count < PAGE || last.is_none() {
                return Ok(tags);
            }
        }
    }
}

/// The `size` bytes of `file` in pieces of 256 KiB; a file that ends
/// early is an error, not a short upload.
fn file_chunks(
    file: tokio::fs::File,
    size: u64,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> {
    use tokio::io::AsyncReadExt;
    const CHUNK: u64 = 256 * 1024;
    futures::stream::try_unfold((file, size), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let mut buf = vec![0; CHUNK.min(left) as usize];
        file.read_exact(&mut buf).await?;
        let left = left - buf.len() as u64;
        Ok(Some((bytes::Bytes::from(buf), (file, left))))
    })
}

fn to_reference(artifact: &ArtifactRef) -> Reference {
    match (&artifact.digest, &artifact.tag) {
        (Some(digest), _) => Reference::with_digest(
            artifact.registry.clone(),
            artifact.repository.clone(),
            digest.clone(),
        ),
        (None, tag) => Reference::with_tag(
            artifact.registry.clone(),
            artifact.repository.clone(),
            tag.clone().unwrap_or_else(|| "latest".to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(retryable: bool) -> RegistryError {
        RegistryError {
            message: "503".into(),
            retryable,
        }
    }

    #[test]
    fn refused_certificates_are_explained_in_go_words() {
        let hint = |reason: &str| {
            certificate_hint(&format!(
                "error sending request for url (https://r/v2/): client error (Connect): invalid peer certificate: {reason}"
            ))
        };
        assert!(
            hint("UnknownIssuer")
                .unwrap()
                .contains("x509: certificate signed by unknown authority")
        );
        assert!(hint("UnknownIssuer").unwrap().contains("SSL_CERT_FILE"));
        // rustls 0.23's words for the variants with context.
        let name = "certificate not valid for name \"r\"; certificate is only valid for localhost";
        assert!(hint(name).unwrap().contains("not valid for this host name"));
        let expired = "certificate expired: verification time 2 (UNIX), but certificate is not valid after 1 (1 seconds ago)";
        assert!(hint(expired).unwrap().contains("has expired"));
        let early = "certificate not valid yet: verification time 1 (UNIX), but certificate is not valid before 2 (1 seconds in future)";
        assert!(hint(early).unwrap().contains("not yet valid"));
        assert!(hint("BadSignature").unwrap().contains("refused"));
        assert_eq!(certificate_hint("connection refused"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_threefold_and_stop_at_ten_attempts() {
        let start = tokio::time::Instant::now();
        let mut calls = 0;
        let mut seen = 0;
        let result: Result<(), _> = with_retries(
            std::time::Duration::from_secs(100_000),
            |_| seen += 1,
            || {
                calls += 1;
                async { Err(failure(true)) }
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!((calls, seen), (10, 9));
        // 1+3+9+…+3^8 seconds, plus at most 10 % jitter.
        let base: u64 = (0..9).map(|i| 3u64.pow(i)).sum();
        let waited = start.elapsed().as_secs_f64();
        assert!(
            waited >= base as f64 && waited <= base as f64 * 1.1,
            "{waited}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn success_after_a_retry_and_no_retry_for_other_errors() {
        let mut calls = 0;
        let result = with_retries(
            std::time::Duration::from_millis(10),
            |_| {},
            || {
                calls += 1;
                let n = calls;
                async move { if n < 2 { Err(failure(true)) } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 2);
        let mut calls = 0;
        let result: Result<(), _> = with_retries(
            std::time::Duration::from_secs(1),
            |_| {},
            || {
                calls += 1;
                async { Err(failure(false)) }
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }
}
