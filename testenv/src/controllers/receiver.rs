//! notification-controller's webhook receiver: an HTTP server on loopback answering
//! `/hook/<digest>` for the Receivers whose `status.webhookPath` names it. A request that passes
//! the Receiver type's check gets every object of `spec.resources` annotated with
//! `reconcile.fluxcd.io/requestedAt`, which the simulated controllers then handle.
//!
//! Answers as upstream's: no Receiver at the path → 404, a suspended or not ready Receiver →
//! 503, a failed check (token Secret unreadable, signature or token wrong, event not listed) →
//! 400, an object that cannot be annotated → 500, else 200; the bodies are empty.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{Ctx, log};
use crate::server::next_connection;
use crate::store::meta_str;

const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";
const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// What the Receiver server serves; other paths are 404.
pub const HOOK_PREFIX: &str = "/hook/";
/// Bodies beyond this are refused (413), as upstream caps them.
const BODY_LIMIT: usize = 3 * 1024 * 1024;

/// Serves webhooks on `listener` until `shutdown` flips.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    started();
    while let Some(tcp) = next_connection(&listener, &mut shutdown).await {
        let ctx = ctx.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tcp), svc);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = code;
    r
}

async fn handle(ctx: &Ctx, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if !target.starts_with(HOOK_PREFIX) {
        return status(StatusCode::NOT_FOUND);
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return status(StatusCode::PAYLOAD_TOO_LARGE),
    };
    let receivers = match ctx.api.list(NOTIFICATION, "receivers", None, None).await {
        Ok(r) => r,
        Err(_) => return status(StatusCode::INTERNAL_SERVER_ERROR),
    };
    let Some(receiver) = receivers
        .into_iter()
        .find(|r| r["status"]["webhookPath"].as_str() == Some(target.as_str()))
    else {
        return status(StatusCode::NOT_FOUND);
    };
    let suspended = receiver["spec"]["suspend"].as_bool() == Some(true);
    let ready = receiver["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    if suspended || !ready {
        let why = if suspended {
            "receiver is suspended"
        } else {
            "receiver is not ready"
        };
        log_error(ctx, &receiver, &format!("unable to process request: {why}")).await;
        return status(StatusCode::SERVICE_UNAVAILABLE);
    }
    let checked = match secret_token(ctx, &receiver).await {
        Ok(token) => check(&receiver["spec"], &token, &parts.headers, &body),
        Err(e) => Err(format!("unable to read secret, error: {e}")),
    };
    if let Err(e) = checked {
        log_error(ctx, &receiver, &format!("unable to validate payload: {e}")).await;
        return status(StatusCode::BAD_REQUEST);
    }
    let ns = meta_str(&receiver, "namespace");
    let mut failed = false;
    for resource in receiver["spec"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Err(e) = request_reconciliation(ctx, resource, ns).await {
            log_error(
                ctx,
                &receiver,
                &format!("unable to request reconciliation: {e}"),
            )
            .await;
            failed = true;
        }
    }
    if failed {
        status(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        status(StatusCode::OK)
    }
}

async fn log_error(ctx: &Ctx, receiver: &Value, msg: &str) {
    log(ctx, "notification-controller", "error", msg, receiver).await;
}

/// The `token` of the Receiver's `spec.secretRef` Secret; "" for a Receiver without one
/// (generic-oidc).
async fn secret_token(ctx: &Ctx, receiver: &Value) -> Result<String, String> {
    let Some(name) = receiver["spec"]["secretRef"]["name"].as_str() else {
        return Ok(String::new());
    };
    read_token(ctx, meta_str(receiver, "namespace"), name).await
}

/// The `token` key of Secret `ns/name`, decoded; errors in notification-controller's words.
pub async fn read_token(ctx: &Ctx, ns: &str, name: &str) -> Result<String, String> {
    let unreadable =
        |e: String| format!("unable to read token from secret '{ns}/{name}' error: {e}");
    let Some(res) = ctx.api.resolve("", "secrets").await else {
        return Err(unreadable("the server does not serve secrets".into()));
    };
    let secret = match ctx.api.get(&res, ns, name).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(unreadable(format!("secrets \"{name}\" not found"))),
        Err(e) => return Err(unreadable(super::api::message(&e))),
    };
    let Some(encoded) = secret["data"]["token"].as_str() else {
        return Err(format!(
            "invalid '{ns}/{name}' secret data: required fields 'token'"
        ));
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Whether `event` is one of the Receiver's `spec.events` (any, when there are none).
fn event_allowed(spec: &Value, event: &str) -> bool {
    let events: Vec<&str> = spec["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    events.is_empty() || events.iter().any(|e| e.eq_ignore_ascii_case(event))
}

/// Checks a request against a Receiver's `spec` and token, as its `spec.type` asks.
pub fn check(spec: &Value, token: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let kind = spec["type"].as_str().unwrap_or_default();
    match kind {
        "generic" => Ok(()),
        "generic-hmac" => verify_signature(header(headers, "X-Signature"), body, token)
            .map_err(|e| format!("unable to validate HMAC signature: {e}")),
        "github" => {
            let mut signature = header(headers, "X-Hub-Signature-256");
            if signature.is_empty() {
                signature = header(headers, "X-Hub-Signature");
            }
            let content_type = header(headers, "Content-Type");
            let media = content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if media != "application/json" && media != "application/x-www-form-urlencoded" {
                return Err(format!(
                    "the GitHub signature header is invalid, err: webhook request has unsupported Content-Type \"{content_type}\""
                ));
            }
            if !token.is_empty() || !signature.is_empty() {
                verify_signature(signature, body, token)
                    .map_err(|e| format!("the GitHub signature header is invalid, err: {e}"))?;
            }
            let event = header(headers, "X-GitHub-Event");
            if !event_allowed(spec, event) {
                return Err(format!("the GitHub event \"{event}\" is not authorised"));
            }
            Ok(())
        }
        "gitlab" => {
            if header(headers, "X-Gitlab-Token") != token {
                return Err(
                    "the X-Gitlab-Token header value does not match the receiver token".into(),
                );
            }
            let event = header(headers, "X-Gitlab-Event");
            if !event_allowed(spec, event) {
                return Err(format!("the GitLab event \"{event}\" is not authorised"));
            }
            Ok(())
        }
        "harbor" => match header(headers, "Authorization") == token {
            true => Ok(()),
            false => Err(
                "the Harbor Authorization header value does not match the receiver token".into(),
            ),
        },
        other => Err(format!("recevier type \"{other}\" not supported")),
    }
}

/// Checks a `<hash>=<hex HMAC of body keyed with token>` signature; hash sha1, sha256 or sha512.
pub fn verify_signature(signature: &str, body: &[u8], token: &str) -> Result<(), String> {
    let Some((hash, hex)) = signature.split_once('=') else {
        return Err(format!("error parsing signature \"{signature}\""));
    };
    let algorithm = match hash {
        "sha1" => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => ring::hmac::HMAC_SHA256,
        "sha512" => ring::hmac::HMAC_SHA512,
        other => return Err(format!("unknown hash type prefix: \"{other}\"")),
    };
    let mac = decode_hex(hex).ok_or_else(|| format!("error decoding signature \"{signature}\""))?;
    let key = ring::hmac::Key::new(algorithm, token.as_bytes());
    ring::hmac::verify(&key, body, &mac).map_err(|_| "payload signature check failed".to_string())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The apiVersion a `spec.resources` entry of `kind` means when it names none.
fn default_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Bucket" | "HelmChart" | "HelmRepository" | "GitRepository" | "OCIRepository" => {
            "source.toolkit.fluxcd.io/v1"
        }
        "ImageRepository" => "image.toolkit.fluxcd.io/v1",
        "ArtifactGenerator" => "source.extensions.fluxcd.io/v1beta1",
        _ => return None,
    })
}

