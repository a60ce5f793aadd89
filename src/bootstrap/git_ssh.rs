//! Git over SSH for the CLI's own clone and push.
//!
//! libgit2's built-in SSH transport picks the host key algorithms itself, so
//! it cannot honour `--ssh-hostkey-algos`. This module registers a smart
//! subtransport for `ssh://` (and the `user@host:path` form) backed by
//! russh instead: it offers the configured host key algorithms, checks the
//! server's key against the scanned known_hosts, authenticates with the
//! private key, and runs `git-upload-pack` / `git-receive-pack` over a
//! session channel.
//!
//! libgit2 calls are blocking, and bootstrap makes them from async code, so
//! every connection runs on its own thread with its own single-threaded
//! tokio runtime; the stream handed to libgit2 talks to it through channels.
//! The settings of an operation (key, known_hosts, algorithms) reach the
//! transport through [`activate`], scoped to the calling thread: libgit2
//! creates transports and streams on the thread that started the operation.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use git2::transport::{Service, SmartSubtransport};
use russh::client::{Handle, Handler};

use super::git::{ActionStream, Scoped, register_transport};
use russh::keys::ssh_key::known_hosts::KnownHosts;
use russh::keys::{
    Algorithm, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate,
};
use russh::{AlgorithmKind, ChannelMsg, Disconnect, Preferred};

/// How long connecting, the handshake and authentication may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server may take to end the command once libgit2 is done
/// with the stream.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Most bytes of the remote command's stderr kept for error messages.
const STDERR_LIMIT: usize = 4096;

/// The host key algorithm names `--ssh-hostkey-algos` accepts: those the
/// SSH client implements, in its default order of preference.
pub fn supported_host_key_algorithms() -> Vec<String> {
    Preferred::DEFAULT
        .key
        .iter()
        .map(|a| a.as_str().to_string())
        .collect()
}

/// Parses `--ssh-hostkey-algos` values, keeping their order. Empty names
/// are skipped; an unknown name is an error that lists the supported ones.
pub fn parse_host_key_algorithms(names: &[String]) -> Result<Vec<Algorithm>, String> {
    let supported = supported_host_key_algorithms();
    let mut algorithms = Vec::new();
    let mut unknown = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match supported.iter().position(|s| s == name) {
            Some(index) => {
                let algorithm = Preferred::DEFAULT.key[index].clone();
                if !algorithms.contains(&algorithm) {
                    algorithms.push(algorithm);
                }
            }
            None => unknown.push(format!("{name:?}")),
        }
    }
    if unknown.is_empty() {
        Ok(algorithms)
    } else {
        Err(format!(
            "unsupported SSH host key algorithm {} in --ssh-hostkey-algos; supported: {}",
            unknown.join(", "),
            supported.join(", ")
        ))
    }
}

/// What an SSH connection of one Git operation uses.
pub struct SshSettings {
    /// Login name when the URL has none.
    username: String,
    key: Arc<PrivateKey>,
    /// Keys the server may present (known_hosts lines; host names are not
    /// compared, the lines were scanned for this server).
    known_hosts: Vec<PublicKey>,
    /// Host key algorithms offered, most preferred first; empty for the
    /// client's defaults.
    host_key_algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for SshSettings {
    // The private key never reaches logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSettings")
            .field("username", &self.username)
            .field("known_hosts", &self.known_hosts.len())
            .field("host_key_algorithms", &self.host_key_algorithms)
            .finish_non_exhaustive()
    }
}

impl SshSettings {
    /// Reads the private key (OpenSSH, PKCS#8, PKCS#1 or SEC1 PEM, with
    /// `passphrase` when it is encrypted) and the known_hosts text.
    pub fn new(
        username: &str,
        private_key: &str,
        passphrase: Option<&str>,
        known_hosts: &str,
        host_key_algorithms: &[Algorithm],
    ) -> Result<Self, String> {
        let key = decode_private_key(private_key, passphrase)?;
        Ok(Self {
            username: username.to_string(),
            key: Arc::new(key),
            known_hosts: parse_known_hosts(known_hosts),
            host_key_algorithms: host_key_algorithms.to_vec(),
        })
    }
}

