//! The real kubectl against testenv, one test per behaviour; most run on a real kube-apiserver too
//! (`on_both_servers!`), the rest need what only testenv has (pod logs, its token, its leniency).

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use testenv::{Options, TestEnv};
use tokio::io::{AsyncBufReadExt, BufReader};

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: default, labels: {app: shop}}
spec: {color: red}
"#;

/// WIDGET with a field the schema does not declare.
const WIDGET_EXTRA: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: default, labels: {app: shop}}
spec: {color: red, notInSchema: true}
"#;

async fn api_resources_lists_builtin_and_crd_kinds(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET_CRD).await;
    let out = kubectl_ok(&k, env, &["api-resources"]).await;
    for want in [
        "deployments",
        "configmaps",
        "customresourcedefinitions",
        "clusterrolebindings",
        "networkpolicies",
        "widgets",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(want)),
            "{want} missing from:\n{out}"
        );
    }
    let widgets = out
        .lines()
        .find(|l| l.starts_with("widgets"))
        .expect("widgets listed");
    assert!(
        widgets.contains("example.com/v1") && widgets.contains("Widget") && widgets.contains("wd"),
        "{widgets}"
    );
    let version = kubectl_ok(&k, env, &["version", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&version).expect("json");
    // A release Flux v2.9 supports (1.33 or newer), never v0.0.0-master.
    let git_version = v["serverVersion"]["gitVersion"]
        .as_str()
        .expect("gitVersion");
    let minor: u32 = git_version
        .strip_prefix("v1.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("not a 1.x release: {git_version}"));
    assert!(minor >= 33, "{git_version}");
}

async fn client_side_apply_prunes_unknown_fields_and_defaults(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    let crd = kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET_CRD).await;
    assert!(crd.ok, "{}", crd.stderr);
    // kubectl validates strictly by default: the server rejects the unknown field...
    let out = kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET_EXTRA).await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("strict decoding error: unknown field \"spec.notInSchema\""),
        "{}",
        out.stderr
    );
    // ...with --validate=warn prunes it with a warning...
    let args = ["apply", "--validate=warn", "-f", "-"];
    let out = kubectl_stdin(&k, env, &args, WIDGET_EXTRA).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Warning: unknown field \"spec.notInSchema\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("widget.example.com/w1 created"),
        "{}",
        out.stdout
    );
    let got: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "widget", "w1", "-o", "json"]).await)
            .expect("json");
    assert_eq!(got["spec"]["color"], "red");
    assert_eq!(got["spec"]["size"], 3, "schema default applied");
    assert!(
        got["spec"].get("notInSchema").is_none(),
        "unknown field pruned: {got}"
    );
    assert_eq!(got["metadata"]["generation"], 1);
    assert!(
        got["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    // ...and without validation prunes it silently. A change patches and bumps the generation.
    let out = kubectl_stdin(
        &k,
        env,
        &["apply", "--validate=false", "-f", "-"],
        &WIDGET_EXTRA.replace("red", "blue"),
    )
    .await;
    assert!(!out.stderr.contains("Warning"), "{}", out.stderr);
    assert!(
        out.stdout.contains("configured"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let got: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "wd", "w1", "-o", "json"]).await)
            .expect("json");
    assert_eq!(got["spec"]["color"], "blue");
    assert_eq!(got["metadata"]["generation"], 2);
    let out = kubectl_ok(
        &k,
        env,
        &["get", "widgets", "-l", "app in (shop,other)", "-o", "name"],
    )
    .await;
    assert_eq!(out.trim(), "widget.example.com/w1");
    let out = kubectl_ok(
        &k,
        env,
        &["get", "widgets", "-l", "app notin (shop)", "-o", "name"],
    )
    .await;
    assert_eq!(out.trim(), "");
}

