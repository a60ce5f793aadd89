//! File systems the build reads from: the real disk or an in-memory tree.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What the build needs from a file system. Paths given to it are absolute.
pub trait FileSystem {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;
    /// Resolves `.`/`..` and, on disk, symbolic links.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// Makes a relative path absolute (on disk: against the current directory).
    fn absolute(&self, path: &Path) -> io::Result<PathBuf> {
        if path.is_absolute() {
            Ok(path.to_path_buf())
        } else {
            Ok(std::env::current_dir()?.join(path))
        }
    }
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// An in-memory file tree; directories exist implicitly above each file.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) a file. Relative paths are taken from `/`.
    pub fn add_file(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) {
        self.files
            .insert(normalize(&Path::new("/").join(path)), content.into());
    }
}

/// Lexical normalization: removes `.` and resolves `..` against the path.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let p = normalize(path);
        if let Some(c) = self.files.get(&p) {
            return Ok(c.clone());
        }
        if self.is_dir(&p) {
            return Err(io::Error::other("is a directory"));
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no such file or directory",
        ))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let p = normalize(path);
        if p == Path::new("/") {
            return true;
        }
        self.files
            .range(p.clone()..)
            .next()
            .is_some_and(|(k, _)| k != &p && k.starts_with(&p))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }
    /// Relative paths are taken from `/`.
    fn absolute(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(Path::new("/").join(path))
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = normalize(path);
        if self.is_file(&p) || self.is_dir(&p) {
            Ok(p)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no such file or directory",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_fs_has_implicit_directories() {
        let mut fs = MemFs::new();
        fs.add_file("a/b/c.yaml", "x: 1");
        assert!(fs.is_dir(Path::new("/a")));
        assert!(fs.is_dir(Path::new("/a/b")));
        assert!(!fs.is_dir(Path::new("/a/b/c.yaml")));
        assert!(fs.is_file(Path::new("/a/./b/../b/c.yaml")));
        assert!(!fs.is_dir(Path::new("/a/bb")));
        assert_eq!(fs.read(Path::new("/a/b/c.yaml")).unwrap(), b"x: 1");
    }
}