fn decode_private_key(text: &str, passphrase: Option<&str>) -> Result<PrivateKey, String> {
    let passphrase = passphrase.filter(|p| !p.is_empty());
    match russh::keys::decode_secret_key(text, passphrase) {
        Ok(key) => Ok(key),
        Err(first) => {
            // russh reads SEC1 (`EC PRIVATE KEY`) as PKCS#8; re-encode.
            crate::secret::pkcs8_private_key_pem(text)
                .ok()
                .and_then(|pem| russh::keys::decode_secret_key(&pem, None).ok())
                .ok_or_else(|| match first {
                    russh::keys::Error::KeyIsEncrypted => "unable to read the SSH private key: it is passphrase protected; pass the passphrase with --password".to_string(),
                    e => format!("unable to read the SSH private key: {e}"),
                })
        }
    }
}

/// The host keys of known_hosts lines (`hosts type base64 [comment]`).
/// Unreadable lines are skipped, and so are marked ones: a
/// `@cert-authority` key is not a host key, a `@revoked` one is refused.
fn parse_known_hosts(text: &str) -> Vec<PublicKey> {
    KnownHosts::new(text)
        .filter_map(Result::ok)
        .filter(|entry| entry.marker().is_none())
        .map(|entry| entry.public_key().clone())
        .collect()
}

thread_local! {
    static ACTIVE: RefCell<Option<Arc<SshSettings>>> = const { RefCell::new(None) };
}

/// Makes `settings` the SSH settings of the Git operations this thread runs
/// until the returned guard drops (none: SSH URLs fail with a clear error).
/// Registers the transport first.
pub fn activate(settings: Option<Arc<SshSettings>>) -> Result<Scoped<Arc<SshSettings>>, String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_transport(&["ssh", "ssh+git", "git+ssh"], false, Subtransport::new)
        })
        .clone()?;
    Ok(Scoped::set(&ACTIVE, settings))
}

struct Subtransport {
    settings: Option<Arc<SshSettings>>,
}

impl Subtransport {
    fn new() -> Result<Self, git2::Error> {
        Ok(Self {
            settings: ACTIVE.with_borrow(Clone::clone),
        })
    }
}

impl SmartSubtransport for Subtransport {
    fn action(&self, url: &str, action: Service) -> ActionStream {
        let settings = self.settings.clone().ok_or_else(|| {
            git_error(format!(
                "no SSH private key is configured for {url}: pass --private-key-file"
            ))
        })?;
        let target = Target::parse(url).map_err(git_error)?;
        let program = match action {
            Service::UploadPackLs | Service::UploadPack => "git-upload-pack",
            Service::ReceivePackLs | Service::ReceivePack => "git-receive-pack",
        };
        let stream = SshStream::open(settings, target, program).map_err(git_error)?;
        Ok(Box::new(stream))
    }

    fn close(&self) -> Result<(), git2::Error> {
        // The stream owns the connection; libgit2 frees it before closing.
        Ok(())
    }
}

fn git_error(message: String) -> git2::Error {
    super::git::transport_error(git2::ErrorClass::Ssh, message)
}

