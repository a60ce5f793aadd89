//! flux-rs: a Rust re-implementation of the Flux v2 CLI.
