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

/// Upstream prints the one line; scripts read it with awk.
#[test]
fn client_version_is_the_flux_line_alone() {
    let out = run(&["version", "--client"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "flux: v2.9.4\n");
    let out = run(&["version", "--client", "-o", "json"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "{\n  \"flux\": \"v2.9.4\"\n}\n");
}

#[test]
fn invalid_output_format_is_rejected_in_upstreams_words() {
    let out = run(&["version", "--client", "-o", "table"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "✗ --output must be json or yaml, not table\n");
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
        crate::common::skip("ldd is not installed");
        return;
    };
    let libraries = String::from_utf8_lossy(&output.stdout);
    // zlib and libgit2 are built in. The shipped binary has no OpenSSL at
    // all (Git's HTTPS is rustls); in this workspace build testenv's git2
    // features add a vendored, static one.
    for library in ["libssl", "libcrypto", "libz", "libssh2", "libgit2"] {
        assert!(
            !libraries.contains(library),
            "flux links {library}:\n{libraries}"
        );
    }
}
