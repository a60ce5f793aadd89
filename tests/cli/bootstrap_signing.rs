//! Signed bootstrap commits: keys made at test time with `gpg` and
//! `ssh-keygen`, every commit bootstrap pushed checked with the real
//! `git verify-commit`, and bad signing input refused before anything is
//! pushed or applied.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use git2::Repository;

use crate::bootstrap::{assert_ok, bare_repo, git_args, head, ready_at};
use crate::common::cluster::Cluster;
use crate::common::{Run, flux};

const PASSPHRASE: &str = "correct horse battery staple";
const EMAIL: &str = "flux@example.com";

/// Whether `tool` runs here; tests that need it say why they skip.
pub(crate) fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        crate::common::skip(&format!("{tool} is not installed"));
    }
    found
}

fn checked(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A throw-away GnuPG home with one secret key; its agent is stopped on drop.
struct GpgHome {
    dir: tempfile::TempDir,
    key_id: String,
}

impl GpgHome {
    /// A key of `algorithm` (`ed25519`, `rsa2048`, ...) that only signs.
    fn new(algorithm: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut home = Self {
            dir,
            key_id: String::new(),
        };
        checked(
            home.gpg(&[
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                PASSPHRASE,
                "--quick-gen-key",
                &format!("Flux Test <{EMAIL}>"),
                algorithm,
                "sign",
                "never",
            ]),
            "gpg --quick-gen-key",
        );
        let listing = checked(
            home.gpg(&["--list-secret-keys", "--with-colons"]),
            "gpg --list-secret-keys",
        );
        home.key_id = String::from_utf8(listing.stdout)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("sec:"))
            .and_then(|l| l.split(':').nth(4))
            .expect("a secret key is listed")
            .to_string();
        home
    }

    fn gpg(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .arg("--batch")
            .args(args)
            .env("GNUPGHOME", self.dir.path())
            .output()
            .unwrap()
    }

    /// Exports the secret key (armored or binary) to a file.
    fn export_secret(&self, armored: bool) -> PathBuf {
        let mut args = vec!["--pinentry-mode", "loopback", "--passphrase", PASSPHRASE];
        if armored {
            args.push("--armor");
        }
        args.extend(["--export-secret-keys", self.key_id.as_str()]);
        let out = checked(self.gpg(&args), "gpg --export-secret-keys");
        let path = self
            .dir
            .path()
            .join(if armored { "ring.asc" } else { "ring.gpg" });
        std::fs::write(&path, out.stdout).unwrap();
        path
    }

    /// Exports only the public key (a ring without a private key).
    fn export_public(&self) -> PathBuf {
        let out = checked(
            self.gpg(&["--armor", "--export", &self.key_id]),
            "gpg --export",
        );
        let path = self.dir.path().join("public.asc");
        std::fs::write(&path, out.stdout).unwrap();
        path
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.dir.path())
            .output();
    }
}

