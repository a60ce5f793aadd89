//! The status line of the step in progress, animated on a terminal.
//!
//! Only one step runs at a time, so there is at most one spinner. When the
//! next status line arrives the spinner is replaced by the plain line it
//! stands for: a terminal transcript reads exactly like CI output.

use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Braille frames, then the blank the finished bar would show.
const FRAMES: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ";
const TICK: Duration = Duration::from_millis(100);

struct Active {
    bar: ProgressBar,
    /// The plain status line the spinner stands for.
    line: String,
}

static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

fn active() -> MutexGuard<'static, Option<Active>> {
    // A panic elsewhere must not silence progress output.
    ACTIVE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Shows `message` behind a spinner on stderr, settling the previous one.
pub(super) fn start(symbol: &str, message: &str) {
    settle();
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .expect("the spinner template is valid")
            .tick_chars(FRAMES),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(TICK);
    *active() = Some(Active {
        bar,
        line: format!("{symbol} {message}"),
    });
}

/// Stops the spinner, if any, and leaves its plain line in its place. Call
/// before anything else writes to the terminal (prompts, the exit line).
pub fn settle() {
    if let Some(active) = active().take() {
        active.bar.finish_and_clear();
        let mut err = std::io::stderr().lock();
        // A closed stderr must not turn a successful command into a failure.
        let _ = writeln!(err, "{}", active.line);
        let _ = err.flush();
    }
}

/// Runs `write` with the spinner hidden, so stdout data is not drawn over.
pub(super) fn suspend<R>(write: impl FnOnce() -> R) -> R {
    match active().as_ref() {
        Some(active) => active.bar.suspend(write),
        None => write(),
    }
}
