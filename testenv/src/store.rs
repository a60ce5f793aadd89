//! The in-memory object store: one lock, a global resourceVersion counter, and a bounded event
//! log that watches resume from.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::registry::{self, ResourceDef};
use crate::{fields, schema};

type Key = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub group: String,
    pub plural: String,
    pub etype: EventType,
    pub object: Arc<Value>,
    /// The object before a MODIFIED change, so watches can tell when it enters or leaves a selector.
    pub prev: Option<Arc<Value>>,
}

/// The events a watch sends first, the resourceVersion they bring the watcher up to, and the
/// receiver for everything after.
pub type WatchStart = (Vec<Arc<Event>>, u64, broadcast::Receiver<Arc<Event>>);

/// Which endpoint a write came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    Main,
    Status,
}

#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub status: bool,
    /// Field manager of an Update operation (apply records its own fields).
    pub manager: Option<String>,
    pub dry_run: bool,
    pub validation: Validation,
    /// Unknown fields dropped under `Validation::Warn`, for the response's Warning headers.
    pub warnings: std::cell::RefCell<Vec<String>>,
}

/// What happens to fields a custom resource's schema does not declare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Validation {
    /// Dropped silently (fieldValidation=Ignore, and the controllers' own writes).
    #[default]
    Prune,
    /// Dropped with a warning (fieldValidation=Warn, the server's default for API requests).
    Warn,
    /// Rejected, as for an update or create with fieldValidation=Strict.
    Strict,
    /// Rejected, worded as server-side apply words it.
    StrictApply,
}

impl WriteOpts {
    fn sub(&self) -> Sub {
        if self.status { Sub::Status } else { Sub::Main }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub orphan: bool,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

struct Inner {
    rv: u64,
    defs: BTreeMap<Key, ResourceDef>,
    objs: HashMap<Key, BTreeMap<Key, Arc<Value>>>,
    log: VecDeque<Arc<Event>>,
    log_cap: usize,
    /// Highest resourceVersion whose event has left the log.
    compacted: u64,
    /// Bumped whenever the set of served types changes (discovery and OpenAPI hashes).
    discovery_gen: u64,
}

pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
    /// See [`local_git_url`].
    local_git_urls: bool,
}

/// The one leniency testenv can be asked for (`Options::local_git_urls`, off by default): a
/// GitRepository may name a repository on this machine (a `file://` URL, an absolute path, or
/// `git://` on the loopback interface), which the simulated source controller can read. Its own
/// controller tests use it; a real cluster's CRD pattern refuses such a URL, and so does testenv
/// by default.
fn local_git_url(def: &ResourceDef, obj: &Value, cause: &schema::Cause) -> bool {
    def.group == "source.toolkit.fluxcd.io"
        && def.kind == "GitRepository"
        && cause.field == "spec.url"
        && obj["spec"]["url"].as_str().is_some_and(|url| {
            url.starts_with("file://")
                || url.starts_with('/')
                || ["git://127.0.0.1", "git://localhost", "git://[::1]"]
                    .iter()
                    .any(|loopback| url.starts_with(loopback))
        })
}

pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn uid() -> String {
    let mut b = [0u8; 16];
    for x in b.iter_mut() {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn random_suffix(n: usize) -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..n)
        .map(|_| ALPHA[fastrand::usize(..ALPHA.len())] as char)
        .collect()
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

/// The object without resourceVersion and managedFields timestamps, to tell whether a write
/// changed anything (no-op writes keep the resourceVersion and send no event).
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        if let Some(Value::Array(mf)) = m.get_mut("managedFields") {
            for e in mf.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
    }
    v
}

fn spec_part(def: &ResourceDef, v: &Value) -> Value {
    if def.builtin {
        return v.get("spec").cloned().unwrap_or(Value::Null);
    }
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
    }
    v
}