/// `git` with no user or system configuration.
fn git(home: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

/// Every commit of `main`, newest first.
pub(crate) fn commits(dir: &Path) -> Vec<String> {
    let repo = Repository::open_bare(dir).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    walk.map(|oid| oid.unwrap().to_string()).collect()
}

/// The bootstrap run, its commits checked by `verify`, then a second
/// identical run that must commit nothing. Builtin backend only: these tests
/// are about the commits; bootstrap's cluster side runs on both backends in
/// bootstrap.rs.
fn bootstrap_signed(signing: &[&str], verify: impl Fn(&Path, &str)) {
    let cluster = Cluster::empty();
    let (dir, url) = bare_repo();
    let mut args = git_args(&url, &["--silent", "--author-email", EMAIL]);
    args.extend(signing);
    let mut plan_args = args.clone();
    plan_args.push("--dry-run");
    let plan = cluster.flux(&plan_args);
    assert_ok(&plan);
    let signer = if signing.contains(&"--gpg-key-ring") {
        "  commits signed with OpenPGP key "
    } else {
        "  commits signed with SSH key SHA256:"
    };
    assert!(plan.stdout.contains(signer), "{}", plan.stdout);
    let first = cluster.flux(&args);
    assert_ok(&first);
    let all = commits(dir.path());
    assert_eq!(all.len(), 2, "{}", first.stderr);
    for sha in &all {
        verify(dir.path(), sha);
    }
    let tip = head(dir.path(), "main").unwrap();
    ready_at(&cluster, &format!("main@sha1:{tip}"));

    let second = cluster.flux(&args);
    assert_ok(&second);
    assert!(!second.stderr.contains("committed"), "{}", second.stderr);
    assert_eq!(head(dir.path(), "main").unwrap(), tip);
}

fn verify_gpg(gpg: &GpgHome) -> impl Fn(&Path, &str) + '_ {
    move |repo: &Path, sha: &str| {
        let output = git(gpg.dir.path())
            .arg("--git-dir")
            .arg(repo)
            .args(["verify-commit", "--verbose", sha])
            .env("GNUPGHOME", gpg.dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "verify-commit {sha}: {stderr}");
        assert!(stderr.contains("Good signature"), "{stderr}");
    }
}

#[test]
fn gpg_ed25519_signed_commits_verify_with_git() {
    if !have("gpg") {
        return;
    }
    let gpg = GpgHome::new("ed25519");
    let ring = gpg.export_secret(true);
    let ring = ring.to_str().unwrap();
    let id = format!("0x{}", gpg.key_id.to_lowercase());
    bootstrap_signed(
        &[
            "--gpg-key-ring",
            ring,
            "--gpg-passphrase",
            PASSPHRASE,
            "--gpg-key-id",
            &id,
        ],
        verify_gpg(&gpg),
    );
}

#[test]
fn gpg_rsa_binary_ring_without_key_id_signs_with_its_first_key() {
    if !have("gpg") {
        return;
    }
    let gpg = GpgHome::new("rsa2048");
    let ring = gpg.export_secret(false);
    bootstrap_signed(
        &[
            "--gpg-key-ring",
            ring.to_str().unwrap(),
            &format!("--gpg-passphrase={PASSPHRASE}"),
        ],
        verify_gpg(&gpg),
    );
}

/// An SSH key made by `ssh-keygen`, and its allowed-signers file.
pub(crate) struct SshKey {
    dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
    allowed_signers: PathBuf,
}

impl SshKey {
    pub(crate) fn new(extra: &[&str], passphrase: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing_key");
        checked(
            Command::new("ssh-keygen")
                .args(extra)
                .args(["-q", "-C", EMAIL, "-N", passphrase, "-f"])
                .arg(&path)
                .output()
                .unwrap(),
            "ssh-keygen",
        );
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        let mut fields = public.split_whitespace();
        let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
        let allowed_signers = dir.path().join("allowed_signers");
        std::fs::write(&allowed_signers, format!("{EMAIL} {kind} {blob}\n")).unwrap();
        Self {
            dir,
            path,
            allowed_signers,
        }
    }

    pub(crate) fn verify(&self) -> impl Fn(&Path, &str) + '_ {
        move |repo: &Path, sha: &str| {
            let output = git(self.dir.path())
                .arg("-c")
                .arg("gpg.format=ssh")
                .arg("-c")
                .arg(format!(
                    "gpg.ssh.allowedSignersFile={}",
                    self.allowed_signers.display()
                ))
                .arg("--git-dir")
                .arg(repo)
                .args(["verify-commit", sha])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "verify-commit {sha}: {stderr}");
            assert!(
                stderr.contains(&format!("Good \"git\" signature for {EMAIL}")),
                "{stderr}"
            );
        }
    }
}

#[test]
fn ssh_ed25519_signed_commits_verify_with_git() {
    if !have("ssh-keygen") {
        return;
    }
    let key = SshKey::new(&["-t", "ed25519"], PASSPHRASE);
    bootstrap_signed(
        &[
            "--ssh-signing-key-file",
            key.path.to_str().unwrap(),
            // The hidden alias of --ssh-signing-password.
            "--ssh-signing-passphrase",
            PASSPHRASE,
        ],
        key.verify(),
    );
}

