//! Generic access to Flux objects through kube's dynamic API, driven by the
//! kind registry: listing with paging, patching, and watch-based waits.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::watcher::{self, Event};
use serde_json::Value;

use super::reconnect::Reachability;
use crate::kinds::{KindSpec, Progress};

/// Page size for lists: big lists never need one giant response.
const PAGE_SIZE: u32 = 500;

/// A problem talking to the cluster about a kind, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(
        "no matches for kind \"{kind}\" in version \"{api_version}\": {}",
        install_hint(group)
    )]
    KindNotInstalled {
        kind: &'static str,
        group: &'static str,
        api_version: String,
    },
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    #[error(
        "the API server rejected the credentials (401 Unauthorized): check the kubeconfig user, --token or client certificates"
    )]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Api(String),
    #[error("unable to reach the Kubernetes API server: {0}")]
    Unreachable(String),
    /// A stream's server stopped answering ([`super::reconnect`]).
    #[error("lost the Kubernetes API server: no answer for {seconds}s: {cause}")]
    Lost { seconds: u64, cause: String },
    /// No client could be built (kubeconfig, credentials): nothing was sent.
    #[error("{0}")]
    Client(String),
    /// Upstream's words, which scripts match; [`ObjectError::timeout_detail`]
    /// says what was waited for and the object's last state.
    #[error("context deadline exceeded")]
    Timeout {
        kind: &'static str,
        namespace: String,
        name: String,
        /// ` (last status: Ready=False ReasonX: message)` or empty.
        last_status: String,
        /// ` (last error: …)` or empty.
        last_error: String,
    },
    #[error("{kind} {namespace}/{name} was deleted while waiting for it")]
    Deleted {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error("{0}")]
    Failed(String),
    #[error("no {kind} objects found in {namespace} namespace")]
    NoneFound {
        kind: &'static str,
        namespace: String,
    },
}

/// What installs the CRD of a kind in `group`: the image automation and
/// artifact generator kinds come with optional controllers, which a plain
/// `flux install` leaves out.
fn install_hint(group: &str) -> &'static str {
    match group {
        "image.toolkit.fluxcd.io" => {
            "the image automation CRDs are not installed; run 'flux install --components-extra=image-reflector-controller,image-automation-controller'"
        }
        "source.extensions.fluxcd.io" => {
            "the source-watcher CRDs are not installed; run 'flux install --components-extra=source-watcher'"
        }
        _ => {
            "the Flux CRDs are not installed; run 'flux install' (or 'flux check' to see what is missing)"
        }
    }
}

impl ObjectError {
    /// For a time-out: what was waited for, how the object last looked and
    /// what to do, for a line of its own before upstream's error line.
    pub fn timeout_detail(&self) -> Option<String> {
        match self {
            Self::Timeout {
                kind,
                namespace,
                name,
                last_status,
                last_error,
            } => Some(format!(
                "gave up waiting for {kind} {namespace}/{name}{last_status}{last_error}; raise --timeout to wait longer"
            )),
            _ => None,
        }
    }

    /// Errors that retrying cannot fix.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::KindNotInstalled { .. }
                | Self::NotFound { .. }
                | Self::Unauthorized
                | Self::Forbidden(_)
                | Self::Client(_)
        )
    }

    /// Classifies a watcher's error for `spec`; `name` as for [`Self::from_kube`].
    pub fn from_watcher(spec: &KindSpec, name: Option<&str>, err: watcher::Error) -> Self {
        match err {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => Self::from_kube(spec, name, e),
            other => Self::Api(other.to_string()),
        }
    }

    /// Classifies a kube error for `spec`; `name` is the object asked for, if any.
    pub fn from_kube(spec: &KindSpec, name: Option<&str>, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => match status.code {
                401 => Self::Unauthorized,
                403 => Self::Forbidden(status.message),
                404 if name.is_some()
                    && status.reason == "NotFound"
                    && status.message.contains(" not found") =>
                {
                    Self::NotFound {
                        resource: spec.resource_name(),
                        name: name.unwrap_or_default().to_string(),
                    }
                }
                404 => Self::KindNotInstalled {
                    kind: spec.kind,
                    group: spec.group,
                    api_version: spec.api_version(),
                },
                _ => Self::Api(status.message),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                Self::Unreachable(super::transport::describe_kube(&err).unwrap_or_default())
            }
            other => Self::Api(other.to_string()),
        }
    }
}

/// The typed handle for `spec` in `namespace`, or across namespaces.
pub fn api(client: kube::Client, spec: &KindSpec, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = spec.api_resource();
    match namespace {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    }
}

