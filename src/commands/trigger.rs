//! `flux trigger receiver`: a POST to a Receiver's webhook, from outside the
//! cluster. Only the name and the namespace are needed to find the webhook
//! path, so the cluster is never contacted.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

use crate::bootstrap::provider::http::{connector_trusting, native_roots};
use crate::cli::{TriggerCommand, TriggerReceiverArgs};
use crate::cluster::transport;
use crate::commands::Ctx;
use crate::commands::debug::exactly_one;
use crate::duration::{GoDuration, go_quote};
use crate::env;
use crate::error::ExitStatus;
use crate::render::components::FLUX_VERSION;

const TYPES: &str = "generic, generic-hmac, generic-oidc";
const PROVIDERS: &str = "github, forgejo";
/// The audience asked of the Actions token endpoint unless --oidc-audience.
const DEFAULT_AUDIENCE: &str = "notification-controller";
/// Answers worth another attempt: the webhook path may not be served yet
/// (404) or the controller may be briefly unavailable.
const RETRYABLE: [u16; 7] = [404, 408, 429, 500, 502, 503, 504];

/// Input refused before any request is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerInputError {
    #[error("--url is required")]
    UrlRequired,
    #[error("invalid --type {}, must be one of: {TYPES}", go_quote(.0))]
    InvalidType(String),
    #[error("--token is required for --type={0}")]
    TokenRequired(String),
    #[error(
        "--oidc-provider, --oidc-token and --oidc-audience can only be set for --type=generic-oidc"
    )]
    OidcFlagsNeedOidcType,
    #[error(
        "--token must not be set for --type=generic-oidc, the Receiver of this type has no secret"
    )]
    TokenWithOidc,
    #[error("--oidc-provider and --oidc-token are mutually exclusive")]
    ProviderAndToken,
    #[error("invalid --oidc-provider {}, must be one of: {PROVIDERS}", go_quote(.0))]
    InvalidProvider(String),
    #[error("--oidc-audience can only be set together with --oidc-provider")]
    AudienceWithoutProvider,
}

