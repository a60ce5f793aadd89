//! The controllers' only way into the cluster: kube-rs over the API server's HTTP API, so they run
//! the same against testenv's server and a real kube-apiserver.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use kube::api::{
    DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::store::meta_str;

/// A resource as discovery serves it.
#[derive(Debug, Clone)]
pub struct Res {
    pub ar: ApiResource,
    pub namespaced: bool,
}

impl Res {
    fn new(ar: ApiResource, caps: &ApiCapabilities) -> Res {
        Res {
            namespaced: caps.scope == Scope::Namespaced,
            ar,
        }
    }
}

/// An object a watcher reported.
pub struct Seen {
    pub group: &'static str,
    pub plural: &'static str,
    pub obj: Value,
    pub deleted: bool,
}

/// How many times a status write is retried after 409 Conflict.
const CONFLICT_RETRIES: usize = 5;

pub struct Api {
    client: kube::Client,
    /// (group, plural) → resource, as last discovered. A miss asks discovery again: CRDs are
    /// installed while the controllers run.
    by_plural: Mutex<HashMap<(String, String), Res>>,
    /// (apiVersion, kind) → resource.
    by_kind: Mutex<HashMap<(String, String), Res>>,
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// The API server's message for an error, as kubectl prints it.
pub fn message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

impl Api {
    pub fn new(client: kube::Client) -> Api {
        Api {
            client,
            by_plural: Mutex::default(),
            by_kind: Mutex::default(),
        }
    }

    pub async fn resolve(&self, group: &str, plural: &str) -> Option<Res> {
        let key = (group.to_string(), plural.to_string());
        if let Some(r) = lock(&self.by_plural).get(&key) {
            return Some(r.clone());
        }
        let g = kube::discovery::group(&self.client, group).await.ok()?;
        let mut cache = lock(&self.by_plural);
        // Each kind at its most stable version: a group's preferred version may lack some kinds.
        for (ar, caps) in g.resources_by_stability() {
            cache.insert((group.to_string(), ar.plural.clone()), Res::new(ar, &caps));
        }
        cache.get(&key).cloned()
    }

    pub async fn resolve_kind(&self, api_version: &str, kind: &str) -> Option<Res> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(r) = lock(&self.by_kind).get(&key) {
            return Some(r.clone());
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .ok()?;
        let res = Res::new(ar, &caps);
        lock(&self.by_kind).insert(key, res.clone());
        Some(res)
    }

    /// Drops what discovery said about a resource (after a 404: its CRD may have changed).
    fn forget(&self, res: &Res) {
        lock(&self.by_plural).retain(|_, r| r.ar != res.ar);
        lock(&self.by_kind).retain(|_, r| r.ar != res.ar);
    }

    fn api(&self, res: &Res, ns: &str) -> kube::Api<DynamicObject> {
        if res.namespaced && !ns.is_empty() {
            kube::Api::namespaced_with(self.client.clone(), ns, &res.ar)
        } else {
            kube::Api::all_with(self.client.clone(), &res.ar)
        }
    }

    /// The object as JSON, with the apiVersion and kind that list items may lack.
    fn value(res: &Res, o: DynamicObject) -> Value {
        let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
        if v.is_object() {
            v["apiVersion"] = json!(res.ar.api_version);
            v["kind"] = json!(res.ar.kind);
        }
        v
    }

