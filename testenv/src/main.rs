//! `flux-testenv`: runs the local API server in the foreground.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

const USAGE: &str = "Usage: flux-testenv --kubeconfig PATH [--backend builtin|kube-apiserver]
                    [--port N] [--no-controllers] [--serve-git DIR --git-password PW]
                    [--receiver-addr HOST:PORT]
                    [--reconcile-delay-ms N] [--deployment-delay-ms N]
                    [--latency-ms N] [--throttle-ratio F] [--retry-after N]
                    [--error-ratio F] [--error-code 500|503] [--watch-cut-after N] [--unreachable]

Serves a Kubernetes API on https://127.0.0.1 with simulated Flux controllers and writes a
kubeconfig for it. The builtin backend is testenv's own server; kube-apiserver starts a real
etcd, kube-apiserver and kube-controller-manager (built by scripts/controlplane.sh build, found
in $FLUX_CONTROLPLANE_DIR or the cache). --serve-git serves the bare repositories in DIR over
smart HTTP on 127.0.0.1 (fetches anonymous, pushes as user flux with --git-password), a Git host
both backends' GitRepositories may name. The simulated notification-controller serves Receiver
webhooks (POST /hook/<digest>, what `flux trigger receiver --url` calls) over plain HTTP on
--receiver-addr (default 127.0.0.1:0, a free port). Stops on Ctrl-C or SIGTERM.";

/// The command line beyond the server's options.
struct Args {
    backend: Backend,
    options: testenv::Options,
    serve_git: Option<(PathBuf, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Builtin,
    KubeApiserver,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut o = testenv::Options::default();
    let mut backend = Backend::Builtin;
    let (mut git_root, mut git_password) = (None, None);
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].clone();
        let flag = flag.as_str();
        let mut value = || -> Result<String> {
            i += 1;
            args.get(i)
                .cloned()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag {
            "--backend" => {
                backend = match value()?.as_str() {
                    "builtin" => Backend::Builtin,
                    "kube-apiserver" => Backend::KubeApiserver,
                    other => bail!("--backend must be builtin or kube-apiserver, not {other:?}"),
                }
            }
            "--serve-git" => git_root = Some(PathBuf::from(value()?)),
            "--git-password" => git_password = Some(value()?),
            "--kubeconfig" => o.kubeconfig_path = Some(PathBuf::from(value()?)),
            "--port" => o.port = value()?.parse().context("--port")?,
            "--no-controllers" => o.controllers = false,
            "--receiver-addr" => {
                o.receiver_addr = value()?.parse().with_context(|| flag.to_string())?
            }
            "--reconcile-delay-ms" => {
                o.reconcile_delay =
                    Duration::from_millis(value()?.parse().with_context(|| flag.to_string())?)
            }
            "--deployment-delay-ms" => {
                o.deployment_delay =
                    Duration::from_millis(value()?.parse().with_context(|| flag.to_string())?)
            }
            "--latency-ms" => {
                o.faults.latency =
                    Duration::from_millis(value()?.parse().with_context(|| flag.to_string())?)
            }
            "--throttle-ratio" => {
                o.faults.throttle_ratio = value()?.parse().with_context(|| flag.to_string())?
            }
            "--retry-after" => {
                o.faults.retry_after_secs = value()?.parse().with_context(|| flag.to_string())?
            }
            "--error-ratio" => {
                o.faults.error_ratio = value()?.parse().with_context(|| flag.to_string())?
            }
            "--error-code" => {
                o.faults.error_code = value()?.parse().with_context(|| flag.to_string())?;
                if ![500, 503].contains(&o.faults.error_code) {
                    bail!("--error-code must be 500 or 503");
                }
            }
            "--watch-cut-after" => {
                o.faults.watch_cut_after = Some(value()?.parse().with_context(|| flag.to_string())?)
            }
            "--unreachable" => o.faults.unreachable = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}\n\n{USAGE}"),
        }
        i += 1;
    }
    if o.kubeconfig_path.is_none() {
        bail!("--kubeconfig is required\n\n{USAGE}");
    }
    if backend == Backend::KubeApiserver {
        let f = &o.faults;
        let faulty = !f.latency.is_zero()
            || f.throttle_ratio > 0.0
            || f.error_ratio > 0.0
            || f.watch_cut_after.is_some()
            || f.unreachable;
        if faulty || o.port != 0 {
            bail!(
                "--port and the fault flags work with --backend builtin only: kube-apiserver picks its own port and serves requests unaltered"
            );
        }
    }
    let serve_git = match (git_root, git_password) {
        (Some(root), Some(password)) if !password.is_empty() => Some((root, password)),
        (None, None) => None,
        _ => bail!("--serve-git and a non-empty --git-password go together"),
    };
    Ok(Args {
        backend,
        options: o,
        serve_git,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Args {
        backend,
        options,
        serve_git,
    } = parse(&args)?;
    // Kept until the end: dropping it stops serving.
    let _git = match serve_git {
        Some((root, password)) => {
            let accepted = vec![testenv::git_http::basic_auth("flux", &password)];
            let git =
                testenv::git_http::HttpGitServer::serve_dir(&root, 0, accepted, "flux", true)?;
            println!(
                "flux-testenv serving Git at http://127.0.0.1:{}/ (pushes as user flux)",
                git.port()
            );
            Some(git)
        }
        None => None,
    };
    match backend {
        Backend::Builtin => {
            let env = testenv::TestEnv::start(options).await?;
            println!(
                "flux-testenv serving {} (kubeconfig {})",
                env.url(),
                env.kubeconfig_path().display()
            );
            if let Some(url) = env.receiver_url() {
                println!("flux-testenv serving Receiver webhooks at {url}/hook/");
            }
            stopped().await?;
            env.stop().await;
        }
        Backend::KubeApiserver => {
            let bin_dir = testenv::controlplane::binaries_dir()?;
            let mut plane =
                testenv::controlplane::ControlPlane::start(&bin_dir, options.kubeconfig_path)
                    .await?;
            if options.controllers {
                plane
                    .start_controllers_at(
                        options.reconcile_delay,
                        options.deployment_delay,
                        options.receiver_addr,
                    )
                    .await?;
            }
            println!(
                "flux-testenv serving {} with kube-apiserver (kubeconfig {})",
                plane.url(),
                plane.kubeconfig_path().display()
            );
            if let Some(url) = plane.receiver_url() {
                println!("flux-testenv serving Receiver webhooks at {url}/hook/");
            }
            stopped().await?;
            drop(plane);
        }
    }
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
async fn stopped() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