/// Whether a failed request may succeed when sent again: throttling and
/// server-side trouble, not bad requests or missing permissions.
fn is_transient(err: &kube::Error) -> bool {
    match err {
        // A 500 without a reason is kube-apiserver refusing the request itself (server-side
        // apply of a field the schema lacks): sending it again cannot help.
        kube::Error::Api(status) if status.code == 500 => !status.reason.is_empty(),
        kube::Error::Api(status) => matches!(status.code, 429 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            !super::transport::is_permanent(err)
        }
        _ => false,
    }
}

/// How many times a request is sent before its error is reported.
const ATTEMPTS: u32 = 6;

/// Sends a request, retrying transient failures with exponential backoff
/// (0.1 s doubling to 3.2 s). The command's `--timeout` bounds it overall.
pub async fn retrying<T, F, Fut>(mut request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match request().await {
            Err(err) if attempt < ATTEMPTS && is_transient(&err) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Lists every object matching `params` a page at a time, handing each
/// page to `each` so callers can keep only what they need of it.
pub async fn for_each_page(
    spec: &KindSpec,
    api: &Api<DynamicObject>,
    params: &ListParams,
    mut each: impl FnMut(Vec<Value>),
) -> Result<(), ObjectError> {
    let mut params = params.clone().limit(PAGE_SIZE);
    loop {
        let page = retrying(|| api.list(&params))
            .await
            .map_err(|e| ObjectError::from_kube(spec, None, e))?;
        each(page.items.into_iter().map(to_value).collect());
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(()),
        }
    }
}

/// Names of the objects matching `params` in `namespace`; none is an error,
/// since the caller was asked to act on them.
pub async fn list_names(
    spec: &'static KindSpec,
    api: &Api<DynamicObject>,
    namespace: &str,
    params: &ListParams,
) -> Result<Vec<String>, ObjectError> {
    let mut names = Vec::new();
    for_each_page(spec, api, params, |page| {
        names.extend(
            page.iter()
                .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string)),
        );
    })
    .await?;
    if names.is_empty() {
        return Err(ObjectError::NoneFound {
            kind: spec.kind,
            namespace: namespace.to_string(),
        });
    }
    Ok(names)
}

/// Lists every object matching `params`, a page at a time.
pub async fn list(
    spec: &KindSpec,
    api: &Api<DynamicObject>,
    params: &ListParams,
) -> Result<Vec<Value>, ObjectError> {
    let mut out = Vec::new();
    for_each_page(spec, api, params, |page| out.extend(page)).await?;
    Ok(out)
}

