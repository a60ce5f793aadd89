//! Helpers shared by the integration tests: locating and reading /work/shared.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

/// The shared reference directory: `$FLUX_SHARED_DIR`, else `../../shared`
/// relative to this crate. Panics with a clear message when it is absent.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("FLUX_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    assert!(
        dir.join("reference/flux-v2.9/crds").is_dir(),
        "shared reference data not found at {} (set FLUX_SHARED_DIR to the directory holding \
         reference/flux-v2.9 and conformance/)",
        dir.display()
    );
    dir
}

/// Sorted files of a directory whose names end with one of `suffixes`.
pub fn files(dir: &std::path::Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            suffixes.iter().any(|s| name.ends_with(s))
        })
        .collect();
    out.sort();
    out
}

/// Parses a (possibly multi-document) YAML stream into JSON values, skipping
/// empty documents.
pub fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<Option<serde_json::Value>>(text)
        .unwrap_or_else(|e| panic!("parsing YAML: {e}"))
        .into_iter()
        .flatten()
        .collect()
}
