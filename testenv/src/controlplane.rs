//! A real control plane on loopback, like controller-runtime's envtest: etcd, kube-apiserver and
//! kube-controller-manager built from their Go modules by `scripts/controlplane.sh build`.
//!
//! kube-apiserver authenticates bearer tokens from a static file (an admin in `system:masters`
//! and a restricted user with no rights but what RBAC grants it) and authorizes with RBAC. The
//! controller manager runs only the namespace, garbage-collector and service-account
//! controllers, so namespaces finish deleting and owner references are collected; there are no
//! nodes, so Pods never run. Every process is stopped when the [`ControlPlane`] is dropped, and
//! dies with the process that started it.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{kubeconfig, store::random_suffix, tls};

/// The binaries a control plane needs, in a directory.
const BINARIES: [&str; 3] = ["etcd", "kube-apiserver", "kube-controller-manager"];

/// The controllers kube-controller-manager runs: what a cluster with no nodes still needs.
const CONTROLLERS: &str = "namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller";

/// How long the API server gets to answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// How many times a start that met a port in use is made.
const PORT_ATTEMPTS: usize = 3;

/// What etcd and kube-apiserver log when a port is taken.
const PORT_IN_USE: &str = "address already in use";

/// The user RBAC grants nothing to, for tests of 403 answers.
pub const RESTRICTED_USER: &str = "flux-restricted";

/// Where the control-plane binaries are: `$FLUX_CONTROLPLANE_DIR`, or the cache directory
/// `scripts/controlplane.sh dir` names. An error says how to build them.
pub fn binaries_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("FLUX_CONTROLPLANE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/controlplane.sh");
            let out = Command::new("bash")
                .arg(&script)
                .arg("dir")
                .stderr(Stdio::inherit())
                .output()
                .with_context(|| format!("running {} dir", script.display()))?;
            if !out.status.success() {
                bail!("{} dir failed", script.display());
            }
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    let missing: Vec<&str> = BINARIES
        .into_iter()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} not found in {}: build the control plane with `scripts/controlplane.sh build` (needs Go and the Go module proxy)",
            missing.join(", "),
            dir.display()
        );
    }
    Ok(dir)
}

/// For test suites: [`binaries_dir`], or `None` with the reason printed, so the test can skip;
/// under `CI=true` a missing control plane fails the test instead.
pub fn binaries_for_tests() -> Option<PathBuf> {
    match binaries_dir() {
        Ok(dir) => Some(dir),
        Err(err) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("the kube-apiserver lane cannot run under CI: {err:#}")
        }
        Err(err) => {
            println!("skipped on kube-apiserver: {err:#}");
            None
        }
    }
}

/// A running etcd + kube-apiserver + kube-controller-manager.
pub struct ControlPlane {
    url: String,
    ca_pem: String,
    restricted_token: String,
    kubeconfig: String,
    kubeconfig_path: PathBuf,
    /// Started processes, stopped in reverse order.
    processes: Vec<(&'static str, Child)>,
    /// The simulated controllers' stop signal and Git cache, once started.
    controllers: Option<(tokio::sync::watch::Sender<bool>, tempfile::TempDir)>,
    /// Where the simulated notification-controller serves Receiver webhooks, once started.
    receiver_addr: Option<SocketAddr>,
    dir: tempfile::TempDir,
}

impl ControlPlane {
    /// Starts the control plane from the binaries in `bin_dir` and waits until the API server is
    /// ready. The admin kubeconfig goes to `kubeconfig_path`, or into the temporary directory.
    ///
    /// The ports are picked free, then handed to the processes, so another process may take one
    /// in between (tests start many control planes at once): a start that fails on a port in use
    /// is made again with fresh ports.
    pub async fn start(bin_dir: &Path, kubeconfig_path: Option<PathBuf>) -> Result<ControlPlane> {
        let mut attempt = 1;
        loop {
            match Self::start_once(bin_dir, kubeconfig_path.clone()).await {
                Err(err) if attempt < PORT_ATTEMPTS && format!("{err:#}").contains(PORT_IN_USE) => {
                    attempt += 1;
                }
                started => return started,
            }
        }
    }

