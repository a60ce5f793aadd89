//! Conformance: every case under `tests/corpus/` is built by kustomize-rs and
//! by `kubectl kustomize` (kustomize v5.6.0, the oracle); the outputs must be
//! byte-identical, and where the oracle fails kustomize-rs must fail too.
//!
//! A case is a directory; it is built from the directory itself, or from the
//! sub-directory named in its `ENTRY` file; with a `LOAD_RESTRICTIONS_NONE`
//! file, both build with files outside the kustomization's directory allowed.
//!
//! The oracle is `$KUSTOMIZE_ORACLE`, else `kubectl.1.33` on PATH, else
//! `/usr/lib/google-cloud-sdk/bin/kubectl.1.33`. Without one the test skips,
//! except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn find_oracle() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("KUSTOMIZE_ORACLE") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("KUSTOMIZE_ORACLE={} does not exist", p.display()))
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("kubectl.1.33");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let p = PathBuf::from("/usr/lib/google-cloud-sdk/bin/kubectl.1.33");
    if p.is_file() {
        return Ok(p);
    }
    Err("no kustomize oracle: set KUSTOMIZE_ORACLE, or put kubectl.1.33 on PATH".into())
}

fn oracle_or_skip() -> Option<PathBuf> {
    match find_oracle() {
        Ok(p) => Some(p),
        Err(reason) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{reason} (required under CI=true)");
            }
            eprintln!("skipping kustomize conformance: {reason}");
            None
        }
    }
}

fn corpus() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .expect("tests/corpus exists")
        .map(|e| e.expect("readable corpus entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let entry = match std::fs::read_to_string(p.join("ENTRY")) {
                Ok(sub) => p.join(sub.trim()),
                Err(_) => p.clone(),
            };
            (name, entry)
        })
        .collect();
    cases.sort();
    cases
}

enum Outcome {
    Same,
    Differ(String),
}

fn run_case(oracle: &Path, case: &Path, entry: &Path) -> Outcome {
    // A case with a LOAD_RESTRICTIONS_NONE file is built as kustomize
    // --load-restrictor LoadRestrictionsNone builds it.
    let unrestricted = case.join("LOAD_RESTRICTIONS_NONE").is_file();
    let mut oracle_cmd = Command::new(oracle);
    oracle_cmd.arg("kustomize").arg(entry);
    if unrestricted {
        oracle_cmd.args(["--load-restrictor", "LoadRestrictionsNone"]);
    }
    let out = oracle_cmd.output().expect("oracle runs");
    let options = kustomize::BuildOptions {
        load_restrictions_none: unrestricted,
    };
    let ours = kustomize::build_with(&kustomize::DiskFs, entry, &options).map(|l| l.to_yaml());
    match (out.status.success(), ours) {
        (true, Ok(text)) => {
            let want = String::from_utf8_lossy(&out.stdout);
            if want == text {
                Outcome::Same
            } else {
                Outcome::Differ(first_difference(&want, &text))
            }
        }
        (true, Err(e)) => Outcome::Differ(format!("oracle succeeded, kustomize-rs failed: {e}")),
        (false, Ok(_)) => Outcome::Differ(format!(
            "oracle failed ({}), kustomize-rs succeeded",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        (false, Err(_)) => Outcome::Same,
    }
}

fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "line {}: oracle {:?}, kustomize-rs {:?}",
                i + 1,
                w.get(i).unwrap_or(&"<end>"),
                g.get(i).unwrap_or(&"<end>")
            );
        }
    }
    "outputs differ in line endings".into()
}

#[test]
fn corpus_matches_kubectl_kustomize() {
    let Some(oracle) = oracle_or_skip() else {
        return;
    };
    let cases = corpus();
    assert!(!cases.is_empty(), "the corpus is empty");
    let results: Vec<(String, Outcome)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<(String, PathBuf)>> = {
            let mut c = vec![Vec::new(), Vec::new()];
            for (i, case) in cases.iter().cloned().enumerate() {
                c[i % 2].push(case);
            }
            c
        };
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let oracle = oracle.clone();
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(name, entry)| {
                            let case = Path::new(env!("CARGO_MANIFEST_DIR"))
                                .join("tests/corpus")
                                .join(&name);
                            let outcome = run_case(&oracle, &case, &entry);
                            (name, outcome)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut failed = Vec::new();
    for (name, o) in &results {
        if let Outcome::Differ(why) = o {
            failed.push(format!("  {name}: {why}"));
        }
    }
    println!(
        "kustomize conformance: {}/{} cases identical",
        results.len() - failed.len(),
        results.len()
    );
    assert!(
        failed.is_empty(),
        "cases differing from kubectl kustomize:\n{}",
        failed.join("\n")
    );
}
