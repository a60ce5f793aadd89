//! kube-rs against testenv: typed and dynamic APIs, selectors, paging, watches.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use serde_json::json;

fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .expect("cm")
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn crud_with_the_real_error_shapes() {
    let env = start_without_controllers().await;
    let c = env.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let created = cms
        .create(&PostParams::default(), &configmap("one", json!({})))
        .await
        .expect("create");
    let rv1: u64 = created
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("numeric rv");
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let e = api_error(
        cms.create(&PostParams::default(), &configmap("one", json!({})))
            .await
            .expect_err("exists"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, "configmaps \"one\" already exists");
    let e = api_error(cms.get("nope").await.expect_err("missing"));
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (404, "NotFound", "configmaps \"nope\" not found")
    );
    // Update with the current resourceVersion succeeds and bumps it; a stale one conflicts.
    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = cms
        .replace("one", &PostParams::default(), &changed)
        .await
        .expect("replace");
    let rv2: u64 = updated
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("rv");
    assert!(rv2 > rv1);
    let e = api_error(
        cms.replace("one", &PostParams::default(), &changed)
            .await
            .expect_err("stale"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(
        e.message.contains("the object has been modified"),
        "{}",
        e.message
    );
    // generateName.
    let mut g = configmap("", json!({}));
    g.metadata.name = None;
    g.metadata.generate_name = Some("gen-".into());
    let made = cms
        .create(&PostParams::default(), &g)
        .await
        .expect("generateName");
    assert!(made.metadata.name.expect("name").starts_with("gen-"));
    // A namespace must exist; cluster-scoped kinds have no namespaced path.
    let missing: Api<ConfigMap> = Api::namespaced(c.clone(), "ghost");
    let e = api_error(
        missing
            .create(&PostParams::default(), &configmap("x", json!({})))
            .await
            .expect_err("no namespace"),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "namespaces \"ghost\" not found")
    );
    let (code, _, body) = raw(
        &c,
        "GET",
        "/api/v1/namespaces/default/namespaces/default",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 404);
    status_body(&body);
    let (code, _, _) = raw(
        &c,
        "GET",
        "/api/v1/configmaps/one",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(
        code, 404,
        "namespaced kinds need a namespace to get by name"
    );
    cms.delete("one", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(cms.get_opt("one").await.expect("get").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_with_selectors_and_paging() {
    let env = start_without_controllers().await;
    let c = env.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    for i in 0..25 {
        let tier = ["a", "b", "c"][i % 3];
        let labels = if i % 5 == 0 {
            json!({"tier": tier, "skip": "yes"})
        } else {
            json!({"tier": tier})
        };
        cms.create(
            &PostParams::default(),
            &configmap(&format!("cm-{i:02}"), labels),
        )
        .await
        .expect("create");
    }
    let count = |sel: &'static str| {
        let cms = cms.clone();
        async move {
            cms.list(&ListParams::default().labels(sel))
                .await
                .expect(sel)
                .items
                .len()
        }
    };
    assert_eq!(count("tier=a").await, 9);
    assert_eq!(count("tier==a").await, 9);
    assert_eq!(count("tier!=a").await, 16);
    assert_eq!(count("tier in (a,b)").await, 17);
    assert_eq!(count("tier notin (a,b)").await, 8);
    assert_eq!(count("skip").await, 5);
    assert_eq!(count("!skip").await, 20);
    assert_eq!(count("tier=a,!skip").await, 7);
    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=cm-03"))
        .await
        .expect("fields");
    assert_eq!(by_name.items.len(), 1);
    let by_ns = cms
        .list(&ListParams::default().fields("metadata.namespace!=default"))
        .await
        .expect("fields");
    assert!(by_ns.items.is_empty());
    // Paging: 10 + 10 + 5 with continue tokens.
    let mut names = vec![];
    let mut lp = ListParams::default().limit(10);
    let mut pages = 0;
    loop {
        let page = cms.list(&lp).await.expect("page");
        pages += 1;
        names.extend(page.items.iter().filter_map(|i| i.metadata.name.clone()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => {
                if pages == 1 {
                    assert_eq!(page.metadata.remaining_item_count, Some(15));
                }
                lp = lp.continue_token(&token);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 25);
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "ordered, no duplicates"
    );
    let e = api_error(
        cms.list(&ListParams::default().labels("tier in (a"))
            .await
            .expect_err("bad selector"),
    );
    assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_watcher_sees_changes() {
    let env = start_without_controllers().await;
    let c = env.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let mut stream = watcher(cms.clone(), watcher::Config::default().labels("app=w")).boxed();
    let writer = cms.clone();
    let seen = async {
        let mut saw_apply = false;
        loop {
            match stream.next().await.expect("stream open").expect("event") {
                watcher::Event::InitDone => {
                    writer
                        .create(
                            &PostParams::default(),
                            &configmap("w1", json!({"app": "w"})),
                        )
                        .await
                        .expect("create");
                    writer
                        .create(
                            &PostParams::default(),
                            &configmap("other", json!({"app": "x"})),
                        )
                        .await
                        .expect("create");
                }
                watcher::Event::Apply(o) => {
                    assert_eq!(o.metadata.name.as_deref(), Some("w1"), "selector respected");
                    if !saw_apply {
                        saw_apply = true;
                        writer
                            .delete("w1", &DeleteParams::default())
                            .await
                            .expect("delete");
                    }
                }
                watcher::Event::Delete(o) => {
                    assert_eq!(o.metadata.name.as_deref(), Some("w1"));
                    return saw_apply;
                }
                _ => {}
            }
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(20), seen)
            .await
            .expect("events in time")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_resumes_from_resource_version_and_expires_old_ones() {
    let env = testenv::TestEnv::start(testenv::Options {
        controllers: false,
        watch_history: 10,
        ..Default::default()
    })
    .await
    .expect("start");
    let c = env.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let first = cms
        .create(&PostParams::default(), &configmap("c0", json!({})))
        .await
        .expect("create");
    let rv0 = first.metadata.resource_version.expect("rv");
    let mut last_rv = rv0.clone();
    for i in 1..5 {
        last_rv = cms
            .create(
                &PostParams::default(),
                &configmap(&format!("c{i}"), json!({})),
            )
            .await
            .expect("c")
            .metadata
            .resource_version
            .expect("rv");
    }
    // Resuming replays what came after the given version.
    let mut s = cms
        .watch(&WatchParams::default().timeout(5), &rv0)
        .await
        .expect("watch")
        .boxed();
    let mut names = vec![];
    while names.len() < 4 {
        match s.next().await.expect("event").expect("ok") {
            WatchEvent::Added(o) => names.push(o.metadata.name.expect("name")),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(names, ["c1", "c2", "c3", "c4"]);
    drop(s);
    // Past the retained history: an ERROR event carrying 410 Expired, as the watch cache sends.
    for i in 5..30 {
        cms.create(
            &PostParams::default(),
            &configmap(&format!("c{i}"), json!({})),
        )
        .await
        .expect("create");
    }
    let mut s = cms
        .watch(&WatchParams::default().timeout(5), &last_rv)
        .await
        .expect("watch")
        .boxed();
    match s.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    // Bookmarks arrive when asked for; timeoutSeconds ends the stream.
    let current = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut s = cms
        .watch(&WatchParams::default().timeout(7), &current)
        .await
        .expect("watch")
        .boxed();
    let started = std::time::Instant::now();
    let mut bookmark = false;
    while let Some(ev) = s.next().await {
        if let Ok(WatchEvent::Bookmark(b)) = ev {
            assert!(!b.metadata.resource_version.is_empty());
            bookmark = true;
        }
    }
    assert!(bookmark, "a bookmark within the timeout");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "timeoutSeconds ends the watch"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn patches_server_side_apply_and_status_through_kube() {
    let env = start_without_controllers().await;
    env.apply_yaml(WIDGET_CRD).expect("crd");
    let c = env.client().await.expect("client");
    let widgets = dyn_api(&c, "example.com", "v1", "Widget", "widgets", "default");
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"color": "red", "tags": ["a"]}});
    let applied = widgets
        .patch("w", &PatchParams::apply("alice"), &Patch::Apply(&w))
        .await
        .expect("apply creates");
    let v = serde_json::to_value(&applied).expect("json");
    assert_eq!(v["spec"]["size"], 3);
    assert_eq!(v["metadata"]["managedFields"][0]["manager"], "alice");
    let w2 = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"color": "blue"}});
    let e = api_error(
        widgets
            .patch("w", &PatchParams::apply("bob"), &Patch::Apply(&w2))
            .await
            .expect_err("conflict"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"alice\" using example.com/v1: .spec.color"
    );
    let forced = widgets
        .patch("w", &PatchParams::apply("bob").force(), &Patch::Apply(&w2))
        .await
        .expect("forced");
    assert_eq!(
        forced.metadata.generation,
        Some(2),
        "a spec change bumps generation"
    );
    // Status: only through /status, without bumping generation.
    let st = json!({"status": {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}});
    let after = widgets
        .patch_status("w", &PatchParams::default(), &Patch::Merge(&st))
        .await
        .expect("status");
    let v = serde_json::to_value(&after).expect("json");
    assert_eq!(v["status"]["observedGeneration"], 2);
    assert_eq!(v["metadata"]["generation"], 2);
    // JSON patch on a spec field bumps generation.
    let jp: json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/spec/tags/-", "value": "b"}]))
            .expect("patch");
    let after = widgets
        .patch("w", &PatchParams::default(), &Patch::<()>::Json(jp))
        .await
        .expect("json patch");
    let v = serde_json::to_value(&after).expect("json");
    assert_eq!(v["spec"]["tags"], json!(["a", "b"]));
    assert_eq!(v["metadata"]["generation"], 3);
    // Strategic merge on a built-in kind through kube.
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [
            {"name": "a", "image": "a:1", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}, {"name": "b", "image": "b:1"}]},
        }},
    }))
    .expect("deployment");
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}], "volumes": [{"name": "v", "emptyDir": {}}]}}}});
    let after = deploys
        .patch("d", &PatchParams::default(), &Patch::Strategic(&smp))
        .await
        .expect("smp");
    let pod_spec = after.spec.expect("spec").template.spec.expect("pod spec");
    assert_eq!(pod_spec.containers.len(), 2);
    assert_eq!(pod_spec.containers[1].image.as_deref(), Some("b:2"));
    assert_eq!(pod_spec.volumes.map(|v| v.len()), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_owner_collects_its_pods_unless_orphaned() {
    let env = testenv::TestEnv::start(testenv::Options {
        deployment_delay: Duration::from_millis(10),
        ..Default::default()
    })
    .await
    .expect("start");
    let c = env.client().await.expect("client");
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    for name in ["gc", "orphan"] {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}},
        }))
        .expect("deployment");
        deploys
            .create(&PostParams::default(), &d)
            .await
            .expect("create");
    }
    let count = |app: &'static str| {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(&format!("app={app}")))
                .await
                .expect("list")
                .items
                .len()
        }
    };
    let both = eventually(20, || async {
        (count("gc").await == 2 && count("orphan").await == 2).then_some(())
    })
    .await;
    assert!(both.is_some(), "pods created");
    let d = deploys.get("gc").await.expect("get");
    let st = d.status.expect("status");
    assert_eq!(
        (
            st.replicas,
            st.ready_replicas,
            st.available_replicas,
            st.updated_replicas
        ),
        (Some(2), Some(2), Some(2), Some(2))
    );
    deploys
        .delete("gc", &DeleteParams::background())
        .await
        .expect("delete");
    deploys
        .delete("orphan", &DeleteParams::orphan())
        .await
        .expect("delete");
    assert_eq!(count("gc").await, 0);
    assert_eq!(count("orphan").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn label_selector_watches_see_objects_enter_and_leave() {
    let env = start_without_controllers().await;
    let c = env.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let mut s = cms
        .watch(&WatchParams::default().labels("app=w").timeout(10), "0")
        .await
        .expect("watch")
        .boxed();
    cms.create(
        &PostParams::default(),
        &configmap("moving", json!({"app": "x"})),
    )
    .await
    .expect("create");
    let relabel = |app: &'static str| {
        let cms = cms.clone();
        async move {
            let p = json!({"metadata": {"labels": {"app": app}}});
            cms.patch("moving", &PatchParams::default(), &Patch::Merge(&p))
                .await
                .expect("relabel");
        }
    };
    relabel("w").await;
    relabel("x").await;
    let mut seen = vec![];
    while seen.len() < 2 {
        match s.next().await.expect("open").expect("event") {
            WatchEvent::Added(o) => seen.push(("ADDED", o.metadata.name.expect("name"))),
            WatchEvent::Deleted(o) => seen.push(("DELETED", o.metadata.name.expect("name"))),
            WatchEvent::Modified(_) => seen.push(("MODIFIED", String::new())),
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            ("ADDED", "moving".to_string()),
            ("DELETED", "moving".to_string())
        ]
    );
}

const GADGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [name, count]
            properties:
              name: {type: string, minLength: 2, maxLength: 5}
              count: {type: integer, minimum: 1, maximum: 3, default: 2}
              ratio: {type: number, minimum: 0, exclusiveMinimum: true}
              tags:
                type: array
                minItems: 1
                maxItems: 2
                items: {type: string, enum: [a, b]}
"#;

fn gadget(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}, "spec": spec})
}

/// POSTs `body` to the gadgets of `default`; the status code and JSON body.
async fn post_gadget(c: &kube::Client, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let (code, _, bytes) = raw(
        c,
        "POST",
        "/apis/example.com/v1/namespaces/default/gadgets",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    (code, serde_json::from_slice(&bytes).expect("json"))
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_resources_are_validated_against_their_schema() {
    let env = start_without_controllers().await;
    env.apply_yaml(GADGET_CRD).expect("crd");
    let c = env.client().await.expect("client");
    // Defaults come first: `count` is required but defaulted.
    let (code, v) = post_gadget(&c, &gadget("ok", json!({"name": "abc"}))).await;
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["spec"]["count"], 2);
    let cases = [
        (
            json!({}),
            "FieldValueRequired",
            "spec.name",
            "Required value",
        ),
        (
            json!({"name": "a"}),
            "FieldValueInvalid",
            "spec.name",
            "Invalid value: \"a\": spec.name in body should be at least 2 chars long",
        ),
        (
            json!({"name": "abcdef"}),
            "FieldValueTooLong",
            "spec.name",
            "Too long: may not be more than 5 bytes",
        ),
        (
            json!({"name": "ab", "count": 4}),
            "FieldValueInvalid",
            "spec.count",
            "Invalid value: 4: spec.count in body should be less than or equal to 3",
        ),
        (
            json!({"name": "ab", "count": 0}),
            "FieldValueInvalid",
            "spec.count",
            "Invalid value: 0: spec.count in body should be greater than or equal to 1",
        ),
        (
            json!({"name": "ab", "ratio": 0}),
            "FieldValueInvalid",
            "spec.ratio",
            "Invalid value: 0: spec.ratio in body should be greater than 0",
        ),
        (
            json!({"name": "ab", "tags": []}),
            "FieldValueInvalid",
            "spec.tags",
            "Invalid value: 0: spec.tags in body should have at least 1 items",
        ),
        (
            json!({"name": "ab", "tags": ["a", "b", "a"]}),
            "FieldValueTooMany",
            "spec.tags",
            "Too many: 3: must have at most 2 items",
        ),
        (
            json!({"name": "ab", "tags": ["c"]}),
            "FieldValueNotSupported",
            "spec.tags[0]",
            "Unsupported value: \"c\": supported values: \"a\", \"b\"",
        ),
    ];
    for (spec, reason, field, message) in cases {
        let (code, v) = post_gadget(&c, &gadget("bad", spec.clone())).await;
        assert_eq!(code, 422, "{spec}: {v}");
        assert_eq!(v["reason"], "Invalid");
        assert_eq!(
            v["message"],
            format!("Gadget.example.com \"bad\" is invalid: {field}: {message}"),
            "{spec}"
        );
        assert_eq!(v["details"]["name"], "bad");
        assert_eq!(v["details"]["kind"], "Gadget");
        assert_eq!(
            v["details"]["causes"],
            json!([{"reason": reason, "message": message, "field": field}]),
            "{spec}"
        );
    }
    // Several errors are listed together.
    let (code, v) = post_gadget(&c, &gadget("bad", json!({"count": 9}))).await;
    assert_eq!(code, 422);
    assert_eq!(
        v["message"],
        "Gadget.example.com \"bad\" is invalid: [spec.name: Required value, spec.count: Invalid value: 9: spec.count in body should be less than or equal to 3]"
    );
    assert_eq!(v["details"]["causes"].as_array().map(Vec::len), Some(2));
    // Updates and patches of every kind are checked too; the object stays as it was.
    let api = dyn_api(&c, "example.com", "v1", "Gadget", "gadgets", "default");
    let mut obj = api.get("ok").await.expect("get");
    obj.data["spec"]["count"] = json!(7);
    let e = api_error(
        api.replace("ok", &PostParams::default(), &obj)
            .await
            .expect_err("update"),
    );
    assert_eq!(e.code, 422);
    let e = api_error(
        api.patch(
            "ok",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"name": "x"}})),
        )
        .await
        .expect_err("merge patch"),
    );
    assert_eq!(
        e.message,
        "Gadget.example.com \"ok\" is invalid: spec.name: Invalid value: \"x\": spec.name in body should be at least 2 chars long"
    );
    let e = api_error(
        api.patch(
            "ok",
            &PatchParams::apply("test").force(),
            &Patch::Apply(gadget("ok", json!({"name": "abc", "tags": ["z"]}))),
        )
        .await
        .expect_err("apply"),
    );
    assert_eq!(e.code, 422);
    assert!(
        e.message.contains("spec.tags[0]: Unsupported value: \"z\""),
        "{}",
        e.message
    );
    let got = api.get("ok").await.expect("get");
    assert_eq!(got.data["spec"], json!({"name": "abc", "count": 2}));
}
