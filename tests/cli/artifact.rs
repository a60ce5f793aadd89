//! `flux build|push|pull|tag|diff artifact` and `flux list artifacts`
//! against a real registry on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::common::cluster::{Backend, on_both_backends};
use crate::common::registry::Registry;
use crate::common::{Run, flux, shared_dir, skip};

/// Runs flux with its own empty HOME (no Docker config unless a test
/// writes one) and UTC as the local time zone.
fn run_in(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = flux()
        .env("HOME", home)
        .env("TZ", "UTC")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .envs(env.iter().copied())
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("flux runs");
    Run::from(output)
}

/// `flux push artifact URL --path PATH --source SOURCE --revision REVISION`
/// and `extra` flags, as [`run_in`].
fn push_artifact(
    home: &Path,
    env: &[(&str, &str)],
    url: &str,
    path: &str,
    source: &str,
    revision: &str,
    extra: &[&str],
) -> Run {
    let args = [
        "push",
        "artifact",
        url,
        "--path",
        path,
        "--source",
        source,
        "--revision",
        revision,
    ];
    run_in(home, env, &[&args[..], extra].concat())
}

fn registry() -> Option<Registry> {
    match Registry::start() {
        Ok(r) => Some(r),
        Err(reason) => {
            skip(&reason);
            None
        }
    }
}

/// A small tree of manifests, with an executable and an ignored file.
fn manifests(dir: &Path) {
    std::fs::create_dir_all(dir.join("apps/podinfo")).unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        "resources:\n- apps/podinfo\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("apps/podinfo/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\n",
    )
    .unwrap();
    std::fs::write(dir.join("apps/run.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        dir.join("apps/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(dir.join("logo.png"), "not in the artifact").unwrap();
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A plain HTTP GET to the registry; the body of a 200 answer.
/// The media types every Flux artifact's manifest has: an OCI image
/// manifest with Flux's config and a single Flux content layer.
fn assert_flux_media_types(manifest: &serde_json::Value) {
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.cncf.flux.config.v1+json"
    );
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.cncf.flux.content.v1.tar+gzip"
    );
}

/// `flux build artifact --path src --output out`: the tarball a push of
/// the same tree uploads as its layer.
fn build_artifact(home: &Path, src: &str, out: &Path) -> Run {
    let out = out.to_str().unwrap();
    run_in(
        home,
        &[],
        &["build", "artifact", "--path", src, "--output", out],
    )
}

fn get(host: &str, path: &str, basic: Option<(&str, &str)>) -> Vec<u8> {
    get_over(TcpStream::connect(host).unwrap(), host, path, basic)
}

/// A GET over HTTPS that trusts only the PEM CA `ca`.
fn get_tls(host: &str, ca: &Path, path: &str, basic: Option<(&str, &str)>) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let stream = rustls::StreamOwned::new(connection, TcpStream::connect(host).unwrap());
    get_over(stream, host, path, basic)
}

fn get_over(
    mut stream: impl Read + Write,
    host: &str,
    path: &str,
    basic: Option<(&str, &str)>,
) -> Vec<u8> {
    let auth = basic
        .map(|(u, p)| {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            format!("Authorization: Basic {token}\r\n")
        })
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    // A TLS peer that closes without close_notify ends the read with
    // UnexpectedEof once the whole answer is in.
    if let Err(err) = stream.read_to_end(&mut answer) {
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    }
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
    );
    answer[split + 4..].to_vec()
}

fn manifest(registry: &Registry, repo: &str, reference: &str) -> (Vec<u8>, serde_json::Value) {
    let raw = get(
        &registry.host,
        &format!("/v2/{repo}/manifests/{reference}"),
        None,
    );
    let json = serde_json::from_slice(&raw).unwrap();
    (raw, json)
}

fn read_tree(dir: &Path) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String, u32)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                out.push((rel, std::fs::read_to_string(&path).unwrap(), mode));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

#[test]
fn push_then_pull_round_trips_the_files() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let url = registry.url("org/app:v1");
    let src_path = src.path().to_str().unwrap();
    let source = "https://github.com/org/app";
    let push = push_artifact(
        home.path(),
        &[],
        &url,
        src_path,
        source,
        "main@sha1:abc",
        &[],
    );
    assert_eq!(push.code, 0, "{}", push.stderr);
    assert_eq!(push.stdout, "");
    let (raw, _) = manifest(&registry, "org/app", "v1");
    let digest = sha256(&raw);
    assert_eq!(
        push.stderr,
        format!(
            "► pushing artifact to {host}/org/app:v1\n✔ artifact successfully pushed to {host}/org/app@{digest}\n",
            host = registry.host
        )
    );

    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_str().unwrap();
    let pull = run_in(
        home.path(),
        &[],
        &["pull", "artifact", &url, "--output", out_path],
    );
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    assert_eq!(
        pull.stderr,
        format!(
            "► pulling artifact from {host}/org/app:v1\n✔ source https://github.com/org/app\n✔ revision main@sha1:abc\n✔ digest {host}/org/app@{digest}\n✔ artifact content extracted to {out_path}\n",
            host = registry.host
        )
    );
    let mut expected = read_tree(src.path());
    expected.retain(|(name, _, _)| name != "logo.png");
    assert_eq!(read_tree(out.path()), expected);
    assert_eq!(
        read_tree(out.path())
            .iter()
            .find(|e| e.0 == "apps/run.sh")
            .unwrap()
            .2,
        0o755
    );

    // By digest too.
    let by_digest = registry.url(&format!("org/app@{digest}"));
    let again = tempfile::tempdir().unwrap();
    let pull = run_in(
        home.path(),
        &[],
        &[
            "pull",
            "artifact",
            &by_digest,
            "-o",
            again.path().to_str().unwrap(),
        ],
    );
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    assert_eq!(read_tree(again.path()), expected);

    // Layers are staged in TMPDIR; when it cannot hold them, both commands
    // say so and change nothing.
    let no_tmp = [("TMPDIR", "/nonexistent/flux-tmp")];
    let v2 = registry.url("org/app:v2");
    let push = push_artifact(home.path(), &no_tmp, &v2, src_path, "s", "r", &[]);
    assert_eq!(push.code, 1, "{}", push.stderr);
    let last = push.stderr.lines().last().unwrap();
    assert!(
        last.contains("creating a temporary file for the layer in /nonexistent/flux-tmp")
            && last.contains("set TMPDIR to a writable directory"),
        "{last}"
    );
    let tags = get(&registry.host, "/v2/org/app/tags/list", None);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&tags).unwrap()["tags"],
        serde_json::json!(["v1"])
    );
    let untouched = tempfile::tempdir().unwrap();
    let pull = run_in(
        home.path(),
        &no_tmp,
        &[
            "pull",
            "artifact",
            &url,
            "-o",
            untouched.path().to_str().unwrap(),
        ],
    );
    assert_eq!(pull.code, 1, "{}", pull.stderr);
    assert!(pull.stderr.contains("set TMPDIR"), "{}", pull.stderr);
    assert_eq!(std::fs::read_dir(untouched.path()).unwrap().count(), 0);
}

