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
    let status = std::process::Command::new("bash")
        .args(["-n", "-c", &out.stdout])
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
