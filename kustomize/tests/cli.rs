//! The `kustomize-rs` binary: output on stdout, errors on stderr, exit codes.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kustomize-rs"))
}

#[test]
fn build_prints_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- a.yaml\nnamespace: ns\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: \"yes\"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n",
    )
    .unwrap();
    let out = bin().arg("build").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\napiVersion: v1\ndata:\n  k: \"yes\"\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ns\n"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn errors_go_to_stderr_with_a_failing_exit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- missing.yaml\n",
    )
    .unwrap();
    let out = bin().arg("build").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("missing.yaml") && err.contains("kustomization.yaml"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = bin().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: kustomize-rs build"));
}
