//! `flux create …` without `--export`: the built binary applies to either
//! backend with the simulated controllers on (fault injection: builtin only), and its progress lines are compared
//! with upstream's goldens (revisions and namespaces filled in as ours).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::Api;
use serde_json::Value;

use crate::common::cluster::{Backend, Cluster, fixture, on_both_backends};
use crate::common::git_servers::{HttpGitServer, SshGitServer};
use crate::common::{Run, flux};

const NS: &str = "tkfg-1";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository tagged 6.3.5 (like upstream's e2e source) with manifests
/// under ./deploy and a chart of version 6.3.5 under ./charts/podinfo,
/// served over HTTP (upstream accepts only ssh, http and https Git URLs).
/// Returns the server, the repository's URL and its commit.
fn repository() -> (HttpGitServer, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write(
        "deploy/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\n  namespace: default\ndata:\n  greeting: hello\n",
    );
    write(
        "charts/podinfo/Chart.yaml",
        "apiVersion: v2\nname: podinfo\nversion: 6.3.5\n",
    );
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "podinfo"]);
    git(dir.path(), &["tag", "6.3.5"]);
    git(dir.path(), &["tag", "v1"]);
    let commit = git(dir.path(), &["rev-parse", "HEAD"]);
    let server = HttpGitServer::start("git", "unused", true);
    let bare = server.create_repo("podinfo");
    let bare = bare.to_str().unwrap();
    git(dir.path(), &["push", "-q", bare, "main", "--tags"]);
    let url = server.url("podinfo");
    (server, url, commit)
}

/// Upstream warns about every plain-HTTP Git URL, right after generating.
const HTTP_WARNING: &str = "⚠️ insecure configuration: credentials configured for an HTTP URL\n";

fn with_http_warning(golden: &str) -> String {
    golden.replacen(
        "✚ generating GitRepository source\n",
        &format!("✚ generating GitRepository source\n{HTTP_WARNING}"),
        1,
    )
}

fn cluster(backend: Backend) -> Cluster {
    let cluster = Cluster::start_on(backend, true);
    cluster.load(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n"
    ));
    cluster
}

fn create(cluster: &Cluster, args: &[&str]) -> Run {
    let mut argv = vec!["create"];
    argv.extend(args);
    argv.extend(["-n", NS, "--timeout=60s"]);
    cluster.flux(&argv)
}

/// Upstream's golden with our namespace, commit and OCI digest.
fn expected(golden: &str, commit: &str, out: &Run) -> String {
    let text = fixture(golden, NS);
    let sha1 = regex::Regex::new(r"@sha1:[0-9a-f]{40}").unwrap();
    let text = sha1.replace_all(&text, format!("@sha1:{commit}").as_str());
    // OCI digests are made up by the simulated registry: take ours.
    let sha256 = regex::Regex::new(r"@sha256:[0-9a-f]{64}").unwrap();
    match sha256.find(&out.stderr) {
        Some(ours) => sha256.replace_all(&text, ours.as_str()).into_owned(),
        None => text.into_owned(),
    }
}

fn assert_golden(out: &Run, golden: &str, commit: &str) {
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "", "live mode prints nothing on stdout");
    assert_eq!(out.stderr, expected(golden, commit, out));
}

fn get_object(cluster: &Cluster, api_version: &str, plural: &str, name: &str) -> Value {
    let (group, version) = api_version.split_once('/').unwrap();
    cluster.with_client(async |client| {
        let resource = kube::api::ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: api_version.into(),
            kind: String::new(),
            plural: plural.into(),
        };
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client, NS, &resource);
        serde_json::to_value(api.get(name).await.expect("object exists")).unwrap()
    })
}

fn secret_data(cluster: &Cluster, name: &str) -> (Secret, BTreeMap<String, String>) {
    let secret = cluster.with_client(async |client| {
        Api::<Secret>::namespaced(client, NS)
            .get(name)
            .await
            .expect("secret exists")
    });
    let data = secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect();
    (secret, data)
}

