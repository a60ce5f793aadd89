//! A kustomize build engine that prints exactly what `kubectl kustomize`
//! (kustomize v5.6.0) prints.
//!
//! ```no_run
//! use kustomize::{DiskFs, build};
//! let out = build(&DiskFs, std::path::Path::new("deploy/overlay")).unwrap();
//! print!("{}", out.to_yaml());
//! ```

mod error;
mod fieldspec;
mod fs;
mod generators;
mod kustomization;
mod nameref;
mod patch;
mod replacement;
mod resource;
mod target;
mod transformers;
mod vars;
pub mod yaml;

pub use error::{Error, Result};
pub use fs::{DiskFs, FileSystem, MemFs};
pub use resource::{ResId, Resource, ResourceList};
pub use target::{BuildOptions, build, build_with};