/// Where an SSH Git URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    user: Option<String>,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    /// `ssh://[user@]host[:port]/path` (also `ssh+git://`, `git+ssh://`) or
    /// `[user@]host:path`.
    fn parse(url: &str) -> Result<Self, String> {
        let invalid = |why: &str| format!("invalid SSH URL {url:?}: {why}");
        if let Some((scheme, _)) = url.split_once("://") {
            if !matches!(
                scheme.to_ascii_lowercase().as_str(),
                "ssh" | "ssh+git" | "git+ssh"
            ) {
                return Err(invalid("not an SSH URL"));
            }
            let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
            let host = parsed
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| invalid("no host"))?;
            let mut path = percent_decode(parsed.path());
            // `ssh://host/~user/repo` is relative to that user's home.
            if path.starts_with("/~") {
                path.remove(0);
            }
            if path.is_empty() || path == "/" {
                return Err(invalid("no repository path"));
            }
            Ok(Self {
                user: Some(percent_decode(parsed.username())).filter(|u| !u.is_empty()),
                host: host.trim_matches(['[', ']']).to_string(),
                port: parsed.port().unwrap_or(22),
                path,
            })
        } else {
            let (user, rest) = match url.split_once('@') {
                Some((user, rest)) if !user.contains('/') && !user.contains(':') => {
                    (Some(user.to_string()), rest)
                }
                _ => (None, url),
            };
            let (host, path) = if let Some(bracketed) = rest.strip_prefix('[') {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| invalid("unclosed '['"))?;
                let path = after.strip_prefix(':').ok_or_else(|| invalid("no path"))?;
                (host, path)
            } else {
                rest.split_once(':').ok_or_else(|| invalid("no path"))?
            };
            if host.is_empty() || path.is_empty() {
                return Err(invalid("no host or path"));
            }
            Ok(Self {
                user: user.filter(|u| !u.is_empty()),
                host: host.to_string(),
                port: 22,
                path: path.to_string(),
            })
        }
    }

    /// `host:port`, bracketed for IPv6.
    fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A URL part with its `%XX` escapes decoded; an invalid escape stays as
/// it is.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// `'text'` for a POSIX shell (the server runs the command through one).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What the connection thread hands to the stream.
enum Incoming {
    Data(Vec<u8>),
    Failed(String),
}

/// The blocking stream libgit2 reads and writes; the SSH session runs on
/// its own thread.
struct SshStream {
    incoming: mpsc::Receiver<Incoming>,
    outgoing: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    pending: Vec<u8>,
    offset: usize,
    failure: Arc<Mutex<Option<String>>>,
    address: String,
}

impl SshStream {
    /// Connects, authenticates and starts `program` on the repository; the
    /// error is the reason it could not.
    fn open(settings: Arc<SshSettings>, target: Target, program: &str) -> Result<Self, String> {
        let command = format!("{program} {}", shell_quote(&target.path));
        let address = target.address();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (incoming_tx, incoming) = mpsc::channel();
        let (outgoing, outgoing_rx) = tokio::sync::mpsc::unbounded_channel();
        let failure = Arc::new(Mutex::new(None));
        let connection = Connection {
            settings,
            target,
            command,
            incoming: incoming_tx,
            failure: failure.clone(),
        };
        std::thread::Builder::new()
            .name("git-ssh".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(connection.run(ready_tx, outgoing_rx)),
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("unable to start the SSH client: {e}")));
                    }
                }
            })
            .map_err(|e| format!("unable to start the SSH client: {e}"))?;
        match receive(&ready_rx, &address) {
            Ok(Ok(())) => Ok(Self {
                incoming,
                outgoing,
                pending: Vec::new(),
                offset: 0,
                failure,
                address,
            }),
            Ok(Err(reason)) => Err(reason),
            Err(Received::GaveUp(reason)) => Err(reason),
            Err(Received::Closed) => {
                Err(format!("the SSH client for {address} stopped unexpectedly"))
            }
        }
    }

    fn closed(&self) -> io::Error {
        let reason = self
            .failure
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_else(|| format!("the SSH connection to {} was closed", self.address));
        io::Error::new(io::ErrorKind::BrokenPipe, reason)
    }
}

/// Why [`receive`] returned nothing.
enum Received {
    /// The sending side is gone.
    Closed,
    /// The operation's deadline passed or its caller stopped waiting.
    GaveUp(String),
}

/// How often a wait for the connection thread looks at the operation's
/// limits.
const LIMIT_POLL: Duration = Duration::from_millis(100);

/// Waits for the connection thread's next message, giving up when the
/// operation running on this thread (see [`super::git::off_runtime`]) is
/// out of time or abandoned.
fn receive<T>(from: &mpsc::Receiver<T>, address: &str) -> Result<T, Received> {
    let limits = super::git::Limits::current();
    loop {
        let wait = limits
            .as_ref()
            .map_or(LIMIT_POLL, |l| l.remaining().min(LIMIT_POLL));
        match from.recv_timeout(wait) {
            Ok(message) => return Ok(message),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Received::Closed),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if limits.as_ref().is_some_and(|l| l.expired()) {
                    return Err(Received::GaveUp(format!(
                        "the SSH server {address} did not answer in time"
                    )));
                }
            }
        }
    }
}