/// How the request proves it may trigger the Receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Auth {
    /// `generic`: nothing.
    None,
    /// `generic-hmac`: the payload signed with the token.
    Hmac,
    /// `generic-oidc`: a bearer ID token, from where it comes.
    Oidc(OidcSource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OidcSource {
    /// Fetched from the Actions token endpoint for this audience.
    Actions { audience: String },
    /// `--oidc-token`.
    Flag(String),
    /// `$FLUX_TRIGGER_RECEIVER_OIDC_TOKEN`.
    Env,
}

/// Checks the flags in upstream's order; the first problem is the error.
fn auth_of(args: &TriggerReceiverArgs) -> Result<Auth, TriggerInputError> {
    use TriggerInputError as E;
    if args.url.is_empty() {
        return Err(E::UrlRequired);
    }
    let oidc = match args.receiver_type.as_str() {
        "generic" | "generic-hmac" => false,
        "generic-oidc" => true,
        other => return Err(E::InvalidType(other.to_string())),
    };
    if !oidc {
        if args.token.is_empty() {
            return Err(E::TokenRequired(args.receiver_type.clone()));
        }
        if !(args.oidc_provider.is_empty()
            && args.oidc_token.is_empty()
            && args.oidc_audience.is_empty())
        {
            return Err(E::OidcFlagsNeedOidcType);
        }
        return Ok(if args.receiver_type == "generic" {
            Auth::None
        } else {
            Auth::Hmac
        });
    }
    if !args.token.is_empty() {
        return Err(E::TokenWithOidc);
    }
    if !args.oidc_provider.is_empty() && !args.oidc_token.is_empty() {
        return Err(E::ProviderAndToken);
    }
    if !matches!(args.oidc_provider.as_str(), "" | "github" | "forgejo") {
        return Err(E::InvalidProvider(args.oidc_provider.clone()));
    }
    if !args.oidc_audience.is_empty() && args.oidc_provider.is_empty() {
        return Err(E::AudienceWithoutProvider);
    }
    let source = if !args.oidc_provider.is_empty() {
        let audience = if args.oidc_audience.is_empty() {
            DEFAULT_AUDIENCE
        } else {
            &args.oidc_audience
        };
        OidcSource::Actions {
            audience: audience.to_string(),
        }
    } else if !args.oidc_token.is_empty() {
        OidcSource::Flag(args.oidc_token.clone())
    } else {
        OidcSource::Env
    };
    Ok(Auth::Oidc(source))
}

/// The webhook URL: the base without trailing slashes, then the path
/// notification-controller derives from token, name and namespace.
fn webhook_url(base: &str, token: &str, name: &str, namespace: &str) -> String {
    format!(
        "{}{}",
        base.trim_end_matches('/'),
        crate::secret::receiver_webhook_path(token, name, namespace)
    )
}

/// The `X-Signature` value of a generic-hmac request.
fn signature(token: &str, payload: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(payload);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

type HttpClient = Client<hyper_rustls::HttpsConnector<crate::proxy::Connector>, Full<Bytes>>;

/// A client that trusts the system's roots and goes through the
/// environment's proxy, as Go's default client does.
fn client() -> anyhow::Result<HttpClient> {
    let connector = connector_trusting(native_roots())
        .map_err(|e| anyhow::anyhow!("unable to set up TLS: {e}"))?;
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// A response, read whole.
struct Answer {
    code: u16,
    /// `404 Not Found`: the code and the server's reason phrase.
    status: String,
    body: Bytes,
}

/// Why a request got no answer, in the words of Go's client
/// (`Post "<url>": <cause>`).
#[derive(Debug)]
enum SendError {
    /// The URL cannot be made into a request at all.
    Build(String),
    /// No answer: connection, TLS, proxy, deadline; worth retrying.
    Transport(String),
}

/// Sends one request, bounded by `deadline`; `op` names the method as Go's
/// errors do (`Post`, `Get`).
async fn send(
    client: &HttpClient,
    op: &str,
    mut request: http::request::Builder,
    headers: &[(&str, String)],
    body: Bytes,
    deadline: tokio::time::Instant,
) -> Result<Answer, SendError> {
    let url = request.uri_ref().map(|u| u.to_string()).unwrap_or_default();
    let address = request.uri_ref().map(address_of).unwrap_or_default();
    let failed = |cause: String| SendError::Transport(format!("{op} \"{url}\": {cause}"));
    // Go's client refuses a value with control characters when sending.
    for (name, value) in headers {
        let value = http::HeaderValue::from_str(value).map_err(|_| {
            failed(format!(
                "net/http: invalid header field value for {}",
                go_quote(name)
            ))
        })?;
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(body))
        .map_err(|e| SendError::Build(e.to_string()))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| failed(cause_of(&e, &address)))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| failed(transport::with_causes(&e)))?
            .to_bytes();
        let reason = parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| parts.status.canonical_reason().map(str::to_string));
        let code = parts.status.as_u16();
        let status = match reason {
            Some(reason) => format!("{code} {reason}"),
            None => code.to_string(),
        };
        Ok(Answer { code, status, body })
    };
    tokio::time::timeout_at(deadline, exchange)
        .await
        .unwrap_or_else(|_| Err(failed("context deadline exceeded".to_string())))
}

/// `host:port` of a request target, the port the scheme's when not given.
fn address_of(uri: &http::Uri) -> String {
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    format!("{}:{port}", uri.host().unwrap_or_default())
}

/// Go's wording for the usual causes (`address` is the `host:port`
/// dialled); the error chain otherwise.
fn cause_of(err: &hyper_util::client::legacy::Error, address: &str) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(layer) = inner {
            if let Some(rustls::Error::InvalidCertificate(cert)) =
                layer.downcast_ref::<rustls::Error>()
            {
                return match cert {
                    rustls::CertificateError::UnknownIssuer => {
                        "tls: failed to verify certificate: x509: certificate signed by unknown authority".to_string()
                    }
                    other => format!("tls: failed to verify certificate: {other:?}"),
                };
            }
            let Some(io) = layer.downcast_ref::<std::io::Error>() else {
                break;
            };
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return format!("dial tcp {address}: connect: connection refused");
            }
            inner = io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static));
        }
        source = e.source();
    }
    transport::with_causes(err)
}

/// The URL as a request target: Go's client refuses schemes other than
/// http and https when sending, which counts as a connection error.
fn target(url: &str) -> Result<http::Uri, SendError> {
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(SendError::Transport(format!(
                "Post \"{url}\": unsupported protocol scheme \"\""
            )));
        }
        Err(e) => return Err(SendError::Build(format!("parse {}: {e}", go_quote(url)))),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(SendError::Transport(format!(
            "Post \"{url}\": unsupported protocol scheme {}",
            go_quote(parsed.scheme())
        )));
    }
    url.parse::<http::Uri>()
        .map_err(|e| SendError::Build(format!("parse {}: {e}", go_quote(url))))
}

