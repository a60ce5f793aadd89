use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::cli::EnvsubstArgs;
use crate::commands::Ctx;
use crate::envsubst::substitute;
use crate::error::ExitStatus;

/// Upstream reads stdin with Go's line scanner, whose buffer holds at most
/// 64 KiB (the line and its newline); at a longer line it stops silently.
const MAX_LINE: u64 = 64 * 1024;

pub async fn run(ctx: &Ctx, args: &EnvsubstArgs) -> anyhow::Result<ExitStatus> {
    let mut stdin = BufReader::new(tokio::io::stdin());
    let lookup =
        |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
    loop {
        let mut line = Vec::new();
        (&mut stdin)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .context("unable to read stdin")?;
        if line.is_empty() {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() as u64 == MAX_LINE && !stdin.fill_buf().await?.is_empty() {
            break;
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let mut out = substitute(&line, args.strict, &lookup)?;
        out.push(b'\n');
        ctx.printer
            .out(&String::from_utf8_lossy(&out))
            .context("unable to write to stdout")?;
    }
    Ok(ExitStatus::Success)
}