impl Read for SshStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.offset >= self.pending.len() {
            match receive(&self.incoming, &self.address) {
                Ok(Incoming::Data(data)) => {
                    self.pending = data;
                    self.offset = 0;
                }
                Ok(Incoming::Failed(reason)) => return Err(io::Error::other(reason)),
                Err(Received::GaveUp(reason)) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, reason));
                }
                // The connection thread is done: end of stream.
                Err(Received::Closed) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.offset);
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

impl Write for SshStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing
            .send(buf.to_vec())
            .map_err(|_| self.closed())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One SSH connection running one Git command, on its own thread.
struct Connection {
    settings: Arc<SshSettings>,
    target: Target,
    command: String,
    incoming: mpsc::Sender<Incoming>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Connection {
    async fn run(
        self,
        ready: mpsc::SyncSender<Result<(), String>>,
        mut outgoing: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let address = self.target.address();
        let (handle, channel, early) = match self.start().await {
            Ok(started) => started,
            Err(reason) => {
                let _ = ready.send(Err(reason));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let (mut read_half, write_half) = channel.split();
        let failure = self.failure.clone();
        let writer = async {
            while let Some(data) = outgoing.recv().await {
                if let Err(e) = write_half.data(&data[..]).await {
                    if let Ok(mut slot) = failure.lock() {
                        slot.get_or_insert(format!(
                            "unable to send to the SSH server {address}: {e}"
                        ));
                    }
                    return;
                }
            }
            // libgit2 is done with the stream.
            let _ = write_half.eof().await;
            tokio::time::sleep(CLOSE_GRACE).await;
        };
        let reader = async {
            let mut output = CommandOutput::default();
            for message in early {
                output.take(message, &self.incoming);
            }
            let mut closed = false;
            while let Some(message) = read_half.wait().await {
                if matches!(message, ChannelMsg::Close) {
                    closed = true;
                    break;
                }
                output.take(message, &self.incoming);
            }
            if let Some(reason) = output.failure(&self.command, &address, closed) {
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert(reason.clone());
                }
                let _ = self.incoming.send(Incoming::Failed(reason));
            }
        };
        tokio::select! {
            _ = reader => {}
            _ = writer => {}
        }
        let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }

    /// Connects, checks the host key, authenticates and starts the command.
    /// Returns the messages that arrived before the server confirmed it.
    async fn start(
        &self,
    ) -> Result<
        (
            Handle<HostKeyCheck>,
            russh::Channel<russh::client::Msg>,
            Vec<ChannelMsg>,
        ),
        String,
    > {
        let settings = &self.settings;
        let address = self.target.address();
        let mut config = russh::client::Config {
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 4,
            ..Default::default()
        };
        if !settings.host_key_algorithms.is_empty() {
            config.preferred.key = Cow::Owned(settings.host_key_algorithms.clone());
        }
        let rejected = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            known: settings.known_hosts.clone(),
            rejected: rejected.clone(),
        };
        let setup = async {
            let connect = russh::client::connect(
                Arc::new(config),
                (self.target.host.as_str(), self.target.port),
                check,
            );
            let mut handle = connect.await.map_err(|e| {
                let presented = rejected.lock().ok().and_then(|mut r| r.take());
                self.connect_error(e, presented)
            })?;
            let user = self
                .target
                .user
                .clone()
                .unwrap_or_else(|| settings.username.clone());
            let hash = if settings.key.algorithm().is_rsa() {
                handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| format!("SSH handshake with {address} failed: {e}"))?
                    .flatten()
            } else {
                None
            };
            let auth = handle
                .authenticate_publickey(
                    user.clone(),
                    PrivateKeyWithHashAlg::new(settings.key.clone(), hash),
                )
                .await
                .map_err(|e| format!("SSH authentication with {address} failed: {e}"))?;
            if !auth.success() {
                return Err(format!(
                    "the SSH server {address} refused the private key for user {user:?}: give the key access to the repository (e.g. as a deploy key with write access), or check the user name"
                ));
            }
            let mut channel = handle
                .channel_open_session()
                .await
                .map_err(|e| format!("unable to open an SSH session on {address}: {e}"))?;
            channel
                .exec(true, self.command.as_str())
                .await
                .map_err(|e| format!("unable to run {} on {address}: {e}", self.command))?;
            let mut early = Vec::new();
            loop {
                match channel.wait().await {
                    Some(ChannelMsg::Success) => break,
                    Some(ChannelMsg::Failure) | None => {
                        return Err(format!(
                            "the SSH server {address} refused to run {}",
                            self.command
                        ));
                    }
                    Some(message) => early.push(message),
                }
            }
            Ok((handle, channel, early))
        };
        tokio::time::timeout(CONNECT_TIMEOUT, setup)
            .await
            .map_err(|_| {
                format!(
                    "timed out after {}s connecting to the SSH server {address}",
                    CONNECT_TIMEOUT.as_secs()
                )
            })?
    }

