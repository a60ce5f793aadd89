//! A registry session for one command: oci-client does the protocol
//! (ping, token exchange, uploads, manifests, tags); this picks the scheme
//! the way upstream does and keeps the credentials.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::creds::Login;
use super::reference::ArtifactRef;

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
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        // Registry bodies end with a newline; the message is one line.
        RegistryError {
            message: text.trim_end().to_string(),
            retryable,
        }
    }
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
        let session = Self::build(protocol, insecure, auth.clone())?;
        session.client.auth(&reference, &auth, operation).await?;
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
            Err(OciDistributionError::RequestError(err)) => err,
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
        let config = ClientConfig {
            protocol,
            accept_invalid_certificates: insecure,
            user_agent: USER_AGENT,
            // One request per blob: registries differ in chunk support.
            use_monolithic_push: true,
            ..Default::default()
        };
        let client = Client::try_from(config)?;
        Ok(Self { client, auth })
    }

    /// Uploads a blob unless the registry has it already.
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

    /// A blob, in memory.
    pub async fn pull_blob(
        &self,
        artifact: &ArtifactRef,
        layer: &super::layout::PulledLayer,
    ) -> Result<Vec<u8>, RegistryError> {
        let descriptor = oci_client::manifest::OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: layer.size,
            ..Default::default()
        };
        let mut out = Vec::new();
        self.client
            .pull_blob(&to_reference(artifact), &descriptor, &mut out)
            .await?;
        Ok(out)
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