/// Annotates the objects a `spec.resources` entry names.
async fn request_reconciliation(
    ctx: &Ctx,
    resource: &Value,
    default_ns: &str,
) -> Result<(), String> {
    let kind = resource["kind"].as_str().unwrap_or_default();
    let name = resource["name"].as_str().unwrap_or_default();
    let ns = resource["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or(default_ns);
    let api_version = match resource["apiVersion"].as_str().filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => default_api_version(kind)
            .ok_or_else(|| format!("apiVersion must be specified for kind \"{kind}\""))?,
    };
    let res = ctx
        .api
        .resolve_kind(api_version, kind)
        .await
        .ok_or_else(|| format!("no matches for kind \"{kind}\" in version \"{api_version}\""))?;
    let names: Vec<String> = if name == "*" {
        let Some(labels) = resource["matchLabels"].as_object() else {
            return Err("matchLabels field not set when using wildcard '*' as name".into());
        };
        let selector = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",");
        ctx.api
            .list(&res.ar.group, &res.ar.plural, Some(ns), Some(&selector))
            .await?
            .iter()
            .map(|o| meta_str(o, "name").to_string())
            .collect()
    } else {
        vec![name.to_string()]
    };
    for name in names {
        let patch = json!({"metadata": {"annotations": {REQUESTED_AT: go_now()}}});
        ctx.api
            .merge_patch(&res, ns, &name, &patch, "notification-controller")
            .await
            .map_err(|e| {
                format!(
                    "failed to annotate resource: '{kind}/{name}.{ns}': {}",
                    super::api::message(&e)
                )
            })?;
    }
    Ok(())
}

/// When the receiver server started: the origin of the monotonic reading in [`go_now`].
fn started() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// The time now as Go's `time.Now().String()` writes it in UTC, monotonic reading included,
/// which is what notification-controller puts in `requestedAt`.
pub fn go_now() -> String {
    go_time(jiff::Timestamp::now(), started().elapsed())
}

