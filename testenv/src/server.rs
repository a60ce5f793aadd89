//! HTTPS serving, authentication, fault injection and the REST handlers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{ApiError, ApiResult};
use crate::logs::Logs;
use crate::registry::ResourceDef;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{DeleteOpts, EventType, Store, Validation, WriteOpts, meta_str};
use crate::{Faults, discovery, fields, patch, table};

type Body = BoxBody<Bytes, Infallible>;

/// The API server's request body limit.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Oversized bodies up to this size are read before the 413 is sent.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// How often a watch with allowWatchBookmarks gets a BOOKMARK.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

pub struct Shared {
    pub store: Arc<Store>,
    pub logs: Arc<Logs>,
    pub token: String,
    pub faults: RwLock<Faults>,
    pub addr: SocketAddr,
    pub shutdown: watch::Receiver<bool>,
    /// Writes (POST, PUT, PATCH) being answered at once, for tests of
    /// client concurrency.
    pub writes: Gauge,
}

/// A count of things in progress and the most there ever were at once.
#[derive(Debug, Default)]
pub struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Gauge {
    fn enter(&self) -> GaugeGuard<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(self)
    }

    pub fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

struct GaugeGuard<'a>(&'a Gauge);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, shared: Arc<Shared>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut shutdown = shared.shutdown.clone();
    while let Some(tcp) = next_connection(&listener, &mut shutdown).await {
        if shared.faults().unreachable {
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut shutdown = shared.shutdown.clone();
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), svc);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

/// The next connection, or `None` once `shutdown` changes.
pub(crate) async fn next_connection(
    listener: &TcpListener,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<TcpStream> {
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => return Some(tcp),
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = shutdown.changed() => return None,
        }
    }
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

fn bytes_response(code: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let write = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let _in_progress = write.then(|| shared.writes.enter());
    let faults = shared.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == shared.token);
    if !authorized {
        return error_response(&ApiError::unauthorized());
    }
    if faults.throttle_ratio > 0.0 && fastrand::f64() < faults.throttle_ratio {
        let mut r = error_response(&ApiError::too_many_requests());
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(faults.retry_after_secs.max(1)),
        );
        return r;
    }
    if faults.error_ratio > 0.0 && fastrand::f64() < faults.error_ratio {
        let e = if faults.error_code == 503 {
            ApiError::unavailable()
        } else {
            ApiError::internal("injected fault")
        };
        return error_response(&e);
    }
    match route(&shared, req, &faults).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

type Query = HashMap<String, String>;

fn accept(req: &Request<Incoming>) -> String {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

async fn route(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    faults: &Faults,
) -> ApiResult<Response<Body>> {
    let path = req.uri().path().to_string();
    let query: Query = form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let store = &shared.store;
    let get_only = |req: &Request<Incoming>| {
        if req.method() == Method::GET {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    let aggregated = accept(&req).contains("as=APIGroupDiscoveryList");
    match segs.as_slice() {
        ["version"] => {
            get_only(&req)?;
            Ok(json_response(200, &discovery::version()))
        }
        ["healthz" | "readyz" | "livez"] => Ok(bytes_response(200, "text/plain", b"ok".to_vec())),
        ["api"] => {
            get_only(&req)?;
            if aggregated {
                return Ok(bytes_response(
                    200,
                    AGGREGATED,
                    serde_json::to_vec(&discovery::aggregated(&store.defs(), true))
                        .unwrap_or_default(),
                ));
            }
            Ok(json_response(
                200,
                &discovery::core_versions(&shared.addr.to_string()),
            ))
        }
        ["apis"] => {
            get_only(&req)?;
            if aggregated {
                return Ok(bytes_response(
                    200,
                    AGGREGATED,
                    serde_json::to_vec(&discovery::aggregated(&store.defs(), false))
                        .unwrap_or_default(),
                ));
            }
            Ok(json_response(200, &discovery::group_list(&store.defs())))
        }
        ["api", "v1"] => {
            get_only(&req)?;
            discovery::resource_list(&store.defs(), "", "v1")
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found)
        }
        ["apis", g] => {
            get_only(&req)?;
            discovery::group(&store.defs(), g)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found)
        }
        ["apis", g, v] => {
            get_only(&req)?;
            discovery::resource_list(&store.defs(), g, v)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found)
        }
        ["openapi", "v3"] => Ok(json_response(
            200,
            &discovery::openapi_root(&store.defs(), store.discovery_gen()),
        )),
        ["openapi", "v3", "api", "v1"] => discovery::openapi_gv(&store.defs(), "", "v1")
            .map(|d| json_response(200, &d))
            .ok_or_else(ApiError::path_not_found),
        ["openapi", "v3", "apis", g, v] => discovery::openapi_gv(&store.defs(), g, v)
            .map(|d| json_response(200, &d))
            .ok_or_else(ApiError::path_not_found),
        ["api", "v1", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            resource(shared, req, query, "", "v1", &rest, faults).await
        }
        ["apis", g, v, rest @ ..] => {
            let (g, v) = (g.to_string(), v.to_string());
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            resource(shared, req, query, &g, &v, &rest, faults).await
        }
        _ => Err(ApiError::path_not_found()),
    }
}