fn git_source_kustomization_and_helmrelease_match_goldens(backend: Backend) {
    let (_server, url, commit) = repository();
    let cluster = cluster(backend);
    let source = ["source", "git", "tkfg", "--url", &url, "--tag=6.3.5"];
    let out = create(&cluster, &source);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for golden in [
        "kustomization/create_source_git.golden",
        "helmrelease/create_source_git.golden",
    ] {
        assert_eq!(
            out.stderr,
            with_http_warning(&expected(golden, &commit, &out))
        );
    }

    let out = create(
        &cluster,
        &[
            "kustomization",
            "tkfg",
            "--source=tkfg",
            "--path=./deploy",
            "--prune=true",
        ],
    );
    assert_golden(
        &out,
        "kustomization/create_kustomization_from_git.golden",
        &commit,
    );
    let out = create(
        &cluster,
        &[
            "helmrelease",
            "thrfg",
            "--source=GitRepository/tkfg",
            "--chart=./charts/podinfo",
        ],
    );
    assert_golden(
        &out,
        "helmrelease/create_helmrelease_from_git.golden",
        &commit,
    );

    // Upstream replaces the spec of an existing object and says "updated",
    // even when nothing changed.
    let out = create(&cluster, &source);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let updated = with_http_warning(&expected(
        "kustomization/create_source_git.golden",
        &commit,
        &out,
    ))
    .replace("source created", "source updated");
    assert_eq!(out.stderr, updated);
    // `--export` is a flag of `create`, so it may come first, and then
    // nothing is applied.
    let out = cluster.flux(&[
        "create",
        "--export",
        "source",
        "git",
        "other",
        "--url",
        &url,
        "--tag=6.3.5",
        "-n",
        NS,
    ]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(out.stdout.contains("name: other"), "{}", out.stdout);
}

fn git_source_with_a_v1_tag_matches_upstream_success_golden(backend: Backend) {
    let (_server, url, commit) = repository();
    let cluster = cluster(backend);
    let out = create(
        &cluster,
        &["source", "git", "podinfo", "--url", &url, "--tag=v1"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Upstream's fake source-controller reports a bare "v1".
    let golden = fixture("create_source_git/success.golden", NS).replace(
        "fetched revision: v1",
        &format!("fetched revision: v1@sha1:{commit}"),
    );
    assert_eq!(out.stderr, with_http_warning(&golden));
}

fn image_and_oci_kinds_match_goldens(backend: Backend) {
    let cluster = cluster(backend);
    let repository = [
        "image",
        "repository",
        "podinfo",
        "--image=ghcr.io/stefanprodan/podinfo",
        "--interval=10m",
    ];
    let out = create(&cluster, &repository);
    assert_golden(&out, "image/create_image_repository.golden", "");
    let policy = [
        "image",
        "policy",
        "podinfo-semver",
        "--image-ref=podinfo",
        "--select-semver=>=1.0.0",
    ];
    let out = create(&cluster, &policy);
    assert_golden(&out, "image/create_image_policy.golden", "");
    let policy_object = get_object(
        &cluster,
        "image.toolkit.fluxcd.io/v1",
        "imagepolicies",
        "podinfo-semver",
    );
    assert_eq!(policy_object["status"]["latestRef"]["tag"], "1.2.0");

    // Image kinds are written only when they change: an identical run
    // prints no created/updated line.
    let out = create(&cluster, &repository);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✚ generating ImageRepository\n► applying ImageRepository\n◎ waiting for ImageRepository reconciliation\n✔ ImageRepository reconciliation completed\n"
    );
    let mut changed = repository.to_vec();
    changed.push("--scan-timeout=30s");
    let out = create(&cluster, &changed);
    assert!(
        out.stderr.contains("✔ ImageRepository updated\n"),
        "{}",
        out.stderr
    );

    let out = create(
        &cluster,
        &[
            "source",
            "oci",
            "thrfg",
            "--url=oci://ghcr.io/stefanprodan/manifests/podinfo",
            "--tag=6.3.5",
        ],
    );
    assert_golden(&out, "oci/create_source_oci.golden", "");
    assert!(
        out.stderr.contains("fetched revision: 6.3.5@sha256:"),
        "{}",
        out.stderr
    );
}

fn notification_kinds_are_applied_and_ready(backend: Backend) {
    let cluster = cluster(backend);
    let out = create(
        &cluster,
        &[
            "alert-provider",
            "slack",
            "--type=slack",
            "--channel=general",
            "--address=https://hooks.slack.com/services/x",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✚ generating Provider\n► applying Provider\n✔ Provider created\n◎ waiting for Provider reconciliation\n✔ Provider slack is ready\n"
    );
    let out = create(
        &cluster,
        &[
            "alert",
            "all-ks",
            "--provider-ref=slack",
            "--event-severity=error",
            "--event-source=Kustomization/*",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✚ generating Alert\n► applying Alert\n✔ Alert created\n◎ waiting for Alert reconciliation\n✔ Alert all-ks is ready\n"
    );
    // notification-controller reads the token to derive the webhook path.
    cluster.load(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: webhook-token, namespace: {NS}}}\ndata: {{token: dDBrM24=}}\n"
    ));
    let out = create(
        &cluster,
        &[
            "receiver",
            "github",
            "--type=github",
            "--event=ping,push",
            "--secret-ref=webhook-token",
            "--resource=GitRepository/webapp",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let receiver = get_object(
        &cluster,
        "notification.toolkit.fluxcd.io/v1",
        "receivers",
        "github",
    );
    let path = receiver["status"]["webhookPath"].as_str().unwrap();
    assert_eq!(
        out.stderr,
        format!(
            "✚ generating Receiver\n► applying Receiver\n✔ Receiver created\n◎ waiting for Receiver reconciliation\n✔ Receiver github is ready\n✔ generated webhook URL {path}\n"
        )
    );
    // A second run replaces the spec, with upstream's "updated".
    let out = create(
        &cluster,
        &[
            "alert",
            "all-ks",
            "--provider-ref=slack",
            "--event-source=Kustomization/*",
        ],
    );
    assert!(out.stderr.contains("✔ Alert updated\n"), "{}", out.stderr);
    let alert = get_object(
        &cluster,
        "notification.toolkit.fluxcd.io/v1beta3",
        "alerts",
        "all-ks",
    );
    assert!(
        alert["spec"]
            .get("eventSeverity")
            .is_none_or(|s| s == "info"),
        "{alert}"
    );
}

fn failing_source_exits_with_the_controller_message(backend: Backend) {
    let (server, _, _) = repository();
    let missing = format!("--url={}", server.url("missing"));
    let cluster = cluster(backend);
    let out = create(
        &cluster,
        &["source", "git", "broken", &missing, "--branch=main"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let broken = get_object(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "gitrepositories",
        "broken",
    );
    let message = broken["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap();
    assert!(!message.is_empty());
    assert!(
        out.stderr.ends_with(&format!(
            "◎ waiting for GitRepository source reconciliation\n✗ GitRepository reconciliation failed: {message}\n"
        )),
        "{}",
        out.stderr
    );
}

fn sources_store_their_credentials_in_secrets(backend: Backend) {
    let cluster = cluster(backend);
    let out = create(
        &cluster,
        &[
            "source",
            "git",
            "private",
            "--url=https://github.com/example/private",
            "--branch=main",
            "-u",
            "git",
            "-p",
            "s3cret",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("✚ generating GitRepository source\n► applying secret with repository credentials\n✔ authentication configured\n► applying GitRepository source\n✔ GitRepository source created\n"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("s3cret"),
        "credentials are never printed"
    );
    let (_, data) = secret_data(&cluster, "private");
    assert_eq!(
        data,
        BTreeMap::from([
            ("password".into(), "s3cret".into()),
            ("username".into(), "git".into())
        ])
    );
    let repo = get_object(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "gitrepositories",
        "private",
    );
    assert_eq!(repo["spec"]["secretRef"]["name"], "private");

    let out = create(
        &cluster,
        &[
            "source",
            "helm",
            "charts",
            "--url=https://charts.example.com",
            "-u",
            "user",
            "-p",
            "pass",
            "--pass-credentials",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("✔ source created\n"), "{}", out.stderr);
    assert!(
        out.stderr
            .ends_with("✔ HelmRepository source reconciliation completed\n")
            || out.stderr.contains("✔ fetched revision: sha256:"),
        "{}",
        out.stderr
    );
    let (secret, data) = secret_data(&cluster, "helm-charts");
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(data["username"], "user");
    let repo = get_object(
        &cluster,
        "source.toolkit.fluxcd.io/v1",
        "helmrepositories",
        "charts",
    );
    assert_eq!(repo["spec"]["secretRef"]["name"], "helm-charts");
    assert_eq!(repo["spec"]["passCredentials"], true);

    let out = create(
        &cluster,
        &[
            "source",
            "bucket",
            "podinfo",
            "--bucket-name=podinfo",
            "--endpoint=minio.example.com",
            "--access-key=ak",
            "--secret-key=sk",
            "--label=team=a",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("► applying secret with the bucket credentials\n"),
        "{}",
        out.stderr
    );
    let (secret, data) = secret_data(&cluster, "bucket-podinfo");
    assert_eq!(data["accesskey"], "ak");
    assert_eq!(secret.metadata.labels.unwrap()["team"], "a");
}

fn secrets_are_created_then_updated(backend: Backend) {
    let cluster = cluster(backend);
    let out = create(
        &cluster,
        &[
            "secret",
            "git",
            "auth",
            "--url=https://github.com/x/y",
            "-u",
            "git",
            "-p",
            "one",
            "--label=team=a",
        ],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            0,
            format!("► git secret 'auth' created in '{NS}' namespace\n").as_str()
        )
    );
    let out = create(
        &cluster,
        &[
            "secret",
            "git",
            "auth",
            "--url=https://github.com/x/y",
            "-u",
            "git",
            "-p",
            "two",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (secret, data) = secret_data(&cluster, "auth");
    assert_eq!(data["password"], "two");
    assert_eq!(
        secret.metadata.labels.unwrap()["team"],
        "a",
        "labels are merged, not replaced"
    );

    let out = create(
        &cluster,
        &[
            "secret",
            "oci",
            "ghcr",
            "--url=ghcr.io",
            "-u",
            "user",
            "-p",
            "token",
        ],
    );
    assert_eq!(
        out.stderr,
        format!("► oci secret 'ghcr' created in '{NS}' namespace\n")
    );
    let (secret, data) = secret_data(&cluster, "ghcr");
    assert_eq!(
        secret.type_.as_deref(),
        Some("kubernetes.io/dockerconfigjson")
    );
    assert!(data[".dockerconfigjson"].contains("\"ghcr.io\""));

    let out = create(
        &cluster,
        &[
            "secret",
            "proxy",
            "proxy",
            "--address=http://proxy.example.com:8080",
        ],
    );
    assert_eq!(
        out.stderr,
        format!("► proxy secret 'proxy' created in '{NS}' namespace\n")
    );
    let out = create(
        &cluster,
        &[
            "secret",
            "receiver",
            "hook",
            "--type=github",
            "--hostname=flux.example.com",
            "--token=t0k3n",
        ],
    );
    assert_eq!(
        out.stderr,
        format!("► receiver secret 'hook' created in '{NS}' namespace\n")
    );
    let (secret, data) = secret_data(&cluster, "hook");
    assert_eq!(data["token"], "t0k3n");
    assert!(
        secret.metadata.annotations.unwrap()["notification.toolkit.fluxcd.io/webhook"]
            .starts_with("https://flux.example.com/hook/")
    );
}

fn tenant_objects_are_applied(backend: Backend) {
    let cluster = cluster(backend);
    let args = [
        "tenant",
        "dev",
        "--with-namespace=dev-a,dev-b",
        "--label=team=dev",
    ];
    let expected = "► applying namespace dev-a\n► applying service account dev\n► applying role binding dev-reconciler\n► applying namespace dev-b\n► applying service account dev\n► applying role binding dev-reconciler\n✔ tenant setup completed\n";
    for _ in 0..2 {
        let out = create(&cluster, &args);
        assert_eq!((out.code, out.stderr.as_str()), (0, expected));
    }
    let (namespace, account, binding) = cluster.with_client(async |client| {
        let ns = Api::<Namespace>::all(client.clone())
            .get("dev-b")
            .await
            .unwrap();
        let sa = Api::<ServiceAccount>::namespaced(client.clone(), "dev-b")
            .get("dev")
            .await
            .unwrap();
        let rb = Api::<RoleBinding>::namespaced(client, "dev-b")
            .get("dev-reconciler")
            .await
            .unwrap();
        (ns, sa, rb)
    });
    let labels = namespace.metadata.labels.unwrap();
    assert_eq!(
        (
            labels["team"].as_str(),
            labels["toolkit.fluxcd.io/tenant"].as_str()
        ),
        ("dev", "dev")
    );
    assert_eq!(
        account.metadata.labels.unwrap()["toolkit.fluxcd.io/tenant"],
        "dev"
    );
    assert_eq!(binding.role_ref.name, "cluster-admin");
    let subjects = binding.subjects.unwrap();
    assert_eq!(subjects[0].name, "gotk:dev-b:reconciler");
    assert_eq!(
        (subjects[1].kind.as_str(), subjects[1].name.as_str()),
        ("ServiceAccount", "dev")
    );
}

/// Invalid input fails with its message before any connection is made: the
/// server given here does not exist, so any request would fail differently.
#[test]
fn bad_input_is_rejected_before_contacting_the_cluster() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "source",
                "git",
                "bad",
                "--url=ftp://example.com/x",
                "--branch=main",
            ],
            "git URL scheme 'ftp' not supported, can be: ssh, http and https",
        ),
        (
            &["source", "git", "bad", "--url=https://example.com/x"],
            "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver",
        ),
        (
            &[
                "source",
                "git",
                "bad",
                "--url=https://example.com/x",
                "--branch=main",
                "--ca-file=/nonexistent/ca.crt",
            ],
            "unable to read TLS CA file: open /nonexistent/ca.crt: no such file or directory",
        ),
        (
            &[
                "source",
                "helm",
                "bad",
                "--url=https://example.com",
                "-u",
                "user",
            ],
            "password is required",
        ),
        (
            &[
                "kustomization",
                "bad",
                "--source=tkfg",
                "--label=bad label=x",
            ],
            "invalid label 'bad label': [name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')]",
        ),
        (
            &[
                "helmrelease",
                "bad",
                "--source=HelmRepository/r",
                "--chart=c",
                "--reconcile-strategy=Sometimes",
            ],
            "'Sometimes' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
        ),
        (
            &["image", "policy", "bad", "--image-ref=r"],
            "a policy must be provided with either --select-semver or --select-alpha",
        ),
        (
            &["secret", "git", "bad", "--url=https://example.com/x"],
            "for Git over HTTP/S the username and password, or a bearer token is required",
        ),
        (
            &["tenant", "bad", "--with-namespace=Bad_NS"],
            "invalid namespace 'Bad_NS': [a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')]",
        ),
        (
            &["alert", "A"],
            "name 'A' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'",
        ),
    ];
    for (args, message) in cases {
        let out = flux()
            .args(["create"])
            .args(*args)
            .args(["--server=https://127.0.0.1:9", "--timeout=5s"])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.ends_with(&format!("✗ {message}\n")),
            "{args:?}: {stderr}"
        );
    }
    // Valid input does contact that server, and fails there.
    let out = flux()
        .args([
            "create",
            "alert-provider",
            "bad",
            "--type=slack",
            "--server=https://127.0.0.1:9",
            "--timeout=5s",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("✚ generating Provider\n► applying Provider\n✗ "),
        "{stderr}"
    );
}

/// Over SSH a deploy key is generated and shown (never the private key),
/// the server's host key is collected, and the confirmation is refused
/// without a terminal unless `--silent` is given.
fn ssh_sources_show_the_deploy_key_and_need_confirmation(backend: Backend) {
    let Some(server) = SshGitServer::start_or_skip() else {
        return;
    };
    let (_, url) = server.create_repo("podinfo");
    let cluster = cluster(backend);
    let args = ["source", "git", "deploy", "--url", &url, "--branch=main"];
    let out = create(&cluster, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let host_line = format!("[127.0.0.1]:{} {}", server.port, server.host_key());
    assert!(
        out.stderr.starts_with(&format!(
            "✚ generating GitRepository source\n✔ collected public key from SSH server:\n{host_line}\n✚ deploy key: ecdsa-sha2-nistp384 "
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("pass --silent to skip the confirmation\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("PRIVATE KEY"));
    let missing = cluster.with_client(async |client| {
        Api::<Secret>::namespaced(client, NS)
            .get_opt("deploy")
            .await
            .unwrap()
    });
    assert!(
        missing.is_none(),
        "nothing is applied without the confirmation"
    );

    let mut silent = args.to_vec();
    silent.extend(["--silent", "--ssh-key-algorithm=ed25519"]);
    let out = create(&cluster, &silent);
    assert!(
        out.stderr.contains("\n✚ deploy key: ssh-ed25519 "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("\n\n► applying secret with repository credentials\n✔ authentication configured\n► applying GitRepository source\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("PRIVATE KEY"));
    let (_, data) = secret_data(&cluster, "deploy");
    assert!(data["identity"].starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(out.stderr.contains(data["identity.pub"].trim()));
    assert_eq!(data["known_hosts"], host_line);
}

/// With the API server unreachable (testenv's fault injection), invalid
/// input still fails with its own message, and valid input fails to connect.
#[test]
fn unreachable_server_does_not_hide_validation_errors() {
    let cluster = cluster(Backend::Builtin);
    cluster.set_faults(testenv::Faults {
        unreachable: true,
        ..testenv::Faults::default()
    });
    let out = create(&cluster, &["kustomization", "apps", "--path=./x"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ source is required\n")
    );
    let out = create(&cluster, &["secret", "proxy", "proxy"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ address is required\n")
    );
    let out = create(
        &cluster,
        &["secret", "proxy", "proxy", "--address=http://p:8080"],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("✗ unable to apply secret"),
        "{}",
        out.stderr
    );
}

/// Throttled and failing requests are retried, so a create still succeeds.
#[test]
fn transient_server_errors_are_retried() {
    let cluster = cluster(Backend::Builtin);
    cluster.set_faults(testenv::Faults {
        error_ratio: 0.3,
        error_code: 503,
        ..testenv::Faults::default()
    });
    let out = create(&cluster, &["alert-provider", "slack", "--type=slack"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.ends_with("✔ Provider slack is ready\n"),
        "{}",
        out.stderr
    );
    let out = create(
        &cluster,
        &["secret", "proxy", "proxy", "--address=http://p:8080"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A namespace that does not exist is named as the problem.
fn missing_namespace_is_reported(backend: Backend) {
    let cluster = cluster(backend);
    let out = cluster.flux(&[
        "create",
        "alert-provider",
        "slack",
        "--type=slack",
        "-n",
        "nope",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .ends_with("► applying Provider\n✗ namespaces \"nope\" not found\n"),
        "{}",
        out.stderr
    );
    let out = cluster.flux(&[
        "create",
        "secret",
        "proxy",
        "proxy",
        "--address=http://p:8080",
        "-n",
        "nope",
    ]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "✗ unable to apply secret nope/proxy: namespaces \"nope\" not found\n"
        )
    );
}

/// An object that keeps waiting (here on a dependency that never comes)
/// ends at --timeout with upstream's line, after a warning that gives its
/// last Ready reason and message.
fn a_wait_that_runs_out_names_the_last_reason(backend: Backend) {
    let cluster = cluster(backend);
    let out = cluster.flux(&[
        "create",
        "kustomization",
        "waiting",
        "--source=GitRepository/none",
        "--path=./",
        "--depends-on=missing",
        "--timeout=3s",
        "-n",
        NS,
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "⚠️ gave up waiting for Kustomization {NS}/waiting (last status: Ready=False DependencyNotReady dependency '{NS}/missing' is not ready); raise --timeout to wait longer\n✗ context deadline exceeded\n"
        )),
        "{}",
        out.stderr
    );
}

on_both_backends!(
    a_wait_that_runs_out_names_the_last_reason,
    git_source_kustomization_and_helmrelease_match_goldens,
    git_source_with_a_v1_tag_matches_upstream_success_golden,
    image_and_oci_kinds_match_goldens,
    notification_kinds_are_applied_and_ready,
    failing_source_exits_with_the_controller_message,
    sources_store_their_credentials_in_secrets,
    secrets_are_created_then_updated,
    tenant_objects_are_applied,
    ssh_sources_show_the_deploy_key_and_need_confirmation,
    missing_namespace_is_reported,
);

/// Twenty concurrent `create secret git` of the same secret: each is a
/// read-modify-write, and conflicts (another writer came between the read
/// and the write) are retried until every run succeeds.
#[test]
fn concurrent_writers_of_one_object_all_succeed() {
    let cluster = Cluster::start(false);
    let kubeconfig = cluster.kubeconfig().to_path_buf();
    let runs: Vec<_> = (0..20)
        .map(|i| {
            let kubeconfig = kubeconfig.clone();
            std::thread::spawn(move || {
                let output = flux()
                    .env("KUBECONFIG", &kubeconfig)
                    .args([
                        "create",
                        "secret",
                        "git",
                        "same",
                        "--url=https://example.com/repo.git",
                        "--username=u",
                        &format!("--password=p{i}"),
                    ])
                    .timeout(std::time::Duration::from_secs(120))
                    .output()
                    .unwrap();
                (
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr).into_owned(),
                )
            })
        })
        .collect();
    let failed: Vec<String> = runs
        .into_iter()
        .map(|r| r.join().unwrap())
        .filter(|(code, _)| *code != Some(0))
        .map(|(code, stderr)| format!("{code:?}: {stderr}"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 20 failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
