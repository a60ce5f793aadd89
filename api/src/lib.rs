//! Typed Flux v2 custom resources.