struct Target {
    def: ResourceDef,
    version: String,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn target(store: &Store, group: &str, version: &str, rest: &[String]) -> ApiResult<Target> {
    let (ns, rest) = match rest {
        [n, ns, r, ..]
            if n == "namespaces" && !(rest.len() == 3 && (r == "status" || r == "finalize")) =>
        {
            (Some(ns.clone()), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (p, None, None),
        [p, n] => (p, Some(n.clone()), None),
        [p, n, s] => (p, Some(n.clone()), Some(s.clone())),
        _ => return Err(ApiError::path_not_found()),
    };
    let def = store
        .def(group, plural)
        .filter(|d| d.version(version).is_some())
        .ok_or_else(ApiError::path_not_found)?;
    if ns.is_some() && !def.namespaced {
        return Err(ApiError::path_not_found());
    }
    if let Some(s) = &sub
        && !def.subresources.contains(&s.as_str())
    {
        return Err(ApiError::path_not_found());
    }
    if name.is_some() && def.namespaced && ns.is_none() {
        return Err(ApiError::path_not_found());
    }
    Ok(Target {
        def,
        version: version.to_string(),
        ns,
        name,
        sub,
    })
}

/// The object as served in `version` (objects are stored in the version they were written in).
fn present(obj: &Value, def: &ResourceDef, version: &str) -> Value {
    let mut o = obj.clone();
    o["apiVersion"] = json!(def.api_version(version));
    o
}

async fn read_body(req: Request<Incoming>) -> ApiResult<(String, Bytes)> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY) {
        // Read (and drop) a moderately large body so the client sees the 413, not a reset.
        let _ = Limited::new(req.into_body(), DRAIN_LIMIT).collect().await;
        return Err(ApiError::too_large(MAX_BODY));
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::too_large(MAX_BODY)
            } else {
                ApiError::bad_request(format!("error reading request body: {e}"))
            }
        })?
        .to_bytes();
    Ok((ct, body))
}

fn parse_object(def: &ResourceDef, body: &[u8], yaml: bool) -> ApiResult<Value> {
    if body.starts_with(b"k8s\0") {
        return crate::proto::decode(body).ok_or_else(|| {
            ApiError::unsupported_media_type("application/vnd.kubernetes.protobuf")
        });
    }
    let parsed: Result<Value, String> = match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(e) if !yaml => Err(format!("json parse error: {e}")),
        Err(_) => std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                serde_saphyr::from_str::<Value>(s).map_err(|e| format!("yaml parse error: {e}"))
            }),
    };
    let v = parsed.map_err(|m| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; {m}",
            def.kind
        ))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: expected an object",
            def.kind
        )));
    }
    Ok(v)
}

/// Adds a `Warning: 299` header per message, as the API server reports dropped fields.
fn with_warnings(mut resp: Response<Body>, warnings: Vec<String>) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// What happens to unknown fields. Server-side apply always rejects them (its patch must fit the
/// schema, whatever fieldValidation says); other writes follow fieldValidation: Strict rejects,
/// Ignore prunes silently, Warn (the default) prunes with a warning.
fn validation(query: &Query, apply: bool) -> Validation {
    if apply {
        return Validation::StrictApply;
    }
    match query.get("fieldValidation").map(String::as_str) {
        Some("Strict") => Validation::Strict,
        Some("Ignore") => Validation::Prune,
        _ => Validation::Warn,
    }
}

