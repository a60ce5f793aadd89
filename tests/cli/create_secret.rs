//! `flux create secret … --export`: expected documents follow upstream's
//! secret goldens as described in the spec (7.14, 18.3); generated SSH keys
//! are checked with OpenSSH, host keys are scanned from an SSH server run
//! inside the test.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::common::run;
use crate::create_source::export;

fn secret(doc: &str) -> k8s_openapi::api::core::v1::Secret {
    flux_rs::render::yaml::from_str(doc.trim_start_matches("---\n")).expect("a Secret")
}

#[test]
fn git_basic_auth_bearer_token_and_ca() {
    let out = export(
        "create secret git podinfo-auth --url=https://github.com/stefanprodan/podinfo --username=my-username --password=my-password --namespace=my-namespace --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: podinfo-auth\n  namespace: my-namespace\nstringData:\n  password: my-password\n  username: my-username\n\n"
    );
    secret(&out);
    let out = export(
        "create secret git bearer-token-auth --url=https://github.com/stefanprodan/podinfo --bearer-token=ghp_baR2qnFF0O41WlucePL3udt2N9vVZS4R0hAS --namespace=my-namespace --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: bearer-token-auth\n  namespace: my-namespace\nstringData:\n  bearerToken: ghp_baR2qnFF0O41WlucePL3udt2N9vVZS4R0hAS\n\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, "ca-data").unwrap();
    let out = export(&format!(
        "create secret git ca-crt --url=https://github.com/stefanprodan/podinfo --password=my-password --username=my-username --ca-crt-file={} --namespace=my-namespace --export",
        ca.display()
    ));
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ca-crt\n  namespace: my-namespace\nstringData:\n  ca.crt: ca-data\n  password: my-password\n  username: my-username\n\n"
    );
}

#[test]
fn helm_basic_auth_golden_by_spec() {
    let out = export(
        "create secret helm helm-secret --username=my-username --password=my-password --namespace=my-namespace --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: helm-secret\n  namespace: my-namespace\nstringData:\n  password: my-password\n  username: my-username\ntype: kubernetes.io/basic-auth\n\n"
    );
    secret(&out);
    // Without any credential the secret has no data at all (Go omits the
    // empty map).
    let out = export("create secret helm helm-secret --namespace=my-namespace --export");
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: helm-secret\n  namespace: my-namespace\n\n"
    );
}

/// A self-signed certificate and its key, made with openssl.
fn cert_pair(dir: &Path) -> Option<(String, String)> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    status
        .status
        .success()
        .then(|| (cert.display().to_string(), key.display().to_string()))
}

#[test]
fn tls_secret_checks_the_pair_and_has_no_trailing_blank_line() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = cert_pair(dir.path()) else {
        crate::common::skip("openssl is not available to make a certificate");
        return;
    };
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "ca-data").unwrap();
    let out = export(&format!(
        "create secret tls certs --namespace=my-namespace --tls-crt-file={cert} --tls-key-file={key} --ca-crt-file={} --export",
        ca.display()
    ));
    assert!(out.starts_with("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: certs\n  namespace: my-namespace\nstringData:\n  ca.crt: ca-data\n  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n"), "{out}");
    assert!(out.ends_with("type: kubernetes.io/tls\n"), "{out}");
    secret(&out);
    // A key that is not the certificate's is refused.
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = cert_pair(other.path()).unwrap();
    let bad = run(&[
        "create",
        "secret",
        "tls",
        "certs",
        &format!("--tls-crt-file={cert}"),
        &format!("--tls-key-file={other_key}"),
        "--export",
    ]);
    assert_eq!(bad.code, 1);
    assert_eq!(bad.stdout, "");
    assert_eq!(
        bad.stderr,
        "✗ invalid TLS certificate and key pair: tls: private key does not match public key\n"
    );
}

