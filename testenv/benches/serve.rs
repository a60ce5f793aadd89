//! Serving benchmarks, recorded in docs/performance-testenv.md:
//! - listing 10,000 custom objects (full HTTPS round trip, body read, not decoded);
//! - holding 1,000 concurrent watch clients and fanning one change out to all of them.
//!
//! Run with `cargo bench -p testenv --bench serve`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http_body_util::BodyExt;
use kube::api::{Api, DynamicObject, WatchEvent, WatchParams};
use testenv::{Options, TestEnv};

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn list_10k(env: &TestEnv) {
    let mut yaml = String::from(CRD);
    for i in 0..10_000 {
        yaml.push_str(&format!(
            "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w-{i:05}, namespace: default, labels: {{app: bench, shard: s{}}}}}\nspec: {{replicas: {i}, image: ghcr.io/example/app:1.{i}, tags: [a, b, c]}}\n",
            i % 10
        ));
    }
    let t = Instant::now();
    env.apply_yaml(&yaml).expect("apply");
    println!("created 10,000 widgets in {}", ms(t.elapsed()));
    let client = env.client().await.expect("client");
    let mut times = vec![];
    let mut bytes = 0;
    for _ in 0..25 {
        let req = http::Request::get("/apis/example.com/v1/namespaces/default/widgets")
            .body(kube::client::Body::empty())
            .expect("request");
        let t = Instant::now();
        let resp = client.send(req).await.expect("list");
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        times.push(t.elapsed());
        bytes = body.len();
    }
    times.sort();
    println!(
        "list 10,000 widgets ({:.1} MiB): min {}, median {}, p90 {}, max {} over {} runs",
        bytes as f64 / 1048576.0,
        ms(times[0]),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(times[times.len() - 1]),
        times.len()
    );
    let req = http::Request::get(
        "/apis/example.com/v1/namespaces/default/widgets?labelSelector=shard%3Ds3",
    )
    .body(kube::client::Body::empty())
    .expect("request");
    let t = Instant::now();
    let resp = client.send(req).await.expect("list");
    resp.into_body().collect().await.expect("body");
    println!(
        "list with a label selector (1,000 of 10,000 match): {}",
        ms(t.elapsed())
    );
}

async fn watchers_1000(env: &TestEnv) {
    const N: usize = 1000;
    let ar = kube::api::ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let t = Instant::now();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(N);
    let (got_tx, mut got_rx) = tokio::sync::mpsc::channel::<Instant>(N);
    let mut tasks = vec![];
    // Eight clients (connection pools) share the 1,000 watches.
    let mut clients = vec![];
    for _ in 0..8 {
        clients.push(env.client().await.expect("client"));
    }
    let rv = {
        let api: Api<DynamicObject> = Api::namespaced_with(clients[0].clone(), "bench", &ar);
        api.list_metadata(&Default::default())
            .await
            .expect("list")
            .metadata
            .resource_version
            .expect("rv")
    };
    for i in 0..N {
        let api: Api<DynamicObject> =
            Api::namespaced_with(clients[i % clients.len()].clone(), "bench", &ar);
        let (ready_tx, got_tx, rv) = (ready_tx.clone(), got_tx.clone(), rv.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = api
                .watch(&WatchParams::default().timeout(120), &rv)
                .await
                .expect("watch")
                .boxed();
            ready_tx.send(()).await.expect("ready");
            while let Some(ev) = s.next().await {
                if let Ok(WatchEvent::Added(_)) = ev {
                    got_tx.send(Instant::now()).await.expect("got");
                    return;
                }
            }
        }));
    }
    for _ in 0..N {
        ready_rx.recv().await.expect("watch established");
    }
    println!("{N} concurrent watches established in {}", ms(t.elapsed()));
    let sent = Instant::now();
    env.apply_yaml("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: ping, namespace: bench}\nspec: {}\n")
        .expect("apply");
    let mut last = sent;
    for _ in 0..N {
        last = got_rx.recv().await.expect("event delivered");
    }
    println!(
        "one change delivered to all {N} watchers in {}",
        ms(last - sent)
    );
    for t in tasks {
        t.await.expect("task");
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let env = TestEnv::start(Options {
            controllers: false,
            ..Default::default()
        })
        .await
        .expect("start");
        list_10k(&env).await;
        env.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n")
            .expect("ns");
        watchers_1000(&env).await;
        env.stop().await;
    });
}