#[test]
fn reproducible_pushes_have_one_digest_and_the_upstream_layout() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let src_path = src.path().to_str().unwrap();
    let push = |tag: &str| {
        let url = registry.url(&format!("repro:{tag}"));
        let flags = [
            "--reproducible",
            "-a",
            "org.example/team=platform",
            "-o",
            "json",
        ];
        let run = push_artifact(home.path(), &[], &url, src_path, "src&<x>", "v1", &flags);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stderr, "", "-o json prints nothing on stderr");
        run.stdout
    };
    let first = push("a");
    let second = push("b");
    let digest_of = |out: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v["digest"].as_str().unwrap().to_string()
    };
    assert_eq!(digest_of(&first), digest_of(&second));
    let (raw, m) = manifest(&registry, "repro", "a");
    let digest = sha256(&raw);
    assert_eq!(
        first,
        format!(
            "{{\n  \"url\": \"oci://{host}/repro@{digest}\",\n  \"repository\": \"{host}/repro\",\n  \"tag\": \"a\",\n  \"digest\": \"{digest}\"\n}}\n",
            host = registry.host
        )
    );
    assert_eq!(m["schemaVersion"], 2);
    assert_flux_media_types(&m);
    assert_eq!(
        m["annotations"],
        serde_json::json!({
            "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
            "org.opencontainers.image.source": "src&<x>",
            "org.opencontainers.image.revision": "v1",
            "org.example/team": "platform",
        })
    );
    // Go's encoding: compact, field order, HTML characters escaped.
    let text = String::from_utf8(raw.clone()).unwrap();
    assert!(text.starts_with("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"), "{text}");
    assert!(text.contains("src\\u0026\\u003cx\\u003e"), "{text}");

    // The layer is the tarball `flux build artifact` writes for the same tree.
    let tgz = home.path().join("out.tgz");
    let build = build_artifact(home.path(), src_path, &tgz);
    assert_eq!(build.code, 0, "{}", build.stderr);
    assert_eq!(
        build.stderr,
        format!(
            "► building artifact from {src_path}\n✔ artifact created at {}\n",
            tgz.display()
        )
    );
    let built = std::fs::read(&tgz).unwrap();
    assert_eq!(m["layers"][0]["digest"], sha256(&built));
    assert_eq!(m["layers"][0]["size"], built.len());
    assert_eq!(
        std::fs::metadata(&tgz).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let layer_digest = m["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(
        get(
            &registry.host,
            &format!("/v2/repro/blobs/{layer_digest}"),
            None
        ),
        built
    );

    // A custom annotation overrides the built-in ones; yaml output.
    let url = registry.url("repro:c");
    let flags = [
        "-a",
        "org.opencontainers.image.revision=custom",
        "-o",
        "yaml",
    ];
    let run = push_artifact(home.path(), &[], &url, src_path, "s", "r", &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (raw, m) = manifest(&registry, "repro", "c");
    assert_eq!(
        m["annotations"]["org.opencontainers.image.revision"],
        "custom"
    );
    assert_eq!(
        run.stdout,
        format!(
            "digest: {d}\nrepository: {h}/repro\ntag: c\nurl: oci://{h}/repro@{d}\n",
            d = sha256(&raw),
            h = registry.host
        )
    );
}

#[test]
fn tag_then_list_shows_every_tag_filtered_and_sorted() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let (url, src_path) = (registry.url("app:v1.0.0"), src.path().to_str().unwrap());
    let push = push_artifact(
        home.path(),
        &[],
        &url,
        src_path,
        "git@x",
        "1.0@sha1:0a",
        &[],
    );
    assert_eq!(push.code, 0, "{}", push.stderr);
    let tag = run_in(
        home.path(),
        &[],
        &[
            "tag",
            "artifact",
            &registry.url("app:v1.0.0"),
            "--tag",
            "v1.1.0,latest",
            "--tag",
            "sha256-0a.sig",
        ],
    );
    assert_eq!(tag.code, 0, "{}", tag.stderr);
    let host = &registry.host;
    assert_eq!(
        tag.stderr,
        format!(
            "► tagging artifact\n✔ artifact tagged as {host}/app:v1.1.0\n✔ artifact tagged as {host}/app:latest\n✔ artifact tagged as {host}/app:sha256-0a.sig\n"
        )
    );
    let digest = sha256(&manifest(&registry, "app", "v1.0.0").0);
    assert_eq!(sha256(&manifest(&registry, "app", "latest").0), digest);
    let bad = run_in(
        home.path(),
        &[],
        &[
            "tag",
            "artifact",
            &registry.url("app:v1.0.0"),
            "--tag",
            "ok1,x@sha256:00",
        ],
    );
    assert_eq!(bad.code, 1);
    assert_eq!(
        bad.stderr,
        format!(
            "► tagging artifact\n✔ artifact tagged as {host}/app:ok1\n✗ tagging artifact failed: invalid tag \"x@sha256:00\": a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'\n"
        )
    );

    let repo = registry.url("app");
    let list = run_in(home.path(), &[], &["list", "artifacts", &repo]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| {
            l.split('\t')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows[0], ["ARTIFACT", "DIGEST", "SOURCE", "REVISION"]);
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
    let artifact = |t: &str| format!("{host}/app:{t}");
    assert_eq!(
        names,
        [
            artifact("v1.1.0"),
            artifact("v1.0.0"),
            artifact("ok1"),
            artifact("latest")
        ]
    );
    for row in &rows[1..] {
        assert_eq!(row[1..], [digest.as_str(), "git@x", "1.0@sha1:0a"]);
    }

    let filtered = |flags: &[&str]| -> Vec<String> {
        let mut args = vec!["list", "artifacts", repo.as_str()];
        args.extend_from_slice(flags);
        let run = run_in(home.path(), &[], &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .skip(1)
            .map(|l| l.split('\t').next().unwrap().trim().to_string())
            .collect()
    };
    assert_eq!(
        filtered(&["--filter-semver", ">=1.1.0"]),
        [artifact("v1.1.0")]
    );
    assert_eq!(
        filtered(&["--filter-regex", "^v1\\.0"]),
        [artifact("v1.0.0")]
    );
    assert_eq!(
        filtered(&["--filter-semver", "1.x", "--filter-regex", "1\\.1"]),
        [artifact("v1.1.0")]
    );
    assert_eq!(
        filtered(&["--filter-semver", ">=2.0.0"]),
        Vec::<String>::new()
    );

    let bad = run_in(
        home.path(),
        &[],
        &["list", "artifacts", &repo, "--filter-semver", "x.y.z"],
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.starts_with("✗ semver 'x.y.z' parse error: "),
        "{}",
        bad.stderr
    );
    let bad = run_in(
        home.path(),
        &[],
        &["list", "artifacts", &repo, "--filter-regex", "("],
    );
    assert!(
        bad.stderr.starts_with("✗ regex '(' parse error: "),
        "{}",
        bad.stderr
    );
}

#[test]
fn diff_artifact_reports_no_change_then_a_change() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let golden = shared_dir().join("conformance/flux2-testdata/diff-artifact");
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(
        golden.join("deployment.yaml"),
        src.path().join("deployment.yaml"),
    )
    .unwrap();
    let src_path = src.path().to_str().unwrap();
    let url = registry.url("podinfo:1.0");
    let push = push_artifact(home.path(), &[], &url, src_path, "s", "r", &[]);
    assert_eq!(push.code, 0, "{}", push.stderr);
    let same = run_in(
        home.path(),
        &[],
        &["diff", "artifact", &url, "--path", src_path],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_eq!(
        same.stderr,
        std::fs::read_to_string(golden.join("success.golden")).unwrap()
    );
    assert_eq!(same.stdout, "");

    std::fs::copy(
        golden.join("deployment-diff.yaml"),
        src.path().join("deployment.yaml"),
    )
    .unwrap();
    let changed = run_in(
        home.path(),
        &[],
        &["diff", "artifact", &url, "--path", src_path],
    );
    assert_eq!(changed.code, 1);
    assert_eq!(
        changed.stderr,
        "✗ the remote artifact contents differs from the local one\n"
    );
}

#[test]
fn basic_auth_registry_wrong_creds_right_creds_and_docker_config() {
    let registry = match Registry::start_with_auth("flux", "s3cret-pass") {
        Ok(r) => r,
        Err(reason) => return skip(&reason),
    };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let src_path = src.path().to_str().unwrap();
    let url = registry.url("private:v1");
    let push = |home: &Path, env: &[(&str, &str)], extra: &[&str]| {
        push_artifact(home, env, &url, src_path, "s", "r", extra)
    };

    let wrong = push(home.path(), &[], &["--creds", "flux:wr0ng-pass"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .starts_with("► logging in to registry with credentials\n"),
        "{}",
        wrong.stderr
    );
    let last = wrong.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("✗ pushing artifact failed: pushing artifact failed: "),
        "{}",
        wrong.stderr
    );
    assert!(last.contains("authoriz") || last.contains("401"), "{last}");
    assert!(!wrong.stderr.contains("wr0ng-pass"));

    // A value without `:` is a bearer token, which this registry refuses.
    let token = push(home.path(), &[], &["--creds", "t0ken-value"]);
    assert_eq!(token.code, 1);
    assert!(
        token
            .stderr
            .starts_with("► logging in to registry with credentials\n")
    );
    assert!(!token.stderr.contains("t0ken-value"), "{}", token.stderr);

    let anonymous = push(home.path(), &[], &[]);
    assert_eq!(anonymous.code, 1, "{}", anonymous.stderr);

    let right = push(home.path(), &[], &["--creds", "flux:s3cret-pass"]);
    assert_eq!(right.code, 0, "{}", right.stderr);
    assert!(!right.stderr.contains("s3cret-pass"));

    // ~/.docker/config.json `auths`.
    let token = base64::engine::general_purpose::STANDARD.encode("flux:s3cret-pass");
    std::fs::create_dir_all(home.path().join(".docker")).unwrap();
    std::fs::write(
        home.path().join(".docker/config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{token}"}}}}}}"#,
            registry.host
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let pull = run_in(
        home.path(),
        &[],
        &["pull", "artifact", &url, "-o", out.path().to_str().unwrap()],
    );
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    assert!(out.path().join("apps/podinfo/deploy.yaml").is_file());
    assert!(!pull.stderr.contains(&token) && !pull.stderr.contains("s3cret-pass"));

    // A credential helper named by `credHelpers`, found on PATH.
    let helper_home = tempfile::tempdir().unwrap();
    let bin = helper_home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-fluxtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\necho '{{\"ServerURL\":\"x\",\"Username\":\"flux\",\"Secret\":\"s3cret-pass\"}}'\n",
            registry.host
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(helper_home.path().join(".docker")).unwrap();
    std::fs::write(
        helper_home.path().join(".docker/config.json"),
        format!(r#"{{"credHelpers":{{"{}":"fluxtest"}}}}"#, registry.host),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let list = run_in(
        helper_home.path(),
        &[("PATH", &path)],
        &["list", "artifacts", &registry.url("private")],
    );
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout
            .contains(&format!("{}/private:v1", registry.host)),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains("s3cret-pass") && !list.stderr.contains("s3cret-pass"));

    // The global credsStore, with a helper that has nothing for this host.
    std::fs::write(
        helper_home.path().join(".docker/config.json"),
        r#"{"credsStore":"fluxtest","credHelpers":{"other.example":"fluxtest"}}"#,
    )
    .unwrap();
    std::fs::write(
        &helper,
        "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n",
    )
    .unwrap();
    let list = run_in(
        helper_home.path(),
        &[("PATH", &path)],
        &["list", "artifacts", &registry.url("private")],
    );
    assert_eq!(list.code, 1, "anonymous is refused: {}", list.stderr);
    assert!(
        list.stderr.starts_with("✗ listing tags failed: "),
        "{}",
        list.stderr
    );
}

