use crate::common::cluster::{Backend, Cluster, on_both_backends};
use crate::common::{repo_root, run};

#[test]
fn completion_scripts_match_the_committed_files() {
    for (shell, file) in [
        ("bash", "flux.bash"),
        ("zsh", "_flux"),
        ("fish", "flux.fish"),
        ("powershell", "_flux.ps1"),
    ] {
        let out = run(&["completion", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert_eq!(out.stderr, "");
        let committed =
            std::fs::read_to_string(repo_root().join("completions").join(file)).unwrap();
        assert_eq!(
            out.stdout, committed,
            "completions/{file} differs from `flux completion {shell}`"
        );
    }
}

#[test]
fn bash_completion_loads_in_bash() {
    let out = run(&["completion", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("flux.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash runs");
    assert!(status.success(), "bash rejected the completion script");
}

#[test]
fn unknown_shell_is_rejected() {
    let out = run(&["completion", "tcsh"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("✗ invalid value 'tcsh'"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn the_binary_answers_completion_requests() {
    let output = crate::common::flux()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .args(["--", "flux", "get", "kus"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let candidates = String::from_utf8(output.stdout).unwrap();
    assert!(
        candidates.lines().any(|c| c.starts_with("kustomization")),
        "{candidates}"
    );
}

/// Asks the binary, as bash would, for the candidates of the last word of
/// `line` against `cluster`.
fn candidates(cluster: &Cluster, line: &[&str]) -> Vec<String> {
    let output = crate::common::flux()
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(line)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mut names: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        // With nothing typed yet the flags are offered too; they are not
        // what this test is about.
        .filter(|c| !c.starts_with('-'))
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// `flux reconcile ks <TAB>` offers the Kustomizations of the namespace the
/// line selects, as upstream's completion does.
fn object_names_complete_from_the_cluster(backend: Backend) {
    let cluster = Cluster::start_on(backend, false);
    let kustomization = |name: &str, namespace: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  interval: 5m0s\n  path: ./\n  prune: false\n  sourceRef:\n    kind: GitRepository\n    name: none\n"
        )
    };
    cluster.load("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n");
    for (name, namespace) in [
        ("infra", "flux-system"),
        ("infra-config", "flux-system"),
        ("web", "flux-system"),
        ("shop", "apps"),
    ] {
        cluster.load(&kustomization(name, namespace));
    }
    assert_eq!(
        candidates(&cluster, &["flux", "reconcile", "ks", ""]),
        ["infra", "infra-config", "web"]
    );
    assert_eq!(
        candidates(&cluster, &["flux", "suspend", "kustomization", "inf"]),
        ["infra", "infra-config"]
    );
    assert_eq!(
        candidates(&cluster, &["flux", "get", "ks", "-n", "apps", ""]),
        ["shop"]
    );
    assert_eq!(candidates(&cluster, &["flux", "tree", "ks", "w"]), ["web"]);
    assert_eq!(
        candidates(
            &cluster,
            &["flux", "debug", "kustomization", "-n", "apps", ""]
        ),
        ["shop"]
    );
    assert_eq!(
        candidates(&cluster, &["flux", "debug", "hr", ""]),
        Vec::<String>::new()
    );
    assert_eq!(
        candidates(&cluster, &["flux", "reconcile", "source", "git", ""]),
        Vec::<String>::new()
    );
}

on_both_backends!(object_names_complete_from_the_cluster,);