async fn server_side_apply_tracks_managers_and_reports_conflicts(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    kubectl_stdin(&k, env, &["apply", "--server-side", "-f", "-"], WIDGET_CRD).await;
    let out = kubectl_stdin(
        &k,
        env,
        &["apply", "--server-side", "--field-manager=alice", "-f", "-"],
        WIDGET,
    )
    .await;
    let strict = kubectl_stdin(
        &k,
        env,
        &["apply", "--server-side", "-f", "-"],
        WIDGET_EXTRA,
    )
    .await;
    assert!(!strict.ok);
    assert!(
        strict
            .stderr
            .contains(".spec.notInSchema: field not declared in schema"),
        "{}",
        strict.stderr
    );
    assert!(
        out.ok && out.stdout.contains("serverside-applied"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let got: Value = serde_json::from_str(
        &kubectl_ok(
            &k,
            env,
            &["get", "widget", "w1", "-o", "json", "--show-managed-fields"],
        )
        .await,
    )
    .expect("json");
    let mf = got["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields");
    assert!(
        mf.iter()
            .any(|e| e["manager"] == "alice" && e["operation"] == "Apply"),
        "{mf:?}"
    );
    // Another manager changing alice's field conflicts...
    let out = kubectl_stdin(
        &k,
        env,
        &["apply", "--server-side", "--field-manager=bob", "-f", "-"],
        &WIDGET.replace("red", "green"),
    )
    .await;
    assert!(!out.ok, "conflict expected");
    assert!(
        out.stderr.contains("conflict with \"alice\"") && out.stderr.contains(".spec.color"),
        "{}",
        out.stderr
    );
    // ...unless forced, which moves ownership.
    let out = kubectl_stdin(
        &k,
        env,
        &[
            "apply",
            "--server-side",
            "--field-manager=bob",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &WIDGET.replace("red", "green"),
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    let got: Value = serde_json::from_str(
        &kubectl_ok(
            &k,
            env,
            &["get", "widget", "w1", "-o", "json", "--show-managed-fields"],
        )
        .await,
    )
    .expect("json");
    assert_eq!(got["spec"]["color"], "green");
    let alice = got["metadata"]["managedFields"]
        .as_array()
        .expect("mf")
        .iter()
        .find(|e| e["manager"] == "alice")
        .cloned();
    assert!(
        alice.is_none_or(|a| a["fieldsV1"]["f:spec"].get("f:color").is_none()),
        "alice lost .spec.color"
    );
    // Dropping a field from bob's config removes it (nobody else owns it).
    let out = kubectl_stdin(
        &k,
        env,
        &["apply", "--server-side", "--field-manager=bob", "-f", "-"],
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 5}\n",
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    let got: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "widget", "w1", "-o", "json"]).await)
            .expect("json");
    assert!(got["spec"].get("color").is_none(), "{got}");
    assert_eq!(got["spec"]["size"], 5);
}

async fn create_namespace_and_namespace_must_exist(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    let out = kubectl_ok(&k, env, &["create", "namespace", "team-a"]).await;
    assert!(out.contains("namespace/team-a created"), "{out}");
    let ns: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "ns", "team-a", "-o", "json"]).await)
            .expect("json");
    assert_eq!(ns["status"]["phase"], "Active");
    let out = kubectl(
        &k,
        env,
        &[
            "create",
            "configmap",
            "c",
            "-n",
            "nowhere",
            "--from-literal=a=b",
        ],
    )
    .await;
    assert!(
        !out.ok && out.stderr.contains("namespaces \"nowhere\" not found"),
        "{}",
        out.stderr
    );
    let out = kubectl(&k, env, &["delete", "namespace", "default"]).await;
    assert!(
        !out.ok
            && out
                .stderr
                .contains("namespaces \"default\" is forbidden: this namespace may not be deleted"),
        "{}",
        out.stderr
    );
    let out = kubectl(&k, env, &["create", "namespace", "team-a"]).await;
    assert!(
        !out.ok
            && out.stderr.contains("AlreadyExists")
            && out.stderr.contains("\"team-a\" already exists"),
        "{}",
        out.stderr
    );
    let out = kubectl_ok(
        &k,
        env,
        &[
            "create",
            "secret",
            "generic",
            "s",
            "-n",
            "team-a",
            "--from-literal=k=v",
        ],
    )
    .await;
    assert!(out.contains("secret/s created"));
    let s: Value = serde_json::from_str(
        &kubectl_ok(
            &k,
            env,
            &["get", "secret", "s", "-n", "team-a", "-o", "json"],
        )
        .await,
    )
    .expect("json");
    assert_eq!(s["data"]["k"], "dg==");
}

