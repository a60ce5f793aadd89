//! Bad `create` input: one `✗ <message>` line on stderr, exit 1, nothing
//! on stdout, and no work done.

use crate::common::run;

fn fails_with(args: &[&str], message: &str) {
    let out = run(args);
    assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
    assert_eq!(out.stdout, "", "{args:?}");
    assert_eq!(out.stderr, format!("✗ {message}\n"), "{args:?}");
}

const INVALID_NAME: &str = "it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'";

#[test]
fn name_is_required_and_checked_before_anything_else() {
    fails_with(&["create", "source", "git", "--export"], "name is required");
    fails_with(
        &["create", "source", "git", "Pod_Info", "--export"],
        &format!("name 'Pod_Info' is invalid, {INVALID_NAME}"),
    );
    // One character is too short, even with otherwise bad flags.
    fails_with(
        &["create", "kustomization", "a", "--export", "--label", "bad"],
        &format!("name 'a' is invalid, {INVALID_NAME}"),
    );
    fails_with(&["create", "secret", "oci", "--export"], "name is required");
}

/// Without `--export` the command applies to the cluster, so valid input
/// gets as far as connecting (and here finds no kubeconfig).
#[test]
fn without_export_the_cluster_is_needed() {
    let out = run(&[
        "create",
        "source",
        "git",
        "podinfo",
        "--url=https://x/y",
        "--branch=main",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(
            "✚ generating GitRepository source\n✗ invalid configuration: no kubeconfig found"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn invalid_interval_is_a_flag_error() {
    let out = run(&[
        "create",
        "source",
        "git",
        "podinfo",
        "--interval",
        "5",
        "--export",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("✗ "), "{}", out.stderr);
    assert!(
        out.stderr.contains("time: missing unit in duration \"5\""),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_source_kinds_are_rejected() {
    fails_with(
        &[
            "create",
            "ks",
            "apps",
            "--source=HelmRepository/podinfo",
            "--export",
        ],
        "invalid argument \"HelmRepository/podinfo\" for \"--source\" flag: source kind 'HelmRepository' is not supported, must be one of: OCIRepository, GitRepository, Bucket",
    );
    fails_with(
        &[
            "create",
            "hr",
            "apps",
            "--source=OCIRepository/podinfo",
            "--chart=podinfo",
            "--export",
        ],
        "invalid argument \"OCIRepository/podinfo\" for \"--source\" flag: source kind 'OCIRepository' is not supported, must be one of: HelmRepository, GitRepository, Bucket",
    );
    fails_with(
        &[
            "create",
            "hr",
            "apps",
            "--chart-ref=GitRepository/podinfo",
            "--export",
        ],
        "chart reference kind 'GitRepository' is not supported, must be one of: OCIRepository, HelmChart",
    );
    let out = run(&[
        "create",
        "source",
        "git",
        "podinfo",
        "--provider",
        "gitea",
        "--export",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "source Git provider 'gitea' is not supported, must be one of: generic|github|aws|azure"
        ),
        "{}",
        out.stderr
    );
    for (kind, what) in [("oci", "OCI"), ("bucket", "bucket")] {
        let out = run(&["create", "source", kind, "x", "--provider=ibm", "--export"]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains(&format!(
                "source {what} provider 'ibm' is not supported, must be one of: generic, aws, azure, gcp"
            )),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn conflicting_and_missing_flags() {
    fails_with(
        &[
            "create",
            "hr",
            "podinfo",
            "--chart=podinfo",
            "--chart-ref=HelmChart/podinfo",
            "--export",
        ],
        "cannot use --chart in combination with --chart-ref",
    );
    fails_with(
        &["create", "hr", "podinfo", "--export"],
        "chart or chart-ref is required",
    );
    fails_with(
        &[
            "create",
            "source",
            "git",
            "podinfo",
            "--url=ssh://git@github.com/x/y",
            "--branch=main",
            "--ca-file=ca.crt",
            "--export",
        ],
        "specifying a CA file is not supported for Git over SSH",
    );
    fails_with(
        &["create", "secret", "helm", "auth", "-p", "pass", "--export"],
        "username is required",
    );
    fails_with(
        &["create", "secret", "helm", "auth", "-u", "user", "--export"],
        "password is required",
    );
    fails_with(
        &[
            "create",
            "source",
            "git",
            "podinfo",
            "--url=https://github.com/x/y",
            "--export",
        ],
        "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver",
    );
    fails_with(
        &[
            "create",
            "source",
            "git",
            "podinfo",
            "--url=ftp://github.com/x/y",
            "--branch=main",
            "--export",
        ],
        "git URL scheme 'ftp' not supported, can be: ssh, http and https",
    );
    fails_with(
        &[
            "create",
            "secret",
            "git",
            "podinfo",
            "--url=https://github.com/x/y",
            "-u",
            "u",
            "-p",
            "p",
            "--bearer-token",
            "t",
            "--export",
        ],
        "user credentials and bearer token cannot be used together",
    );
    fails_with(
        &[
            "create",
            "image",
            "policy",
            "p1",
            "--image-ref=podinfo",
            "--select-alpha=asc",
            "--select-numeric=asc",
            "--export",
        ],
        "only one of --select-semver, --select-alpha or --select-numeric can be specified",
    );
    fails_with(
        &[
            "create",
            "image",
            "policy",
            "p1",
            "--image-ref=podinfo",
            "--select-semver=1.x",
            "--interval=1m",
            "--export",
        ],
        "the --interval flag can only be used with the 'Always' digest reflection policy, use --reflect-digest=Always",
    );
    fails_with(
        &[
            "create",
            "source",
            "oci",
            "podinfo",
            "--url=oci://x/y",
            "--tag=1",
            "--verify-secret-ref=k",
            "--export",
        ],
        "a verification provider must be specified when a secret is specified",
    );
    fails_with(
        &[
            "create",
            "image",
            "update",
            "u1",
            "--git-repo-ref=r",
            "--checkout-branch=main",
            "--author-name=a",
            "--author-email=e",
            "--signing-key-type=ssh",
            "--export",
        ],
        "--signing-key-type requires --signing-key-secret",
    );
    fails_with(
        &[
            "create",
            "secret",
            "githubapp",
            "app",
            "--app-id=1",
            "--app-installation-owner=o",
            "--app-installation-id=2",
            "--export",
        ],
        "githubAppPrivateKey is required",
    );
}

#[test]
fn labels_and_health_checks_are_validated() {
    fails_with(
        &[
            "create",
            "source",
            "helm",
            "podinfo",
            "--url=https://x.y",
            "--label=team",
            "--export",
        ],
        "invalid label format 'team', must be key=value",
    );
    fails_with(
        &[
            "create",
            "ks",
            "apps",
            "--source=apps",
            "--health-check=Deployment/web",
            "--export",
        ],
        "invalid health check 'Deployment/web' must be in the format 'kind/name.namespace'",
    );
}

#[test]
fn unreadable_key_files_are_reported() {
    fails_with(
        &[
            "create",
            "secret",
            "git",
            "podinfo",
            "--url=ssh://git@127.0.0.1/x",
            "--private-key-file=/nonexistent/id",
            "--export",
        ],
        "failed to open private key file: open /nonexistent/id: no such file or directory",
    );
    fails_with(
        &[
            "create",
            "secret",
            "githubapp",
            "app",
            "--app-id=1",
            "--app-private-key=/nonexistent/key.pem",
            "--export",
        ],
        "unable to read private key file: open /nonexistent/key.pem: no such file or directory",
    );
    fails_with(
        &[
            "create",
            "secret",
            "tls",
            "certs",
            "--tls-crt-file=/nonexistent/c.pem",
            "--tls-key-file=/nonexistent/k.pem",
            "--export",
        ],
        "failed to read cert file: open /nonexistent/c.pem: no such file or directory",
    );
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("garbage");
    std::fs::write(&key, "not a key").unwrap();
    fails_with(
        &[
            "create",
            "secret",
            "git",
            "podinfo",
            "--url=ssh://git@127.0.0.1/x",
            &format!("--private-key-file={}", key.display()),
            "--export",
        ],
        "ssh: no key found",
    );
}

#[test]
fn malformed_values_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "a: [1, 2\n").unwrap();
    let out = run(&[
        "create",
        "hr",
        "podinfo",
        "--source=HelmRepository/podinfo",
        "--chart=podinfo",
        &format!("--values={}", bad.display()),
        "--export",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    let prefix = format!(
        "✗ converting values to JSON from {} failed: ",
        bad.display()
    );
    assert!(out.stderr.starts_with(&prefix), "{}", out.stderr);
    let list = dir.path().join("list.yaml");
    std::fs::write(&list, "- a\n- b\n").unwrap();
    fails_with(
        &[
            "create",
            "hr",
            "podinfo",
            "--source=HelmRepository/podinfo",
            "--chart=podinfo",
            &format!("--values={}", list.display()),
            "--export",
        ],
        &format!(
            "unmarshaling values from {} failed: json: cannot unmarshal array into Go value of type map[string]interface {{}}",
            list.display()
        ),
    );
    fails_with(
        &[
            "create",
            "hr",
            "podinfo",
            "--source=HelmRepository/podinfo",
            "--chart=podinfo",
            "--values=/nonexistent/v.yaml",
            "--export",
        ],
        "reading values from /nonexistent/v.yaml failed: open /nonexistent/v.yaml: no such file or directory",
    );
}

/// Upstream's file flags are strings, so `--flag=` is the same as leaving
/// the flag out.
#[test]
fn empty_path_flags_count_as_absent() {
    fails_with(
        &[
            "create",
            "secret",
            "tls",
            "certs",
            "--tls-crt-file=",
            "--tls-key-file=",
            "--ca-crt-file=",
            "--export",
        ],
        "no CA certificate or client certificate pair found",
    );
    fails_with(
        &[
            "create",
            "secret",
            "githubapp",
            "app",
            "--app-id=1",
            "--app-installation-owner=org",
            "--app-private-key=",
            "--export",
        ],
        "githubAppPrivateKey is required",
    );
    fails_with(
        &[
            "create",
            "secret",
            "notation",
            "cfg",
            "--ca-cert-file=./ca.crt",
            "--trust-policy-file=",
            "--export",
        ],
        "--trust-policy-file is required",
    );
    for args in [
        "create source git podinfo --url=ssh://git@github.com/x --branch=main --ca-file= --private-key-file= --export",
        "create source helm podinfo --url=https://example.com --ca-file= --cert-file= --key-file= --export",
        "create secret git auth --url=https://github.com/x --username=u --password=p --ca-crt-file= --export",
        "create secret helm auth --username=u --password=p --ca-crt-file= --tls-crt-file= --tls-key-file= --export",
    ] {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let out = run(&argv);
        assert_eq!(out.code, 0, "{args}: {}", out.stderr);
        assert!(!out.stdout.contains("ca.crt"), "{args}: {}", out.stdout);
    }
}

/// OIDC flags need --verify-provider; upstream's chart command checks only
/// the issuer, so a lone --verify-subject passes there (and is dropped).
#[test]
fn oidc_verification_flags_need_a_provider() {
    const OIDC: &str =
        "a verification provider must be specified when OIDC issuer/subject is specified";
    let oci = [
        "create",
        "source",
        "oci",
        "podinfo",
        "--url=oci://x/y",
        "--tag=1",
    ];
    let chart = [
        "create",
        "source",
        "chart",
        "podinfo",
        "--source=HelmRepository/x",
        "--chart=x",
    ];
    fails_with(
        &[&oci[..], &["--verify-subject=s", "--export"]].concat(),
        OIDC,
    );
    // The chart command announces the generation before this check.
    let out = run(&[&chart[..], &["--verify-issuer=i", "--export"]].concat());
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.ends_with(&format!("✗ {OIDC}\n")),
        "{}",
        out.stderr
    );
    let out = run(&[&chart[..], &["--verify-subject=s", "--export"]].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("verify"), "{}", out.stdout);
}