#[test]
fn ssh_ecdsa_signed_commits_verify_with_git() {
    if !have("ssh-keygen") {
        return;
    }
    let key = SshKey::new(&["-t", "ecdsa", "-b", "256"], "");
    bootstrap_signed(
        &["--ssh-signing-key-file", key.path.to_str().unwrap()],
        key.verify(),
    );
}

#[test]
fn ssh_reuse_of_a_pem_rsa_private_key_file_signs_with_it() {
    if !have("ssh-keygen") {
        return;
    }
    // A PEM (PKCS#1) key, as older tools write them.
    let key = SshKey::new(&["-t", "rsa", "-b", "2048", "-m", "PEM"], "");
    let text = std::fs::read_to_string(&key.path).unwrap();
    assert!(
        text.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{text}"
    );
    bootstrap_signed(
        &[
            "--private-key-file",
            key.path.to_str().unwrap(),
            "--ssh-signing-reuse-private-key",
        ],
        key.verify(),
    );
}

/// A run refused with `message` that left the repository empty; the
/// kubeconfig does not exist, so nothing reached a cluster either.
fn assert_refused(run: &Run, dir: &Path, message: &str) {
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stderr, format!("✗ {message}\n"));
    assert!(!run.stderr.contains(PASSPHRASE), "{}", run.stderr);
    let repo = Repository::open_bare(dir).unwrap();
    assert_eq!(
        repo.references().unwrap().count(),
        0,
        "something was pushed"
    );
}

/// A run meant to be refused before any request: no credentials of its own,
/// so `--password` stays the SSH key's passphrase.
fn git_run(url: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "bootstrap",
        "git",
        "--url",
        url,
        "--allow-insecure-http",
        "--silent",
    ];
    args.extend(extra);
    crate::common::run(&args)
}

#[test]
fn bad_gpg_input_is_refused_before_anything_is_pushed() {
    if !have("gpg") {
        return;
    }
    let gpg = GpgHome::new("ed25519");
    let ring = gpg.export_secret(true);
    let ring = ring.to_str().unwrap();
    let public = gpg.export_public();
    let public = public.to_str().unwrap();
    let (dir, url) = bare_repo();
    let id = gpg.key_id.clone();

    let run = git_run(
        &url,
        &[
            "--gpg-key-ring",
            ring,
            "--gpg-passphrase=wrong",
            "--gpg-key-id",
            &id,
        ],
    );
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "unable to decrypt the OpenPGP private key {id} of --gpg-key-ring {ring}: wrong passphrase; check --gpg-passphrase"
        ),
    );

    let run = git_run(&url, &["--gpg-key-ring", ring]);
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "unable to decrypt the OpenPGP private key {id} of --gpg-key-ring {ring}: the key is passphrase protected and no passphrase was given; check --gpg-passphrase"
        ),
    );

    let run = git_run(
        &url,
        &[
            "--gpg-key-ring",
            ring,
            "--gpg-passphrase",
            PASSPHRASE,
            "--gpg-key-id=0x0123456789ABCDEF",
        ],
    );
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "no key with id 0123456789ABCDEF in --gpg-key-ring {ring}; list the ids with 'gpg --list-secret-keys --keyid-format=long'"
        ),
    );

    let run = git_run(&url, &["--gpg-key-ring", ring, "--gpg-key-id=ABCDEF"]);
    assert_refused(
        &run,
        dir.path(),
        "invalid --gpg-key-id \"ABCDEF\": expected 16 hexadecimal characters (optionally prefixed with 0x), as 'gpg --list-secret-keys --keyid-format=long' prints them",
    );

    let run = git_run(
        &url,
        &["--gpg-key-ring", public, "--gpg-passphrase", PASSPHRASE],
    );
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "the first key ({id}) in --gpg-key-ring {public} has no private key; export the secret key with 'gpg --export-secret-keys --armor <key id>' (or name a key that has one with --gpg-key-id)"
        ),
    );
}