async fn get_watch_receives_events(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    let mut child = kubectl_cmd(
        &k,
        env,
        &[
            "get",
            "configmaps",
            "-n",
            "default",
            "-w",
            "--output-watch-events",
        ],
    )
    .spawn()
    .expect("kubectl runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::time::sleep(Duration::from_millis(500)).await;
    kubectl_ok(
        &k,
        env,
        &["create", "configmap", "watched", "--from-literal=a=b"],
    )
    .await;
    kubectl_ok(&k, env, &["label", "configmap", "watched", "x=y"]).await;
    kubectl_ok(&k, env, &["delete", "configmap", "watched"]).await;
    // A header (server-side Table), then one line per event: added, modified (labelled), deleted.
    let mut seen = vec![];
    let read = async {
        while let Ok(Some(l)) = lines.next_line().await {
            let cols: Vec<String> = l.split_whitespace().take(2).map(String::from).collect();
            seen.push(cols.join(" "));
            if seen.len() == 4 {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("events arrive");
    assert_eq!(
        seen,
        [
            "EVENT NAME",
            "ADDED watched",
            "MODIFIED watched",
            "DELETED watched"
        ],
        "{seen:?}"
    );
    child.kill().await.expect("kill kubectl");
}

async fn wait_for_condition_ready_sees_status_update(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET_CRD).await;
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET).await;
    let waiter = kubectl_cmd(
        &k,
        env,
        &[
            "wait",
            "--for=condition=Ready",
            "widget/w1",
            "--timeout=30s",
        ],
    )
    .spawn()
    .expect("kubectl");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = r#"{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done","message":"ok"}]}}"#;
    // Status is ignored through the main endpoint...
    kubectl_ok(
        &k,
        env,
        &["patch", "widget", "w1", "--type=merge", "-p", status],
    )
    .await;
    let got: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "widget", "w1", "-o", "json"]).await)
            .expect("json");
    assert!(got.get("status").is_none(), "{got}");
    // ...and written through /status, which ignores spec changes.
    let both = r#"{"spec":{"color":"pink"},"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done","message":"ok"}]}}"#;
    kubectl_ok(
        &k,
        env,
        &[
            "patch",
            "widget",
            "w1",
            "--subresource=status",
            "--type=merge",
            "-p",
            both,
        ],
    )
    .await;
    let out = tokio::time::timeout(Duration::from_secs(40), waiter.wait_with_output())
        .await
        .expect("wait ends")
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("condition met"));
    let got: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "widget", "w1", "-o", "json"]).await)
            .expect("json");
    assert_eq!(got["spec"]["color"], "red");
    assert_eq!(
        got["metadata"]["generation"], 1,
        "status writes do not bump generation"
    );
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1
        env: [{name: A, value: "1"}]
        ports: [{containerPort: 80}]
      - name: sidecar
        image: busybox:1
"#;