/// A registry on HTTPS with a CA made for the test, behind basic auth.
/// Untrusted, the push fails on the certificate (saying how to trust it)
/// and uploads nothing; trusted through `SSL_CERT_FILE`, as Go programs
/// trust a CA, push, list, tag and pull work and the manifest read back
/// over HTTPS is the artifact's.
#[test]
fn tls_registry_with_a_test_ca_and_basic_auth() {
    let registry = match Registry::start_tls_with_auth("flux", "tls-pass") {
        Ok(r) => r,
        Err(reason) => return skip(&reason),
    };
    let ca = registry.ca.clone().unwrap();
    let ca_file = ca.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let src_path = src.path().to_str().unwrap();
    let url = registry.url("secure/app:v1");
    let push = |env: &[(&str, &str)]| {
        let extra = ["--creds", "flux:tls-pass", "-o", "json"];
        let source = "https://github.com/org/app";
        push_artifact(
            home.path(),
            env,
            &url,
            src_path,
            source,
            "v1@sha1:abc",
            &extra,
        )
    };

    // The system store does not hold the test CA.
    let untrusted = push(&[]);
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    let last = untrusted.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("✗ error setting up transport: "),
        "{}",
        untrusted.stderr
    );
    for part in [
        "invalid peer certificate: UnknownIssuer",
        "x509: certificate signed by unknown authority",
        "SSL_CERT_FILE",
        "--insecure-registry",
    ] {
        assert!(last.contains(part), "{part}: {last}");
    }
    assert!(!untrusted.stderr.contains("tls-pass"));
    assert_eq!(registry.stored_files(), Vec::<String>::new());

    // Trusted the way Go programs (and upstream flux) trust a CA.
    let trust = [("SSL_CERT_FILE", ca_file)];
    let push = push(&trust);
    assert_eq!(push.code, 0, "{}", push.stderr);
    let pushed: serde_json::Value = serde_json::from_str(&push.stdout).unwrap();
    let digest = pushed["digest"].as_str().unwrap();
    let creds = Some(("flux", "tls-pass"));
    let raw = get_tls(&registry.host, &ca, "/v2/secure/app/manifests/v1", creds);
    assert_eq!(sha256(&raw), digest);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_flux_media_types(&manifest);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.source"],
        "https://github.com/org/app"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"],
        "v1@sha1:abc"
    );
    // The layer is what `flux build artifact` writes for the same tree.
    let built = home.path().join("built.tgz");
    let build = build_artifact(home.path(), src_path, &built);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(sha256(&std::fs::read(&built).unwrap()), layer_digest);
    let blob = get_tls(
        &registry.host,
        &ca,
        &format!("/v2/secure/app/blobs/{layer_digest}"),
        creds,
    );
    assert_eq!(blob, std::fs::read(&built).unwrap());

    let tag = run_in(
        home.path(),
        &trust,
        &[
            "tag",
            "artifact",
            &url,
            "--tag",
            "latest",
            "--creds",
            "flux:tls-pass",
        ],
    );
    assert_eq!(tag.code, 0, "{}", tag.stderr);
    let list = run_in(
        home.path(),
        &trust,
        &[
            "list",
            "artifacts",
            &registry.url("secure/app"),
            "--creds",
            "flux:tls-pass",
        ],
    );
    assert_eq!(list.code, 0, "{}", list.stderr);
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let host = &registry.host;
    assert_eq!(
        rows,
        [
            vec![
                format!("{host}/secure/app:v1").as_str(),
                digest,
                "https://github.com/org/app",
                "v1@sha1:abc"
            ],
            vec![
                format!("{host}/secure/app:latest").as_str(),
                digest,
                "https://github.com/org/app",
                "v1@sha1:abc"
            ],
        ]
    );
    assert_eq!(
        get_tls(
            &registry.host,
            &ca,
            "/v2/secure/app/manifests/latest",
            creds
        ),
        raw
    );

    let out = tempfile::tempdir().unwrap();
    let pull = run_in(
        home.path(),
        &trust,
        &[
            "pull",
            "artifact",
            &registry.url("secure/app:latest"),
            "-o",
            out.path().to_str().unwrap(),
            "--creds",
            "flux:tls-pass",
        ],
    );
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    let mut expected = read_tree(src.path());
    expected.retain(|(name, _, _)| name != "logo.png");
    assert_eq!(read_tree(out.path()), expected);

    // Verification is off only when asked for.
    let skipped = tempfile::tempdir().unwrap();
    let insecure = run_in(
        home.path(),
        &[],
        &[
            "pull",
            "artifact",
            &url,
            "-o",
            skipped.path().to_str().unwrap(),
            "--creds",
            "flux:tls-pass",
            "--insecure-registry",
        ],
    );
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
    assert_eq!(read_tree(skipped.path()), expected);
}

