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