    /// `Ok(None)` when the object does not exist.
    pub async fn get(&self, res: &Res, ns: &str, name: &str) -> Result<Option<Value>, kube::Error> {
        match self.api(res, ns).get(name).await {
            Ok(o) => Ok(Some(Self::value(res, o))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The object at group/plural, or None if it (or its kind) is missing or unreadable.
    pub async fn find(&self, group: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let res = self.resolve(group, plural).await?;
        self.get(&res, ns, name).await.ok().flatten()
    }

    /// Objects of group/plural in `ns` (all namespaces if None) matching a label selector.
    pub async fn list(
        &self,
        group: &str,
        plural: &str,
        ns: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        let res = self
            .resolve(group, plural)
            .await
            .ok_or_else(|| format!("the server does not serve {plural}.{group}"))?;
        let mut lp = ListParams::default();
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        let list = self
            .api(&res, ns.unwrap_or_default())
            .list(&lp)
            .await
            .map_err(|e| message(&e))?;
        Ok(list
            .items
            .into_iter()
            .map(|o| Self::value(&res, o))
            .collect())
    }

    pub async fn create(&self, res: &Res, ns: &str, obj: &Value) -> Result<Value, kube::Error> {
        let o: DynamicObject =
            serde_json::from_value(obj.clone()).map_err(kube::Error::SerdeError)?;
        self.api(res, ns)
            .create(&PostParams::default(), &o)
            .await
            .map(|o| Self::value(res, o))
    }

    /// Deletes; an object already gone counts as deleted.
    pub async fn delete(&self, res: &Res, ns: &str, name: &str) -> Result<(), kube::Error> {
        match self
            .api(res, ns)
            .delete(name, &DeleteParams::default())
            .await
        {
            Err(e) if !not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Server-side apply, conflicts forced, as the Flux controllers apply.
    pub async fn apply(
        &self,
        res: &Res,
        ns: &str,
        doc: &Value,
        manager: &str,
    ) -> Result<Value, kube::Error> {
        let name = meta_str(doc, "name");
        self.api(res, ns)
            .patch(
                name,
                &PatchParams::apply(manager).force(),
                &Patch::Apply(doc),
            )
            .await
            .map(|o| Self::value(res, o))
    }

    /// A JSON merge patch of the object's main resource, as `manager`.
    pub async fn merge_patch(
        &self,
        res: &Res,
        ns: &str,
        name: &str,
        patch: &Value,
        manager: &str,
    ) -> Result<Value, kube::Error> {
        let pp = PatchParams {
            field_manager: Some(manager.into()),
            ..Default::default()
        };
        self.api(res, ns)
            .patch(name, &pp, &Patch::Merge(patch))
            .await
            .map(|o| Self::value(res, o))
    }

    /// Changes `obj` with `edit` and writes it back (the status subresource if `status`), guarded
    /// by its resourceVersion; on 409 Conflict re-reads and edits again. Ok(true) when the write
    /// changed the object; Ok(false) also when the object is gone.
    pub async fn update(
        &self,
        res: &Res,
        obj: &Value,
        manager: &str,
        status: bool,
        edit: impl Fn(&mut Value),
    ) -> Result<bool, kube::Error> {
        let (ns, name) = (meta_str(obj, "namespace"), meta_str(obj, "name"));
        let api = self.api(res, ns);
        let pp = PostParams {
            field_manager: Some(manager.into()),
            ..Default::default()
        };
        let mut cur = obj.clone();
        let mut attempts = 0;
        loop {
            let before = meta_str(&cur, "resourceVersion").to_string();
            edit(&mut cur);
            let o: DynamicObject =
                serde_json::from_value(cur.clone()).map_err(kube::Error::SerdeError)?;
            let written = if status {
                api.replace_status(name, &pp, &o).await
            } else {
                api.replace(name, &pp, &o).await
            };
            match written {
                Ok(o) => return Ok(o.metadata.resource_version.as_deref() != Some(before.as_str())),
                Err(e) if conflict(&e) && attempts < CONFLICT_RETRIES => {
                    attempts += 1;
                    match self.get(res, ns, name).await? {
                        Some(fresh) => cur = fresh,
                        None => return Ok(false),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Watches group/plural in all namespaces into `tx` until `shutdown`. A kind not served yet
    /// (its CRD not installed) is looked up again every second.
    pub async fn watch(
        &self,
        group: &'static str,
        plural: &'static str,
        tx: mpsc::UnboundedSender<Seen>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let pause = Duration::from_secs(1);
        loop {
            let Some(res) = self.resolve(group, plural).await else {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => continue,
                    _ = shutdown.changed() => return,
                }
            };
            let api = kube::Api::<DynamicObject>::all_with(self.client.clone(), &res.ar);
            // The backoff paces retries after errors (server down, throttled).
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            let mut stream = std::pin::pin!(stream);
            loop {
                let ev = tokio::select! {
                    ev = stream.next() => ev,
                    _ = shutdown.changed() => return,
                };
                let (obj, deleted) = match ev {
                    Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => (o, false),
                    Some(Ok(watcher::Event::Delete(o))) => (o, true),
                    Some(Ok(_)) => continue,
                    // The kind went away (CRD deleted or changed): discover it afresh.
                    Some(Err(watcher::Error::InitialListFailed(e))) if not_found(&e) => break,
                    Some(Err(_)) => continue,
                    None => break,
                };
                let seen = Seen {
                    group,
                    plural,
                    obj: Self::value(&res, obj),
                    deleted,
                };
                if tx.send(seen).is_err() {
                    return;
                }
            }
            self.forget(&res);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
