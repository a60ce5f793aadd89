//! Pure renderers: options in, objects or YAML text out. No I/O here.

pub mod components;
pub mod create;
pub mod export;
pub mod install;
pub mod sync;
pub mod yaml;