    fn connect_error(&self, error: russh::Error, presented: Option<String>) -> String {
        let address = self.target.address();
        let offered = if self.settings.host_key_algorithms.is_empty() {
            "the SSH client's host key algorithms".to_string()
        } else {
            format!(
                "--ssh-hostkey-algos {}",
                self.settings
                    .host_key_algorithms
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        match error {
            russh::Error::UnknownKey => {
                let known: Vec<String> = self
                    .settings
                    .known_hosts
                    .iter()
                    .map(|k| k.algorithm().as_str().to_string())
                    .collect();
                format!(
                    "the SSH host key of {address} ({}) does not match the scanned known_hosts ({}); if the server has several host keys, put the type of the scanned one first in --ssh-hostkey-algos",
                    presented.unwrap_or_else(|| "unknown".into()),
                    if known.is_empty() {
                        "no keys".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
            russh::Error::NoCommonAlgo {
                kind: AlgorithmKind::Key,
                theirs,
                ..
            } => format!(
                "no common host key algorithm with the SSH server {address}: {offered} offered, the server supports {}; pass --ssh-hostkey-algos with one of the server's",
                theirs.join(",")
            ),
            russh::Error::NoCommonAlgo { kind, theirs, .. } => format!(
                "no common {} algorithm with the SSH server {address} (the server supports {})",
                format!("{kind:?}").to_lowercase(),
                theirs.join(",")
            ),
            russh::Error::IO(e) => format!("unable to connect to the SSH server {address}: {e}"),
            e => format!("SSH handshake with {address} failed: {e}"),
        }
    }
}

/// What the remote command said besides its output.
#[derive(Default)]
struct CommandOutput {
    stderr: Vec<u8>,
    exit_status: Option<u32>,
    signal: Option<String>,
}

impl CommandOutput {
    fn take(&mut self, message: ChannelMsg, incoming: &mpsc::Sender<Incoming>) {
        match message {
            ChannelMsg::Data { data } => {
                // The stream may be gone already; the rest is discarded.
                let _ = incoming.send(Incoming::Data(data.to_vec()));
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                let room = STDERR_LIMIT.saturating_sub(self.stderr.len());
                self.stderr.extend_from_slice(&data[..data.len().min(room)]);
            }
            ChannelMsg::ExitStatus { exit_status } => self.exit_status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                self.signal = Some(format!("{signal_name:?}"));
            }
            _ => {}
        }
    }

    /// Why the command failed, if it did.
    fn failure(&self, command: &str, address: &str, closed: bool) -> Option<String> {
        let stderr = String::from_utf8_lossy(&self.stderr);
        let stderr = stderr.trim();
        let detail = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        if let Some(signal) = &self.signal {
            return Some(format!(
                "{command} on {address} was killed by signal {signal}{detail}"
            ));
        }
        match self.exit_status {
            Some(0) => None,
            Some(status) => Some(format!(
                "{command} on {address} failed with exit status {status}{detail}"
            )),
            None if !closed => Some(format!("the SSH connection to {address} was lost{detail}")),
            None => None,
        }
    }
}

/// Accepts the server only with a key listed in known_hosts.
struct HostKeyCheck {
    known: Vec<PublicKey>,
    /// The rejected key's type and fingerprint, for the error message.
    rejected: Arc<Mutex<Option<String>>>,
}

impl Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let presented = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                if self.known.iter().any(|k| k.key_data() == key.key_data()) {
                    return Ok(true);
                }
                format!(
                    "{} {}",
                    key.algorithm().as_str(),
                    key.fingerprint(HashAlg::Sha256)
                )
            }
            PublicKeyOrCertificate::Certificate(_) => "a certificate".to_string(),
        };
        if let Ok(mut slot) = self.rejected.lock() {
            *slot = Some(presented);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn host_key_algorithms_keep_their_order() {
        let parsed = parse_host_key_algorithms(&names(&["rsa-sha2-512", "rsa-sha2-256"])).unwrap();
        assert_eq!(
            parsed,
            vec![
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512)
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256)
                }
            ]
        );
        let parsed =
            parse_host_key_algorithms(&names(&["ssh-ed25519", "", "ecdsa-sha2-nistp384"])).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].as_str(), "ssh-ed25519");
        assert_eq!(parsed[1].as_str(), "ecdsa-sha2-nistp384");
        assert!(parse_host_key_algorithms(&[]).unwrap().is_empty());
    }

    #[test]
    fn every_supported_name_parses_to_itself() {
        for name in supported_host_key_algorithms() {
            let parsed = parse_host_key_algorithms(std::slice::from_ref(&name)).unwrap();
            assert_eq!(parsed[0].as_str(), name);
        }
    }

    #[test]
    fn unknown_host_key_algorithms_are_listed_with_the_supported_ones() {
        let err =
            parse_host_key_algorithms(&names(&["rsa-sha2-512", "ssh-dss", "foo"])).unwrap_err();
        assert_eq!(
            err,
            "unsupported SSH host key algorithm \"ssh-dss\", \"foo\" in --ssh-hostkey-algos; supported: ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, rsa-sha2-512, rsa-sha2-256, ssh-rsa"
        );
    }

    #[test]
    fn ssh_urls_in_both_forms() {
        assert_eq!(
            Target::parse("ssh://git@example.com:2222/org/repo.git").unwrap(),
            Target {
                user: Some("git".into()),
                host: "example.com".into(),
                port: 2222,
                path: "/org/repo.git".into()
            }
        );
        assert_eq!(
            Target::parse("ssh://example.com/~me/fleet").unwrap(),
            Target {
                user: None,
                host: "example.com".into(),
                port: 22,
                path: "~me/fleet".into()
            }
        );
        assert_eq!(
            Target::parse("git+ssh://u@[::1]:7999/a%20b").unwrap(),
            Target {
                user: Some("u".into()),
                host: "::1".into(),
                port: 7999,
                path: "/a b".into()
            }
        );
        assert_eq!(
            Target::parse("git@github.com:org/repo.git").unwrap(),
            Target {
                user: Some("git".into()),
                host: "github.com".into(),
                port: 22,
                path: "org/repo.git".into()
            }
        );
        assert_eq!(
            Target::parse("[::1]:/srv/repo").unwrap().address(),
            "[::1]:22"
        );
        assert!(Target::parse("https://example.com/repo").is_err());
        assert!(Target::parse("ssh://example.com").is_err());
        assert!(Target::parse("example.com").is_err());
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/srv/it's.git"), r"'/srv/it'\''s.git'");
    }

    #[test]
    fn known_hosts_lines_give_their_keys() {
        let key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap();
        let line = key.public_key().to_openssh().unwrap();
        let other =
            ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
                .unwrap();
        let marked = other.public_key().to_openssh().unwrap();
        let text = format!(
            "# comment\n\n[127.0.0.1]:2222 {line}\n@revoked host {marked}\n@cert-authority * {marked}\nbroken\n"
        );
        let keys = parse_known_hosts(&text);
        assert_eq!(keys.len(), 1);
        assert_eq!(&keys[0].to_openssh().unwrap(), &line);
    }

    #[test]
    fn settings_never_show_the_key() {
        let key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap();
        let pem = key.to_openssh(ssh_key::LineEnding::LF).unwrap();
        let settings = SshSettings::new("git", &pem, None, "", &[]).unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
        assert!(debug.contains("git"), "{debug}");
    }

    #[test]
    fn pem_keys_of_every_form_are_read() {
        let generated = crate::secret::generate_keypair(crate::secret::KeySpec {
            algorithm: crate::secret::KeyAlgorithm::Ecdsa,
            rsa_bits: 2048,
            curve: crate::secret::EcdsaCurve::P384,
        })
        .unwrap();
        assert!(decode_private_key(&generated.private_key, None).is_ok());
        let sec1 = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = sec1.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
        assert!(decode_private_key(&pem, None).is_ok());
        let err = decode_private_key("not a key", None).unwrap_err();
        assert!(
            err.starts_with("unable to read the SSH private key"),
            "{err}"
        );
    }

    /// An SSH server on 127.0.0.1 that refuses every login; returns the
    /// runtime serving it and its port.
    fn refusing_server(host_key: &PrivateKey) -> (tokio::runtime::Runtime, u16) {
        struct Refuse;
        impl russh::server::Handler for Refuse {
            type Error = russh::Error;
        }
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Arc::new(russh::server::Config {
            keys: vec![host_key.clone()],
            ..Default::default()
        });
        runtime.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let config = config.clone();
                tokio::spawn(async move {
                    if let Ok(session) = russh::server::run_stream(config, socket, Refuse).await {
                        let _ = session.await;
                    }
                });
            }
        });
        (runtime, port)
    }

    fn random_key() -> PrivateKey {
        let key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap();
        PrivateKey::from_openssh(key.to_openssh(ssh_key::LineEnding::LF).unwrap().as_bytes())
            .unwrap()
    }

    fn settings_for(known: &PrivateKey, algorithms: &[Algorithm]) -> Arc<SshSettings> {
        let client = random_key();
        let pem = client.to_openssh(ssh_key::LineEnding::LF).unwrap();
        let line = format!(
            "[127.0.0.1]:22 {}",
            known.public_key().to_openssh().unwrap()
        );
        Arc::new(SshSettings::new("git", &pem, None, &line, algorithms).unwrap())
    }

    fn open(settings: Arc<SshSettings>, port: u16) -> String {
        let target = Target::parse(&format!("ssh://git@127.0.0.1:{port}/repo.git")).unwrap();
        match SshStream::open(settings, target, "git-upload-pack") {
            Ok(_) => panic!("the connection should fail"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_refused_key_says_so() {
        let host = random_key();
        let (_server, port) = refusing_server(&host);
        let err = open(settings_for(&host, &[]), port);
        assert!(
            err.starts_with(&format!(
                "the SSH server 127.0.0.1:{port} refused the private key for user \"git\""
            )),
            "{err}"
        );
    }

    #[test]
    fn a_host_key_not_in_known_hosts_is_refused() {
        let host = random_key();
        let (_server, port) = refusing_server(&host);
        let err = open(settings_for(&random_key(), &[]), port);
        let fingerprint = host.public_key().fingerprint(HashAlg::Sha256);
        assert!(
            err.starts_with(&format!(
                "the SSH host key of 127.0.0.1:{port} (ssh-ed25519 {fingerprint}) does not match the scanned known_hosts (ssh-ed25519)"
            )),
            "{err}"
        );
    }

    #[test]
    fn no_common_host_key_algorithm_names_both_sides() {
        let host = random_key();
        let (_server, port) = refusing_server(&host);
        let rsa = parse_host_key_algorithms(&names(&["rsa-sha2-256"])).unwrap();
        let err = open(settings_for(&host, &rsa), port);
        assert_eq!(
            err,
            format!(
                "no common host key algorithm with the SSH server 127.0.0.1:{port}: --ssh-hostkey-algos rsa-sha2-256 offered, the server supports ssh-ed25519; pass --ssh-hostkey-algos with one of the server's"
            )
        );
    }

    #[test]
    fn a_closed_port_is_a_connection_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = open(settings_for(&random_key(), &[]), port);
        assert!(
            err.starts_with(&format!(
                "unable to connect to the SSH server 127.0.0.1:{port}: "
            )),
            "{err}"
        );
    }
}