/// Runs flux as `run_in` does under GNU time: the run and the process's
/// peak resident set in KiB.
fn run_measured(home: &Path, args: &[&str]) -> (Run, u64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let output = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(env!("CARGO_BIN_EXE_flux"))
        .args(args)
        .env("HOME", home)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .expect("time runs flux");
    let text = std::fs::read_to_string(report.path()).unwrap();
    let kib = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {text:?}"));
    (Run::from(output), kib)
}

/// Whether two files hold the same bytes, read in pieces.
fn same_contents(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

/// A 100 MB file of random data (incompressible: the layer is as big) is
/// pushed and pulled back intact while neither process's peak resident
/// set grows by more than a fraction of it over a one-file artifact's.
#[test]
fn a_100_mb_layer_is_streamed_with_bounded_memory() {
    let Some(registry) = registry() else { return };
    if !Path::new("/usr/bin/time").is_file() {
        return skip("GNU time is not installed (apt-get install time)");
    }
    const MIB: u64 = 1024;
    let home = tempfile::tempdir().unwrap();
    let small = tempfile::tempdir().unwrap();
    std::fs::write(small.path().join("one.yaml"), "a: 1\n").unwrap();
    let big = tempfile::tempdir().unwrap();
    let data = big.path().join("random.bin");
    let mut random = std::fs::File::open("/dev/urandom")
        .unwrap()
        .take(100_000_000);
    let mut file = std::fs::File::create(&data).unwrap();
    assert_eq!(std::io::copy(&mut random, &mut file).unwrap(), 100_000_000);
    drop(file);

    let push = |src: &Path, tag: &str| {
        let url = registry.url(&format!("big/app:{tag}"));
        let args = [
            "push",
            "artifact",
            &url,
            "-f",
            src.to_str().unwrap(),
            "--source",
            "s",
            "--revision",
            "r",
        ];
        run_measured(home.path(), &args)
    };
    let pull = |tag: &str, out: &Path| {
        let url = registry.url(&format!("big/app:{tag}"));
        run_measured(
            home.path(),
            &["pull", "artifact", &url, "-o", out.to_str().unwrap()],
        )
    };
    let (run, small_push) = push(small.path(), "small");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (run, big_push) = push(big.path(), "big");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tempfile::tempdir().unwrap();
    let (run, small_pull) = pull("small", out.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tempfile::tempdir().unwrap();
    let (run, big_pull) = pull("big", out.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(same_contents(&data, &out.path().join("random.bin")));

    println!(
        "peak RSS KiB: push {small_push} (one small file) / {big_push} (100 MB); pull {small_pull} / {big_pull}"
    );
    // Measured with the debug binary: about 45 MiB for either size, and
    // about 0.5 MiB more for 100 MB. Holding the layer or the file in
    // memory would add at least 95 MiB.
    for (what, small, big) in [
        ("push", small_push, big_push),
        ("pull", small_pull, big_pull),
    ] {
        assert!(
            big < small + 16 * MIB && big < 64 * MIB,
            "{what}: peak RSS {big} KiB for 100 MB against {small} KiB for one small file"
        );
    }
}

#[test]
fn bad_urls_and_flags_are_refused_before_any_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().to_str().unwrap();
    let no_scheme = format!("{host}/app:v1");
    let oci = format!("oci://{host}/app:v1");
    let upper = format!("oci://{host}/App");
    let zeros = "0".repeat(64);
    let by_digest = format!("oci://{host}/app@sha256:{zeros}");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["push", "artifact", &no_scheme, "-f", dir, "--source", "s", "--revision", "r"], "URL must be in format 'oci://<domain>/<org>/<repo>'".into()),
        (vec!["pull", "artifact", &no_scheme, "-o", dir], "URL must be in format 'oci://<domain>/<org>/<repo>'".into()),
        (vec!["tag", "artifact", &no_scheme, "--tag", "x"], "URL must be in format 'oci://<domain>/<org>/<repo>'".into()),
        (vec!["list", "artifacts", &no_scheme], "URL must be in format 'oci://<domain>/<org>/<repo>'".into()),
        (vec!["diff", "artifact", &no_scheme, "--path", dir], "URL must be in format 'oci://<domain>/<org>/<repo>'".into()),
        (vec!["push", "artifact", &upper, "-f", dir, "--source", "s", "--revision", "r"], format!("'oci://{host}/App' invalid URL: could not parse reference: {host}/App")),
        (vec!["push", "artifact"], "artifact URL is required".into()),
        (vec!["push", "artifact", &by_digest, "-f", dir, "--source", "s", "--revision", "r"], format!("artifact tag parsing failed: {host}/app@sha256:{zeros} names a digest; push to a tag (oci://{host}/app:<tag>)")),
        (vec!["push", "artifact", &oci, "-f", dir, "--revision", "r"], "--source is required".into()),
        (vec!["push", "artifact", &oci, "-f", dir, "--source", "s"], "--revision is required".into()),
        (vec!["push", "artifact", &oci, "--source", "s", "--revision", "r"], "invalid path \"\"".into()),
        (vec!["push", "artifact", &oci, "-f", "/nonexistent/x", "--source", "s", "--revision", "r"], "invalid path '/nonexistent/x', must point to an existing directory or file: No such file or directory (os error 2)".into()),
        (vec!["push", "artifact", &oci, "-f", dir, "--source", "s", "--revision", "r", "-a", "k=v=w"], "invalid annotation k=v=w, must be in the format key=value".into()),
        (vec!["pull", "artifact"], "artifact URL is required".into()),
        (vec!["pull", "artifact", &oci], "output path cannot be empty".into()),
        (vec!["pull", "artifact", &oci, "-o", "/nonexistent/out"], "invalid output path \"/nonexistent/out\": No such file or directory (os error 2)".into()),
        (vec!["tag", "artifact", "--tag", "x"], "artifact name is required".into()),
        (vec!["tag", "artifact", &oci], "--tag is required".into()),
        (vec!["list", "artifacts"], "artifact repository URL is required".into()),
        (vec!["diff", "artifact", &oci], "invalid path \"\"".into()),
        (vec!["diff", "artifact", &oci, "--path", "/nonexistent/x"], "invalid path '/nonexistent/x', must point to an existing directory or file".into()),
        (vec!["build", "artifact"], "invalid path \"\"".into()),
        (vec!["build", "artifact", "-p", "/nonexistent/x"], "invalid path '/nonexistent/x', must point to an existing directory or file".into()),
        (vec!["pull", "artifact", &oci, "-o", dir, "--provider", "ibm"], "invalid argument \"ibm\" for \"--provider\" flag: source OCI provider 'ibm' is not supported, must be one of: generic, aws, azure, gcp".into()),
    ];
    for (args, message) in cases {
        let run = run_in(home.path(), &[], &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.lines().last(),
            Some(format!("✗ {message}").as_str()),
            "{args:?}"
        );
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{args:?} connected to the registry"
        );
    }
}