#[test]
fn oci_proxy_githubapp_secrets() {
    let out = export(
        "create secret oci ghcr --namespace=my-namespace --url ghcr.io --username stefanprodan --password=password --label ignored=yes --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ghcr\n  namespace: my-namespace\nstringData:\n  .dockerconfigjson: |-\n    {\n      \"auths\": {\n        \"ghcr.io\": {\n          \"username\": \"stefanprodan\",\n          \"password\": \"password\",\n          \"auth\": \"c3RlZmFucHJvZGFuOnBhc3N3b3Jk\"\n        }\n      }\n    }\ntype: kubernetes.io/dockerconfigjson\n\n"
    );
    let out = export(
        "create secret proxy proxy-secret --address=https://my-proxy.com --username=my-username --password=my-password --namespace=my-namespace --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: proxy-secret\n  namespace: my-namespace\nstringData:\n  address: https://my-proxy.com\n  password: my-password\n  username: my-username\ntype: Opaque\n\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("app.pem");
    std::fs::write(
        &key,
        "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
    )
    .unwrap();
    let out = export(&format!(
        "create secret githubapp appinfo --namespace my-namespace --app-id 1 --app-installation-id 2 --app-private-key {} --app-base-url www.example.com/api/v3 --export",
        key.display()
    ));
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: appinfo\n  namespace: my-namespace\nstringData:\n  githubAppBaseURL: www.example.com/api/v3\n  githubAppID: \"1\"\n  githubAppInstallationID: \"2\"\n  githubAppPrivateKey: |-\n    -----BEGIN RSA PRIVATE KEY-----\n    abc\n    -----END RSA PRIVATE KEY-----\ntype: Opaque\n\n"
    );
    secret(&out);
}

#[test]
fn notation_secret_holds_policy_and_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:certs"],"trustedIdentities":["*"]}]}"#).unwrap();
    let crt = dir.path().join("ca.crt");
    let pem = dir.path().join("ca.pem");
    std::fs::write(&crt, "ca-data-crt").unwrap();
    std::fs::write(&pem, "ca-data-pem").unwrap();
    let out = export(&format!(
        "create secret notation notation-config --ca-cert-file={} --ca-cert-file={} --trust-policy-file={} --namespace=my-namespace --export",
        crt.display(),
        pem.display(),
        policy.display()
    ));
    assert!(out.contains("stringData:\n  ca.crt: ca-data-crt\n  ca.pem: ca-data-pem\n  trustpolicy.json: '{\"version\""), "{out}");
    assert!(!out.contains("type:"), "{out}");
    secret(&out);
    let bad = dir.path().join("ca.txt");
    std::fs::write(&bad, "x").unwrap();
    let out = run(&[
        "create",
        "secret",
        "notation",
        "n1",
        &format!("--ca-cert-file={}", bad.display()),
        "--ca-cert-file=/nonexistent/x.crt",
        &format!("--trust-policy-file={}", policy.display()),
        "--export",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ ca.txt must end with either .crt or .pem\nunable to read TLS CA file: open /nonexistent/x.crt: no such file or directory\n"
    );
}

#[test]
fn receiver_secrets_carry_the_webhook_annotation() {
    let out = export(
        "create secret receiver receiver-secret --type=github --token=test-token --hostname=flux.example.com --namespace=my-namespace --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  annotations:\n    notification.toolkit.fluxcd.io/webhook: https://flux.example.com/hook/106120121d366c2f67e93200f6c1dbe938235eb588daa5e8c0516d3a77ac1dee\n  name: receiver-secret\n  namespace: my-namespace\nstringData:\n  token: test-token\n\n"
    );
    let out = export(
        "create secret receiver gcr-secret --type=gcr --token=test-token --hostname=flux.example.com --email-claim=sa@project.iam.gserviceaccount.com --namespace=my-namespace --export",
    );
    let s = secret(&out);
    let data = s.string_data.unwrap();
    assert_eq!(data["email"], "sa@project.iam.gserviceaccount.com");
    assert_eq!(
        data["audience"],
        "https://flux.example.com/hook/6d6c55e9affb9d1e0d101ce604ae4270880ec1ff24d1bd2d928fcd64243d21a4"
    );
    assert_eq!(
        data["audience"],
        s.metadata.annotations.unwrap()["notification.toolkit.fluxcd.io/webhook"]
    );
    let out = export(
        "create secret receiver gcr-secret --type=gcr --hostname=flux.example.com --email-claim=a@b --audience-claim=https://custom.audience.example.com --export",
    );
    let data = secret(&out).string_data.unwrap();
    assert_eq!(data["audience"], "https://custom.audience.example.com");
    assert_eq!(data["token"].len(), 64, "generated token");
}

// --- SSH: keys checked with OpenSSH, host keys from an in-process server ---

struct NoAuth;
impl russh::server::Handler for NoAuth {
    type Error = russh::Error;
}

