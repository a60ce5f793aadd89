use crate::common::run;

#[test]
fn root_version_flag_prints_the_upstream_line() {
    for flag in ["-v", "--version"] {
        let out = run(&[flag]);
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout, "flux version 2.9.4\n");
        assert_eq!(out.stderr, "");
    }
}

#[test]
fn client_version_lists_the_embedded_distribution() {
    let out = run(&["version", "--client"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected_prefix = format!(
        "flux: v2.9.4\nflux-rs: {}\ndistribution: flux-v2.9.4\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(out.stdout.starts_with(&expected_prefix), "{}", out.stdout);
    for line in [
        "helm-controller: v1.6.3",
        "image-automation-controller: v1.2.4",
        "image-reflector-controller: v1.2.4",
        "kustomize-controller: v1.9.4",
        "notification-controller: v1.9.3",
        "source-controller: v1.9.4",
        "source-watcher: v2.2.3",
    ] {
        assert!(out.stdout.lines().any(|l| l == line), "missing {line}");
    }
}

#[test]
fn client_version_as_json_parses() {
    let out = run(&["version", "--client", "-o", "json"]);
    assert_eq!(out.code, 0);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["flux"], "v2.9.4");
    assert_eq!(value["source-controller"], "v1.9.4");
}

#[test]
fn invalid_output_format_is_rejected() {
    let out = run(&["version", "--client", "-o", "table"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("invalid value 'table'"),
        "{}",
        out.stderr
    );
}

#[test]
fn cluster_version_without_kubeconfig_fails_clearly() {
    let out = run(&["version"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("✗ "), "{}", out.stderr);
    assert!(out.stderr.contains("kubeconfig"), "{}", out.stderr);
}

#[test]
fn the_binary_needs_only_the_c_library_at_run_time() {
    let Ok(output) = std::process::Command::new("ldd")
        .arg(assert_cmd::cargo::cargo_bin("flux"))
        .output()
    else {
        println!("skipped: ldd is not installed");
        return;
    };
    let libraries = String::from_utf8_lossy(&output.stdout);
    // OpenSSL (libgit2's HTTPS) and zlib are built into the binary.
    for library in ["libssl", "libcrypto", "libz", "libssh2", "libgit2"] {
        assert!(
            !libraries.contains(library),
            "flux links {library}:\n{libraries}"
        );
    }
}
