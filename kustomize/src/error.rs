//! Build errors. Each names the file (and the line for YAML errors) and says
//! what to change.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: invalid YAML: {message}")]
    Yaml {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{dir}: no kustomization file found (expected one of kustomization.yaml, kustomization.yml, Kustomization)"
    )]
    NoKustomization { dir: PathBuf },
    #[error("{dir}: found more than one kustomization file ({found}); keep only one")]
    ManyKustomizations { dir: PathBuf, found: String },
    #[error("{path}: invalid kustomization: {message}")]
    Kustomization { path: PathBuf, message: String },
    #[error("{path}: field `{field}` is not supported by kustomize-rs (value: {value})")]
    Unsupported {
        path: PathBuf,
        field: String,
        value: String,
    },
    #[error(
        "{path}: security; file '{file}' is not in or below '{root}'; move it under the kustomization's directory"
    )]
    OutsideRoot {
        path: PathBuf,
        file: PathBuf,
        root: PathBuf,
    },
    #[error(
        "{path}: cycle detected: '{dir}' is already being built; remove the circular reference"
    )]
    Cycle { path: PathBuf, dir: PathBuf },
    #[error("{path}: resource '{resource}' not found: no file or directory of that name")]
    MissingResource { path: PathBuf, resource: String },
    #[error("{path}: {message}")]
    Resource { path: PathBuf, message: String },
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
