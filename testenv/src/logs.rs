//! Pod log buffers, written by the simulated controllers and streamed by the `log` subresource.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::sync::broadcast;

#[derive(Debug, Clone)]
pub struct Line {
    pub namespace: String,
    pub pod: String,
    pub at: SystemTime,
    pub text: String,
}

/// Pod logs: what containers print, served by the `log` subresource of testenv's server.
#[derive(Debug)]
pub struct Logs {
    lines: Mutex<HashMap<(String, String), Vec<Line>>>,
    tx: broadcast::Sender<Line>,
}

/// Lines kept per pod; older ones are dropped like a rotated container log.
const KEEP: usize = 10_000;

impl Default for Logs {
    fn default() -> Self {
        Logs {
            lines: Mutex::new(HashMap::new()),
            tx: broadcast::channel(4096).0,
        }
    }
}

impl Logs {
    pub fn append(&self, namespace: &str, pod: &str, text: String) {
        let line = Line {
            namespace: namespace.into(),
            pod: pod.into(),
            at: SystemTime::now(),
            text,
        };
        let mut m = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let v = m.entry((namespace.into(), pod.into())).or_default();
        v.push(line.clone());
        if v.len() > KEEP {
            v.drain(..v.len() - KEEP);
        }
        // Sent under the lock so a follower that snapshots then subscribes misses nothing.
        let _ = self.tx.send(line);
    }

    /// The pod's lines so far and a receiver for the ones after.
    pub fn follow(&self, namespace: &str, pod: &str) -> (Vec<Line>, broadcast::Receiver<Line>) {
        let m = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.tx.subscribe();
        (
            m.get(&(namespace.to_string(), pod.to_string()))
                .cloned()
                .unwrap_or_default(),
            rx,
        )
    }
}