/// The object as JSON. Moves `spec`/`status` instead of re-serialising
/// them: lists of thousands of objects pass through here.
pub fn to_value(object: DynamicObject) -> Value {
    let mut map = match object.data {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    if let Some(types) = object.types {
        map.insert("apiVersion".into(), Value::String(types.api_version));
        map.insert("kind".into(), Value::String(types.kind));
    }
    map.insert(
        "metadata".into(),
        serde_json::to_value(object.metadata).expect("object metadata serialises to JSON"),
    );
    Value::Object(map)
}

pub async fn get(
    spec: &KindSpec,
    api: &Api<DynamicObject>,
    name: &str,
) -> Result<Value, ObjectError> {
    retrying(|| api.get(name))
        .await
        .map(to_value)
        .map_err(|e| ObjectError::from_kube(spec, Some(name), e))
}

/// A JSON merge patch; it carries no resourceVersion, so it cannot conflict.
pub async fn merge_patch(
    spec: &KindSpec,
    api: &Api<DynamicObject>,
    name: &str,
    patch: &Value,
) -> Result<Value, ObjectError> {
    let (params, patch) = (PatchParams::default(), Patch::Merge(patch));
    retrying(|| api.patch(name, &params, &patch))
        .await
        .map(to_value)
        .map_err(|e| ObjectError::from_kube(spec, Some(name), e))
}

/// Watches one object until `check` says it is done or failed, or `timeout`
/// passes. The first evaluation uses the current state, so an object that
/// is already done returns at once; afterwards every change is evaluated
/// as it arrives (no polling).
pub async fn wait_for(
    spec: &'static KindSpec,
    api: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
    timeout: Duration,
    check: impl Fn(&Value) -> Progress,
) -> Result<Value, ObjectError> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher::watcher(api.clone(), config).boxed();
    let mut last_error = None;
    let mut last_status = String::new();
    let mut reach = Reachability::default();
    let wait = async {
        let mut backoff = Duration::from_millis(100);
        loop {
            match reach.next(&mut stream).await? {
                None => return Err(ObjectError::Api("the watch ended unexpectedly".into())),
                Some(Ok(Event::Apply(object) | Event::InitApply(object))) => {
                    reach.answered();
                    backoff = Duration::from_millis(100);
                    let value = to_value(object);
                    last_status = ready_summary(&value);
                    match check(&value) {
                        Progress::Done => return Ok(value),
                        Progress::Failed(message) => return Err(ObjectError::Failed(message)),
                        Progress::Pending => {}
                    }
                }
                Some(Ok(Event::Delete(_))) => {
                    return Err(ObjectError::Deleted {
                        kind: spec.kind,
                        namespace: namespace.into(),
                        name: name.into(),
                    });
                }
                // Init comes before the list request is answered.
                Some(Ok(Event::Init)) => {}
                Some(Ok(Event::InitDone)) => reach.answered(),
                // The watcher resumes after an error (re-listing if needed);
                // only errors that retrying cannot fix, or a server gone for
                // good, end the wait.
                Some(Err(err)) => {
                    let err = ObjectError::from_watcher(spec, Some(name), err);
                    last_error = Some(err.to_string());
                    reach.failed(err)?;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    };
    let outcome = tokio::time::timeout(timeout, wait).await;
    outcome.unwrap_or_else(|_| {
        // A server that is gone when time runs out is the cause to report.
        if let Some(lost) = reach.lost() {
            return Err(lost);
        }
        Err(ObjectError::Timeout {
            kind: spec.kind,
            namespace: namespace.into(),
            name: name.into(),
            last_status,
            last_error: last_error
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default(),
        })
    })
}

/// ` (last status: Ready=False Reason: message)` from an object's Ready
/// condition, or empty when it has none.
fn ready_summary(object: &Value) -> String {
    let Some(ready) = crate::kinds::condition(object, "Ready") else {
        return String::new();
    };
    let field = |key: &str| ready[key].as_str().unwrap_or_default().to_string();
    let mut summary = format!(" (last status: Ready={}", field("status"));
    for part in [field("reason"), field("message")] {
        if !part.is_empty() {
            summary.push(' ');
            summary.push_str(&part);
        }
    }
    summary.push(')');
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure(message, reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn a_missing_crd_is_explained_with_the_install_that_brings_it() {
        let missing = || {
            api_error(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        };
        let image = crate::kinds::by_kind("ImageRepository").unwrap();
        let err = ObjectError::from_kube(image, None, missing());
        assert!(
            err.to_string().ends_with(
                "run 'flux install --components-extra=image-reflector-controller,image-automation-controller'"
            ),
            "{err}"
        );
        let generator = crate::kinds::by_kind("ArtifactGenerator").unwrap();
        let err = ObjectError::from_kube(generator, None, missing());
        assert!(
            err.to_string()
                .contains("--components-extra=source-watcher"),
            "{err}"
        );
        let kustomization = crate::kinds::by_kind("Kustomization").unwrap();
        let err = ObjectError::from_kube(kustomization, None, missing());
        assert!(
            err.to_string()
                .contains("the Flux CRDs are not installed; run 'flux install'"),
            "{err}"
        );
    }

    #[test]
    fn errors_are_classified_for_the_user() {
        let spec = crate::kinds::by_kind("Kustomization").unwrap();
        let forbidden = "kustomizations.kustomize.toolkit.fluxcd.io is forbidden: User \"ci\" cannot list resource \"kustomizations\" in API group \"kustomize.toolkit.fluxcd.io\" in the namespace \"flux-system\"";
        let err = ObjectError::from_kube(spec, None, api_error(403, "Forbidden", forbidden));
        assert_eq!(
            err.to_string(),
            forbidden,
            "the missing permission is named"
        );
        assert!(err.is_permanent());
        let err = ObjectError::from_kube(
            spec,
            Some("apps"),
            api_error(
                404,
                "NotFound",
                "kustomizations.kustomize.toolkit.fluxcd.io \"apps\" not found",
            ),
        );
        assert_eq!(
            err.to_string(),
            "kustomizations.kustomize.toolkit.fluxcd.io \"apps\" not found"
        );
        let err = ObjectError::from_kube(
            spec,
            None,
            api_error(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
        assert!(matches!(err, ObjectError::KindNotInstalled { .. }));
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert!(is_transient(&api_error(
            429,
            "TooManyRequests",
            "slow down"
        )));
        assert!(is_transient(&api_error(503, "ServiceUnavailable", "later")));
        assert!(!is_transient(&api_error(403, "Forbidden", "no")));
        assert!(!is_transient(&api_error(409, "Conflict", "no")));
        assert!(is_transient(&api_error(
            500,
            "InternalError",
            "etcd hiccup"
        )));
        // kube-apiserver's answer to an apply that does not fit the schema.
        assert!(!is_transient(&api_error(
            500,
            "",
            "failed to create typed patch object (flux-system/x; v1, Kind=ConfigMap): .spec: field not declared in schema"
        )));
    }
}
