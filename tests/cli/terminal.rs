//! Progress on a terminal: the step in progress spins, and what remains on
//! screen reads like the plain lines CI gets. Builtin backend only: this is
//! about the terminal, not the server.

use std::process::Command;
use std::time::Duration;

use crate::common::cluster::Cluster;

/// Runs the built `flux` with stdin, stdout and stderr on a pseudo-terminal
/// (python's pty module) and returns the raw transcript and exit code.
fn on_terminal(cluster: &Cluster, env: &[(&str, &str)], args: &[&str]) -> (String, i32) {
    const RUN_ON_PTY: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(RUN_ON_PTY)
        .arg(assert_cmd::cargo::cargo_bin("flux"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .env("KUBECONFIG", cluster.kubeconfig());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("python3 runs");
    (
        String::from_utf8(output.stdout).expect("the transcript is UTF-8"),
        output.status.code().unwrap_or(-1),
    )
}

/// A server slow enough for a step to be seen spinning.
fn slow_cluster() -> Cluster {
    let cluster = Cluster::empty();
    cluster.set_faults(testenv::Faults {
        latency: Duration::from_millis(400),
        ..testenv::Faults::default()
    });
    cluster
}

#[test]
fn a_step_in_progress_spins_on_a_terminal_then_leaves_its_plain_line() {
    let cluster = slow_cluster();
    let plain = cluster.flux(&["check", "--pre"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let (transcript, code) = on_terminal(&cluster, &[], &["check", "--pre"]);
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("⠋ checking prerequisites"),
        "no spinner frame in {transcript:?}"
    );
    // The terminal turns "\n" into "\r\n"; every plain line is printed whole,
    // in order, once its step is over.
    let mut rest = transcript.as_str();
    for line in plain.stderr.lines() {
        let whole = format!("{line}\r\n");
        let at = rest
            .find(&whole)
            .unwrap_or_else(|| panic!("{line:?} missing in order from {transcript:?}"));
        rest = &rest[at + whole.len()..];
    }
}

#[test]
fn ci_and_dumb_terminals_get_plain_lines_even_on_a_terminal() {
    let cluster = slow_cluster();
    for env in [("CI", "true"), ("TERM", "dumb")] {
        let (transcript, code) = on_terminal(&cluster, &[env], &["check", "--pre"]);
        assert_eq!(code, 0, "{transcript}");
        assert!(
            !transcript.contains('\u{1b}'),
            "escape codes in {transcript:?}"
        );
        assert!(!transcript.contains('⠋'), "spinner in {transcript:?}");
        assert!(
            transcript.starts_with("► checking prerequisites\r\n"),
            "{transcript:?}"
        );
    }
}

/// The change set belongs under "► installing components": on a terminal
/// the spinner's line must be settled before the list is written.
#[test]
fn install_prints_its_change_set_under_the_step_on_a_terminal() {
    let cluster = Cluster::empty();
    let (transcript, code) = on_terminal(
        &cluster,
        &[],
        &["install", "--components=source-controller"],
    );
    assert_eq!(code, 0, "{transcript}");
    let step = transcript
        .find("► installing components in flux-system namespace\r\n")
        .unwrap_or_else(|| panic!("no step line in {transcript:?}"));
    let first_change = transcript
        .find("CustomResourceDefinition/")
        .unwrap_or_else(|| panic!("no change set in {transcript:?}"));
    assert!(step < first_change, "{transcript:?}");
}

/// `flux diff` on a terminal: upstream's spinner on stdout while the
/// dry-runs run, then the event lines in colour; `--progress-bar=false`
/// leaves the spinner out, `COLORTERM=truecolor` gives 24-bit colours.
#[test]
fn diff_spins_and_colours_its_lines_on_a_terminal() {
    use crate::common::cluster::fixture;
    let cluster = Cluster::start(false);
    cluster.load(&fixture(
        "build-kustomization/podinfo-source.yaml",
        "flux-system",
    ));
    cluster.load(&fixture(
        "build-kustomization/podinfo-kustomization.yaml",
        "flux-system",
    ));
    cluster.set_faults(testenv::Faults {
        latency: Duration::from_millis(150),
        ..testenv::Faults::default()
    });
    let path = crate::common::shared_dir()
        .join("conformance/flux2-testdata/build-kustomization/delete-service")
        .display()
        .to_string();
    let args = [
        "diff",
        "ks",
        "podinfo",
        "--path",
        &path,
        "-n",
        "flux-system",
    ];
    let (transcript, code) = on_terminal(&cluster, &[], &args);
    assert_eq!(code, 1, "{transcript}");
    assert!(transcript.contains("\x1b[?25l"), "{transcript:?}");
    assert!(
        transcript.contains("\x1b[37m⠋\x1b[0m Kustomization diffing... running dry-run"),
        "{transcript:?}"
    );
    assert!(transcript.contains("\x1b[?25h"), "{transcript:?}");
    assert!(
        transcript.contains("\x1b[32m► Deployment/default/podinfo created\x1b[0m\r\n"),
        "{transcript:?}"
    );
    let mut quiet = args.to_vec();
    quiet.push("--progress-bar=false");
    let (transcript, code) = on_terminal(&cluster, &[("COLORTERM", "truecolor")], &quiet);
    assert_eq!(code, 1, "{transcript}");
    assert!(!transcript.contains("\x1b[?25l"), "{transcript:?}");
    assert!(
        transcript.starts_with("\x1b[38;2;0;128;0m► Deployment/default/podinfo created\x1b[0m\r\n"),
        "{transcript:?}"
    );
}
