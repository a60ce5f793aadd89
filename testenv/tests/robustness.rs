//! Bad input gets the real API server's status codes and `Status` bodies; nothing panics.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn malformed_unknown_bad_selector_oversized_and_unauthenticated() {
    let env = start_without_controllers().await;
    let c = env.client().await.expect("client");
    let (code, _, body) = raw(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(code, 400);
    let s = status_body(&body);
    assert_eq!(s["reason"], "BadRequest");
    assert!(
        s["message"]
            .as_str()
            .is_some_and(|m| m.contains("couldn't get version/kind")),
        "{s}"
    );

    let (code, _, body) = raw(
        &c,
        "GET",
        "/apis/example.com/v1/namespaces/default/gizmos",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(status_body(&body)["reason"], "NotFound");
    let (code, _, body) = raw(&c, "GET", "/api/v1/nothings", "application/json", vec![]).await;
    assert_eq!(code, 404);
    assert_eq!(
        status_body(&body)["message"],
        "the server could not find the requested resource"
    );

    let (code, _, body) = raw(
        &c,
        "GET",
        "/api/v1/configmaps?labelSelector=a%20in%20(b",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(status_body(&body)["reason"], "BadRequest");
    let (code, _, body) = raw(
        &c,
        "GET",
        "/api/v1/configmaps?fieldSelector=nonsense",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    status_body(&body);

    let big = format!(
        "{{\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"k\":\"{}\"}}}}",
        "x".repeat(4 * 1024 * 1024)
    );
    let (code, _, body) = raw(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        big.into_bytes(),
    )
    .await;
    assert_eq!(code, 413);
    assert_eq!(status_body(&body)["reason"], "RequestEntityTooLarge");

    let (code, _, body) = raw(
        &c,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        "text/plain",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(code, 415);
    status_body(&body);
    let (code, _, body) = raw(
        &c,
        "PUT",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(code, 405);
    status_body(&body);

    let anon = anonymous_client(&env);
    let (code, _, body) = raw(
        &anon,
        "GET",
        "/api/v1/namespaces",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 401);
    let s = status_body(&body);
    assert_eq!(
        (s["reason"].as_str(), s["message"].as_str()),
        (Some("Unauthorized"), Some("Unauthorized"))
    );
}

const SEGMENTS: [&str; 16] = [
    "api",
    "apis",
    "v1",
    "namespaces",
    "default",
    "configmaps",
    "pods",
    "log",
    "status",
    "apps",
    "deployments",
    "apiextensions.k8s.io",
    "customresourcedefinitions",
    "%00",
    "..",
    "x",
];
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const TYPES: [&str; 6] = [
    "application/json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
];

fn random_body(rng: &mut fastrand::Rng) -> Vec<u8> {
    match rng.u8(0..5) {
        0 => vec![],
        1 => (0..rng.usize(0..512)).map(|_| rng.u8(..)).collect(),
        2 => br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f"},"data":{"a":"b"}}"#
            .to_vec(),
        3 => br#"[{"op":"replace","path":"/metadata/labels","value":{"a":"b"}}]"#.to_vec(),
        _ => {
            let mut b = br#"{"metadata":{"name":"f","labels":{"a":null}},"spec":{"x":[1,{"$patch":"delete"}]}}"#.to_vec();
            let n = rng.usize(0..b.len());
            b.truncate(n);
            b
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn random_requests_never_break_the_server() {
    let env = start().await;
    let c = env.client().await.expect("client");
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let started = Instant::now();
    let mut sent = 0;
    // Bounded in count and time.
    while sent < 1500 && started.elapsed() < Duration::from_secs(60) {
        let depth = rng.usize(0..7);
        let path: Vec<&str> = (0..depth)
            .map(|_| SEGMENTS[rng.usize(..SEGMENTS.len())])
            .collect();
        let mut uri = format!("/{}", path.join("/"));
        if rng.bool() {
            uri.push_str(
                [
                    "?watch=true&timeoutSeconds=1",
                    "?limit=2&continue=zz",
                    "?labelSelector=a!=",
                    "?fieldManager=f&force=true",
                    "?dryRun=All",
                ][rng.usize(0..5)],
            );
        }
        let method = METHODS[rng.usize(..METHODS.len())];
        let ct = TYPES[rng.usize(..TYPES.len())];
        let (code, _, body) = raw(&c, method, &uri, ct, random_body(&mut rng)).await;
        assert!((200..600).contains(&code), "{method} {uri}: {code}");
        if code >= 400 {
            status_body(&body);
        }
        sent += 1;
    }
    assert!(sent >= 100, "sent {sent}");
    let (code, _, _) = raw(&c, "GET", "/version", "application/json", vec![]).await;
    assert_eq!(code, 200, "still serving");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrongly_typed_fields_are_rejected_not_crashed_on() {
    let env = start().await;
    env.apply_yaml(WIDGET_CRD).expect("crd");
    let c = env.client().await.expect("client");
    let targets = [
        ("/api/v1/namespaces/default/configmaps", "v1", "ConfigMap"),
        ("/api/v1/namespaces/default/secrets", "v1", "Secret"),
        ("/api/v1/namespaces/default/services", "v1", "Service"),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            "apps/v1",
            "Deployment",
        ),
        ("/api/v1/namespaces", "v1", "Namespace"),
        (
            "/apis/example.com/v1/namespaces/default/widgets",
            "example.com/v1",
            "Widget",
        ),
    ];
    let shapes = [
        r#""metadata":"x""#,
        r#""metadata":{"name":"bad","labels":"x"}"#,
        r#""metadata":{"name":"bad","labels":{"a":1}}"#,
        r#""metadata":{"name":"bad","finalizers":"x"}"#,
        r#""metadata":{"name":"bad"},"spec":"x","data":3"#,
    ];
    for (collection, api_version, kind) in targets {
        // A valid object to update and patch.
        let good = format!(
            r#"{{"apiVersion":"{api_version}","kind":"{kind}","metadata":{{"name":"bad"}}}}"#
        );
        let (code, _, body) = raw(
            &c,
            "POST",
            collection,
            "application/json",
            good.into_bytes(),
        )
        .await;
        assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
        let item = format!("{collection}/bad");
        for shape in shapes {
            let body = format!(r#"{{"apiVersion":"{api_version}","kind":"{kind}",{shape}}}"#);
            for (method, path, ct) in [
                ("POST", collection, "application/json"),
                ("PUT", item.as_str(), "application/json"),
                ("PATCH", item.as_str(), "application/merge-patch+json"),
                (
                    "PATCH",
                    &format!("{item}?fieldManager=t"),
                    "application/apply-patch+yaml",
                ),
            ] {
                let (code, _, resp) = raw(&c, method, path, ct, body.clone().into_bytes()).await;
                assert!(
                    (400..500).contains(&code),
                    "{method} {path} {shape}: {code} {}",
                    String::from_utf8_lossy(&resp)
                );
                status_body(&resp);
            }
        }
    }
    // Custom resources are checked against their schema's types, with 422 Invalid.
    let w = br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"typed"},"spec":{"size":"big"}}"#;
    let (code, _, body) = raw(
        &c,
        "POST",
        "/apis/example.com/v1/namespaces/default/widgets",
        "application/json",
        w.to_vec(),
    )
    .await;
    assert_eq!(code, 422);
    let s = status_body(&body);
    assert_eq!(s["reason"], "Invalid");
    assert_eq!(
        s["message"],
        "Widget.example.com \"typed\" is invalid: spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
    );
    let (code, _, _) = raw(&c, "GET", "/version", "application/json", vec![]).await;
    assert_eq!(code, 200);
}
