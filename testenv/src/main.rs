//! `flux-testenv`: runs the local API server in the foreground.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

const USAGE: &str = "Usage: flux-testenv --kubeconfig PATH [--port N] [--no-controllers]
                    [--reconcile-delay-ms N] [--deployment-delay-ms N]
                    [--latency-ms N] [--throttle-ratio F] [--retry-after N]
                    [--error-ratio F] [--error-code 500|503] [--watch-cut-after N] [--unreachable]

Serves a Kubernetes API on https://127.0.0.1 with simulated Flux controllers and writes a
kubeconfig for it. Stops on Ctrl-C.";

fn parse(args: &[String]) -> Result<testenv::Options> {
    let mut o = testenv::Options::default();
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
            "--kubeconfig" => o.kubeconfig_path = Some(PathBuf::from(value()?)),
            "--port" => o.port = value()?.parse().context("--port")?,
            "--no-controllers" => o.controllers = false,
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
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = parse(&args)?;
    let env = testenv::TestEnv::start(options).await?;
    println!(
        "flux-testenv serving {} (kubeconfig {})",
        env.url(),
        env.kubeconfig_path().display()
    );
    tokio::signal::ctrl_c().await?;
    env.stop().await;
    Ok(())
}
