//! A real OCI registry (Debian's `docker-registry`, CNCF distribution) on
//! 127.0.0.1 with filesystem storage in a temporary directory, optionally
//! behind htpasswd basic auth.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    _dir: tempfile::TempDir,
    child: Child,
    /// `127.0.0.1:<port>`.
    pub host: String,
}

impl Registry {
    /// An open registry, or why it cannot run.
    pub fn start() -> Result<Self, String> {
        Self::start_with(None)
    }

    /// A registry that only accepts `user`/`password` (basic auth).
    pub fn start_with_auth(user: &str, password: &str) -> Result<Self, String> {
        Self::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Result<Self, String> {
        let binary = which("docker-registry")
            .ok_or("docker-registry is not installed (apt-get install docker-registry)")?;
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some((user, password)) = auth {
            let htpasswd = dir.path().join("htpasswd");
            write_htpasswd(&htpasswd, user, password)?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: flux-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("docker-registry: {e}"))?;
        let mut registry = Self {
            _dir: dir,
            child,
            host: format!("127.0.0.1:{port}"),
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    /// Until `GET /v2/` answers (200, or 401 behind auth).
    fn wait_ready(&mut self) -> Result<(), String> {
        use std::io::{Read, Write};
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("docker-registry exited: {status}"));
            }
            if let Ok(mut stream) = TcpStream::connect(&self.host) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!(
                    "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.host
                );
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && (answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 401"))
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("docker-registry did not answer on /v2/ within 20s".into())
    }

    /// `oci://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// A bcrypt entry written by Apache's `htpasswd -B`.
fn write_htpasswd(file: &Path, user: &str, password: &str) -> Result<(), String> {
    which("htpasswd").ok_or("htpasswd is not installed (apt-get install apache2-utils)")?;
    let output = Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .output()
        .map_err(|e| format!("htpasswd: {e}"))?;
    assert!(output.status.success(), "htpasswd failed");
    std::fs::write(file, output.stdout).unwrap();
    Ok(())
}
