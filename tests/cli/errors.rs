use crate::common::{flux, run};

#[test]
fn unknown_command_exits_1_with_a_cross() {
    let out = run(&["instal"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("✗ unrecognized subcommand 'instal'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("install"),
        "suggestion missing: {}",
        out.stderr
    );
}

#[test]
fn help_goes_to_stdout_with_status_0() {
    for args in [&["--help"][..], &["install", "--help"], &[]] {
        let out = run(args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(out.stdout.contains("Usage:"), "{args:?}: {}", out.stdout);
        assert_eq!(out.stderr, "");
    }
}

#[test]
fn invalid_namespace_is_rejected_before_anything_runs() {
    let out = run(&["install", "--export", "-n", "Flux_System"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "✗ namespace must be a valid DNS label: \"Flux_System\"\n"
    );
}

#[test]
fn invalid_environment_namespace_is_ignored_with_a_warning() {
    let output = flux()
        .args(["install", "--export"])
        .env("FLUX_SYSTEM_NAMESPACE", "No Good")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "⚠️  ignoring invalid FLUX_SYSTEM_NAMESPACE: \"No Good\"\n"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("\n  name: flux-system\n"));
}

#[test]
fn closed_stdout_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(["install", "--export", "--components-extra=source-watcher"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little, then hang up, as `| head -1` does.
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