/// Rejects objects whose well-known fields have the wrong JSON type, as decoding into the Go
/// types would.
fn check_shape(def: &ResourceDef, obj: &Value) -> ApiResult<()> {
    let bad = |field: &str, want: &str| {
        Err(ApiError::bad_request(format!(
            "{} in version \"v1\" cannot be handled as a {}: json: cannot unmarshal {field} into Go value of type {want}",
            def.kind, def.kind
        )))
    };
    if !obj.is_object() {
        return bad("non-object", "map");
    }
    let meta = &obj["metadata"];
    if !meta.is_object() && !meta.is_null() {
        return bad("metadata", "v1.ObjectMeta");
    }
    for (field, want_object) in [
        ("labels", true),
        ("annotations", true),
        ("finalizers", false),
        ("ownerReferences", false),
    ] {
        let v = &meta[field];
        let ok = v.is_null()
            || if want_object {
                v.is_object()
            } else {
                v.is_array()
            };
        if !ok {
            return bad(
                &format!("metadata.{field}"),
                if want_object {
                    "map[string]string"
                } else {
                    "[]"
                },
            );
        }
        if want_object
            && v.as_object()
                .is_some_and(|m| m.values().any(|x| !x.is_string()))
        {
            return bad(&format!("metadata.{field}"), "string");
        }
    }
    if def.builtin {
        for field in ["spec", "data", "status"] {
            if !obj[field].is_object() && !obj[field].is_null() {
                return bad(field, "struct");
            }
        }
    }
    Ok(())
}

