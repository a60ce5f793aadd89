//! A recording fake of a provider's JSON API on 127.0.0.1: every request
//! is kept (method, path, headers, body) and answered by a route function.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The request target without the API prefix (query included).
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl Call {
    /// The path without the query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// The value of `name` in the query, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let (_, query) = self.path.split_once('?')?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

type Route = dyn Fn(&Call) -> (u16, Value) + Send + Sync;

pub struct FakeApi {
    pub port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl FakeApi {
    /// Serves requests under `prefix` with `route`.
    pub fn start(
        prefix: &'static str,
        route: impl Fn(&Call) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let recorded = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (route, recorded) = (route.clone(), recorded.clone());
                std::thread::spawn(move || serve(prefix, &*route, &recorded, stream));
            }
        });
        Self { port, calls }
    }

    /// `http://127.0.0.1:<port>`, for `--hostname`.
    pub fn hostname(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// `METHOD path` of every request that is not a GET.
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|c| c.method != "GET")
            .map(|c| format!("{} {}", c.method, c.path))
            .collect()
    }
}

impl FakeApi {
    /// The paths of the requests after the first `since`, asserting that
    /// there is at least one and that all of them are GETs.
    pub fn reads_since(&self, since: usize) -> Vec<String> {
        let later = self.calls().split_off(since);
        assert!(!later.is_empty(), "no request at all");
        let writes: Vec<String> = later
            .iter()
            .filter(|c| c.method != "GET")
            .map(|c| format!("{} {}", c.method, c.path))
            .collect();
        assert!(writes.is_empty(), "writes: {writes:?}");
        later.into_iter().map(|c| c.path).collect()
    }
}

fn serve(prefix: &str, route: &Route, calls: &Mutex<Vec<Call>>, mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let call = Call {
        method,
        path: target.strip_prefix(prefix).unwrap_or(&target).to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    calls.lock().unwrap().push(call.clone());
    let (status, answer) = route(&call);
    let text = if answer.is_null() {
        String::new()
    } else {
        answer.to_string()
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}
