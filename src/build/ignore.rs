//! `.sourceignore` rules: gitignore patterns as go-git reads them, with
//! source-controller's defaults, scoped to the directory being built.

use std::path::Path;

/// Version-control files and media/archive types: the start of every
/// build's patterns, and alone the default `--ignore-paths` of artifacts.
pub const VCS_AND_MEDIA: &[&str] = &[
    ".git/",
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
];

/// CI and tool configuration, which source-controller also leaves out of
/// a build (after [`VCS_AND_MEDIA`], lowest priority first).
const CI_AND_TOOLS: &[&str] = &[
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

const IGNORE_FILE: &str = ".sourceignore";

struct Pattern {
    /// Path components the pattern is relative to.
    domain: Vec<String>,
    parts: Vec<String>,
    inclusion: bool,
    dir_only: bool,
    /// Contains a `/`: anchored and matched component by component.
    anchored: bool,
}

impl Pattern {
    fn parse(line: &str, domain: &[String]) -> Self {
        let (inclusion, mut p) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        if !p.ends_with("\\ ") {
            p = p.trim_end_matches(' ');
        }
        let dir_only = p.ends_with('/');
        if dir_only {
            p = &p[..p.len() - 1];
        }
        Self {
            domain: domain.to_vec(),
            parts: p.split('/').map(str::to_string).collect(),
            inclusion,
            dir_only,
            anchored: p.contains('/'),
        }
    }

    /// `Some(true)` excludes, `Some(false)` re-includes, `None` no match.
    fn decide(&self, path: &[String], is_dir: bool) -> Option<bool> {
        if path.len() <= self.domain.len() || path[..self.domain.len()] != self.domain[..] {
            return None;
        }
        let path = &path[self.domain.len()..];
        let matched = if self.anchored {
            self.glob_match(path, is_dir)
        } else {
            self.name_match(path, is_dir)
        };
        matched.then_some(!self.inclusion)
    }

    fn name_match(&self, path: &[String], is_dir: bool) -> bool {
        for (i, name) in path.iter().enumerate() {
            match file_match(&self.parts[0], name) {
                None => return false,
                Some(false) => continue,
                Some(true) => return !(self.dir_only && !is_dir && i == path.len() - 1),
            }
        }
        false
    }

    fn glob_match(&self, mut path: &[String], is_dir: bool) -> bool {
        let mut matched = false;
        let mut traverse = false;
        for (i, part) in self.parts.iter().enumerate() {
            if part.is_empty() {
                traverse = false;
                continue;
            }
            if part == "**" {
                if i == self.parts.len() - 1 {
                    break;
                }
                traverse = true;
                continue;
            }
            if part.contains("**") || path.is_empty() {
                return false;
            }
            if traverse {
                traverse = false;
                while let Some((first, rest)) = path.split_first() {
                    path = rest;
                    match file_match(part, first) {
                        None => return false,
                        Some(true) => {
                            matched = true;
                            break;
                        }
                        Some(false) if path.is_empty() => matched = false,
                        Some(false) => {}
                    }
                }
            } else {
                if file_match(part, &path[0]) != Some(true) {
                    return false;
                }
                matched = true;
                path = &path[1..];
            }
        }
        // A directory-only pattern that matched the whole path of a file.
        matched && !(self.dir_only && !is_dir && path.is_empty())
    }
}

/// Go's `filepath.Match` on one path component; `None` for a bad pattern.
fn file_match(pattern: &str, name: &str) -> Option<bool> {
    crate::envsubst::glob_match(pattern.as_bytes(), name.as_bytes()).ok()
}

/// The ignore rules of one build.
pub struct Ignore {
    patterns: Vec<Pattern>,
}

/// `path` split as go-git splits it: on `/`, the leading empty component kept.
pub fn components(path: &Path) -> Vec<String> {
    path.to_string_lossy()
        .split('/')
        .map(str::to_string)
        .collect()
}

fn read_patterns(text: &str, domain: &[String], into: &mut Vec<Pattern>) {
    for line in text.lines() {
        if !line.starts_with('#') && !line.trim().is_empty() {
            into.push(Pattern::parse(line, domain));
        }
    }
}

/// `.sourceignore` of `dir`, then of its subdirectories (lexical order,
/// `.git` skipped), each scoped to its own directory.
fn load_ignore_files(dir: &Path, domain: &[String], into: &mut Vec<Pattern>) {
    if let Ok(text) = std::fs::read_to_string(dir.join(IGNORE_FILE)) {
        read_patterns(&text, domain, into);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != ".git")
        .map(|e| e.file_name())
        .collect();
    subdirs.sort();
    for name in subdirs {
        let mut sub_domain = domain.to_vec();
        sub_domain.push(name.to_string_lossy().into_owned());
        load_ignore_files(&dir.join(&name), &sub_domain, into);
    }
}

impl Ignore {
    /// The rules for building `root` (absolute): defaults, the
    /// `.sourceignore` files in and below it, then `extra` patterns.
    pub fn load(root: &Path, extra: &[String]) -> Self {
        let domain = components(root);
        let mut patterns = Vec::new();
        for line in VCS_AND_MEDIA.iter().chain(CI_AND_TOOLS) {
            patterns.push(Pattern::parse(line, &domain));
        }
        load_ignore_files(root, &domain, &mut patterns);
        read_patterns(&extra.join("\n"), &domain, &mut patterns);
        Self { patterns }
    }

    /// Only `patterns`, scoped to `root` (absolute): what OCI artifacts use,
    /// without the defaults or `.sourceignore` files.
    pub fn patterns_only(root: &Path, patterns: &[String]) -> Self {
        let domain = components(root);
        let mut rules = Vec::new();
        read_patterns(&patterns.join("\n"), &domain, &mut rules);
        Self { patterns: rules }
    }

    /// Whether the absolute `path` is ignored: the last pattern that
    /// matches decides.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let parts = components(path);
        self.patterns
            .iter()
            .rev()
            .find_map(|p| p.decide(&parts, is_dir))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lines: &[&str]) -> Ignore {
        let domain = components(Path::new("/src"));
        let mut patterns = Vec::new();
        read_patterns(&lines.join("\n"), &domain, &mut patterns);
        Ignore { patterns }
    }

    fn ignored(rules: &Ignore, path: &str, is_dir: bool) -> bool {
        rules.is_ignored(Path::new(path), is_dir)
    }

    #[test]
    fn anchored_star_excludes_everything_below_and_negations_reinclude() {
        let r = rules(&["# all", "/*", "!configmap.yaml"]);
        assert!(ignored(&r, "/src/secret.yaml", false));
        assert!(ignored(&r, "/src/sub/svc.yaml", false));
        assert!(!ignored(&r, "/src/configmap.yaml", false));
        assert!(!ignored(&r, "/other/x.yaml", false));
    }

    #[test]
    fn names_match_any_component_and_dir_patterns_need_directories() {
        let r = rules(&["*.zip", "build/"]);
        assert!(ignored(&r, "/src/a/b.zip", false));
        assert!(ignored(&r, "/src/build/x.yaml", false));
        assert!(ignored(&r, "/src/build", true));
        assert!(!ignored(&r, "/src/build", false));
    }

    #[test]
    fn double_star_spans_directories() {
        let r = rules(&["**/.sops.yaml", "apps/**/test.yaml"]);
        assert!(ignored(&r, "/src/.sops.yaml", false));
        assert!(ignored(&r, "/src/a/b/.sops.yaml", false));
        assert!(ignored(&r, "/src/apps/x/y/test.yaml", false));
        assert!(!ignored(&r, "/src/other/test.yaml", false));
    }
}