impl Store {
    pub fn new(log_cap: usize, local_git_urls: bool) -> Arc<Store> {
        let (tx, _) = broadcast::channel(1 << 16);
        let mut inner = Inner {
            rv: 1,
            defs: BTreeMap::new(),
            objs: HashMap::new(),
            log: VecDeque::new(),
            log_cap,
            compacted: 0,
            discovery_gen: 1,
        };
        for d in registry::builtins() {
            inner.defs.insert(d.key(), d);
        }
        let store = Arc::new(Store {
            inner: Mutex::new(inner),
            tx,
            local_git_urls,
        });
        let ns = store
            .def("", "namespaces")
            .expect("namespaces are built in");
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            store
                .create(&ns, "", obj, &WriteOpts::default())
                .expect("fresh store");
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn def(&self, group: &str, plural: &str) -> Option<ResourceDef> {
        self.lock()
            .defs
            .get(&(group.to_string(), plural.to_string()))
            .cloned()
    }

    pub fn defs(&self) -> Vec<ResourceDef> {
        self.lock().defs.values().cloned().collect()
    }

    pub fn discovery_gen(&self) -> u64 {
        self.lock().discovery_gen
    }

    /// The type serving `kind` in `apiVersion` (as manifests name it).
    pub fn def_for_kind(&self, api_version: &str, kind: &str) -> Option<ResourceDef> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.lock()
            .defs
            .values()
            .find(|d| d.group == group && d.kind == kind && d.version(version).is_some())
            .cloned()
    }

    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> ApiResult<Arc<Value>> {
        let inner = self.lock();
        inner
            .objs
            .get(&def.key())
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, name))
    }

    /// Objects of a type (in `ns` when given), in (namespace, name) order, and the list's resourceVersion.
    pub fn list(&self, def: &ResourceDef, ns: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let items = match inner.objs.get(&def.key()) {
            Some(m) => match ns {
                Some(ns) => m
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(_, v)| v.clone())
                    .collect(),
                None => m.values().cloned().collect(),
            },
            None => vec![],
        };
        (items, inner.rv)
    }

    /// Starts a watch: the events to send first (the current objects as ADDED when `rv` is 0, or
    /// the logged events after `rv`), and a receiver for everything after them.
    pub fn watch(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        rv: Option<u64>,
    ) -> ApiResult<WatchStart> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        let key = def.key();
        let first = match rv {
            Some(rv) if rv > 0 => {
                if rv < inner.compacted {
                    return Err(ApiError::gone(format!(
                        "too old resource version: {rv} ({})",
                        inner.compacted + 1
                    )));
                }
                inner
                    .log
                    .iter()
                    .filter(|e| e.rv > rv && e.group == key.0 && e.plural == key.1)
                    .cloned()
                    .collect()
            }
            _ => inner
                .objs
                .get(&key)
                .map(|m| {
                    m.iter()
                        .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
                        .map(|(_, o)| {
                            Arc::new(Event {
                                rv: o["metadata"]["resourceVersion"]
                                    .as_str()
                                    .and_then(|s| s.parse().ok())
                                    .unwrap_or(0),
                                group: key.0.clone(),
                                plural: key.1.clone(),
                                etype: EventType::Added,
                                object: o.clone(),
                                prev: None,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        Ok((first, inner.rv, rx))
    }

    pub fn create(
        &self,
        def: &ResourceDef,
        ns: &str,
        obj: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Arc<Value>> {
        let mut inner = self.lock();
        self.create_locked(&mut inner, def, ns, obj, opts)
    }

    fn create_locked(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        ns: &str,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Arc<Value>> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        if meta_str(&obj, "name").is_empty() {
            let prefix = meta_str(&obj, "generateName").to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &def.group,
                    &def.kind,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
            obj["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)));
        }
        let name = meta_str(&obj, "name").to_string();
        if def.namespaced {
            let nskey = (String::new(), ns.to_string());
            let exists = inner
                .objs
                .get(&(String::new(), "namespaces".to_string()))
                .is_some_and(|m| m.contains_key(&nskey));
            if !exists {
                return Err(ApiError::not_found("", "namespaces", ns));
            }
        }
        if inner
            .objs
            .get(&def.key())
            .is_some_and(|m| m.contains_key(&(ns.to_string(), name.clone())))
        {
            return Err(ApiError::already_exists(&def.group, &def.plural, &name));
        }
        let obj = self.prepare(inner, def, ns, None, obj, opts)?;
        if opts.dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(self.commit(inner, def, ns, &name, obj, EventType::Added))
    }

    /// Read-modify-write under the lock. `f` gets the current object (None if absent) and returns
    /// the new one; returning an object for an absent key creates it.
    pub fn modify(
        &self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        opts: &WriteOpts,
        f: impl FnOnce(Option<&Value>) -> ApiResult<Value>,
    ) -> ApiResult<Arc<Value>> {
        let mut inner = self.lock();
        let cur = inner
            .objs
            .get(&def.key())
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned();
        let new = f(cur.as_deref())?;
        let Some(old) = cur else {
            if opts.status {
                return Err(ApiError::not_found(&def.group, &def.plural, name));
            }
            return self.create_locked(&mut inner, def, ns, new, opts);
        };
        if !new.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let new_name = meta_str(&new, "name");
        if !new_name.is_empty() && new_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({new_name}) does not match the name on the URL ({name})"
            )));
        }
        let sent_rv = meta_str(&new, "resourceVersion");
        if !sent_rv.is_empty() && sent_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        let new = self.prepare(&mut inner, def, ns, Some(&old), new, opts)?;
        if comparable(&new) == comparable(&old) || opts.dry_run {
            return Ok(if opts.dry_run { Arc::new(new) } else { old });
        }
        let finalized = new["metadata"].get("deletionTimestamp").is_some()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|a| a.is_empty());
        let obj = self.commit(&mut inner, def, ns, name, new, EventType::Modified);
        if finalized {
            self.remove_locked(&mut inner, def, ns, name, false);
        }
        Ok(obj)
    }

    /// Fills in the server-owned fields of an object about to be written.
    fn prepare(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        ns: &str,
        old: Option<&Value>,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Value> {
        check_shape(def, &obj)?;
        let name = meta_str(&obj, "name").to_string();
        let version = match obj["apiVersion"].as_str() {
            Some(av) => {
                let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
                if g != def.group || def.version(v).is_none() {
                    return Err(ApiError::bad_request(format!(
                        "the API version in the data ({av}) does not match the expected API version ({})",
                        def.api_version(def.storage_version())
                    )));
                }
                v.to_string()
            }
            None => old
                .and_then(|o| o["apiVersion"].as_str())
                .map(|av| av.rsplit('/').next().unwrap_or(av).to_string())
                .unwrap_or_else(|| def.storage_version().to_string()),
        };
        if let Some(k) = obj["kind"].as_str()
            && k != def.kind
        {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                def.kind
            )));
        }
        obj["apiVersion"] = json!(def.api_version(&version));
        obj["kind"] = json!(def.kind);
        let body_ns = meta_str(&obj, "namespace").to_string();
        if def.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let now = now();
        match old {
            Some(old) => {
                if opts.status {
                    // The status endpoint ignores everything but status.
                    let status = obj.get("status").cloned();
                    let mut o = old.clone();
                    match status {
                        Some(s) => o["status"] = s,
                        None => {
                            o.as_object_mut().map(|m| m.remove("status"));
                        }
                    }
                    obj = o;
                } else {
                    check_immutable(def, &name, old, &obj)?;
                    for f in [
                        "uid",
                        "creationTimestamp",
                        "deletionTimestamp",
                        "deletionGracePeriodSeconds",
                        "generation",
                    ] {
                        match old["metadata"].get(f) {
                            Some(v) => obj["metadata"][f] = v.clone(),
                            None => {
                                obj["metadata"].as_object_mut().map(|m| m.remove(f));
                            }
                        }
                    }
                    if def.has_status() {
                        match old.get("status") {
                            Some(s) => obj["status"] = s.clone(),
                            None => {
                                obj.as_object_mut().map(|m| m.remove("status"));
                            }
                        }
                    }
                }
            }
            None => {
                let m = &mut obj["metadata"];
                m["uid"] = json!(uid());
                m["creationTimestamp"] = json!(now);
                for f in [
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "resourceVersion",
                    "generation",
                ] {
                    m.as_object_mut().map(|m| m.remove(f));
                }
                if def.has_status() {
                    obj.as_object_mut().map(|m| m.remove("status"));
                }
            }
        }
        if !def.builtin
            && let Some(schema) = def.version(&version).and_then(|v| v.schema.as_ref())
        {
            let mut report = schema::prune_and_default(&mut obj, schema);
            report
                .invalid
                .retain(|cause| !(self.local_git_urls && local_git_url(def, &obj, cause)));
            if !report.invalid.is_empty() {
                return Err(ApiError::invalid_fields(
                    &def.group,
                    &def.kind,
                    &name,
                    &report.invalid,
                ));
            }
            let unknown = report.pruned;
            if opts.validation == Validation::Warn {
                opts.warnings
                    .borrow_mut()
                    .extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")));
            } else if !unknown.is_empty() && opts.validation != Validation::Prune {
                let message = if opts.validation == Validation::StrictApply {
                    let fields: Vec<String> = unknown
                        .iter()
                        .map(|f| format!(".{f}: field not declared in schema"))
                        .collect();
                    format!(
                        "failed to create typed patch object ({}; {}, Kind={}): {}",
                        if def.namespaced {
                            format!("{ns}/{name}")
                        } else {
                            name.clone()
                        },
                        def.api_version(&version),
                        def.kind,
                        fields.join(", ")
                    )
                } else {
                    let fields: Vec<String> = unknown
                        .iter()
                        .map(|f| format!("unknown field \"{f}\""))
                        .collect();
                    format!(
                        "{} in version \"{version}\" cannot be handled as a {}: strict decoding error: {}",
                        def.kind,
                        def.kind,
                        fields.join(", ")
                    )
                };
                return Err(if opts.validation == Validation::StrictApply {
                    ApiError::typed_patch(message)
                } else {
                    ApiError::bad_request(message)
                });
            }
        }
        // Defaulting by kind, as the built-in registries do.
        match (def.group.as_str(), def.plural.as_str()) {
            ("", "namespaces") => {
                obj["status"] = json!({"phase": "Active"});
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
                if obj["spec"]["finalizers"].is_null() {
                    obj["spec"] = json!({"finalizers": ["kubernetes"]});
                }
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                let d = registry::from_crd(&obj)
                    .map_err(|m| ApiError::invalid(&def.group, &def.kind, &name, m))?;
                if let Some(existing) = inner.defs.get(&d.key())
                    && existing.builtin
                {
                    return Err(ApiError::invalid(
                        &def.group,
                        &def.kind,
                        &name,
                        "spec.group: the group is reserved",
                    ));
                }
                let stored = registry::stored_versions(&obj, old, opts.status)
                    .map_err(|m| ApiError::invalid(&def.group, &def.kind, &name, m))?;
                obj["status"] = registry::crd_status(&obj, &now);
                obj["status"]["storedVersions"] = json!(stored);
            }
            ("", "services") => {
                if obj["spec"]["type"].is_null() {
                    obj["spec"]["type"] = json!("ClusterIP");
                }
                if obj["spec"]["clusterIP"].is_null() {
                    let ip = format!("10.96.{}.{}", fastrand::u8(1..255), fastrand::u8(1..255));
                    obj["spec"]["clusterIP"] = json!(ip);
                    obj["spec"]["clusterIPs"] = json!([ip]);
                }
            }
            ("", "secrets") => {
                if let Some(Value::Object(sd)) =
                    obj.as_object_mut().and_then(|m| m.remove("stringData"))
                {
                    for (k, v) in sd {
                        let enc = base64::engine::general_purpose::STANDARD
                            .encode(v.as_str().unwrap_or_default());
                        obj["data"][k] = json!(enc);
                    }
                }
                if obj["type"].is_null() {
                    obj["type"] = json!("Opaque");
                }
            }
            ("apps", "deployments") if obj["spec"]["replicas"].is_null() => {
                obj["spec"]["replicas"] = json!(1);
            }
            _ => {}
        }
        let tracks_generation = !def.builtin || def.plural == "deployments";
        if tracks_generation {
            let generation = match old {
                None => 1,
                Some(old) => {
                    let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
                    if spec_part(def, old) != spec_part(def, &obj) {
                        g + 1
                    } else {
                        g
                    }
                }
            };
            obj["metadata"]["generation"] = json!(generation);
        }
        if let Some(manager) = &opts.manager {
            fields::track_update(old, &mut obj, manager, opts.sub() == Sub::Status, &now);
        }
        Ok(obj)
    }

    fn commit(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        mut obj: Value,
        etype: EventType,
    ) -> Arc<Value> {
        inner.rv += 1;
        let rv = inner.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = Arc::new(obj);
        let prev = inner
            .objs
            .entry(def.key())
            .or_default()
            .insert((ns.to_string(), name.to_string()), obj.clone());
        if def.group == "apiextensions.k8s.io"
            && def.plural == "customresourcedefinitions"
            && let Ok(d) = registry::from_crd(&obj)
        {
            inner.defs.insert(d.key(), d);
            inner.discovery_gen += 1;
        }
        self.emit(inner, def, etype, obj.clone(), prev);
        obj
    }

    fn emit(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        etype: EventType,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        let ev = Arc::new(Event {
            rv: inner.rv,
            group: def.group.clone(),
            plural: def.plural.clone(),
            etype,
            object,
            prev,
        });
        inner.log.push_back(ev.clone());
        while inner.log.len() > inner.log_cap {
            if let Some(e) = inner.log.pop_front() {
                inner.compacted = e.rv;
            }
        }
        // No receivers is fine: nobody watches yet.
        let _ = self.tx.send(ev);
    }

    /// Deletes an object; with finalizers it only gets a deletionTimestamp.
    pub fn delete(
        &self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> ApiResult<Arc<Value>> {
        if def.group.is_empty()
            && def.plural == "namespaces"
            && ["default", "kube-system", "kube-public"].contains(&name)
        {
            return Err(ApiError::undeletable_namespace(name));
        }
        let mut inner = self.lock();
        let cur = inner
            .objs
            .get(&def.key())
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, name))?;
        if let Some(u) = &opts.precondition_uid
            && u != meta_str(&cur, "uid")
        {
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        if let Some(r) = &opts.precondition_rv
            && r != meta_str(&cur, "resourceVersion")
        {
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        if opts.dry_run {
            return Ok(cur);
        }
        let has_finalizers = cur["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if has_finalizers && !(def.group.is_empty() && def.plural == "namespaces") {
            if cur["metadata"].get("deletionTimestamp").is_some() {
                return Ok(cur);
            }
            let mut obj = (*cur).clone();
            obj["metadata"]["deletionTimestamp"] = json!(now());
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            return Ok(self.commit(&mut inner, def, ns, name, obj, EventType::Modified));
        }
        Ok(self
            .remove_locked(&mut inner, def, ns, name, opts.orphan)
            .unwrap_or(cur))
    }

    fn remove_locked(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        orphan: bool,
    ) -> Option<Arc<Value>> {
        let removed = inner
            .objs
            .get_mut(&def.key())?
            .remove(&(ns.to_string(), name.to_string()))?;
        inner.rv += 1;
        let mut gone = (*removed).clone();
        gone["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        let gone = Arc::new(gone);
        self.emit(inner, def, EventType::Deleted, gone.clone(), None);
        // Deleting a CRD deletes its objects; deleting a namespace deletes its contents.
        if def.group == "apiextensions.k8s.io"
            && def.plural == "customresourcedefinitions"
            && let Ok(d) = registry::from_crd(&removed)
        {
            let keys: Vec<Key> = inner
                .objs
                .get(&d.key())
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for (n, o) in keys {
                self.remove_locked(inner, &d, &n, &o, true);
            }
            inner.defs.remove(&d.key());
            inner.objs.remove(&d.key());
            inner.discovery_gen += 1;
        }
        if def.group.is_empty() && def.plural == "namespaces" {
            let defs: Vec<ResourceDef> = inner
                .defs
                .values()
                .filter(|d| d.namespaced)
                .cloned()
                .collect();
            for d in defs {
                let names: Vec<String> = inner
                    .objs
                    .get(&d.key())
                    .map(|m| {
                        m.keys()
                            .filter(|(n, _)| n == name)
                            .map(|(_, o)| o.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for o in names {
                    self.remove_locked(inner, &d, name, &o, true);
                }
            }
        }
        if !orphan {
            let uid = meta_str(&removed, "uid").to_string();
            let mut dependents = vec![];
            for (key, m) in &inner.objs {
                for ((n, o), obj) in m {
                    let owned = obj["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(&uid)));
                    if owned {
                        dependents.push((key.clone(), n.clone(), o.clone()));
                    }
                }
            }
            for (key, n, o) in dependents {
                if let Some(d) = inner.defs.get(&key).cloned() {
                    self.remove_locked(inner, &d, &n, &o, false);
                }
            }
        }
        Some(gone)
    }
}

/// kube-apiserver's rule for ConfigMaps and Secrets marked `immutable`:
/// neither their data nor the mark may change.
fn check_immutable(def: &ResourceDef, name: &str, old: &Value, new: &Value) -> ApiResult<()> {
    let (kind, fields): (&str, &[&str]) = match (def.group.as_str(), def.plural.as_str()) {
        ("", "configmaps") => ("ConfigMap", &["data", "binaryData"]),
        ("", "secrets") => ("Secret", &["data"]),
        _ => return Ok(()),
    };
    if old["immutable"] != json!(true) {
        return Ok(());
    }
    let forbidden =
        |field: &str| format!("{field}: Forbidden: field is immutable when `immutable` is set");
    let mut errors = Vec::new();
    if new["immutable"] != json!(true) {
        errors.push(forbidden("immutable"));
    }
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(|m| m.is_empty());
    for field in fields {
        if old[field] != new[field] && !(empty(&old[field]) && empty(&new[field])) {
            errors.push(forbidden(field));
        }
    }
    let message = match errors.as_slice() {
        [] => return Ok(()),
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    Err(ApiError::invalid_core(kind, name, message))
}
