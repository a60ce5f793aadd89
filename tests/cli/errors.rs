use crate::common::{flux, run};

#[test]
fn unknown_command_exits_1_with_a_cross() {
    let out = run(&["instal"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("✗ unknown command \"instal\" for \"flux\"\n\nDid you mean this?\n"),
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

/// Upstream's parser errors are one line; clap's usage block and tips are
/// not printed.
#[test]
fn parser_errors_are_one_line_in_upstreams_words() {
    for (args, expected) in [
        (
            &["get", "ks", "--dry-run"][..],
            "✗ unknown flag: --dry-run\n",
        ),
        (
            &["get", "ks", "-x"],
            "✗ unknown shorthand flag: 'x' in -x\n",
        ),
        (
            &["create", "source", "git", "x", "--provider"],
            "✗ flag needs an argument: --provider\n",
        ),
        (
            &["logs", "--since", "XXX"],
            "✗ invalid argument \"XXX\" for \"--since\" flag: time: invalid duration \"XXX\"\n",
        ),
    ] {
        let out = run(args);
        assert_eq!(out.code, 1, "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(out.stderr, expected, "{args:?}");
    }
}

/// A group named without (or with an unknown) subcommand prints its help
/// and exits 0, as cobra does; a kind that lives under a group word gets a
/// hint on stderr.
#[test]
fn a_group_without_a_known_subcommand_prints_its_help() {
    for (args, usage) in [
        (&["get", "foo"][..], "Usage:\n  flux get [command]"),
        (&["completion"], "Usage:\n  flux completion [shell] [flags]"),
        (
            &["reconcile", "gitrepository", "x"],
            "Usage:\n  flux reconcile [command]",
        ),
    ] {
        let out = run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.contains(usage), "{args:?}: {}", out.stdout);
    }
    let out = run(&["reconcile", "gitrepository", "x"]);
    assert!(
        out.stderr
            .contains("GitRepository is addressed as \"flux reconcile source git\""),
        "{}",
        out.stderr
    );
}

/// Flags of a command given before the command's own words, as upstream's
/// parser allows; each reaches the command (the missing cluster is what
/// stops it, not the parser).
#[test]
fn flags_before_the_subcommand_words_reach_the_command() {
    for args in [
        &["delete", "-s", "ks", "foo"][..],
        &["suspend", "--all", "ks"],
        &["resume", "--wait", "ks", "x"],
        &["export", "source", "--with-credentials", "git", "x"],
    ] {
        let out = flux()
            .args(args)
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("unknown") && !stderr.contains("unexpected"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("kubeconfig"), "{args:?}: {stderr}");
    }
}
