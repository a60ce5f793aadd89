//! Random argument vectors (seeded, bounded): whatever the input, `flux`
//! never panics (exit code 101, "panicked" on stderr) and never outlives
//! its own `--timeout`. The commands and flags are taken from the CLI's own
//! definition; values from a pool of awkward strings; half the runs talk to
//! a builtin test cluster. `FLUX_FUZZ_SHOW=1` prints every case.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::common::cluster::{Cluster, fixture};
use crate::common::flux;

/// Awkward values: empty, signs, huge numbers, bad URLs and hosts,
/// separators, special files, non-ASCII, long strings.
const VALUES: &[&str] = &[
    "",
    "-",
    "--",
    "x",
    "0",
    "-1",
    "1s",
    "0s",
    "-5m",
    "99999999999999999999",
    "4294967296",
    "127.0.0.1:1",
    "localhost",
    "https://127.0.0.1:1",
    "https://127.0.0.1:99999",
    "ftp://x/y",
    "http://user:pass@127.0.0.1:1/repo.git",
    "ssh://git@127.0.0.1:1/repo",
    "git@host:org/repo",
    "file:///etc",
    "a=b",
    "=",
    "a,b,,c",
    "Kind/name",
    "Kind/",
    "/name",
    "HelmRepository/podinfo",
    "../..",
    ".git",
    "/dev/null",
    "/nonexistent/file",
    "%",
    "%00",
    "\u{1F600}",
    "ñame",
    "a b",
    "UPPER",
    "name-with-a-very-long-suffix-that-goes-past-sixty-three-characters-of-a-dns-label",
    "true",
    "false",
    "rsa",
    "ecdsa",
    "ed25519",
    "p999",
    "json",
    "yaml",
    "*",
    "{}",
    "[",
];

/// Object names that exist or could.
const NAMES: &[&str] = &["podinfo", "flux-system", "apps", "webapp"];

/// A random path of subcommands from the root, then random flags of the
/// last one (with random values), a few random positionals, and a short
/// `--timeout` so nothing waits long.
fn random_args(rng: &mut StdRng, root: &clap::Command) -> Vec<String> {
    let mut args = Vec::new();
    let mut command = root;
    loop {
        let subs: Vec<&clap::Command> = command.get_subcommands().collect();
        if subs.is_empty() || rng.gen_bool(0.1) {
            break;
        }
        command = subs.choose(rng).unwrap();
        args.push(command.get_name().to_string());
    }
    let flags: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some())
        .filter(|a| !matches!(a.get_long(), Some("help" | "version" | "timeout")))
        .collect();
    for _ in 0..rng.gen_range(0..6) {
        match rng.gen_range(0..10) {
            0..=6 if !flags.is_empty() => {
                let flag = flags.choose(rng).unwrap();
                let long = flag.get_long().unwrap();
                let takes_value = flag.get_action().takes_values();
                // A plausible value (one the flag lists) half the time.
                let possible: Vec<String> = flag
                    .get_possible_values()
                    .iter()
                    .map(|v| v.get_name().to_string())
                    .collect();
                let value = match possible.choose(rng) {
                    Some(v) if rng.gen_bool(0.5) => v.clone(),
                    _ => VALUES.choose(rng).unwrap().to_string(),
                };
                match (takes_value, rng.gen_range(0..4)) {
                    (false, 0) => args.push(format!("--{long}={value}")),
                    (false, _) => args.push(format!("--{long}")),
                    (true, 0) => {
                        args.push(format!("--{long}"));
                        args.push(value);
                    }
                    (true, _) => args.push(format!("--{long}={value}")),
                }
            }
            0..=7 => args.push(NAMES.choose(rng).unwrap().to_string()),
            _ => args.push(VALUES.choose(rng).unwrap().to_string()),
        }
    }
    args.push("--timeout=3s".into());
    args
}

#[test]
fn random_argument_vectors_never_panic() {
    const SEED: u64 = 0x18_f1_a5;
    const CASES: usize = 300;
    let root = flux_rs::cli::command();
    let mut rng = StdRng::seed_from_u64(SEED);
    let dir = tempfile::tempdir().unwrap();
    // Half the cases talk to a cluster with Flux objects in it (a
    // throwaway one: `delete` and `uninstall` may run), half have none.
    let cluster = Cluster::start(false);
    cluster.load(&fixture("get/objects.yaml", "flux-system"));
    let mut failures = Vec::new();
    for case in 0..CASES {
        let args = random_args(&mut rng, &root);
        let kubeconfig = if case % 2 == 0 {
            cluster.kubeconfig().to_path_buf()
        } else {
            std::path::PathBuf::from("/nonexistent/kubeconfig")
        };
        let output = flux()
            .args(&args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .env("KUBECONFIG", &kubeconfig)
            // `plugin install|search|update` must not leave the machine:
            // a closed loopback port stands in for the catalog.
            .env("FLUXCD_PLUGIN_CATALOG", "http://127.0.0.1:9/")
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        if std::env::var_os("FLUX_FUZZ_SHOW").is_some() {
            println!(
                "{case} {code:?} {args:?} {}",
                stderr.lines().last().unwrap_or_default()
            );
        }
        if code == Some(101) || stderr.contains("panicked") {
            failures.push(format!("case {case} {args:?}: panic\n{stderr}"));
        } else if code.is_none() {
            failures.push(format!(
                "case {case} {args:?}: did not end within 30 s (or was killed)\n{stderr}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "seed {SEED:#x}, {} of {CASES} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
