//! All console output goes through [`Printer`]: data to stdout, one status
//! line per event to stderr with the upstream CLI's symbols. On a terminal
//! the line of the step in progress (► and ◎) spins until the next line.

pub mod progress;
pub mod table;

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// Status symbols, byte for byte as the upstream CLI prints them; scripts match on them.
pub mod symbol {
    pub const ACTION: &str = "►";
    pub const GENERATE: &str = "✚";
    pub const WAITING: &str = "◎";
    pub const SUCCESS: &str = "✔";
    pub const WARNING: &str = "⚠️";
    pub const FAILURE: &str = "✗";
}

type Sink = Arc<Mutex<dyn Write + Send>>;

/// Writes data to stdout and status lines to stderr. Cheap to clone, so
/// concurrent tasks can report through the same printer.
#[derive(Clone)]
pub struct Printer {
    out: Sink,
    err: Sink,
    interactive: bool,
}

/// What a test printer captured.
#[derive(Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().expect("capture lock")).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().expect("capture lock")).into_owned()
    }
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Printer {
    /// The process printer. Whether stderr is a terminal is decided here,
    /// once: in CI (not a terminal, or `CI` set) and on a dumb terminal
    /// output stays plain lines.
    pub fn stdio() -> Self {
        let interactive = io::stderr().is_terminal()
            && std::env::var_os(crate::env::CI).is_none()
            && std::env::var_os(crate::env::TERM).is_none_or(|term| term != "dumb");
        Self {
            out: Arc::new(Mutex::new(io::stdout())),
            err: Arc::new(Mutex::new(io::stderr())),
            interactive,
        }
    }

    /// A printer writing into memory, for tests.
    pub fn capture() -> (Self, Captured) {
        let captured = Captured::default();
        let printer = Self {
            out: Arc::new(Mutex::new(SharedBuf(captured.out.clone()))),
            err: Arc::new(Mutex::new(SharedBuf(captured.err.clone()))),
            interactive: false,
        };
        (printer, captured)
    }

    /// Whether progress may be animated (stderr is a terminal and not CI).
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// Writes data to stdout as is.
    pub fn out(&self, data: &str) -> io::Result<()> {
        let write = || {
            let mut out = self.out.lock().expect("stdout lock");
            out.write_all(data.as_bytes())?;
            out.flush()
        };
        if self.interactive {
            progress::suspend(write)
        } else {
            write()
        }
    }

    /// A step that takes a while: a spinner on a terminal, else a plain line.
    fn in_progress(&self, symbol: &str, message: &str) {
        if self.interactive {
            progress::start(symbol, message);
        } else {
            self.status(symbol, message);
        }
    }

    fn status(&self, symbol: &str, message: &str) {
        if self.interactive {
            progress::settle();
        }
        let mut err = self.err.lock().expect("stderr lock");
        // A closed stderr must not turn a successful command into a failure.
        let _ = writeln!(err, "{symbol} {message}");
        let _ = err.flush();
    }

    /// Writes lines without a symbol to stderr (an apply's change set, as
    /// upstream prints it), after the spinner's line they belong under.
    pub fn report(&self, text: &str) {
        if self.interactive {
            progress::settle();
        }
        let mut err = self.err.lock().expect("stderr lock");
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    pub fn action(&self, message: &str) {
        self.in_progress(symbol::ACTION, message);
    }

    pub fn generate(&self, message: &str) {
        self.status(symbol::GENERATE, message);
    }

    pub fn waiting(&self, message: &str) {
        self.in_progress(symbol::WAITING, message);
    }

    pub fn success(&self, message: &str) {
        self.status(symbol::SUCCESS, message);
    }

    pub fn warning(&self, message: &str) {
        self.status(symbol::WARNING, message);
    }

    pub fn failure(&self, message: &str) {
        self.status(symbol::FAILURE, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_status_lines_go_to_separate_streams() {
        let (printer, captured) = Printer::capture();
        printer.out("kind: List\n").unwrap();
        printer.action("applying");
        printer.success("done");
        printer.warning("careful");
        printer.failure("broken");
        printer.report("Deployment/x/y created\n");
        assert_eq!(captured.stdout(), "kind: List\n");
        assert_eq!(
            captured.stderr(),
            "► applying\n✔ done\n⚠️ careful\n✗ broken\nDeployment/x/y created\n"
        );
    }

    #[test]
    fn warning_symbol_carries_the_emoji_variation_selector() {
        assert_eq!(
            symbol::WARNING.as_bytes(),
            [0xe2, 0x9a, 0xa0, 0xef, 0xb8, 0x8f]
        );
    }
}