fn go_time(t: jiff::Timestamp, monotonic: Duration) -> String {
    let utc = t.to_zoned(jiff::tz::TimeZone::UTC);
    let mut s = utc.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = utc.subsec_nanosecond();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        s.push('.');
        s.push_str(fraction.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s.push_str(&format!(" m=+{:.9}", monotonic.as_secs_f64()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_hex(algorithm: ring::hmac::Algorithm, key: &str, body: &[u8]) -> String {
        let tag = ring::hmac::sign(&ring::hmac::Key::new(algorithm, key.as_bytes()), body);
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn signatures_of_each_hash_verify_and_others_do_not() {
        let body = br#"{"action":"push"}"#;
        for (prefix, algorithm) in [
            ("sha1", ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            ("sha256", ring::hmac::HMAC_SHA256),
            ("sha512", ring::hmac::HMAC_SHA512),
        ] {
            let good = format!("{prefix}={}", hmac_hex(algorithm, "s3cr3t", body));
            assert_eq!(verify_signature(&good, body, "s3cr3t"), Ok(()), "{prefix}");
            let wrong_key = format!("{prefix}={}", hmac_hex(algorithm, "other", body));
            assert_eq!(
                verify_signature(&wrong_key, body, "s3cr3t"),
                Err("payload signature check failed".into())
            );
            assert!(verify_signature(&good, b"{}", "s3cr3t").is_err());
        }
        assert_eq!(
            verify_signature("", body, "s3cr3t"),
            Err("error parsing signature \"\"".into())
        );
        assert_eq!(
            verify_signature("md5=00", body, "s3cr3t"),
            Err("unknown hash type prefix: \"md5\"".into())
        );
        assert_eq!(
            verify_signature("sha256=zz", body, "s3cr3t"),
            Err("error decoding signature \"sha256=zz\"".into())
        );
    }

    #[test]
    fn each_receiver_type_checks_its_headers() {
        let body = b"{}";
        let sig256 = format!("sha256={}", hmac_hex(ring::hmac::HMAC_SHA256, "tok", body));
        let generic = json!({"type": "generic"});
        assert_eq!(check(&generic, "tok", &HeaderMap::new(), body), Ok(()));

        let hmac = json!({"type": "generic-hmac"});
        let signed = headers(&[("X-Signature", &sig256)]);
        assert_eq!(check(&hmac, "tok", &signed, body), Ok(()));
        assert!(check(&hmac, "other", &signed, body).is_err());
        assert!(check(&hmac, "tok", &HeaderMap::new(), body).is_err());

        let github = json!({"type": "github", "events": ["push"]});
        let push = headers(&[
            ("X-Hub-Signature-256", &sig256),
            ("X-GitHub-Event", "push"),
            ("Content-Type", "application/json"),
        ]);
        assert_eq!(check(&github, "tok", &push, body), Ok(()));
        assert!(check(&github, "wrong", &push, body).is_err());
        let ping = headers(&[
            ("X-Hub-Signature-256", &sig256),
            ("X-GitHub-Event", "ping"),
            ("Content-Type", "application/json"),
        ]);
        assert_eq!(
            check(&github, "tok", &ping, body),
            Err("the GitHub event \"ping\" is not authorised".into())
        );
        // Without events listed, any event passes; the older SHA-1 header is read too.
        let sha1 = format!(
            "sha1={}",
            hmac_hex(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, "tok", body)
        );
        let old = headers(&[
            ("X-Hub-Signature", &sha1),
            ("X-GitHub-Event", "ping"),
            ("Content-Type", "application/json; charset=utf-8"),
        ]);
        assert_eq!(check(&json!({"type": "github"}), "tok", &old, body), Ok(()));
        let text = headers(&[
            ("X-Hub-Signature-256", &sig256),
            ("Content-Type", "text/plain"),
        ]);
        assert!(check(&json!({"type": "github"}), "tok", &text, body).is_err());

        let gitlab = json!({"type": "gitlab", "events": ["Push Hook"]});
        let hook = headers(&[("X-Gitlab-Token", "tok"), ("X-Gitlab-Event", "push hook")]);
        assert_eq!(check(&gitlab, "tok", &hook, body), Ok(()));
        assert_eq!(
            check(&gitlab, "other", &hook, body),
            Err("the X-Gitlab-Token header value does not match the receiver token".into())
        );
        let tag = headers(&[
            ("X-Gitlab-Token", "tok"),
            ("X-Gitlab-Event", "Tag Push Hook"),
        ]);
        assert!(check(&gitlab, "tok", &tag, body).is_err());

        assert!(check(&json!({"type": "nexus"}), "tok", &HeaderMap::new(), body).is_err());
    }

    #[test]
    fn requested_at_is_written_as_go_prints_a_time() {
        let t: jiff::Timestamp = "2026-12-06T16:39:40.1205Z".parse().unwrap();
        assert_eq!(
            go_time(t, Duration::from_millis(1500)),
            "2026-12-06 16:39:40.1205 +0000 UTC m=+1.500000000"
        );
        let whole: jiff::Timestamp = "2026-12-06T16:39:40Z".parse().unwrap();
        assert_eq!(
            go_time(whole, Duration::ZERO),
            "2026-12-06 16:39:40 +0000 UTC m=+0.000000000"
        );
    }
}
