//! Black-box tests: they run the built `flux` binary.

mod common;

mod apply;
mod artifact;
mod bootstrap;
mod bootstrap_bitbucket;
mod bootstrap_github;
mod bootstrap_gitlab;
mod bootstrap_http;
mod bootstrap_signing;
mod bootstrap_ssh;
mod bootstrap_stall;
mod build_kustomization;
mod check;
mod completion;
mod create_errors;
mod create_live;
mod create_objects;
mod create_secret;
mod create_source;
mod debug;
mod diff_kustomization;
mod e2e;
mod envsubst;
mod errors;
mod events;
mod exec_plugins;
mod export;
mod faults;
mod fuzz;
mod generated;
mod get;
mod inputs;
mod inspect_requests;
mod install;
mod install_live;
mod kubeconfig;
mod lifecycle;
mod logs;
mod migrate;
mod parity;
mod plugin;
mod proxy;
mod stats;
mod terminal;
mod trace;
mod tree;
mod trigger;
mod uninstall;
mod version;

/// A file in tests/cli that no `mod` line names compiles nowhere and its
/// tests never run; nothing else would notice.
#[test]
fn every_test_file_is_a_declared_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = match path.file_stem().and_then(|s| s.to_str()) {
            Some(name) if path.is_dir() || path.extension().is_some_and(|e| e == "rs") => name,
            _ => continue,
        };
        if name == "main" {
            continue;
        }
        assert!(
            main.lines().any(|l| l == format!("mod {name};")),
            "tests/cli/{name} is not declared in tests/cli/main.rs"
        );
        checked += 1;
    }
    assert!(checked > 20, "only {checked} test modules found");
}