async fn patch_merge_json_and_strategic(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    let out = kubectl_stdin(&k, env, &["apply", "-f", "-"], DEPLOYMENT).await;
    assert!(out.ok, "{}", out.stderr);
    let get = || async {
        serde_json::from_str::<Value>(
            &kubectl_ok(&k, env, &["get", "deploy", "web", "-o", "json"]).await,
        )
        .expect("json")
    };
    kubectl_ok(
        &k,
        env,
        &[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"tier":"front"}},"spec":{"replicas":3}}"#,
        ],
    )
    .await;
    let d = get().await;
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["metadata"]["generation"], 2);
    kubectl_ok(&k, env, &["patch", "deploy", "web", "--type=json", "-p", r#"[{"op":"replace","path":"/spec/replicas","value":2},{"op":"remove","path":"/metadata/labels/tier"}]"#]).await;
    let d = get().await;
    assert_eq!(d["spec"]["replicas"], 2);
    assert!(d["metadata"]["labels"].get("tier").is_none());
    // Strategic merge: containers merge by name, env by name, ports by containerPort.
    let smp = r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:2","env":[{"name":"B","value":"2"}],"ports":[{"containerPort":443}]}]}}}}"#;
    kubectl_ok(&k, env, &["patch", "deploy", "web", "-p", smp]).await;
    let d = get().await;
    let cs = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(cs.len(), 2, "sidecar kept: {cs:?}");
    assert_eq!(cs[0]["image"], "nginx:2");
    assert_eq!(cs[0]["env"].as_array().map(Vec::len), Some(2));
    assert_eq!(cs[0]["ports"].as_array().map(Vec::len), Some(2));
    assert_eq!(cs[1]["name"], "sidecar");
    let del =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#;
    kubectl_ok(
        &k,
        env,
        &["patch", "deploy", "web", "--type=strategic", "-p", del],
    )
    .await;
    assert_eq!(
        get().await["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // JSON patch test failure is rejected; CRs refuse strategic merge.
    let out = kubectl(
        &k,
        env,
        &[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        ],
    )
    .await;
    assert!(!out.ok);
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET_CRD).await;
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET).await;
    let out = kubectl(
        &k,
        env,
        &[
            "patch",
            "widget",
            "w1",
            "--type=strategic",
            "-p",
            r#"{"spec":{"color":"x"}}"#,
        ],
    )
    .await;
    assert!(
        !out.ok && out.stderr.contains("UnsupportedMediaType")
            || out.stderr.contains("unknown format"),
        "{}",
        out.stderr
    );
}

async fn delete_waits_for_finalizers(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: default, finalizers: [example.com/hold]}\ndata: {a: b}\n";
    assert!(kubectl_stdin(&k, env, &["apply", "-f", "-"], cm).await.ok);
    let out = kubectl_ok(&k, env, &["delete", "configmap", "held", "--wait=false"]).await;
    assert!(out.contains("deleted"), "{out}");
    let got: Value =
        serde_json::from_str(&kubectl_ok(&k, env, &["get", "cm", "held", "-o", "json"]).await)
            .expect("json");
    assert!(got["metadata"]["deletionTimestamp"].is_string(), "{got}");
    kubectl_ok(
        &k,
        env,
        &[
            "patch",
            "cm",
            "held",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ],
    )
    .await;
    let out = kubectl(&k, env, &["get", "cm", "held"]).await;
    assert!(
        !out.ok && out.stderr.contains("configmaps \"held\" not found"),
        "{}",
        out.stderr
    );
    // Without finalizers kubectl delete (waiting by default) returns once it is gone.
    kubectl_ok(&k, env, &["create", "configmap", "free"]).await;
    kubectl_ok(&k, env, &["delete", "configmap", "free", "--timeout=20s"]).await;
}

async fn deleting_a_crd_removes_its_objects_and_type(env: &dyn Server) {
    let Some(k) = kubectl_bin() else { return };
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET_CRD).await;
    kubectl_stdin(&k, env, &["apply", "-f", "-"], WIDGET).await;
    let crd: Value = serde_json::from_str(
        &kubectl_ok(
            &k,
            env,
            &["get", "crd", "widgets.example.com", "-o", "json"],
        )
        .await,
    )
    .expect("json");
    let conds = crd["status"]["conditions"].as_array().expect("conditions");
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    );
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "NamesAccepted" && c["status"] == "True")
    );
    assert_eq!(crd["status"]["storedVersions"][0], "v1");
    kubectl_ok(&k, env, &["delete", "crd", "widgets.example.com"]).await;
    let out = kubectl(&k, env, &["get", "widgets"]).await;
    assert!(!out.ok, "widgets no longer served: {}", out.stdout);
}