#[test]
fn bad_ssh_input_is_refused_before_anything_is_pushed() {
    if !have("ssh-keygen") {
        return;
    }
    let key = SshKey::new(&["-t", "ed25519"], PASSPHRASE);
    let path = key.path.to_str().unwrap();
    let (dir, url) = bare_repo();

    let run = git_run(
        &url,
        &[
            "--ssh-signing-key-file",
            path,
            "--ssh-signing-password=wrong",
        ],
    );
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "unable to decrypt the SSH signing key --ssh-signing-key-file {path}: wrong passphrase; check --ssh-signing-password"
        ),
    );

    let run = git_run(&url, &["--ssh-signing-key-file", path]);
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "the SSH signing key --ssh-signing-key-file {path} is passphrase protected; pass --ssh-signing-password"
        ),
    );

    // Reuse: the --private-key-file key is decrypted with --password.
    let run = git_run(
        &url,
        &[
            "--private-key-file",
            path,
            "--ssh-signing-reuse-private-key",
            "--password=wrong",
        ],
    );
    assert_refused(
        &run,
        dir.path(),
        &format!(
            "unable to decrypt the SSH signing key --private-key-file {path}: wrong passphrase; check --password"
        ),
    );
}

#[test]
fn signing_flag_combinations_are_refused_before_anything_is_pushed() {
    let (dir, url) = bare_repo();
    for (flags, message) in [
        (
            &["--gpg-key-ring=ring.asc", "--ssh-signing-key-file=id"][..],
            "--gpg-* and --ssh-signing-* are mutually exclusive; pick one signing format",
        ),
        (
            &[
                "--gpg-passphrase=p",
                "--ssh-signing-reuse-private-key",
                "--private-key-file=id",
            ][..],
            "--gpg-* and --ssh-signing-* are mutually exclusive; pick one signing format",
        ),
        (
            &[
                "--ssh-signing-key-file=id",
                "--ssh-signing-reuse-private-key",
                "--private-key-file=id",
            ][..],
            "--ssh-signing-key-file and --ssh-signing-reuse-private-key are mutually exclusive",
        ),
        (
            &["--ssh-signing-reuse-private-key=true"][..],
            "--ssh-signing-reuse-private-key requires --private-key-file",
        ),
        (
            &["--ssh-signing-password=p"][..],
            "--ssh-signing-password requires --ssh-signing-key-file",
        ),
        (
            &["--ssh-signing-passphrase=p"][..],
            "--ssh-signing-password requires --ssh-signing-key-file",
        ),
        (
            &["--ssh-signing-key-file=/nonexistent/id"][..],
            "unable to read --ssh-signing-key-file /nonexistent/id: No such file or directory (os error 2)",
        ),
    ] {
        let run = git_run(&url, flags);
        assert_refused(&run, dir.path(), message);
    }
}

#[test]
fn reuse_is_refused_by_github_and_gitea_before_any_request() {
    // A server that would see any request the CLI made.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let hostname = format!("http://{}", listener.local_addr().unwrap());
    let key = tempfile::NamedTempFile::new().unwrap();
    let reason = "it generates its own deploy key, so there is no --private-key-file to sign with: pass a signing key with --ssh-signing-key-file instead";
    for (provider, variable) in [("github", "GITHUB_TOKEN"), ("gitea", "GITEA_TOKEN")] {
        let output = flux()
            .env(variable, "token-for-tests")
            .args([
                "bootstrap",
                provider,
                "--owner=acme",
                "--repository=fleet",
                "--hostname",
                &hostname,
                "--private-key-file",
            ])
            .arg(key.path())
            .arg("--ssh-signing-reuse-private-key")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "✗ --ssh-signing-reuse-private-key is not supported by 'bootstrap {provider}'; {reason}\n"
            )
        );
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{provider}: a request reached the server"
        );
    }
}