fn manager(query: &Query, user_agent: &str) -> String {
    query.get("fieldManager").cloned().unwrap_or_else(|| {
        user_agent
            .split('/')
            .next()
            .unwrap_or("unknown")
            .to_string()
    })
}

async fn resource(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    query: Query,
    group: &str,
    version: &str,
    rest: &[String],
    faults: &Faults,
) -> ApiResult<Response<Body>> {
    let store = &shared.store;
    let t = target(store, group, version, rest)?;
    let def = &t.def;
    let ns = t.ns.clone().unwrap_or_default();
    let dry_run = query.contains_key("dryRun");
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let status_sub = t.sub.as_deref() == Some("status");
    let method = req.method().clone();
    match (method, &t.name) {
        (Method::GET, None) => {
            let labels =
                LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or(""))?;
            let fields =
                FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or(""))?;
            let is_watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
            if is_watch {
                let table = table_request(&req, &query);
                return watch(shared, &t, &query, labels, fields, faults, table);
            }
            list(
                store,
                &t,
                &query,
                &labels,
                &fields,
                table_request(&req, &query),
            )
        }
        (Method::GET, Some(name)) => {
            if t.sub.as_deref() == Some("log") {
                store.get(def, &ns, name)?;
                return Ok(pod_logs(shared, &ns, name, &query));
            }
            let obj = store.get(def, &ns, name)?;
            let obj = present(&obj, def, &t.version);
            if let Some(include) = table_request(&req, &query) {
                let rv = meta_str(&obj, "resourceVersion").to_string();
                return Ok(json_response(
                    200,
                    &table::table(def, &t.version, &[obj], &rv, &include),
                ));
            }
            Ok(json_response(200, &obj))
        }
        (Method::POST, None) => {
            if def.namespaced && t.ns.is_none() {
                return Err(ApiError::path_not_found());
            }
            let (_, body) = read_body(req).await?;
            let obj = parse_object(def, &body, false)?;
            let opts = WriteOpts {
                status: false,
                manager: Some(manager(&query, &user_agent)),
                dry_run,
                validation: validation(&query, false),
                ..Default::default()
            };
            let created = store.create(def, &ns, obj, &opts)?;
            let resp = json_response(201, &present(&created, def, &t.version));
            Ok(with_warnings(resp, opts.warnings.take()))
        }
        (Method::PUT, Some(name)) => {
            let (_, body) = read_body(req).await?;
            let obj = parse_object(def, &body, false)?;
            let opts = WriteOpts {
                status: status_sub,
                manager: Some(manager(&query, &user_agent)),
                dry_run,
                validation: validation(&query, false),
                ..Default::default()
            };
            let (g, p) = (def.group.clone(), def.plural.clone());
            let updated = store.modify(def, &ns, name, &opts, |cur| match cur {
                Some(_) => Ok(obj),
                None => Err(ApiError::not_found(&g, &p, name)),
            })?;
            let resp = json_response(200, &present(&updated, def, &t.version));
            Ok(with_warnings(resp, opts.warnings.take()))
        }
        (Method::PATCH, Some(name)) => {
            let (ct, body) = read_body(req).await?;
            let ct = ct.split(';').next().unwrap_or_default().trim().to_string();
            let (patched, warnings) = patch_object(
                store,
                &t,
                name,
                &ns,
                &ct,
                &body,
                &query,
                &user_agent,
                dry_run,
            )?;
            Ok(with_warnings(
                json_response(200, &present(&patched, def, &t.version)),
                warnings,
            ))
        }
        (Method::DELETE, Some(name)) => {
            let (_, body) = read_body(req).await?;
            let opts_body: Value = if body.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(&body).unwrap_or(json!({}))
            };
            let propagation = query
                .get("propagationPolicy")
                .cloned()
                .or_else(|| opts_body["propagationPolicy"].as_str().map(String::from))
                .unwrap_or_default();
            let opts = DeleteOpts {
                orphan: propagation == "Orphan"
                    || opts_body["orphanDependents"].as_bool() == Some(true),
                precondition_uid: opts_body["preconditions"]["uid"].as_str().map(String::from),
                precondition_rv: opts_body["preconditions"]["resourceVersion"]
                    .as_str()
                    .map(String::from),
                dry_run,
            };
            let obj = store.delete(def, &ns, name, &opts)?;
            Ok(json_response(200, &present(&obj, def, &t.version)))
        }
        (Method::DELETE, None) => {
            let labels =
                LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or(""))?;
            let fields =
                FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or(""))?;
            let (items, rv) = store.list(def, t.ns.as_deref());
            let mut deleted = vec![];
            for o in items
                .iter()
                .filter(|o| labels.matches(o) && fields.matches(o))
            {
                let opts = DeleteOpts {
                    dry_run,
                    ..Default::default()
                };
                if let Ok(d) =
                    store.delete(def, meta_str(o, "namespace"), meta_str(o, "name"), &opts)
                {
                    deleted.push(present(&d, def, &t.version));
                }
            }
            Ok(json_response(
                200,
                &json!({"kind": def.list_kind, "apiVersion": def.api_version(&t.version), "metadata": {"resourceVersion": rv.to_string()}, "items": deleted}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[allow(clippy::too_many_arguments)]
fn patch_object(
    store: &Store,
    t: &Target,
    name: &str,
    ns: &str,
    content_type: &str,
    body: &[u8],
    query: &Query,
    user_agent: &str,
    dry_run: bool,
) -> ApiResult<(std::sync::Arc<Value>, Vec<String>)> {
    let def = &t.def;
    let status_sub = t.sub.as_deref() == Some("status");
    let (g, p) = (def.group.clone(), def.plural.clone());
    let not_found = || ApiError::not_found(&g, &p, name);
    let bad_patch = |e: String| ApiError::bad_request(format!("error decoding patch: {e}"));
    match content_type {
        "application/apply-patch+yaml" | "application/apply-patch+json" => {
            let Some(mgr) = query.get("fieldManager").filter(|m| !m.is_empty()) else {
                return Err(ApiError::bad_request(
                    "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests",
                ));
            };
            let mut applied = parse_object(def, body, true)?;
            if applied["apiVersion"].as_str().is_none() || applied["kind"].as_str().is_none() {
                return Err(ApiError::bad_request("invalid object type: /, Kind="));
            }
            if !applied["metadata"].is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: metadata must be an object",
                ));
            }
            if applied["metadata"]["name"]
                .as_str()
                .is_none_or(|n| n.is_empty())
            {
                applied["metadata"]["name"] = json!(name);
            }
            let force = query.get("force").is_some_and(|f| f == "true");
            let opts = WriteOpts {
                status: status_sub,
                manager: None,
                dry_run,
                validation: validation(query, true),
                ..Default::default()
            };
            let obj = store.modify(def, ns, name, &opts, |cur| {
                fields::apply(def, cur, &applied, mgr, force, status_sub)
            })?;
            Ok((obj, opts.warnings.take()))
        }
        "application/merge-patch+json"
        | "application/json-patch+json"
        | "application/strategic-merge-patch+json" => {
            if content_type == "application/strategic-merge-patch+json" && !def.builtin {
                return Err(ApiError::unsupported_media_type(content_type));
            }
            let patch_v: Value =
                serde_json::from_slice(body).map_err(|e| bad_patch(e.to_string()))?;
            let opts = WriteOpts {
                status: status_sub,
                manager: Some(manager(query, user_agent)),
                dry_run,
                validation: validation(query, false),
                ..Default::default()
            };
            let obj = store.modify(def, ns, name, &opts, |cur| {
                // The server patches the object as the request's version
                // shows it, and writes it as that version.
                let cur = &present(cur.ok_or_else(not_found)?, def, &t.version);
                match content_type {
                    "application/merge-patch+json" => {
                        if !patch_v.is_object() {
                            return Err(bad_patch("a merge patch must be a JSON object".into()));
                        }
                        Ok(patch::json_merge(cur, &patch_v))
                    }
                    "application/json-patch+json" => patch::json_patch(cur, &patch_v),
                    _ => {
                        if !patch_v.is_object() {
                            return Err(bad_patch(
                                "a strategic merge patch must be a JSON object".into(),
                            ));
                        }
                        Ok(patch::strategic(cur, &patch_v))
                    }
                }
            })?;
            Ok((obj, opts.warnings.take()))
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// The includeObject setting when the client asked for a Table (kubectl get does).
fn table_request(req: &Request<Incoming>, query: &Query) -> Option<String> {
    accept(req)
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
        .then(|| {
            query
                .get("includeObject")
                .cloned()
                .unwrap_or_else(|| "Metadata".into())
        })
}

fn list(
    store: &Store,
    t: &Target,
    query: &Query,
    labels: &LabelSelector,
    fields: &FieldSelector,
    table: Option<String>,
) -> ApiResult<Response<Body>> {
    let def = &t.def;
    let (items, rv) = store.list(def, t.ns.as_deref());
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let start_after = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.split_once('\0').map(|(a, b)| (a.to_string(), b.to_string())))
                .ok_or_else(|| ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
            Some(raw)
        }
        None => None,
    };
    let mut matching = items.iter().filter(|o| {
        let key = (
            meta_str(o, "namespace").to_string(),
            meta_str(o, "name").to_string(),
        );
        start_after.as_ref().is_none_or(|s| key > *s) && labels.matches(o) && fields.matches(o)
    });
    let page: Vec<&std::sync::Arc<Value>> = matching.by_ref().take(limit).collect();
    let remaining = matching.count();
    let api_version = def.api_version(&t.version);
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if remaining > 0
        && let Some(last) = page.last()
    {
        let key = format!(
            "{}\0{}",
            meta_str(last, "namespace"),
            meta_str(last, "name")
        );
        metadata["continue"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key));
        metadata["remainingItemCount"] = json!(remaining);
    }
    if let Some(include) = table {
        let objects: Vec<Value> = page.iter().map(|o| present(o, def, &t.version)).collect();
        let mut tbl = table::table(def, &t.version, &objects, &rv.to_string(), &include);
        tbl["metadata"] = metadata;
        return Ok(json_response(200, &tbl));
    }
    // Written by hand: 10,000 objects must serialize without building one big Value.
    let mut out = Vec::with_capacity(page.len() * 512 + 256);
    out.extend_from_slice(
        format!(
            "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{},\"items\":[",
            json!(def.list_kind),
            json!(api_version),
            metadata
        )
        .as_bytes(),
    );
    for (i, o) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if o["apiVersion"].as_str() == Some(api_version.as_str()) {
            serde_json::to_writer(&mut out, &***o)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        } else {
            serde_json::to_writer(&mut out, &present(o, def, &t.version))
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(bytes_response(200, "application/json", out))
}

fn stream_response(content_type: &str, rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b)));
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    r
}

