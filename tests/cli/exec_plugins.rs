//! Client-go exec credential plugins in kubeconfig: a failing plugin is
//! reported by its exit status and its own stderr only (never its stdout,
//! args or env), and `--timeout` bounds a plugin that never returns.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::config::{ExecConfig, ExecInteractiveMode, Kubeconfig};

use crate::common::cluster::Cluster;
use crate::common::run_with_kubeconfig;

/// Writes `script` as an executable plugin in `dir`.
fn plugin(dir: &Path, script: &str) -> PathBuf {
    let path = dir.join("credential-plugin");
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The cluster's kubeconfig with its user replaced by `exec`, written to
/// `dir`; returns its path and the token the cluster accepts.
fn exec_kubeconfig(cluster: &Cluster, dir: &Path, exec: ExecConfig) -> (PathBuf, String) {
    let mut kubeconfig = Kubeconfig::read_from(cluster.kubeconfig()).unwrap();
    // The token as serialized (the struct keeps it behind a secret type).
    let token = serde_json::to_value(&kubeconfig).unwrap()["users"][0]["user"]["token"]
        .as_str()
        .expect("testenv's user has a token")
        .to_string();
    let user = kubeconfig.auth_infos[0].auth_info.as_mut().unwrap();
    user.token = None;
    user.exec = Some(exec);
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&kubeconfig).unwrap()).unwrap();
    (path, token)
}

fn exec_config(command: &Path, args: &[&str], env: &[(&str, &str)]) -> ExecConfig {
    ExecConfig {
        api_version: Some("client.authentication.k8s.io/v1".into()),
        command: Some(command.to_string_lossy().into_owned()),
        args: Some(args.iter().map(|a| a.to_string()).collect()),
        env: Some(
            env.iter()
                .map(|(n, v)| {
                    [
                        ("name".into(), n.to_string()),
                        ("value".into(), v.to_string()),
                    ]
                    .into()
                })
                .collect(),
        ),
        drop_env: None,
        install_hint: None,
        interactive_mode: Some(ExecInteractiveMode::Never),
        provide_cluster_info: false,
        cluster: None,
        other: Default::default(),
    }
}

#[test]
fn a_failing_plugin_shows_its_status_and_stderr_never_its_output() {
    let cluster = Cluster::start(false);
    let dir = tempfile::tempdir().unwrap();
    let command = plugin(
        dir.path(),
        r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"STDOUT-TOKEN-1f4e"}}'
echo "plugin: the login session expired" >&2
exit 1
"#,
    );
    let exec = exec_config(
        &command,
        &["--secret-arg=ARG-SECRET-77a1"],
        &[("PLUGIN_PASSWORD", "ENV-SECRET-90b2")],
    );
    let (kubeconfig, _) = exec_kubeconfig(&cluster, dir.path(), exec);
    let out = run_with_kubeconfig(&kubeconfig, &["get", "kustomizations"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for secret in ["STDOUT-TOKEN-1f4e", "ARG-SECRET-77a1", "ENV-SECRET-90b2"] {
        assert!(
            !out.stderr.contains(secret) && !out.stdout.contains(secret),
            "{secret} printed:\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("plugin: the login session expired"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "getting credentials: exec: executable {} failed with exit code 1",
            command.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("unable to reach"),
        "nothing was sent to the server:\n{}",
        out.stderr
    );
}

#[test]
fn a_plugin_token_authenticates() {
    let cluster = Cluster::start(false);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let command = plugin(
        dir.path(),
        &format!(
            r#"test "$PLUGIN_MODE" = ok || exit 3
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"%s"}}}}' "$(cat {})"
"#,
            token_file.display()
        ),
    );
    let (kubeconfig, token) = exec_kubeconfig(
        &cluster,
        dir.path(),
        exec_config(&command, &[], &[("PLUGIN_MODE", "ok")]),
    );
    std::fs::write(&token_file, &token).unwrap();
    let out = run_with_kubeconfig(&kubeconfig, &["get", "all", "-A"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // `get all` exits 0 even after an error line: there must be none.
    assert_eq!(out.stderr, "");
    assert!(!out.stdout.contains(&token) && !out.stderr.contains(&token));
}

#[test]
fn a_plugin_that_hangs_is_bounded_by_the_timeout() {
    let cluster = Cluster::start(false);
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let command = plugin(
        dir.path(),
        &format!("echo $$ > {}\nexec sleep 60\n", pid_file.display()),
    );
    let (kubeconfig, _) = exec_kubeconfig(&cluster, dir.path(), exec_config(&command, &[], &[]));
    let started = Instant::now();
    let out = run_with_kubeconfig(&kubeconfig, &["get", "kustomizations", "--timeout", "3s"]);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        out.stderr.ends_with("✗ context deadline exceeded\n"),
        "{}",
        out.stderr
    );
    // The plugin does not outlive the command.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let alive = Path::new(&format!("/proc/{}", pid.trim())).exists()
        && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "the plugin {} still runs", pid.trim());
}
