//! Black-box tests: they run the built `flux` binary.

mod common;

mod completion;
mod errors;
mod generated;
mod install;
mod version;
