//! Test harness: runs the built binary with a pinned, hermetic environment.

use std::path::PathBuf;

use assert_cmd::Command;

/// The `flux` binary with an environment that cannot leak the developer's
/// cluster or namespace into a test.
pub fn flux() -> Command {
    let mut cmd = Command::cargo_bin("flux").expect("the flux binary is built");
    cmd.env_remove("FLUX_SYSTEM_NAMESPACE")
        .env_remove("FLUX_NS_FOLLOWS_KUBE_CONTEXT")
        // The developer's plugins must not turn into root commands here.
        .env_remove("FLUXCD_PLUGINS")
        .env_remove("FLUXCD_PLUGIN_CATALOG")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1")
        .env("CI", "1");
    cmd
}

/// A test that cannot run a tool it needs says why and returns, outside CI
/// only: under `CI=true` (.ci/run installs every tool) it fails instead.
pub fn skip(reason: &str) {
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "cannot run under CI=true: {reason}"
    );
    println!("skipped: {reason}");
}

/// Output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

pub fn run(args: &[&str]) -> Run {
    let output = flux().args(args).output().expect("flux runs");
    Run::from(output)
}

/// Runs the binary against the kubeconfig (a path, or a `KUBECONFIG` list).
pub fn run_with_kubeconfig(kubeconfig: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Run {
    run_with_env(kubeconfig, &[], args)
}

/// As [`run_with_kubeconfig`], with the variables `env` set too.
pub fn run_with_env(
    kubeconfig: impl AsRef<std::ffi::OsStr>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let output = flux()
        .env("KUBECONFIG", kubeconfig)
        .envs(env.iter().copied())
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("flux runs");
    Run::from(output)
}

/// `args` with `--dry-run` appended.
pub fn dry_run<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().copied().chain(["--dry-run"]).collect()
}

/// The lines of the `--dry-run` plan section starting with the line
/// `header`, up to the next section header (an unindented line).
pub fn plan_section<'a>(stdout: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = stdout.lines().skip_while(|line| *line != header);
    let Some(first) = lines.next() else {
        panic!("no section {header:?} in the plan:\n{stdout}");
    };
    std::iter::once(first)
        .chain(lines.take_while(|line| line.starts_with(' ')))
        .collect()
}

/// The steps of the plan's section for `provider` ("GitHub") that change
/// something.
pub fn planned_changes(stdout: &str, provider: &str) -> Vec<String> {
    plan_section(stdout, &format!("Git provider {provider}:"))
        .iter()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|step| step.starts_with("would ") && !step.starts_with("would make "))
        .map(String::from)
        .collect()
}

/// The writes that replace the items `ids` of the collection `path` (deploy
/// keys, deploy tokens) with a new one: each deleted, then one created.
pub fn replacing_writes(path: &str, ids: &[u64]) -> Vec<String> {
    ids.iter()
        .map(|id| format!("DELETE {path}/{id}"))
        .chain(std::iter::once(format!("POST {path}")))
        .collect()
}

/// A successful `--dry-run` whose provider section is exactly `provider`
/// (its first line the section header), with the token nowhere in the output.
pub fn assert_provider_plan(plan: &Run, token: &str, provider: &[&str]) {
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        !plan.stdout.contains(token) && !plan.stderr.contains(token),
        "the token is in the output"
    );
    assert_eq!(plan_section(&plan.stdout, provider[0]), provider);
}

/// The repository root (for generated files).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared reference data (`../shared` beside the clone, or `$FLUX_SHARED_DIR`).
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("FLUX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("..").join("shared"));
    assert!(
        dir.join("reference/flux-v2.9/index.json").is_file(),
        "reference data not found at {}: set FLUX_SHARED_DIR to the shared/ directory",
        dir.display()
    );
    // Without `..`: paths built from it must match those the binary prints
    // from its (canonical) working directory.
    dir.canonicalize().unwrap_or(dir)
}

pub mod cluster;
pub mod fake_api;
pub mod file_server;
pub mod git_servers;
pub mod registry;
