//! How many API requests `flux tree kustomization` and `flux stats` make on
//! big clusters: lists and one GET per Flux object expanded, never one
//! request per inventory entry (the numbers in docs/performance.md).

use serde_json::{Value, json};

use crate::common::fake_api::FakeApi;
use crate::common::{Run, run_with_kubeconfig};

fn kubeconfig(api: &FakeApi) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!(
            "apiVersion: v1
kind: Config
clusters: [{{name: fake, cluster: {{server: '{}'}}}}]
users: [{{name: fake, user: {{}}}}]
contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]
current-context: fake
",
            api.hostname()
        ),
    )
    .unwrap();
    file
}

fn flux(api: &FakeApi, args: &[&str]) -> Run {
    let config = kubeconfig(api);
    run_with_kubeconfig(config.path(), args)
}

fn kustomization(name: &str, entries: Vec<Value>) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"interval": "1m", "path": "./", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "x"}},
        "status": {"inventory": {"entries": entries}},
    })
}

/// 5,000 inventory entries, one of them a Kustomization with 5 more: two
/// GETs, whatever the size of the inventories.
#[test]
fn tree_of_5000_objects_takes_one_get_per_kustomization() {
    let api = FakeApi::start("", |call| {
        let base = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/";
        match call.route().strip_prefix(base) {
            Some("root") => {
                let mut entries: Vec<Value> = (0..4999)
                    .map(|i| json!({"id": format!("apps_config-{i:04}__ConfigMap"), "v": "v1"}))
                    .collect();
                entries.push(json!({"id": "flux-system_child_kustomize.toolkit.fluxcd.io_Kustomization", "v": "v1"}));
                (200, kustomization("root", entries))
            }
            Some("child") => {
                let entries = (0..5)
                    .map(|i| json!({"id": format!("apps_child-{i}_apps_Deployment"), "v": "v1"}))
                    .collect();
                (200, kustomization("child", entries))
            }
            _ => (
                404,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"}),
            ),
        }
    });
    let out = flux(&api, &["tree", "ks", "root"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1 + 5000 + 5 + 1);
    assert!(out.stdout.contains("├── ConfigMap/apps/config-0000\n"));
    assert!(out.stdout.contains("    └── Deployment/apps/child-4\n"));
    let routes: Vec<String> = api.calls().iter().map(|c| c.route().to_string()).collect();
    assert_eq!(
        routes,
        [
            "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/root",
            "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/child",
        ]
    );
}

/// 10,000 Kustomizations across the cluster: one paged LIST per kind.
#[test]
fn stats_of_10000_objects_takes_one_paged_list_per_kind() {
    const TOTAL: usize = 10_000;
    let api = FakeApi::start("", |call| {
        let empty = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []});
        if call.route() != "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations" {
            return (200, empty);
        }
        let limit: usize = call
            .query("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(TOTAL);
        let start: usize = call
            .query("continue")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let end = (start + limit).min(TOTAL);
        let items: Vec<Value> = (start..end)
            .map(|i| {
                let mut ks = kustomization(&format!("ks-{i}"), Vec::new());
                if i % 10 == 0 {
                    ks["spec"]["suspend"] = json!(true);
                }
                ks
            })
            .collect();
        let next = if end < TOTAL {
            end.to_string()
        } else {
            String::new()
        };
        (
            200,
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "KustomizationList", "metadata": {"continue": next}, "items": items}),
        )
    });
    let out = flux(&api, &["stats", "-A"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("\nKustomization        \t9000   \t0      \t1000     \t-      \t\n"),
        "{}",
        out.stdout
    );
    let calls = api.calls();
    let kustomization_pages = calls
        .iter()
        .filter(|c| c.route().ends_with("/kustomizations"))
        .count();
    assert_eq!(kustomization_pages, TOTAL / 500);
    assert_eq!(calls.len(), 12 + TOTAL / 500, "one list per other kind");
}
