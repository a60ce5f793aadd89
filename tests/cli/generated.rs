use crate::common::repo_root;

/// Completions and the CLI reference are generated from the clap tree; this
/// fails when a committed copy is stale. Refresh with
/// `FLUX_RS_UPDATE_GENERATED=1 cargo test --test cli generated`.
#[test]
fn generated_files_are_up_to_date() {
    let update = std::env::var_os("FLUX_RS_UPDATE_GENERATED").is_some();
    let root = repo_root();
    let mut stale = Vec::new();
    let files = flux_rs::generated::files();
    for (path, content) in &files {
        let full = root.join(path);
        if std::fs::read_to_string(&full).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, content).unwrap();
        } else {
            stale.push(path.clone());
        }
    }
    // Pages of commands that no longer exist are stale too.
    for entry in std::fs::read_dir(root.join("docs/cmd")).unwrap() {
        let path = format!("docs/cmd/{}", entry.unwrap().file_name().to_string_lossy());
        if !files.iter().any(|(p, _)| *p == path) {
            if update {
                std::fs::remove_file(root.join(&path)).unwrap();
            } else {
                stale.push(path);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}; run `FLUX_RS_UPDATE_GENERATED=1 cargo test --test cli generated`"
    );
}