#[test]
fn cloud_providers_say_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let run = run_in(
        home.path(),
        &[],
        &[
            "pull",
            "artifact",
            "oci://123456789.dkr.ecr.eu-west-1.amazonaws.com/app:v1",
            "-o",
            home.path().to_str().unwrap(),
            "--provider",
            "aws",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "► logging in to registry with provider credentials\n✗ error during login with provider: could not login to provider aws with url 123456789.dkr.ecr.eu-west-1.amazonaws.com/app:v1: flux-rs does not implement aws authentication; pass an ECR token with --creds AWS:$(aws ecr get-login-password) or log in with `aws ecr get-login-password | docker login`\n"
    );
}

#[test]
fn build_artifact_from_stdin_and_symlinks() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("stdin.tgz");
    let run = flux()
        .env("HOME", home.path())
        .args([
            "build",
            "artifact",
            "--path",
            "-",
            "--output",
            out.to_str().unwrap(),
        ])
        .write_stdin("kind: ConfigMap\n\n\r\n")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let extracted = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&out)
        .arg("-C")
        .arg(extracted.path())
        .status()
        .unwrap();
    assert!(status.success());
    let files = read_tree(extracted.path());
    assert_eq!(files.len(), 1);
    assert!(files[0].0.ends_with(".yaml"), "{files:?}");
    assert_eq!(files[0].1, "kind: ConfigMap");

    // Links are left out unless --resolve-symlinks copies their targets in.
    let src = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("real.yaml"), "real").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("real.yaml"),
        src.path().join("link.yaml"),
    )
    .unwrap();
    std::fs::write(src.path().join("own.yaml"), "own").unwrap();
    for (flag, expected) in [
        ("--resolve-symlinks=false", vec!["own.yaml"]),
        ("--resolve-symlinks", vec!["link.yaml", "own.yaml"]),
    ] {
        let tgz = home.path().join("links.tgz");
        let run = run_in(
            home.path(),
            &[],
            &[
                "build",
                "artifact",
                "-p",
                src.path().to_str().unwrap(),
                "-o",
                tgz.to_str().unwrap(),
                flag,
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let x = tempfile::tempdir().unwrap();
        assert!(
            std::process::Command::new("tar")
                .arg("-xzf")
                .arg(&tgz)
                .arg("-C")
                .arg(x.path())
                .status()
                .unwrap()
                .success()
        );
        let names: Vec<String> = read_tree(x.path()).into_iter().map(|e| e.0).collect();
        assert_eq!(names, expected, "{flag}");
    }
}

/// A registry nobody answers for: push, pull and list fail at once with
/// the address and the cause (a refused connection is not retried), and
/// pull writes nothing.
#[test]
fn an_unreachable_registry_is_named_and_nothing_is_written() {
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = closed.local_addr().unwrap().to_string();
    drop(closed);
    let url = format!("oci://{host}/app:v1");
    let out = tempfile::tempdir().unwrap();
    let src_path = src.path().to_str().unwrap();
    let out_path = out.path().to_str().unwrap();
    for args in [
        vec![
            "push",
            "artifact",
            &url,
            "-f",
            src_path,
            "--source=s",
            "--revision=r",
        ],
        vec!["pull", "artifact", &url, "-o", out_path],
        vec!["list", "artifacts", &url[..url.len() - 3]],
    ] {
        let started = std::time::Instant::now();
        let run = run_in(home.path(), &[], &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        let last = run.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("✗ ") && last.contains(&host),
            "{args:?}: {last}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn insecure_registry_flag_and_missing_artifacts() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let (url, src_path) = (registry.url("ins:v1"), src.path().to_str().unwrap());
    let push = push_artifact(
        home.path(),
        &[],
        &url,
        src_path,
        "s",
        "r",
        &["--insecure-registry"],
    );
    assert_eq!(push.code, 0, "{}", push.stderr);
    let out = tempfile::tempdir().unwrap();
    let pull = run_in(
        home.path(),
        &[],
        &[
            "pull",
            "artifact",
            &registry.url("ins:missing"),
            "-o",
            out.path().to_str().unwrap(),
            "--insecure-registry",
        ],
    );
    assert_eq!(pull.code, 1);
    assert!(
        pull.stderr.lines().last().unwrap().starts_with("✗ "),
        "{}",
        pull.stderr
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

/// testenv's source-controller pulls an OCIRepository from the loopback
/// registry: the revision carries the pushed manifest's digest and the
/// Kustomization applies the artifact's manifests; a change pushed to the
/// same tag reaches the cluster with `flux reconcile ks --with-source`.
fn pushed_artifacts_are_reconciled_by_the_simulated_controllers(backend: Backend) {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("deploy")).unwrap();
    std::fs::write(
        src.path().join("deploy/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-oci\n  namespace: default\ndata:\n  key: pushed\n",
    )
    .unwrap();
    let push = |revision: &str| {
        let (url, src_path) = (
            registry.url("manifests/app:v2"),
            src.path().to_str().unwrap(),
        );
        let push = push_artifact(
            home.path(),
            &[],
            &url,
            src_path,
            "s",
            revision,
            &["-o", "json"],
        );
        assert_eq!(push.code, 0, "{}", push.stderr);
        let pushed: serde_json::Value = serde_json::from_str(&push.stdout).unwrap();
        pushed["digest"].as_str().unwrap().to_string()
    };
    let digest = &push("r1");

    let cluster = crate::common::cluster::Cluster::start_on(backend, true);
    let source = cluster.flux(&[
        "create",
        "source",
        "oci",
        "app",
        "--url",
        &registry.url("manifests/app"),
        "--tag",
        "v2",
        "--timeout=60s",
    ]);
    assert_eq!(source.code, 0, "{}", source.stderr);
    assert!(
        source
            .stderr
            .contains(&format!("✔ fetched revision: v2@{digest}\n")),
        "{}",
        source.stderr
    );
    let ks = cluster.flux(&[
        "create",
        "kustomization",
        "app",
        "--source",
        "OCIRepository/app",
        "--path",
        "./deploy",
        "--timeout=60s",
    ]);
    assert_eq!(ks.code, 0, "{}", ks.stderr);
    assert!(
        ks.stderr
            .contains(&format!("✔ applied revision v2@{digest}\n")),
        "{}",
        ks.stderr
    );
    let data = || {
        cluster.with_client(async |client| {
            let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                kube::Api::namespaced(client, "default");
            api.get("from-oci")
                .await
                .expect("the artifact's ConfigMap is applied")
                .data
                .unwrap_or_default()
        })
    };
    assert_eq!(data()["key"], "pushed");

    // A change pushed to the same tag: a new digest, applied on request.
    std::fs::write(
        src.path().join("deploy/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-oci\n  namespace: default\ndata:\n  key: changed\n",
    )
    .unwrap();
    let changed = &push("r2");
    assert_ne!(changed, digest);
    let reconcile = cluster.flux(&[
        "reconcile",
        "kustomization",
        "app",
        "--with-source",
        "--timeout=60s",
    ]);
    assert_eq!(reconcile.code, 0, "{}", reconcile.stderr);
    assert!(
        reconcile
            .stderr
            .contains(&format!("✔ fetched revision v2@{changed}\n")),
        "{}",
        reconcile.stderr
    );
    assert!(
        reconcile
            .stderr
            .contains(&format!("✔ applied revision v2@{changed}\n")),
        "{}",
        reconcile.stderr
    );
    assert_eq!(data()["key"], "changed");

    // A tag the registry does not have fails the source with the pull error.
    let missing = cluster.flux(&[
        "create",
        "source",
        "oci",
        "gone",
        "--url",
        &registry.url("manifests/app"),
        "--tag",
        "v9",
        "--timeout=30s",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("failed to pull artifact from"),
        "{}",
        missing.stderr
    );
}

on_both_backends!(pushed_artifacts_are_reconciled_by_the_simulated_controllers);

/// Upstream's quirk: `--reproducible` renders the epoch in the local time
/// zone; a file given as the pull output is refused, naming the fix.
#[test]
fn reproducible_epoch_follows_the_local_time_zone_and_pull_needs_a_directory() {
    let Some(registry) = registry() else { return };
    if !Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
        return skip("no tzdata (apt-get install tzdata)");
    }
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let (url, src_path) = (registry.url("tz:v1"), src.path().to_str().unwrap());
    let env = [("TZ", "Europe/Berlin")];
    let flags = ["--reproducible", "-o", "other"];
    let run = push_artifact(home.path(), &env, &url, src_path, "s", "r", &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // An unknown -o drops the "pushing" line only.
    assert!(
        run.stderr.starts_with("✔ artifact successfully pushed to "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    let (_, m) = manifest(&registry, "tz", "v1");
    assert_eq!(
        m["annotations"]["org.opencontainers.image.created"],
        "1970-01-01T01:00:00+01:00"
    );

    let file = home.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let pull = run_in(
        home.path(),
        &[],
        &[
            "pull",
            "artifact",
            &registry.url("tz:v1"),
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(pull.code, 1);
    assert_eq!(
        pull.stderr,
        format!(
            "✗ invalid output path {:?}: not a directory (give an existing directory to extract into)\n",
            file.display().to_string()
        )
    );
}

/// Pushes an artifact whose layer is `layer`, through flux-rs' own client.
fn push_raw_layer(registry: &Registry, repo_tag: &str, layer: Vec<u8>) {
    use flux_rs::oci::{client, creds::Login, layout, reference::ArtifactRef};
    let artifact = ArtifactRef::parse(&registry.url(repo_tag)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let session = client::Registry::connect(
            &artifact,
            &Login::Anonymous,
            false,
            oci_client::RegistryOperation::Push,
        )
        .await
        .unwrap();
        let config = layout::CONFIG_BLOB;
        session
            .push_blob(&artifact, config, &layout::sha256_digest(config))
            .await
            .unwrap();
        session
            .push_blob(&artifact, &layer, &layout::sha256_digest(&layer))
            .await
            .unwrap();
        let manifest = layout::manifest(
            &layout::sha256_digest(&layer),
            layer.len() as u64,
            &Default::default(),
        );
        session
            .push_manifest(&artifact, manifest, layout::MANIFEST_MEDIA_TYPE)
            .await
            .unwrap();
    });
}

fn gzip_tar(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        if let Some(link) = link {
            header.set_link_name(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

#[test]
fn pull_refuses_hostile_archives_and_writes_nothing() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let regular = tar::EntryType::Regular;
    push_raw_layer(
        &registry,
        "evil:climb",
        gzip_tar(&[
            ("ok.yaml", regular, b"fine", None),
            ("../../escaped.yaml", regular, b"x", None),
        ]),
    );
    push_raw_layer(&registry, "evil:plain", b"not a tarball".to_vec());
    push_raw_layer(
        &registry,
        "evil:links",
        gzip_tar(&[
            ("passwd", tar::EntryType::Symlink, b"", Some("/etc/passwd")),
            ("hard", tar::EntryType::Link, b"", Some("/etc/passwd")),
            ("ok.yaml", regular, b"fine", None),
        ]),
    );
    let out = tempfile::tempdir().unwrap();
    let inner = out.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    let pull = |tag: &str| {
        run_in(
            home.path(),
            &[],
            &[
                "pull",
                "artifact",
                &registry.url(&format!("evil:{tag}")),
                "-o",
                inner.to_str().unwrap(),
            ],
        )
    };

    let climb = pull("climb");
    assert_eq!(climb.code, 1);
    assert_eq!(
        climb.stderr.lines().last(),
        Some("✗ tar contained invalid name error \"../../escaped.yaml\"")
    );
    assert_eq!(
        std::fs::read_dir(&inner).unwrap().count(),
        0,
        "nothing written"
    );
    assert!(
        !out.path().join("escaped.yaml").exists() && !home.path().join("escaped.yaml").exists()
    );

    let plain = pull("plain");
    assert_eq!(plain.code, 1);
    assert!(
        plain
            .stderr
            .lines()
            .last()
            .unwrap()
            .contains("is not a gzip tarball"),
        "{}",
        plain.stderr
    );

    let links = pull("links");
    assert_eq!(links.code, 0, "{}", links.stderr);
    let names: Vec<_> = std::fs::read_dir(&inner)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ok.yaml"], "links are skipped");
}

/// A plain-HTTP proxy in front of the registry that answers 503 to the
/// first `failures` requests whose request line contains `matching`.
struct FlakyProxy {
    host: String,
}

impl FlakyProxy {
    fn start(upstream: String, matching: &'static str, failures: usize) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let left = Arc::new(AtomicUsize::new(failures));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (upstream, left) = (upstream.clone(), left.clone());
                std::thread::spawn(move || {
                    let _ = Self::serve(conn, &upstream, matching, &left);
                });
            }
        });
        Self { host }
    }

    /// One request per connection, both sides told to close.
    fn serve(
        mut client: TcpStream,
        upstream: &str,
        matching: &str,
        left: &std::sync::atomic::AtomicUsize,
    ) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        let (head, body) = read_message(&mut client, true)?;
        let request_line = head.lines().next().unwrap_or_default().to_string();
        if request_line.contains(matching)
            && left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return client.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
            );
        }
        let mut server = TcpStream::connect(upstream)?;
        server.write_all(close_connection(&head).as_bytes())?;
        server.write_all(&body)?;
        let (head, body) = read_message(&mut server, false)?;
        client.write_all(close_connection(&head).as_bytes())?;
        client.write_all(&body)
    }
}

/// The head (without its blank line) and body of one HTTP message; a
/// request's body is read by Content-Length, a response's to the end.
fn read_message(stream: &mut TcpStream, request: bool) -> std::io::Result<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.push(byte[0]);
        if data.len() > 65536 || (data.len() == 1 && !byte[0].is_ascii_alphabetic()) {
            return Err(std::io::ErrorKind::InvalidData.into()); // e.g. a TLS hello
        }
    }
    let head = String::from_utf8_lossy(&data[..data.len() - 4]).into_owned();
    let mut body = Vec::new();
    if request {
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        body.resize(length, 0);
        stream.read_exact(&mut body)?;
    } else {
        stream.read_to_end(&mut body)?;
    }
    Ok((head, body))
}

fn close_connection(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

#[test]
fn push_retries_server_errors_and_debug_shows_them() {
    let Some(registry) = registry() else { return };
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    manifests(src.path());
    let src_path = src.path().to_str().unwrap();
    let push = |proxy: &FlakyProxy, extra: &[&str]| {
        let url = format!("oci://{}/retry:v1", proxy.host);
        push_artifact(home.path(), &[], &url, src_path, "s", "r", extra)
    };
    let proxy = FlakyProxy::start(registry.host.clone(), "PUT /v2/retry/manifests/", 2);
    let run = push(&proxy, &["--debug"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let retried = format!(
        "retrying Server error: url http://{}/v2/retry/manifests/v1, code: 503, message: busy",
        proxy.host
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| **l == retried).count(),
        2,
        "{}",
        run.stderr
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("✔ artifact successfully pushed to ")
    );
    // Retried silently without --debug.
    let proxy = FlakyProxy::start(registry.host.clone(), "PUT /v2/retry/manifests/", 1);
    let run = push(&proxy, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
    // A layer upload refused mid-way starts again from the file: the
    // artifact pulled back is whole.
    let layer_proxy = FlakyProxy::start(registry.host.clone(), "PATCH /v2/layer/blobs/uploads/", 1);
    let url = format!("oci://{}/layer:v1", layer_proxy.host);
    let run = push_artifact(home.path(), &[], &url, src_path, "s", "r", &["--debug"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let prefix = format!(
        "retrying Server error: url http://{}/v2/layer/blobs/uploads/",
        layer_proxy.host
    );
    let retries: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    assert_eq!(retries.len(), 1, "{}", run.stderr);
    assert!(
        retries[0].ends_with(", code: 503, message: busy"),
        "{}",
        retries[0]
    );
    let out = tempfile::tempdir().unwrap();
    let pull = run_in(
        home.path(),
        &[],
        &[
            "pull",
            "artifact",
            &registry.url("layer:v1"),
            "-o",
            out.path().to_str().unwrap(),
        ],
    );
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    let mut expected = read_tree(src.path());
    expected.retain(|(name, _, _)| name != "logo.png");
    assert_eq!(read_tree(out.path()), expected);

    // A created annotation that is not RFC 3339 fails after the login.
    let bad = push(
        &proxy,
        &["-a", "org.opencontainers.image.created=yesterday"],
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("✗ pushing artifact failed: invalid created timestamp \"yesterday\": "),
        "{}",
        bad.stderr
    );
}
