//! Command implementations. Each module has one async `run(ctx, args)`;
//! this file holds the only dispatch over [`Command`].

pub mod completion;
pub mod install;
pub mod version;

use crate::cli::Command;
use crate::cluster::ClientFactory;
use crate::error::ExitStatus;
use crate::output::Printer;
use crate::settings::GlobalOptions;

/// What every command gets: resolved global options, the printer and a lazy
/// Kubernetes client.
pub struct Ctx {
    pub global: GlobalOptions,
    pub printer: Printer,
    pub kube: ClientFactory,
}

impl Ctx {
    pub fn new(global: GlobalOptions, printer: Printer) -> Self {
        let kube = ClientFactory::new(global.connection.clone());
        Self {
            global,
            printer,
            kube,
        }
    }
}

pub async fn dispatch(ctx: &Ctx, command: &Command) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Install(args) => install::run(ctx, args).await,
        Command::Version(args) => version::run(ctx, args).await,
        Command::Completion(args) => completion::run(ctx, args).await,
    }
}
