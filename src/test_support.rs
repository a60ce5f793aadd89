//! Helpers for the unit tests.

use std::path::PathBuf;

/// The shared reference data: `$FLUX_SHARED_DIR`, else `../shared` beside
/// the crate.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("FLUX_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}
