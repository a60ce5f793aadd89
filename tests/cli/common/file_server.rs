//! A loopback HTTP server that serves files by path: each path answers a
//! scripted list of responses (the last one repeats), unknown paths 404,
//! and every request is counted.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: format!("status {status}\n").into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Vec<Response>>,
    /// Requests seen per path.
    hits: HashMap<String, usize>,
}

pub struct FileServer {
    address: String,
    state: Arc<Mutex<State>>,
}

impl FileServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("address").to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || answer(stream, &state));
            }
        });
        Self { address, state }
    }

    /// The base URL, ending with `/` as the catalog variable needs.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Serves `body` at `/path` with 200.
    pub fn serve(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.script(path, vec![Response::ok(body)]);
    }

    /// Answers requests to `/path` with `responses` in turn.
    pub fn script(&self, path: &str, responses: Vec<Response>) {
        assert!(!responses.is_empty());
        let mut state = self.state.lock().unwrap();
        state.routes.insert(format!("/{path}"), responses);
    }

    /// How many requests `/path` got.
    pub fn hits(&self, path: &str) -> usize {
        let state = self.state.lock().unwrap();
        state.hits.get(&format!("/{path}")).copied().unwrap_or(0)
    }
}

fn answer(stream: std::net::TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let response = {
        let mut state = state.lock().unwrap();
        let seen = *state.hits.entry(path.clone()).or_insert(0);
        *state.hits.get_mut(&path).unwrap() += 1;
        match state.routes.get(&path) {
            Some(list) => list[seen.min(list.len() - 1)].clone(),
            None => Response::status(404),
        }
    };
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&response.body);
    let _ = stream.flush();
}