/// Builtin only: pod logs need a kubelet, which kube-apiserver has not.
#[tokio::test(flavor = "multi_thread")]
async fn logs_follow_streams_pod_lines() {
    let Some(k) = kubectl_bin() else { return };
    let env = start().await;
    assert!(
        kubectl_stdin(&k, &env, &["apply", "-f", "-"], DEPLOYMENT)
            .await
            .ok
    );
    kubectl_ok(
        &k,
        &env,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    )
    .await;
    let pods = kubectl_ok(&k, &env, &["get", "pods", "-l", "app=web", "-o", "name"]).await;
    let pod = pods
        .lines()
        .next()
        .expect("a pod")
        .trim_start_matches("pod/")
        .to_string();
    let mut child = kubectl_cmd(&k, &env, &["logs", "-f", &pod])
        .spawn()
        .expect("kubectl");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("first line")
        .expect("io");
    assert!(
        first.is_some_and(|l| l.contains("\"msg\"")),
        "a JSON log line first"
    );
    env.write_pod_log(
        "default",
        &pod,
        "{\"level\":\"info\",\"msg\":\"later line\"}",
    );
    let later = async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("later line") {
                return true;
            }
        }
        false
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(20), later)
            .await
            .expect("followed")
    );
    child.kill().await.expect("kill");
    let tail = kubectl_ok(&k, &env, &["logs", &pod, "--tail=1"]).await;
    assert_eq!(tail.lines().count(), 1);
    assert!(tail.contains("later line"));
    // sinceSeconds: nothing within the last 3 s after a longer pause, then only the new line
    // (3 s leaves room for a slow kubectl start on a busy machine).
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        kubectl_ok(&k, &env, &["logs", &pod, "--since=3s"]).await,
        ""
    );
    env.write_pod_log("default", &pod, "{\"msg\":\"fresh\"}");
    let recent = kubectl_ok(&k, &env, &["logs", &pod, "--since=3s"]).await;
    assert_eq!(recent.trim(), "{\"msg\":\"fresh\"}");
    assert_eq!(
        kubectl_ok(&k, &env, &["logs", &pod, "--since=1h"])
            .await
            .lines()
            .count(),
        3
    );
}

/// Builtin only: it edits testenv's own token in the kubeconfig (tests/cli covers 401s on both).
#[tokio::test(flavor = "multi_thread")]
async fn requests_without_the_token_are_rejected() {
    let Some(k) = kubectl_bin() else { return };
    let env = start_without_controllers().await;
    let bad = env.kubeconfig().replace(env.token(), "wrong-token");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, bad).expect("write");
    let out = kubectl_cmd(&k, &env, &["get", "namespaces"])
        .env("KUBECONFIG", &path)
        .output()
        .await
        .expect("kubectl");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Unauthorized") || stderr.contains("must be logged in"),
        "{stderr}"
    );
}

/// Builtin only: it expects Pods `Running`, a kubelet's work.
#[tokio::test(flavor = "multi_thread")]
async fn get_prints_server_side_columns() {
    let Some(k) = kubectl_bin() else { return };
    let env = start().await;
    let crd = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;
    assert!(kubectl_stdin(&k, &env, &["apply", "-f", "-"], crd).await.ok);
    let g = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\nspec: {color: teal}\nstatus: {conditions: [{type: Ready, status: \"True\"}]}\n";
    assert!(kubectl_stdin(&k, &env, &["apply", "-f", "-"], g).await.ok);
    let out = kubectl_ok(&k, &env, &["get", "gadgets"]).await;
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["NAME", "COLOR", "READY", "AGE"], "{out}");
    let row: Vec<&str> = lines.next().expect("row").split_whitespace().collect();
    assert_eq!(&row[..3], ["g1", "teal", "True"], "{out}");
    assert!(row[3].ends_with('s'), "{out}");
    assert!(
        kubectl_stdin(&k, &env, &["apply", "-f", "-"], DEPLOYMENT)
            .await
            .ok
    );
    kubectl_ok(
        &k,
        &env,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    )
    .await;
    let out = kubectl_ok(&k, &env, &["get", "deployments"]).await;
    let header: Vec<&str> = out
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{out}"
    );
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("web") && l.contains("1/1")),
        "{out}"
    );
    let out = kubectl_ok(&k, &env, &["get", "pods", "-A"]).await;
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("NAMESPACE") && h.contains("STATUS")),
        "{out}"
    );
    assert!(out.contains("Running"), "{out}");
}