    async fn start_once(bin_dir: &Path, kubeconfig_path: Option<PathBuf>) -> Result<ControlPlane> {
        let dir = tempfile::Builder::new()
            .prefix("flux-controlplane-")
            .tempdir()?;
        let certs = tls::generate().context("generating certificates")?;
        let sa_key = rcgen::KeyPair::generate()?;
        let admin_token = format!("{}{}", random_suffix(20), random_suffix(20));
        let restricted_token = format!("{}{}", random_suffix(20), random_suffix(20));
        let files = [
            ("ca.crt", certs.ca_pem.clone()),
            ("apiserver.crt", certs.server_chain_pem.clone()),
            ("apiserver.key", certs.server_key_pem.clone()),
            ("sa.key", sa_key.serialize_pem()),
            ("sa.pub", sa_key.public_key_pem()),
            (
                "tokens.csv",
                format!(
                    "{admin_token},flux-admin,flux-admin,system:masters\n{restricted_token},{RESTRICTED_USER},{RESTRICTED_USER}\n"
                ),
            ),
        ];
        for (name, content) in files {
            write_private(&dir.path().join(name), &content)?;
        }

        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        let api_port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], api_port));
        let url = format!("https://{addr}");
        let kubeconfig = kubeconfig(addr, &certs.ca_pem, &admin_token);
        let kubeconfig_path = kubeconfig_path.unwrap_or_else(|| dir.path().join("kubeconfig"));
        if let Some(parent) = kubeconfig_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        write_private(&kubeconfig_path, &kubeconfig)?;

        let mut plane = ControlPlane {
            url,
            ca_pem: certs.ca_pem,
            restricted_token,
            kubeconfig,
            kubeconfig_path,
            processes: Vec::new(),
            controllers: None,
            receiver_addr: None,
            dir,
        };
        let d = plane.dir.path().to_path_buf();
        let p = |name: &str| d.join(name).display().to_string();
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        plane.spawn(
            bin_dir,
            "etcd",
            &[
                format!("--data-dir={}", p("etcd")),
                "--name=default".into(),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=default={peer_url}"),
                // Test data: durability is not worth the disk syncs.
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
        )?;
        plane.spawn(
            bin_dir,
            "kube-apiserver",
            &[
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={api_port}"),
                format!("--cert-dir={}", p("apiserver-certs")),
                format!("--tls-cert-file={}", p("apiserver.crt")),
                format!("--tls-private-key-file={}", p("apiserver.key")),
                format!("--client-ca-file={}", p("ca.crt")),
                format!("--token-auth-file={}", p("tokens.csv")),
                "--authorization-mode=RBAC".into(),
                "--service-cluster-ip-range=10.0.0.0/24".into(),
                format!("--service-account-issuer=https://127.0.0.1:{api_port}"),
                format!("--service-account-key-file={}", p("sa.pub")),
                format!("--service-account-signing-key-file={}", p("sa.key")),
                // As envtest: Pods need no token volume, there is no kubelet to mount one.
                "--disable-admission-plugins=ServiceAccount".into(),
                "--allow-privileged=true".into(),
            ],
        )?;
        plane
            .wait_ready()
            .await
            .context("waiting for kube-apiserver")?;
        plane.spawn(
            bin_dir,
            "kube-controller-manager",
            &[
                format!("--kubeconfig={}", plane.kubeconfig_path.display()),
                format!("--controllers={CONTROLLERS}"),
                "--leader-elect=false".into(),
                "--secure-port=0".into(),
                format!("--service-account-private-key-file={}", p("sa.key")),
                format!("--root-ca-file={}", p("ca.crt")),
            ],
        )?;
        Ok(plane)
    }

    /// Starts `name` from `bin_dir` with its output in `<name>.log`.
    fn spawn(&mut self, bin_dir: &Path, name: &'static str, args: &[String]) -> Result<()> {
        let log = std::fs::File::create(self.log_path(name))?;
        let mut cmd = Command::new(bin_dir.join(name));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; it makes the child die with the thread that
        // started it, so a test process killed outright leaves no control plane behind.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin_dir.join(name).display()))?;
        self.processes.push((name, child));
        Ok(())
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// The last lines a process wrote, for errors.
    fn log_tail(&self, name: &str) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.log_path(name)) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Polls `/readyz` until it answers 200, failing early if a process exits.
    async fn wait_ready(&mut self) -> Result<()> {
        let client = self.client().await?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            for (name, child) in &mut self.processes {
                if let Some(status) = child.try_wait()? {
                    let name = *name;
                    bail!("{name} exited ({status}):\n{}", self.log_tail(name));
                }
            }
            let request = http::Request::get("/readyz").body(Vec::new())?;
            let last = match client.request_text(request).await {
                Ok(body) if body.trim() == "ok" => return Ok(()),
                Ok(body) => body,
                Err(err) => err.to_string(),
            };
            if Instant::now() > deadline {
                bail!(
                    "not ready after {READY_TIMEOUT:?}: {last}\n{}",
                    self.log_tail("kube-apiserver")
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin kubeconfig's path.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// A kubeconfig for [`RESTRICTED_USER`], written next to the control plane's files.
    pub fn restricted_kubeconfig(&self) -> Result<PathBuf> {
        let path = self.dir.path().join("restricted.kubeconfig");
        let addr: SocketAddr = self.url.trim_start_matches("https://").parse()?;
        write_private(
            &path,
            &kubeconfig(addr, &self.ca_pem, &self.restricted_token),
        )?;
        Ok(path)
    }

    /// `http://127.0.0.1:PORT` of the simulated notification-controller's webhook receiver, once
    /// the controllers run.
    pub fn receiver_url(&self) -> Option<String> {
        self.receiver_addr.map(|a| format!("http://{a}"))
    }

    /// A kube-rs client acting as the admin.
    pub async fn client(&self) -> Result<kube::Client> {
        crate::client_for(&self.kubeconfig).await
    }

    /// Runs testenv's simulated Flux controllers and Deployment controller against this server,
    /// as tasks on the current tokio runtime, until [`ControlPlane::stop`]. There is no kubelet:
    /// Deployments become available because the simulated controller writes their status, and
    /// Pods never run or log.
    pub async fn start_controllers(
        &mut self,
        reconcile_delay: Duration,
        deployment_delay: Duration,
    ) -> Result<()> {
        let addr = crate::controllers::DEFAULT_RECEIVER_ADDR;
        self.start_controllers_at(reconcile_delay, deployment_delay, addr)
            .await
    }

    /// [`ControlPlane::start_controllers`] with the Receiver webhook server on `receiver_addr`.
    pub async fn start_controllers_at(
        &mut self,
        reconcile_delay: Duration,
        deployment_delay: Duration,
        receiver_addr: SocketAddr,
    ) -> Result<()> {
        let client = self.client().await?;
        let git_cache = tempfile::Builder::new()
            .prefix("flux-controlplane-git-")
            .tempdir()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let options = crate::ControllerOptions {
            reconcile_delay,
            deployment_delay,
            git_cache: git_cache.path().to_path_buf(),
            logs: None,
            receiver_addr,
        };
        let receiver_addr = crate::spawn_controllers(client, options, stopped)
            .with_context(|| format!("binding the Receiver webhook address {receiver_addr}"))?;
        self.receiver_addr = Some(receiver_addr);
        self.controllers = Some((stop, git_cache));
        Ok(())
    }

    /// Stops the controllers, then the processes (SIGTERM, then SIGKILL after five seconds),
    /// newest first.
    pub fn stop(&mut self) {
        if let Some((stop, _)) = &self.controllers {
            let _ = stop.send(true);
        }
        while let Some((_, mut child)) = self.processes.pop() {
            // SAFETY: kill(2) on a child we started and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Writes a file only its owner can read (keys and tokens).
fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}