fn watch(
    shared: &Arc<Shared>,
    t: &Target,
    query: &Query,
    labels: LabelSelector,
    fields: FieldSelector,
    faults: &Faults,
    table: Option<String>,
) -> ApiResult<Response<Body>> {
    let def = t.def.clone();
    let version = t.version.clone();
    let ns = t.ns.clone();
    let initial_events = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let rv: Option<u64> = match query.get("resourceVersion").filter(|r| !r.is_empty()) {
        Some(r) => Some(
            r.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))?,
        ),
        None => None,
    };
    let watched = shared
        .store
        .watch(&def, ns.as_deref(), if initial_events { None } else { rv });
    let (first, start_rv, mut rx) = match watched {
        Ok(w) => w,
        // Like the watch cache: 200 and a single ERROR event.
        Err(e) => {
            let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()}))
                .unwrap_or_default();
            line.push(b'\n');
            return Ok(bytes_response(200, "application/json", line));
        }
    };
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let cut_after = faults.watch_cut_after;
    let (tx, body_rx) = mpsc::channel::<Bytes>(256);
    let mut shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut sent = 0usize;
        let mut last_rv = start_rv.max(rv.unwrap_or(0));
        let key = def.key();
        let encode = |etype: &str, obj: &Value| -> Bytes {
            let mut line =
                serde_json::to_vec(&json!({"type": etype, "object": obj})).unwrap_or_default();
            line.push(b'\n');
            Bytes::from(line)
        };
        let matches = |o: &Value| {
            ns.as_deref().is_none_or(|n| meta_str(o, "namespace") == n)
                && labels.matches(o)
                && fields.matches(o)
        };
        // Objects as asked for: the object itself, or a one-row Table for kubectl get -w.
        let render = |obj: &Value| -> Value {
            let o = present(obj, &def, &version);
            match &table {
                Some(include) => {
                    let rv = meta_str(&o, "resourceVersion").to_string();
                    table::table(&def, &version, &[o], &rv, include)
                }
                None => o,
            }
        };
        let bookmark = |rv: u64, initial_end: bool| {
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if initial_end {
                meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            let object = match table {
                Some(_) => {
                    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": [], "rows": []})
                }
                None => {
                    json!({"kind": def.kind, "apiVersion": def.api_version(&version), "metadata": meta})
                }
            };
            encode("BOOKMARK", &object)
        };
        for ev in first {
            if matches(&ev.object) {
                if tx
                    .send(encode(ev.etype.as_str(), &render(&ev.object)))
                    .await
                    .is_err()
                {
                    return;
                }
                sent += 1;
                if cut_after.is_some_and(|n| sent >= n) {
                    return;
                }
            }
            last_rv = last_rv.max(ev.rv);
        }
        if initial_events && tx.send(bookmark(last_rv, true)).await.is_err() {
            return;
        }
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        loop {
            let sleep_until = deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86400));
            // Biased: pending events go out before a bookmark claims a later resourceVersion.
            tokio::select! {
                biased;
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        if ev.group != key.0 || ev.plural != key.1 {
                            continue;
                        }
                        last_rv = ev.rv;
                        // Entering or leaving the selector reads as ADDED or DELETED.
                        let etype = match (ev.etype, ev.prev.as_deref().map(&matches), matches(&ev.object)) {
                            (EventType::Modified, Some(true), false) => EventType::Deleted,
                            (EventType::Modified, Some(false), true) => EventType::Added,
                            (t, _, true) => t,
                            _ => continue,
                        };
                        if tx.send(encode(etype.as_str(), &render(&ev.object))).await.is_err() {
                            return;
                        }
                        sent += 1;
                        if cut_after.is_some_and(|n| sent >= n) {
                            return;
                        }
                    }
                    // Fell behind or the store is gone: end the stream; clients re-watch.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    if tx.send(bookmark(last_rv, false)).await.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(sleep_until) => return,
                _ = tx.closed() => return,
                _ = shutdown.changed() => return,
            }
        }
    });
    Ok(stream_response("application/json", body_rx))
}

