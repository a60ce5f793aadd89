//! A real OCI registry (Debian's `docker-registry`, CNCF distribution) on
//! 127.0.0.1 with filesystem storage in a temporary directory, optionally
//! behind htpasswd basic auth and serving TLS with a certificate from a CA
//! made for the test.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    dir: tempfile::TempDir,
    child: Child,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// With TLS: the PEM file of the CA that signed the registry's
    /// certificate (for 127.0.0.1 and localhost).
    pub ca: Option<std::path::PathBuf>,
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

    /// A registry serving HTTPS only, with a certificate signed by a CA
    /// generated here (see `ca`), that only accepts `user`/`password`.
    pub fn start_tls_with_auth(user: &str, password: &str) -> Result<Self, String> {
        Self::start_with_tls(Some((user, password)), true)
    }

    fn start_with(auth: Option<(&str, &str)>) -> Result<Self, String> {
        Self::start_with_tls(auth, false)
    }

    fn start_with_tls(auth: Option<(&str, &str)>, tls: bool) -> Result<Self, String> {
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
        // Under `http:`, which the config ends with so far.
        let ca = if tls {
            let (ca, cert, key) = make_certificates(dir.path())?;
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            Some(ca)
        } else {
            None
        };
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
            dir,
            child,
            host: format!("127.0.0.1:{port}"),
            ca,
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    /// Until `GET /v2/` answers (200, or 401 behind auth; with TLS, the
    /// 400 Go's server gives a plain HTTP request).
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
                    && (answer.starts_with("HTTP/1.1 200")
                        || answer.starts_with("HTTP/1.1 401")
                        || (self.ca.is_some() && answer.starts_with("HTTP/1.0 400")))
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("docker-registry did not answer on /v2/ within 20s".into())
    }

    /// Every file the registry has stored (blobs, manifests, upload
    /// sessions), relative to its storage root.
    pub fn stored_files(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        let root = self.dir.path().join("storage");
        walk(&root, &root, &mut out);
        out
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

/// A CA and a server certificate it signs for 127.0.0.1 and localhost
/// (P-256 keys, two days), made with the `openssl` command: the CA's PEM
/// file, the server's certificate and key.
fn make_certificates(
    dir: &Path,
) -> Result<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf), String> {
    which("openssl").ok_or("openssl is not installed (apt-get install openssl)")?;
    let path = |name: &str| dir.join(name);
    std::fs::write(
        path("ca.cnf"),
        "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n[dn]\nCN = flux-rs test CA\n[v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n",
    )
    .unwrap();
    std::fs::write(
        path("server.ext"),
        "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\nauthorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| -> Result<(), String> {
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-config", "ca.cnf", "-days", "2"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(&ca)?;
    let mut csr = vec!["req", "-new", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&csr)?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ])?;
    Ok((path("ca.pem"), path("server.pem"), path("server.key")))
}
