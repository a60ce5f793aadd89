//! Command implementations. Each module has one async `run(ctx, args)`;
//! this file holds the only dispatch over [`Command`].

pub mod artifact;
pub mod bootstrap;
pub mod build;
pub mod check;
pub mod completion;
pub mod create;
pub mod debug;
pub mod delete;
pub mod diff;
pub mod envsubst;
pub mod events;
pub mod export;
pub mod get;
pub mod install;
pub mod install_flags;
pub mod logs;
pub mod migrate;
pub mod plugin;
pub mod reconcile;
pub mod stats;
pub mod suspend;
pub mod trace;
pub mod tree;
pub mod trigger;
pub mod uninstall;
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
    /// When `--timeout` runs out for the whole command.
    pub deadline: tokio::time::Instant,
}

impl Ctx {
    pub fn new(global: GlobalOptions, printer: Printer) -> Self {
        let kube = ClientFactory::new(global.connection.clone());
        let deadline = tokio::time::Instant::now() + global.timeout;
        Self {
            global,
            printer,
            kube,
            deadline,
        }
    }

    /// What is left of `--timeout`: waits use it so they end, with their
    /// own message, before the command's deadline does.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }
}

pub async fn dispatch(ctx: &Ctx, command: &Command) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Get(command) => get::run(ctx, command).await,
        Command::Reconcile(command) => reconcile::run(ctx, command).await,
        Command::Suspend(command) => suspend::suspend(ctx, &command.target).await,
        Command::Resume(command) => suspend::resume(ctx, &command.target).await,
        Command::Export(command) => export::run(ctx, command).await,
        Command::Delete(command) => delete::run(ctx, command).await,
        Command::Install(args) => install::run(ctx, args).await,
        Command::Uninstall(args) => uninstall::run(ctx, args).await,
        Command::Check(args) => check::run(ctx, args).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Events(args) => events::run(ctx, args).await,
        Command::Version(args) => version::run(ctx, args).await,
        Command::Completion(args) => completion::run(ctx, args).await,
        Command::Create(args) => create::run(ctx, args).await,
        Command::Bootstrap(command) => bootstrap::run(ctx, command).await,
        Command::Debug(command) => debug::run(ctx, command).await,
        Command::Stats(args) => stats::run(ctx, args).await,
        Command::Tree(command) => tree::run(ctx, command).await,
        Command::Trace(args) => trace::run(ctx, args).await,
        Command::Envsubst(args) => envsubst::run(ctx, args).await,
        Command::Build(command) => build::run(ctx, command).await,
        Command::Diff(command) => diff::run(ctx, command).await,
        Command::Trigger(command) => trigger::run(ctx, command).await,
        Command::Migrate(args) => migrate::run(ctx, args).await,
        Command::Plugin(command) => plugin::run(ctx, command).await,
        Command::Push(command) => {
            let crate::cli::PushKind::Artifact(args) = &command.kind;
            artifact::push(ctx, args).await
        }
        Command::Pull(command) => {
            let crate::cli::PullKind::Artifact(args) = &command.kind;
            artifact::pull(ctx, args).await
        }
        Command::Tag(command) => {
            let crate::cli::TagKind::Artifact(args) = &command.kind;
            artifact::tag(ctx, args).await
        }
        Command::List(command) => {
            let crate::cli::ListKind::Artifacts(args) = &command.kind;
            artifact::list(ctx, args).await
        }
    }
}
