//! The real-cluster lane: runs only when `FLUX_E2E_KUBECONFIG` points at a
//! cluster where Flux may be installed and removed (e.g. a kind cluster, as
//! .github/workflows/e2e.yaml does). The controllers are real, so this lane
//! needs network access to ghcr.io and github.com.

use crate::common::{Run, flux};

fn kubeconfig() -> String {
    std::env::var("FLUX_E2E_KUBECONFIG")
        .ok()
        .filter(|path| !path.is_empty())
        .expect("set FLUX_E2E_KUBECONFIG to the cluster's kubeconfig")
}

fn run(kubeconfig: &str, args: &[&str]) -> Run {
    let output = flux()
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .expect("flux runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(kubeconfig: &str, args: &[&str]) -> Run {
    let out = run(kubeconfig, args);
    assert_eq!(out.code, 0, "flux {args:?} failed:\n{}", out.stderr);
    out
}

#[test]
#[ignore = "needs a disposable cluster and network: FLUX_E2E_KUBECONFIG=… cargo test -- --ignored e2e"]
fn install_reconcile_and_uninstall_on_a_real_cluster() {
    let kc = kubeconfig();
    let kc = kc.as_str();
    ok(kc, &["check", "--pre"]);
    ok(kc, &["install", "--timeout", "5m"]);
    ok(kc, &["check"]);
    ok(
        kc,
        &[
            "create",
            "source",
            "git",
            "podinfo",
            "--url",
            "https://github.com/stefanprodan/podinfo",
            "--tag",
            "6.3.5",
            "-n",
            "flux-system",
        ],
    );
    ok(
        kc,
        &[
            "create",
            "kustomization",
            "podinfo",
            "--source",
            "podinfo",
            "--path",
            "./kustomize",
            "--prune",
            "--target-namespace",
            "default",
        ],
    );
    let table = ok(kc, &["get", "kustomizations"]).stdout;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("podinfo") && l.contains("True")),
        "{table}"
    );
    let reconciled = ok(
        kc,
        &["reconcile", "kustomization", "podinfo", "--with-source"],
    );
    assert!(
        reconciled.stderr.contains("✔ applied revision 6.3.5@sha1:"),
        "{}",
        reconciled.stderr
    );
    ok(kc, &["suspend", "kustomization", "podinfo"]);
    ok(kc, &["resume", "kustomization", "podinfo"]);
    let exported = ok(kc, &["export", "source", "git", "podinfo"]).stdout;
    assert!(
        exported.contains("url: https://github.com/stefanprodan/podinfo"),
        "{exported}"
    );
    ok(kc, &["delete", "kustomization", "podinfo", "--silent"]);
    ok(kc, &["delete", "source", "git", "podinfo", "--silent"]);
    ok(kc, &["uninstall", "--silent"]);
}