/// Builtin only: it also checks testenv's opt-in `file://` leniency; the refusal itself is checked on both in controlplane.rs.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_flux_objects_are_rejected_with_field_errors() {
    let Some(k) = kubectl_bin() else { return };
    let env = start_without_controllers().await;
    install_flux_crds(&env);
    let repo = |spec: &str| {
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: app, namespace: default}}\nspec: {spec}\n"
        )
    };
    let out = kubectl_stdin(
        &k,
        &env,
        &["apply", "-f", "-"],
        &repo("{interval: 1m, url: 'ftp://x'}"),
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("The GitRepository \"app\" is invalid: spec.url: Invalid value: \"ftp://x\": spec.url in body should match '^(http|https|ssh)://.*$'"),
        "{}",
        out.stderr
    );
    // A repository on this machine is refused, as a real cluster refuses it…
    let local = repo("{interval: 1m, url: 'file:///srv/git/fleet.git'}");
    let out = kubectl_stdin(&k, &env, &["create", "--dry-run=server", "-f", "-"], &local).await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("spec.url in body should match '^(http|https|ssh)://.*$'"),
        "{}",
        out.stderr
    );
    // …unless the server was started with the leniency its controller tests use.
    let lenient = TestEnv::start(Options {
        controllers: false,
        local_git_urls: true,
        ..Options::default()
    })
    .await
    .unwrap();
    install_flux_crds(&lenient);
    let out = kubectl_stdin(
        &k,
        &lenient,
        &["create", "--dry-run=server", "-f", "-"],
        &local,
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    let out = kubectl_stdin(
        &k,
        &env,
        &["create", "-f", "-"],
        &repo("{url: 'https://x', provider: nope}"),
    )
    .await;
    assert!(!out.ok);
    for line in [
        "* spec.interval: Required value",
        "* spec.provider: Unsupported value: \"nope\": supported values: \"generic\", \"aws\", \"azure\", \"github\"",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }
    // Server-side apply is checked too; a valid object then gets the schema's defaults.
    let out = kubectl_stdin(
        &k,
        &env,
        &["apply", "--server-side", "-f", "-"],
        &repo("{interval: soon, url: 'https://x'}"),
    )
    .await;
    assert!(
        out.stderr.contains("spec.interval: Invalid value: \"soon\": spec.interval in body should match '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'"),
        "{}",
        out.stderr
    );
    let valid = repo("{interval: 1m, url: 'https://x'}");
    let out = kubectl_stdin(&k, &env, &["apply", "--server-side", "-f", "-"], &valid).await;
    assert!(out.ok, "{}", out.stderr);
    let got: Value = serde_json::from_str(
        &kubectl_ok(&k, &env, &["get", "gitrepository", "app", "-o", "json"]).await,
    )
    .expect("json");
    assert_eq!(got["spec"]["timeout"], "60s", "{got}");
    let out = kubectl(
        &k,
        &env,
        &[
            "patch",
            "gitrepository",
            "app",
            "--type=merge",
            "-p",
            "{\"spec\":{\"provider\":\"nope\"}}",
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("spec.provider: Unsupported value: \"nope\""),
        "{}",
        out.stderr
    );
}

on_both_servers!(
    api_resources_lists_builtin_and_crd_kinds,
    client_side_apply_prunes_unknown_fields_and_defaults,
    server_side_apply_tracks_managers_and_reports_conflicts,
    create_namespace_and_namespace_must_exist,
    get_watch_receives_events,
    wait_for_condition_ready_sees_status_update,
    patch_merge_json_and_strategic,
    delete_waits_for_finalizers,
    deleting_a_crd_removes_its_objects_and_type,
);
