//! Temporary directories to remove however the process ends, as long as it
//! can still run code: dropped normally, removed on the way out when the
//! blocking thread holding one (a Git transfer past `--timeout` or Ctrl-C)
//! was abandoned, or removed by the signal watchdog when the process cannot
//! end by itself.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Keeps `path` registered until dropped (its owner removes it then).
#[derive(Debug)]
pub struct Registered(PathBuf);

/// Registers `path` for [`remove_all`].
pub fn register(path: &Path) -> Registered {
    if let Ok(mut pending) = PENDING.lock() {
        pending.push(path.to_path_buf());
    }
    Registered(path.to_path_buf())
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut pending) = PENDING.lock() {
            pending.retain(|p| p != &self.0);
        }
    }
}

/// Removes every registered directory (the process is about to exit).
pub fn remove_all() {
    let paths = match PENDING.lock() {
        Ok(mut pending) => std::mem::take(&mut *pending),
        Err(_) => return,
    };
    for path in paths {
        let _ = std::fs::remove_dir_all(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_directories_are_removed_until_their_owner_lets_go() {
        let kept = tempfile::tempdir().unwrap();
        let removed = tempfile::tempdir().unwrap();
        let guard = register(kept.path());
        drop(guard);
        let _guard = register(removed.path());
        remove_all();
        assert!(kept.path().exists());
        assert!(!removed.path().exists());
    }
}
