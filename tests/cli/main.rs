//! Black-box tests: they run the built `flux` binary.

mod common;

mod apply;
mod bootstrap;
mod bootstrap_bitbucket;
mod bootstrap_github;
mod bootstrap_gitlab;
mod bootstrap_http;
mod bootstrap_signing;
mod bootstrap_ssh;
mod check;
mod completion;
mod create_errors;
mod create_live;
mod create_objects;
mod create_secret;
mod create_source;
mod e2e;
mod errors;
mod events;
mod exec_plugins;
mod export;
mod faults;
mod fuzz;
mod generated;
mod get;
mod inputs;
mod install;
mod install_live;
mod kubeconfig;
mod lifecycle;
mod logs;
mod terminal;
mod uninstall;
mod version;
