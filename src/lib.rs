//! flux-rs: a Rust re-implementation of the Flux v2 CLI.
//!
//! `main.rs` only calls [`run`]; everything else is reachable from tests.

// Output goes through `output::Printer`; tests may print measurements.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod bootstrap;
pub mod build;
pub mod cleanup;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod duration;
pub mod env;
pub mod envsubst;
pub mod error;
pub mod generated;
pub mod input;
pub mod kinds;
pub mod log_level;
pub mod oci;
pub mod output;
pub mod plugin;
pub mod prompt;
pub mod proxy;
pub mod render;
pub mod secret;
pub mod settings;
#[cfg(test)]
mod test_support;
pub mod validate;

use std::ffi::OsString;

use crate::commands::{Ctx, dispatch};
use crate::error::ExitStatus;
use crate::output::Printer;
use crate::settings::GlobalOptions;

/// Parses `args`, runs the command and returns how it ended. Errors are
/// printed as one `✗ <error>` line on stderr, like upstream.
pub fn run<I, T>(args: I) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Before anything is parsed: plugins are root commands too.
    let plugins = discover_plugins();
    let plugin_names: Vec<String> = plugins.iter().map(|p| p.name.clone()).collect();
    if commands::completion::answer_request(args.clone(), &plugins) {
        return ExitStatus::Success;
    }
    let printer = Printer::stdio();
    if let Some((name, rest)) = cli::plugin_call(&plugin_names, &args)
        && let Some(found) = plugins.iter().find(|p| p.name == name)
    {
        return exec_plugin(&printer, &found.path, rest);
    }
    let cli = match cli::parse_command_line_with_plugins(args, &plugin_names) {
        Ok(cli) => cli,
        Err(cli::Refusal::Print { stdout, hint }) => {
            if let Some(hint) = hint {
                printer.warning(&hint);
            }
            return write_or_fail(&printer, &stdout);
        }
        Err(cli::Refusal::Failure(message)) => {
            printer.failure(&message);
            return ExitStatus::Failure;
        }
    };
    if cli.print_version {
        return write_or_fail(&printer, &commands::version::version_line());
    }
    let Some(command) = &cli.command else {
        return write_or_fail(&printer, &cli::help_with_plugins(&[], &plugin_names));
    };
    let env_lookup = |key: &str| std::env::var(key).ok();
    let mut global_args = cli.global.clone();
    if matches!(command, cli::Command::Plugin(_)) {
        // Plugin management never looks at a namespace (upstream skips
        // its validation there), so a bad -n must not fail it.
        global_args.namespace = Some(settings::DEFAULT_NAMESPACE.to_string());
        global_args.ns_follows_kube_context = false;
    }
    let global = match GlobalOptions::resolve(&global_args, &env_lookup, &printer) {
        Ok(global) => global,
        Err(err) => {
            printer.failure(&err.to_string());
            return ExitStatus::Failure;
        }
    };
    let ctx = Ctx::new(global, printer.clone());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            printer.failure(&format!("unable to start the async runtime: {err}"));
            return ExitStatus::Failure;
        }
    };
    spawn_signal_watchdog(printer.clone());
    let timeout = ctx.global.timeout;
    // Waits end at ctx.deadline with their own lines; this backstop, a
    // moment later, ends anything else that is still running. A signal
    // drops the command's future, so what it holds (a temporary clone) is
    // cleaned up before the process ends.
    let backstop = ctx.deadline + std::time::Duration::from_secs(1);
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = tokio::time::timeout_at(backstop, dispatch(&ctx, command)) => Ok(result.unwrap_or_else(|_| {
                printer.warning(&format!(
                    "the operation did not finish within {}; raise --timeout to wait longer",
                    duration::GoDuration::new(timeout)
                ));
                Err(anyhow::anyhow!("context deadline exceeded"))
            })),
            _ = tokio::signal::ctrl_c() => Err(ExitStatus::Interrupted),
            _ = terminated() => Err(ExitStatus::Terminated),
        }
    });
    // Work left on blocking threads (a key being generated when Ctrl-C
    // came) is abandoned after a moment, not waited for; the moment lets
    // the runtime close its connections in order.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    // A Git transfer abandoned on a blocking thread still holds its
    // temporary clone; nothing will drop it now.
    cleanup::remove_all();
    // A step still spinning becomes a plain line before the process ends.
    output::progress::settle();
    match outcome {
        Ok(Ok(status)) => status,
        Ok(Err(err)) if is_broken_pipe(&err) => ExitStatus::Success,
        Ok(Err(err)) => {
            let detail = err
                .chain()
                .find_map(|cause| cause.downcast_ref::<cluster::objects::ObjectError>())
                .and_then(cluster::objects::ObjectError::timeout_detail);
            if let Some(detail) = detail {
                printer.warning(&detail);
            }
            printer.failure(&format!("{err:#}"));
            ExitStatus::Failure
        }
        Err(status) => {
            printer.failure(if status == ExitStatus::Terminated {
                "terminated"
            } else {
                "interrupted"
            });
            status
        }
    }
}

/// The plugins in the plugin directory; none when there is no directory
/// or it cannot be read.
fn discover_plugins() -> Vec<plugin::Plugin> {
    let Some(dir) = plugin::PluginDir::locate() else {
        return Vec::new();
    };
    plugin::discover_with(&dir.path, cli::builtin_names)
}

/// Replaces this process with the plugin: argv[0] is its absolute path,
/// the environment the one flux started with (proxy variables included).
/// Returns only when the exec failed.
fn exec_plugin(printer: &Printer, path: &std::path::Path, args: Vec<OsString>) -> ExitStatus {
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(path)
        .arg0(path)
        .args(args)
        .envs(proxy::child_env().iter().map(|(k, v)| (k, v)))
        .exec();
    printer.failure(&format!("unable to run plugin {}: {err}", path.display()));
    ExitStatus::Failure
}

/// How long the command gets to stop by itself after SIGINT or SIGTERM
/// before the watchdog ends the process.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Ends the process on SIGINT or SIGTERM when the command cannot stop by
/// itself: a thread blocked in a system call (opening a FIFO given as an
/// input file, a read from a terminal) never lets the runtime see the
/// signal. Normally the command's own handling ends the process first.
fn spawn_signal_watchdog(printer: Printer) {
    let _ = std::thread::Builder::new()
        .name("signal-watchdog".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let status = runtime.block_on(async {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => ExitStatus::Interrupted,
                    _ = terminated() => ExitStatus::Terminated,
                }
            });
            std::thread::sleep(SIGNAL_GRACE);
            cleanup::remove_all();
            printer.failure(if status == ExitStatus::Terminated {
                "terminated"
            } else {
                "interrupted"
            });
            std::process::exit(status.code().into());
        });
}

/// Resolves when the process gets SIGTERM; never if the handler cannot be
/// installed (the default action then ends the process as before).
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

fn write_or_fail(printer: &Printer, text: &str) -> ExitStatus {
    match printer.out(text) {
        Ok(()) => ExitStatus::Success,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(err) => {
            printer.failure(&format!("unable to write to stdout: {err}"));
            ExitStatus::Failure
        }
    }
}

/// `flux … | head` must not report an error when the reader goes away.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
