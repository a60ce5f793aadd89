//! Real Git servers on 127.0.0.1 for bootstrap tests: testenv's smart-HTTP
//! server (`git http-backend` with basic auth or a bearer token), and
//! OpenSSH's sshd.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub use testenv::git_http::HttpGitServer;

/// OpenSSH's sshd on 127.0.0.1 serving the current user's Git repositories,
/// with a generated host key and one authorised client key.
pub struct SshGitServer {
    dir: tempfile::TempDir,
    child: std::process::Child,
    pub port: u16,
    pub user: String,
    host_key: PathBuf,
}

impl SshGitServer {
    /// Starts sshd with an ed25519 host key, or says why it cannot (sshd or
    /// ssh-keygen missing).
    pub fn start() -> Result<Self, String> {
        Self::start_with_host_key("ed25519", None)
    }

    /// [`Self::start`], or `None` after reporting the skip (a failure
    /// under CI).
    pub fn start_or_skip() -> Option<Self> {
        Self::start()
            .map_err(|reason| crate::common::skip(&reason))
            .ok()
    }

    /// Starts sshd with one host key of `key_type` (as `ssh-keygen -t`) and,
    /// when given, `HostKeyAlgorithms` limited to `algorithms`.
    pub fn start_with_host_key(key_type: &str, algorithms: Option<&str>) -> Result<Self, String> {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("sshd is not installed (apt-get install openssh-server)")?;
        let dir = tempfile::tempdir().unwrap();
        let host_key = dir.path().join(format!("host_{key_type}"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", key_type, "-N", "", "-f"])
            .arg(&host_key)
            .status()
            .map_err(|e| format!("ssh-keygen: {e}"))?;
        assert!(status.success());
        // sshd needs its privilege separation directory when run as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(dir.path().join("authorized_keys"), "").unwrap();
        let config = dir.path().join("sshd_config");
        let mut sshd_config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {dir}/authorized_keys\nPidFile {dir}/sshd.pid\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nLogLevel ERROR\n",
            host = host_key.display(),
            dir = dir.path().display()
        );
        if let Some(algorithms) = algorithms {
            sshd_config.push_str(&format!("HostKeyAlgorithms {algorithms}\n"));
        }
        std::fs::write(&config, sshd_config).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("sshd: {e}"))?;
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let server = Self {
            dir,
            child,
            port,
            user,
            host_key,
        };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("sshd did not start listening".into())
    }

    /// Lets `public_key` (an authorized_keys line) log in.
    pub fn authorize(&self, public_key: &str) {
        let path = self.dir.path().join("authorized_keys");
        let mut keys = std::fs::read_to_string(&path).unwrap();
        keys.push_str(public_key.trim());
        keys.push('\n');
        std::fs::write(path, keys).unwrap();
    }

    /// The server's host public key (`ssh-ed25519 AAAA...`).
    pub fn host_key(&self) -> String {
        let text = std::fs::read_to_string(self.host_key.with_extension("pub")).unwrap();
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A bare repository with HEAD `main`, and its ssh:// URL.
    pub fn create_repo(&self, name: &str) -> (PathBuf, String) {
        let path = self.dir.path().join(name);
        let repo = git2::Repository::init_bare(&path).unwrap();
        repo.set_head("refs/heads/main").unwrap();
        let url = format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        );
        (path, url)
    }

    /// A new client key pair in OpenSSH format: (private key path, public key line).
    /// The private key file is created with mode 0600, as ssh requires.
    pub fn client_key(&self) -> (PathBuf, String) {
        let path = self.dir.path().join("client_ecdsa");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-b", "384", "-N", "", "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        (path, public)
    }
}

impl Drop for SshGitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