/// The bearer token of a generic-oidc request, resolved once.
async fn oidc_token(
    source: &OidcSource,
    client: &HttpClient,
    deadline: tokio::time::Instant,
) -> anyhow::Result<String> {
    match source {
        OidcSource::Flag(token) => Ok(token.clone()),
        OidcSource::Env => std::env::var(env::FLUX_TRIGGER_RECEIVER_OIDC_TOKEN)
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no OIDC token provided: set --oidc-provider, --oidc-token or the {} environment variable",
                    env::FLUX_TRIGGER_RECEIVER_OIDC_TOKEN
                )
            }),
        OidcSource::Actions { audience } => {
            let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
            let (Some(url), Some(credential)) = (
                var(env::ACTIONS_ID_TOKEN_REQUEST_URL),
                var(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
            ) else {
                anyhow::bail!(
                    "{} and {} must be set in the environment; ensure the Actions job has the 'id-token: write' permission",
                    env::ACTIONS_ID_TOKEN_REQUEST_URL,
                    env::ACTIONS_ID_TOKEN_REQUEST_TOKEN
                );
            };
            let url = with_audience(&url, audience).map_err(|e| {
                anyhow::anyhow!("invalid {}: {e}", env::ACTIONS_ID_TOKEN_REQUEST_URL)
            })?;
            let headers = [("Authorization", format!("bearer {credential}"))];
            let request = http::Request::get(&url);
            let answer = match send(client, "Get", request, &headers, Bytes::new(), deadline).await
            {
                Ok(answer) => answer,
                Err(SendError::Build(e)) => {
                    anyhow::bail!("failed to create OIDC token request: {e}")
                }
                Err(SendError::Transport(e)) => anyhow::bail!("OIDC token request failed: {e}"),
            };
            if answer.code != 200 {
                anyhow::bail!(
                    "OIDC token request failed with status {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body).trim()
                );
            }
            #[derive(serde::Deserialize)]
            struct TokenResponse {
                #[serde(default)]
                value: String,
            }
            let response: TokenResponse = serde_json::from_slice(&answer.body)
                .map_err(|e| anyhow::anyhow!("failed to decode OIDC token response: {e}"))?;
            if response.value.is_empty() {
                anyhow::bail!("the OIDC token response did not contain a token");
            }
            Ok(response.value)
        }
    }
}

/// `url` with its query parameter `audience` set, the query re-encoded
/// with sorted keys as Go's `url.Values.Encode` writes it.
fn with_audience(url: &str, audience: &str) -> Result<String, url::ParseError> {
    let mut parsed = url::Url::parse(url)?;
    let mut pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "audience")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("audience".to_string(), audience.to_string()));
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    Ok(parsed.to_string())
}

/// One failed attempt: its message and whether another may succeed.
struct Failure {
    message: String,
    retryable: bool,
}

pub async fn run(ctx: &Ctx, command: &TriggerCommand) -> anyhow::Result<ExitStatus> {
    match command {
        TriggerCommand::Receiver(args) => receiver(ctx, args).await,
    }
}