/// Starts an SSH server on 127.0.0.1 with an Ed25519 host key; returns the
/// runtime (keep it alive), the port and the host's public key line.
fn ssh_server() -> (tokio::runtime::Runtime, u16, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let host =
        ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519).unwrap();
    let mut public = host.public_key().clone();
    public.set_comment("");
    let public = public.to_openssh().unwrap();
    let pem = host.to_openssh(ssh_key::LineEnding::LF).unwrap();
    let key = russh::keys::PrivateKey::from_openssh(pem.as_bytes()).unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Arc::new(russh::server::Config {
        keys: vec![key],
        ..Default::default()
    });
    runtime.spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let config = config.clone();
            tokio::spawn(async move {
                if let Ok(session) = russh::server::run_stream(config, socket, NoAuth).await {
                    let _ = session.await;
                }
            });
        }
    });
    (runtime, port, public)
}

fn ssh_keygen_available() -> bool {
    Command::new("ssh-keygen").arg("-?").output().is_ok()
}

/// `ssh-keygen -y` of a private key written 0600; `None` when OpenSSH
/// cannot read that key format.
fn ssh_keygen_public(dir: &Path, private_key: &str) -> Result<String, String> {
    let path = dir.join("identity");
    std::fs::write(&path, private_key).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn git_ssh_secret_generates_keys_openssh_can_load() {
    let (_runtime, port, host_key) = ssh_server();
    let url = format!("--url=ssh://git@127.0.0.1:{port}/org/repo");
    let dir = tempfile::tempdir().unwrap();
    for flags in [
        "--ssh-key-algorithm=ecdsa --ssh-ecdsa-curve=p256",
        "--ssh-key-algorithm=ecdsa",
        "--ssh-key-algorithm=ecdsa --ssh-ecdsa-curve=p521",
        "--ssh-key-algorithm=rsa --ssh-rsa-bits=2048",
        "--ssh-key-algorithm=ed25519",
    ] {
        let mut argv = vec![
            "create",
            "secret",
            "git",
            "deploy-key",
            url.as_str(),
            "--export",
            "-n",
            "apps",
        ];
        argv.extend(flags.split_whitespace());
        let out = run(&argv);
        assert_eq!(out.code, 0, "{flags}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{flags}");
        let data = secret(&out.stdout).string_data.unwrap();
        assert_eq!(
            data["known_hosts"],
            format!("[127.0.0.1]:{port} {host_key}"),
            "{flags}"
        );
        let identity = &data["identity"];
        assert!(
            identity.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{flags}"
        );
        let public = &data["identity.pub"];
        assert!(public.ends_with('\n'), "{flags}");
        if !ssh_keygen_available() {
            crate::common::skip("the OpenSSH check: ssh-keygen is not installed");
            continue;
        }
        match ssh_keygen_public(dir.path(), identity) {
            Ok(derived) => assert_eq!(&derived, public, "{flags}"),
            Err(reason) if flags.contains("ed25519") => {
                // OpenSSH before 9.6 cannot read Ed25519 keys in PKCS#8;
                // check the same key material in OpenSSH's own format.
                println!(
                    "ssh-keygen cannot read a PKCS#8 Ed25519 key ({}); checking it in OpenSSH format",
                    reason.trim()
                );
                let key = ed25519_to_openssh(identity);
                assert_eq!(&ssh_keygen_public(dir.path(), &key).unwrap(), public);
            }
            Err(reason) => panic!("{flags}: ssh-keygen rejected the key: {reason}"),
        }
    }
}

fn ed25519_to_openssh(pkcs8_pem: &str) -> String {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(pkcs8_pem).unwrap();
    let keypair = ssh_key::private::Ed25519Keypair::from_seed(&signing.to_bytes());
    let key = ssh_key::PrivateKey::from(keypair);
    key.to_openssh(ssh_key::LineEnding::LF).unwrap().to_string()
}

#[test]
fn git_ssh_secret_uses_the_given_private_key_file() {
    let (_runtime, port, _) = ssh_server();
    let dir = tempfile::tempdir().unwrap();
    let key =
        ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519).unwrap();
    let encrypted = key.encrypt(&mut rand::rngs::OsRng, "password").unwrap();
    let path = dir.path().join("id");
    std::fs::write(
        &path,
        encrypted
            .to_openssh(ssh_key::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = export(&format!(
        "create secret git podinfo-auth --url=ssh://git@127.0.0.1:{port}/org/repo --private-key-file={} --password=password --namespace=my-namespace --export",
        path.display()
    ));
    let data = secret(&out).string_data.unwrap();
    assert_eq!(data["identity"], std::fs::read_to_string(&path).unwrap());
    let mut public = key.public_key().clone();
    public.set_comment("");
    assert_eq!(
        data["identity.pub"],
        format!("{}\n", public.to_openssh().unwrap())
    );
    assert_eq!(data["password"], "password");
    assert!(
        out.contains("  identity: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n"),
        "{out}"
    );
}