fn pod_logs(shared: &Arc<Shared>, ns: &str, pod: &str, query: &Query) -> Response<Body> {
    let follow = query.get("follow").is_some_and(|v| v == "true");
    let timestamps = query.get("timestamps").is_some_and(|v| v == "true");
    let tail: Option<usize> = query.get("tailLines").and_then(|v| v.parse().ok());
    let since: Option<Duration> = query
        .get("sinceSeconds")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs);
    let (mut lines, mut rx) = shared.logs.follow(ns, pod);
    if let Some(s) = since {
        let from = SystemTime::now() - s;
        lines.retain(|l| l.at >= from);
    }
    if let Some(n) = tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let render = move |l: &crate::logs::Line| {
        let mut s = String::new();
        if timestamps {
            s.push_str(
                &jiff::Timestamp::try_from(l.at)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            );
            s.push(' ');
        }
        s.push_str(&l.text);
        s.push('\n');
        Bytes::from(s)
    };
    if !follow {
        let body: Vec<u8> = lines.iter().flat_map(|l| render(l).to_vec()).collect();
        return bytes_response(200, "text/plain", body);
    }
    let (tx, body_rx) = mpsc::channel::<Bytes>(256);
    let (ns, pod) = (ns.to_string(), pod.to_string());
    let mut shutdown = shared.shutdown.clone();
    let mut events = shared.store.subscribe();
    tokio::spawn(async move {
        for l in &lines {
            if tx.send(render(l)).await.is_err() {
                return;
            }
        }
        loop {
            tokio::select! {
                l = rx.recv() => match l {
                    Ok(l) if l.namespace == ns && l.pod == pod => {
                        if tx.send(render(&l)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                ev = events.recv() => {
                    // The stream ends when the pod goes away, as the kubelet's does.
                    if let Ok(ev) = ev
                        && ev.etype == EventType::Deleted && ev.plural == "pods" && ev.group.is_empty()
                        && meta_str(&ev.object, "namespace") == ns && meta_str(&ev.object, "name") == pod
                    {
                        return;
                    }
                }
                _ = tx.closed() => return,
                _ = shutdown.changed() => return,
            }
        }
    });
    stream_response("text/plain", body_rx)
}
