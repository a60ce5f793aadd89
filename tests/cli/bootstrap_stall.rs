//! Bootstrap against servers that accept a connection and then say nothing:
//! `--timeout` and Ctrl-C must still end the run on time, with the clone
//! removed, and a re-run against the answering server must finish the job.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bootstrap::{assert_ok, bare_repo, git_args, head, ready_at};
use crate::common::Run;
use crate::common::cluster::{Backend, Cluster, on_both_backends};

/// A TCP front for a server on loopback: while `stalled`, it accepts
/// connections and never answers (holding them open); otherwise it relays
/// bytes both ways to `upstream`.
struct StallingFront {
    port: u16,
    stalled: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl StallingFront {
    fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stalled = Arc::new(AtomicBool::new(true));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (stall, hold) = (stalled.clone(), held.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if stall.load(Ordering::SeqCst) {
                    hold.lock().unwrap().push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                relay(client, server);
            }
        });
        Self {
            port,
            stalled,
            held,
        }
    }

    fn answer(&self) {
        self.stalled.store(false, Ordering::SeqCst);
    }

    /// How many connections were accepted and left unanswered.
    fn held(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

fn relay(client: TcpStream, server: TcpStream) {
    let pump = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    };
    pump(client.try_clone().unwrap(), server.try_clone().unwrap());
    pump(server, client);
}

/// `url` with its port replaced by `port`.
fn through(url: &str, port: u16) -> String {
    let mut fronted = url::Url::parse(url).unwrap();
    fronted.set_port(Some(port)).unwrap();
    fronted.to_string()
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

/// The built binary against `cluster`, with `tmp` as its TMPDIR (where
/// its clone lives), stderr piped.
fn spawn(cluster: &Cluster, tmp: &Path, envs: &[(&str, &str)], args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(args)
        .env_remove("FLUX_SYSTEM_NAMESPACE")
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("HOME", std::env::temp_dir())
        .env("TMPDIR", tmp)
        .env("CI", "1")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flux starts")
}

/// Waits for the process to end (killing it after a minute, so a
/// regression fails instead of hanging); returns its code, its stderr and
/// how long it ran after `start`.
fn finish(mut child: Child, start: Instant) -> (Option<i32>, String, Duration) {
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        pipe.read_to_string(&mut stderr).unwrap();
        stderr
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    (status.code(), reader.join().unwrap(), took)
}

/// Entries of `dir` (the run's TMPDIR) that are bootstrap clones.
fn clones_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("flux-bootstrap-"))
        .collect()
}

/// A Git server that stops answering: `--timeout=5s` ends the run within
/// 7 s with a message naming the cause, no clone is left behind, and once
/// the server answers again the same command finishes the job.
fn bootstrap_git_against_a_silent_server_ends_at_the_timeout_and_a_rerun_finishes(
    backend: Backend,
) {
    let cluster = Cluster::empty_on(backend);
    let (repo, url) = bare_repo();
    let front = StallingFront::start(port_of(&url));
    let url = through(&url, front.port);
    let tmp = tempfile::tempdir().unwrap();
    let args = git_args(&url, &["--timeout=5s"]);

    let start = Instant::now();
    let (code, stderr, took) = finish(spawn(&cluster, tmp.path(), &[], &args), start);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < Duration::from_secs(7), "took {took:?}: {stderr}");
    assert!(
        stderr.contains(
            "✗ failed to clone repository: the Git server did not answer before the deadline (5s from the start); check that it responds, or raise --timeout"
        ),
        "{stderr}"
    );
    assert!(front.held() >= 1, "the clone never reached the server");
    assert_eq!(clones_left(tmp.path()), Vec::<String>::new());
    assert_eq!(head(repo.path(), "main"), None, "something was pushed");

    front.answer();
    let rerun = Run::from(
        spawn(&cluster, tmp.path(), &[], &git_args(&url, &[]))
            .wait_with_output()
            .unwrap(),
    );
    assert_ok(&rerun);
    let tip = head(repo.path(), "main").unwrap();
    ready_at(&cluster, &format!("main@sha1:{tip}"));
    assert_eq!(clones_left(tmp.path()), Vec::<String>::new());
}

/// Ctrl-C while the clone waits on a silent server ends the run within a
/// second with exit 130, and removes the clone.
#[test]
fn bootstrap_git_interrupted_during_the_clone_exits_at_once() {
    let cluster = Cluster::empty();
    let (_repo, url) = bare_repo();
    let front = StallingFront::start(port_of(&url));
    let url = through(&url, front.port);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn(&cluster, tmp.path(), &[], &git_args(&url, &[]));
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("► cloning branch") {
        let mut line = String::new();
        assert_ne!(reader.read_line(&mut line).unwrap(), 0, "{seen}");
        seen.push_str(&line);
    }
    // The clone is under way once the server holds its connection.
    let waiting = Instant::now();
    while front.held() == 0 {
        assert!(waiting.elapsed() < Duration::from_secs(10), "no connection");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!clones_left(tmp.path()).is_empty(), "no clone under way");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let interrupted = Instant::now();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code();
    let took = interrupted.elapsed();
    assert_eq!(code, Some(130), "{seen}{rest}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(rest.ends_with("✗ interrupted\n"), "{rest}");
    assert_eq!(clones_left(tmp.path()), Vec::<String>::new());
}

/// A provider API that accepts the connection and never answers ends the
/// run at `--timeout`, naming the host.
#[test]
fn bootstrap_github_against_a_silent_api_ends_at_the_timeout() {
    let cluster = Cluster::empty();
    let api = StallingFront::start(1);
    let hostname = format!("http://127.0.0.1:{}", api.port);
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "bootstrap",
        "github",
        "--owner=acme",
        "--repository=fleet",
        "--token-auth",
        "--hostname",
        &hostname,
        "--timeout=5s",
    ];
    let start = Instant::now();
    let child = spawn(&cluster, tmp.path(), &[("GITHUB_TOKEN", "t0ken")], &args);
    let (code, stderr, took) = finish(child, start);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < Duration::from_secs(7), "took {took:?}: {stderr}");
    assert!(
        stderr.contains(&format!(
            "✗ the Git provider at {hostname} did not answer within --timeout 5s; check that it responds, or raise --timeout"
        )),
        "{stderr}"
    );
    assert!(api.held() >= 1, "the API was never called");
    assert!(!stderr.contains("t0ken"));
}

on_both_backends!(bootstrap_git_against_a_silent_server_ends_at_the_timeout_and_a_rerun_finishes);