async fn receiver(ctx: &Ctx, args: &TriggerReceiverArgs) -> anyhow::Result<ExitStatus> {
    let name = exactly_one(&args.names)?;
    let auth = auth_of(args)?;
    let namespace = &ctx.global.namespace;
    let path_token = match auth {
        Auth::Oidc(_) => "",
        _ => args.token.as_str(),
    };
    let url = webhook_url(&args.url, path_token, name, namespace);
    let payload = Bytes::from(args.payload.clone().into_bytes());
    let client = client()?;
    let mut headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("User-Agent", format!("flux/{FLUX_VERSION}")),
    ];
    match &auth {
        Auth::None => {}
        Auth::Hmac => headers.push(("X-Signature", signature(&args.token, &payload))),
        Auth::Oidc(source) => {
            let token = oidc_token(source, &client, ctx.deadline).await?;
            headers.push(("Authorization", format!("Bearer {token}")));
        }
    }
    let attempt = || async {
        let uri = target(&url);
        let outcome = match uri {
            Ok(uri) => {
                let request = http::Request::post(uri);
                send(
                    &client,
                    "Post",
                    request,
                    &headers,
                    payload.clone(),
                    ctx.deadline,
                )
                .await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(answer) if (200..300).contains(&answer.code) => Ok(()),
            Ok(answer) => {
                let body = String::from_utf8_lossy(&answer.body);
                let body = body.trim();
                let mut message = format!("request to {url} failed with status {}", answer.status);
                if !body.is_empty() {
                    message = format!("{message}: {body}");
                }
                Err(Failure {
                    message,
                    retryable: RETRYABLE.contains(&answer.code),
                })
            }
            Err(SendError::Transport(e)) => Err(Failure {
                message: format!("request to {url} failed: {e}"),
                retryable: true,
            }),
            Err(SendError::Build(e)) => Err(Failure {
                message: format!("unable to create request: {e}"),
                retryable: false,
            }),
        }
    };

    ctx.printer
        .action(&format!("triggering Receiver {namespace}/{name}"));
    let delay: Duration = args.retry_delay.as_std();
    let mut attempts: i64 = 0;
    loop {
        let failure = match attempt().await {
            Ok(()) => {
                ctx.printer
                    .success(&format!("Receiver {namespace}/{name} triggered"));
                return Ok(ExitStatus::Success);
            }
            Err(failure) => failure,
        };
        if !failure.retryable || attempts >= args.retries {
            anyhow::bail!(failure.message);
        }
        attempts += 1;
        ctx.printer.waiting(&format!(
            "{}; retrying in {} ({attempts}/{})",
            failure.message,
            GoDuration::new(delay),
            args.retries
        ));
        let wake = tokio::time::Instant::now() + delay;
        if wake > ctx.deadline {
            tokio::time::sleep_until(ctx.deadline).await;
            anyhow::bail!("context deadline exceeded");
        }
        tokio::time::sleep_until(wake).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> TriggerReceiverArgs {
        let cli = crate::cli::parse(
            ["flux", "trigger", "receiver", "hook"]
                .iter()
                .chain(line)
                .map(|s| s.to_string()),
        )
        .expect("the line parses");
        match cli.command {
            Some(crate::cli::Command::Trigger(TriggerCommand::Receiver(args))) => args,
            other => panic!("unexpected command {other:?}"),
        }
    }

    #[test]
    fn the_webhook_url_hashes_token_name_and_namespace() {
        // sha256("tokenhookapps"), computed with sha256sum.
        assert_eq!(
            webhook_url("https://hooks.example.com/base//", "token", "hook", "apps"),
            "https://hooks.example.com/base/hook/4d50eaeef30b65979985f793418582be2dd4510f182cb0f18233827edafdbb84"
        );
    }

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_payload() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_audience_is_set_and_the_query_sorted() {
        assert_eq!(
            with_audience(
                "https://token.example.com/id?b=2&audience=x&a=1",
                "flux aud"
            )
            .unwrap(),
            "https://token.example.com/id?a=1&audience=flux+aud&b=2"
        );
    }

    #[test]
    fn flags_pick_the_authentication() {
        let url = "--url=http://x";
        assert_eq!(auth_of(&args(&[url, "--token=t"])), Ok(Auth::None));
        assert_eq!(
            auth_of(&args(&[url, "--token=t", "--type=generic-hmac"])),
            Ok(Auth::Hmac)
        );
        assert_eq!(
            auth_of(&args(&[
                url,
                "--type=generic-oidc",
                "--oidc-provider=forgejo"
            ])),
            Ok(Auth::Oidc(OidcSource::Actions {
                audience: DEFAULT_AUDIENCE.to_string()
            }))
        );
        assert_eq!(
            auth_of(&args(&[url, "--type=generic-oidc", "--oidc-token=jwt"])),
            Ok(Auth::Oidc(OidcSource::Flag("jwt".to_string())))
        );
        assert_eq!(
            auth_of(&args(&[url, "--type=generic-oidc"])),
            Ok(Auth::Oidc(OidcSource::Env))
        );
    }

    #[test]
    fn go_quotes_invalid_values() {
        assert_eq!(
            auth_of(&args(&["--url=http://x", "--type=a\"b"]))
                .unwrap_err()
                .to_string(),
            "invalid --type \"a\\\"b\", must be one of: generic, generic-hmac, generic-oidc"
        );
    }
}
