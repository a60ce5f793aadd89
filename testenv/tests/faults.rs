//! Fault injection from the library and from the `flux-testenv` binary.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use testenv::Faults;

#[tokio::test(flavor = "multi_thread")]
async fn latency_throttling_and_errors() {
    let env = start_without_controllers().await;
    let c = no_retry_client(&env).await;
    env.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Default::default()
    });
    let t = Instant::now();
    let (code, _, _) = raw(&c, "GET", "/api/v1/namespaces", "application/json", vec![]).await;
    assert_eq!(code, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    env.set_faults(Faults {
        throttle_ratio: 1.0,
        retry_after_secs: 7,
        ..Default::default()
    });
    let (code, headers, body) =
        raw(&c, "GET", "/api/v1/namespaces", "application/json", vec![]).await;
    assert_eq!(code, 429);
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(status_body(&body)["reason"], "TooManyRequests");

    for (code, reason) in [(500u16, "InternalError"), (503, "ServiceUnavailable")] {
        env.set_faults(Faults {
            error_ratio: 1.0,
            error_code: code,
            ..Default::default()
        });
        let (got, _, body) = raw(&c, "GET", "/api/v1/namespaces", "application/json", vec![]).await;
        assert_eq!(got, code);
        assert_eq!(status_body(&body)["reason"], reason);
    }
    // A fraction fails, the rest succeed.
    env.set_faults(Faults {
        error_ratio: 0.5,
        error_code: 503,
        ..Default::default()
    });
    let mut failed = 0;
    for _ in 0..200 {
        let (code, _, _) = raw(&c, "GET", "/version", "application/json", vec![]).await;
        if code == 503 {
            failed += 1;
        }
    }
    assert!((40..160).contains(&failed), "{failed} of 200 failed");
    env.set_faults(Faults::default());
    let (code, _, _) = raw(&c, "GET", "/version", "application/json", vec![]).await;
    assert_eq!(code, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_streams_are_cut_after_n_events() {
    let env = start_without_controllers().await;
    env.set_faults(Faults {
        watch_cut_after: Some(3),
        ..Default::default()
    });
    let c = env.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    for i in 0..6 {
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": format!("c{i}")}}))
                .expect("cm");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let mut s = cms
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .expect("watch")
        .boxed();
    let mut added = 0;
    let t = Instant::now();
    while let Some(ev) = s.next().await {
        if let Ok(WatchEvent::Added(_)) = ev {
            added += 1;
        }
    }
    assert_eq!(added, 3);
    assert!(t.elapsed() < Duration::from_secs(5), "cut, not timed out");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_mode_drops_connections() {
    let env = start_without_controllers().await;
    env.set_faults(Faults {
        unreachable: true,
        ..Default::default()
    });
    let c = env.client().await.expect("client");
    let api: Api<ConfigMap> = Api::namespaced(c, "default");
    let r = tokio::time::timeout(Duration::from_secs(10), api.list(&Default::default()))
        .await
        .expect("fails fast");
    assert!(r.is_err(), "no answer while unreachable");
    env.set_faults(Faults::default());
    let c = env.client().await.expect("client");
    let api: Api<ConfigMap> = Api::namespaced(c, "default");
    assert!(api.list(&Default::default()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_with_flags() {
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = dir.path().join("kc");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_flux-testenv"))
        .args([
            "--kubeconfig",
            kubeconfig.to_str().expect("utf8"),
            "--port",
            &port.to_string(),
            "--no-controllers",
        ])
        .args(["--error-ratio", "1", "--error-code", "503"])
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flux-testenv");
    let written = eventually(20, || async {
        std::fs::read_to_string(&kubeconfig)
            .ok()
            .filter(|k| k.contains("token:"))
    })
    .await;
    let text = written.expect("kubeconfig written");
    assert!(
        text.contains(&format!("server: https://127.0.0.1:{port}")),
        "{text}"
    );
    let kc = kube::config::Kubeconfig::from_yaml(&text).expect("kubeconfig parses");
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    config.default_retry = false;
    let c = kube::Client::try_from(config).expect("client");
    let (code, _, body) = raw(&c, "GET", "/api/v1/namespaces", "application/json", vec![]).await;
    assert_eq!(code, 503);
    assert_eq!(status_body(&body)["reason"], "ServiceUnavailable");
    child.kill().await.expect("kill");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_flux-testenv"))
        .arg("--bogus")
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown flag --bogus"));
}
