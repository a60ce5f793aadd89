//! Inputs that must not run away: RSA sizes refused at parse time, key
//! generation and blocked reads that Ctrl-C still stops, input files read
//! up to a size limit.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::flux;

/// Runs `flux args`, sends SIGINT after `after`, and returns the exit code,
/// stderr and how long the process lived after the signal.
fn interrupted_after(args: &[&str], after: Duration) -> (Option<i32>, String, Duration) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    assert!(
        child.try_wait().unwrap().is_none(),
        "flux {args:?} ended before the signal"
    );
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Bounded: a process that ignores the signal is killed after 30 s.
    let deadline = signalled + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = signalled.elapsed();
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        took,
    )
}

#[test]
fn rsa_sizes_above_16384_bits_are_refused_before_any_work() {
    for bits in ["16392", "65536", "4294967296"] {
        for command in [
            &[
                "create",
                "secret",
                "git",
                "deploy-key",
                "--url=ssh://git@127.0.0.1:1/repo",
                "--ssh-key-algorithm=rsa",
                "--export",
            ][..],
            &["bootstrap", "git", "--url=ssh://git@127.0.0.1:1/repo"][..],
        ] {
            let flag = format!("--ssh-rsa-bits={bits}");
            let started = Instant::now();
            let out = flux()
                .args(command)
                .arg(&flag)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command:?} {flag}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "RSA key bit size must be at most 16384, got {bits}: use a multiple of 8 from 1024 to 16384"
                )),
                "{command:?} {flag}: {stderr}"
            );
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    }
}

#[test]
fn ctrl_c_stops_rsa_key_generation() {
    // A 16384-bit key takes far longer than a second to generate.
    let (code, stderr, took) = interrupted_after(
        &[
            "create",
            "secret",
            "git",
            "deploy-key",
            "--url=ssh://git@127.0.0.1:1/repo",
            "--ssh-key-algorithm=rsa",
            "--ssh-rsa-bits=16384",
            "--export",
        ],
        Duration::from_secs(1),
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(stderr, "✗ interrupted\n");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn ctrl_c_stops_a_command_blocked_opening_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("values.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let values = format!("--values={}", fifo.display());
    let (code, stderr, took) = interrupted_after(
        &[
            "create",
            "helmrelease",
            "podinfo",
            "--chart=podinfo",
            "--source=HelmRepository/podinfo",
            &values,
            "--export",
        ],
        Duration::from_secs(1),
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(stderr, "✗ interrupted\n");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn an_endless_input_file_stops_at_the_size_limit() {
    for args in [
        &[
            "create",
            "helmrelease",
            "podinfo",
            "--chart=podinfo",
            "--source=HelmRepository/podinfo",
            "--values=/dev/zero",
            "--export",
        ][..],
        &[
            "create",
            "secret",
            "tls",
            "certs",
            "--ca-crt-file=/dev/zero",
            "--export",
        ][..],
    ] {
        let out = flux()
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "read /dev/zero: input is larger than 8 MiB, more than any Kubernetes object can hold; check the path"
            ),
            "{args:?}: {stderr}"
        );
    }
    // Stdin too, read straight from /dev/zero (never buffered by the test).
    let output = Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args([
            "create",
            "helmrelease",
            "podinfo",
            "--chart=podinfo",
            "--source=HelmRepository/podinfo",
            "--values=-",
            "--export",
        ])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("larger than 8 MiB"), "{stderr}");
}
