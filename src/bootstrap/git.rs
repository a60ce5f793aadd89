//! The bootstrap work tree: a single-branch clone in a temporary directory
//! (removed on drop), commits of everything that changed, and pushes that
//! never force. libgit2 does the work, so no `git` binary is needed; SSH
//! goes through [`super::git_ssh`], HTTP(S) through [`super::git_http`].

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::LocalKey;
use std::time::{Duration, Instant};

use super::signing::{Signer, SigningError};

use git2::transport::{SmartSubtransport, Transport};
use git2::{FetchOptions, IndexAddOption, PushOptions, RemoteCallbacks, Repository};
use russh::keys::Algorithm;

use super::git_http::{self, HttpSettings};
use super::git_ssh::{self, SshSettings};

/// How the CLI itself authenticates to the Git server.
#[derive(Clone, Default)]
pub enum GitAuth {
    /// Local repositories and anonymous access.
    #[default]
    None,
    /// HTTP(S) basic auth; with a provider token the password is the token.
    Basic { username: String, password: String },
    /// HTTP(S) `Authorization: Bearer <token>`, sent with every request.
    Bearer { token: String },
    /// SSH with a private key (PEM or OpenSSH text); the server must
    /// present a host key listed in `known_hosts`.
    SshKey {
        username: String,
        private_key: String,
        passphrase: Option<String>,
        known_hosts: String,
        /// Host key algorithms offered, most preferred first; empty for the
        /// SSH client's defaults (`--ssh-hostkey-algos`).
        host_key_algorithms: Vec<Algorithm>,
    },
}

impl std::fmt::Debug for GitAuth {
    // Passwords and keys never reach logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => write!(f, "Basic({username})"),
            Self::Bearer { .. } => f.write_str("Bearer"),
            Self::SshKey { username, .. } => write!(f, "SshKey({username})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{}", .0.message())]
    Git(git2::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("push rejected: {0}")]
    Rejected(String),
    #[error("{0}")]
    Ssh(String),
    #[error("{0}")]
    Http(String),
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error(
        "refusing to write {path}: {link} is a symbolic link in the repository, and bootstrap writes only inside the clone; replace the link with a directory or choose another --path"
    )]
    SymlinkInPath { path: String, link: String },
    #[error(
        "the Git server did not answer before the deadline ({limit} from the start); check that it responds, or raise --timeout"
    )]
    TimedOut { limit: String },
    #[error("the Git worker thread failed: {0}")]
    Worker(String),
}

impl From<git2::Error> for GitError {
    fn from(err: git2::Error) -> Self {
        Self::Git(err)
    }
}

impl GitError {
    /// A libgit2 error that means the operation ran out of time: it failed
    /// past its deadline (a callback or a transport gave up).
    fn timed_out(err: &git2::Error, limits: &Limits) -> bool {
        err.code() == git2::ErrorCode::Timeout || limits.expired()
    }

    /// A push refused because the branch moved on the server since the clone.
    pub fn is_conflict(&self) -> bool {
        match self {
            Self::Rejected(_) => true,
            Self::Git(e) => e.code() == git2::ErrorCode::NotFastForward,
            _ => false,
        }
    }
}

/// What the clone found on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cloned {
    /// The branch exists.
    Branch,
    /// The repository has no commits; the first commit starts the branch.
    Empty,
    /// The branch did not exist; it starts from this other branch.
    NewBranchFrom(String),
}

/// A clone of one branch in a temporary directory.
pub struct WorkTree {
    // Declared before `dir` so the repository closes before the directory goes.
    repo: Repository,
    // Unregistered after the directory is gone (fields drop in order).
    dir: tempfile::TempDir,
    _cleanup: crate::cleanup::Registered,
    branch: String,
    transports: Transports,
}

/// Progress callbacks that make libgit2 abandon the transfer at its next
/// progress report once the caller has given up. Credentials are the
/// transports' business (`git_ssh`, `git_http`), never libgit2's.
fn callbacks<'a>() -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.transfer_progress(|_| !Limits::current().is_some_and(|l| l.expired()));
    callbacks.sideband_progress(|_| !Limits::current().is_some_and(|l| l.expired()));
    callbacks
}

/// While alive, the Git operations of this thread use these settings.
type ActiveTransports = (Scoped<Arc<SshSettings>>, Scoped<Arc<HttpSettings>>);

/// The settings of the SSH and HTTP transports for one work tree, made once
/// from its credentials.
#[derive(Clone)]
struct Transports {
    ssh: Option<Arc<SshSettings>>,
    http: Arc<HttpSettings>,
}

impl Transports {
    fn new(auth: &GitAuth, ca_pem: Option<&str>) -> Result<Self, GitError> {
        Ok(Self {
            ssh: ssh_settings(auth)?,
            http: Arc::new(HttpSettings::new(auth, ca_pem).map_err(GitError::Http)?),
        })
    }

    /// Makes them the settings of this thread's Git operations until the
    /// guards drop.
    fn activate(&self) -> Result<ActiveTransports, GitError> {
        let ssh = git_ssh::activate(self.ssh.clone()).map_err(GitError::Ssh)?;
        let http = git_http::activate(Arc::clone(&self.http)).map_err(GitError::Http)?;
        Ok((ssh, http))
    }
}

/// The SSH settings of `auth`, read once per work tree.
fn ssh_settings(auth: &GitAuth) -> Result<Option<Arc<SshSettings>>, GitError> {
    match auth {
        GitAuth::SshKey {
            username,
            private_key,
            passphrase,
            known_hosts,
            host_key_algorithms,
        } => SshSettings::new(
            username,
            private_key,
            passphrase.as_deref(),
            known_hosts,
            host_key_algorithms,
        )
        .map(|s| Some(Arc::new(s)))
        .map_err(GitError::Ssh),
        _ => Ok(None),
    }
}

/// The bounds of the libgit2 operation running on this thread: its
/// deadline, and whether the async caller has stopped waiting for it. The
/// progress callbacks and the SSH subtransport read them, because libgit2
/// runs both on the thread that started the operation.
#[derive(Clone)]
pub(super) struct Limits {
    deadline: Instant,
    abandoned: Arc<AtomicBool>,
}

thread_local! {
    static LIMITS: RefCell<Option<Limits>> = const { RefCell::new(None) };
}

impl Limits {
    pub(super) fn current() -> Option<Limits> {
        LIMITS.with(|l| l.borrow().clone())
    }

    /// This thread's limits, or `limit` from now when it has none (work not
    /// started through [`off_runtime`]).
    pub(super) fn current_or(limit: Duration) -> Limits {
        Self::current().unwrap_or_else(|| Limits {
            deadline: Instant::now() + limit,
            abandoned: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The deadline passed or nobody waits for the result any more.
    pub(super) fn expired(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    pub(super) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// Marks the operation abandoned when its caller stops waiting (a timeout,
/// Ctrl-C, or a finished operation, where it changes nothing).
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A thread-local value set for the life of the guard; the previous value
/// comes back when it drops. libgit2 creates transports and streams on the
/// thread that started the operation, so they find its settings here.
#[must_use]
pub struct Scoped<T: 'static> {
    key: &'static LocalKey<RefCell<Option<T>>>,
    previous: Option<T>,
}

impl<T> Scoped<T> {
    pub(super) fn set(key: &'static LocalKey<RefCell<Option<T>>>, value: Option<T>) -> Self {
        let previous = key.with_borrow_mut(|slot| std::mem::replace(slot, value));
        Self { key, previous }
    }
}

impl<T> Drop for Scoped<T> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        self.key.with_borrow_mut(|slot| *slot = previous);
    }
}

/// The error a subtransport reports to libgit2, which shows `message`.
pub(super) fn transport_error(class: git2::ErrorClass, message: String) -> git2::Error {
    git2::Error::new(git2::ErrorCode::GenericError, class, message)
}

/// What a subtransport's `action` gives libgit2: the stream it speaks the
/// Git protocol over.
pub(super) type ActionStream =
    Result<Box<dyn git2::transport::SmartSubtransportStream>, git2::Error>;

/// Registers `make`'s subtransport for URLs starting with each of
/// `schemes`; call once per process (under a `OnceLock`), before any Git
/// operation. `rpc`: a request per exchange (HTTP) rather than one
/// connection for all (SSH).
pub(super) fn register_transport<S: SmartSubtransport>(
    schemes: &[&str],
    rpc: bool,
    make: fn() -> Result<S, git2::Error>,
) -> Result<(), String> {
    for scheme in schemes {
        // SAFETY: the callers register under a `OnceLock` that every Git
        // operation of the CLI passes (through `activate`) before libgit2
        // creates a transport, so no operation runs while this changes.
        unsafe {
            git2::transport::register(scheme, move |remote| Transport::smart(remote, rpc, make()?))
        }
        .map_err(|e| {
            format!(
                "unable to register the Git transport for {scheme}://: {}",
                e.message()
            )
        })?;
    }
    Ok(())
}

/// Runs libgit2 work (a clone, a push) on the blocking pool, so the async
/// runtime keeps serving timers and signals while it waits on the network.
/// The work ends by `deadline`: the SSH and HTTP transports and the
/// progress callbacks give up once it passes or the caller stops waiting,
/// and past the deadline the caller gets [`GitError::TimedOut`] without
/// waiting for the thread. What the thread
/// still holds (a temporary clone) is removed when it finishes, or by
/// [`crate::cleanup`] when the process ends first.
pub async fn off_runtime<T: Send + 'static>(
    deadline: tokio::time::Instant,
    limit: Duration,
    work: impl FnOnce() -> Result<T, GitError> + Send + 'static,
) -> Result<T, GitError> {
    let abandoned = AbandonOnDrop(Arc::new(AtomicBool::new(false)));
    let limits = Limits {
        deadline: deadline.into_std(),
        abandoned: Arc::clone(&abandoned.0),
    };
    let limit = crate::duration::GoDuration::new(limit).to_string();
    let timed_out = {
        let limit = limit.clone();
        move || GitError::TimedOut { limit }
    };
    let task = tokio::task::spawn_blocking(move || {
        let result = {
            let _limits = Scoped::set(&LIMITS, Some(limits.clone()));
            work()
        };
        match result {
            Err(GitError::Git(err)) if GitError::timed_out(&err, &limits) => {
                Err(GitError::TimedOut { limit })
            }
            other => other,
        }
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(GitError::Worker(join.to_string())),
        Err(_) => Err(timed_out()),
    }
}

impl WorkTree {
    /// Clones `branch` of `url`. An empty repository starts the branch; a
    /// missing branch is created from the server's default branch. `ca_pem`
    /// (`--ca-file`) is trusted for HTTPS besides the system roots.
    pub fn clone(
        url: &str,
        branch: &str,
        auth: &GitAuth,
        ca_pem: Option<&str>,
    ) -> Result<(Self, Cloned), GitError> {
        // Private to the user: the clone may hold what the cluster's
        // secrets are made from.
        let dir = tempfile::Builder::new()
            .prefix("flux-bootstrap-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()?;
        let cleanup = crate::cleanup::register(dir.path());
        let transports = Transports::new(auth, ca_pem)?;
        let _active = transports.activate()?;
        let repo = Repository::init(dir.path())?;
        repo.remote("origin", url)?;
        let wanted = format!("refs/heads/{branch}");
        // Listing the remote's refs directly trips a git2 bug on empty
        // repositories, so fetch every branch head and look locally. The
        // server's default branch comes from the refs the fetch listed.
        let default = {
            let mut options = FetchOptions::new();
            options.remote_callbacks(callbacks());
            options.download_tags(git2::AutotagOption::None);
            let mut remote = repo.find_remote("origin")?;
            remote.fetch(
                &["+refs/heads/*:refs/remotes/origin/*"],
                Some(&mut options),
                None,
            )?;
            remote
                .default_branch()
                .ok()
                .and_then(|b| b.as_str().map(String::from))
        };
        let heads: Vec<String> = repo
            .references_glob("refs/remotes/origin/*")?
            .flatten()
            .filter_map(|r| {
                r.name()
                    .map(|n| n.replace("refs/remotes/origin/", "refs/heads/"))
            })
            .collect();
        let (source, cloned) = if heads.contains(&wanted) {
            (Some(wanted.clone()), Cloned::Branch)
        } else {
            let base = default
                .filter(|d| heads.contains(d))
                .or_else(|| heads.first().cloned());
            match base {
                Some(base) => {
                    let short = base.trim_start_matches("refs/heads/").to_string();
                    (Some(base), Cloned::NewBranchFrom(short))
                }
                None => (None, Cloned::Empty),
            }
        };
        if let Some(source) = source {
            let tracking = format!(
                "refs/remotes/origin/{}",
                source.trim_start_matches("refs/heads/")
            );
            let commit = repo.find_reference(&tracking)?.peel_to_commit()?;
            repo.branch(branch, &commit, true)?;
            repo.set_head(&wanted)?;
            repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))?;
        } else {
            repo.set_head(&wanted)?;
        }
        let tree = WorkTree {
            repo,
            dir,
            _cleanup: cleanup,
            branch: branch.to_string(),
            transports,
        };
        Ok((tree, cloned))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reads a file of the work tree; `None` when it does not exist (or is
    /// reached through a symbolic link, which [`WorkTree::write`] refuses).
    pub fn read(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.inside(relative).ok()?).ok()
    }

    /// `relative` inside the work tree. A symbolic link on the way,
    /// committed in the repository, is refused: following it could read or
    /// write outside the clone.
    fn inside(&self, relative: &str) -> Result<PathBuf, GitError> {
        let mut path = self.dir.path().to_path_buf();
        let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(GitError::SymlinkInPath {
                    path: relative.to_string(),
                    link: parts[..=i].join("/"),
                });
            }
        }
        Ok(path)
    }

    /// Writes `relative` (a path inside the work tree), creating its directories.
    pub fn write(&self, relative: &str, content: &str) -> Result<(), GitError> {
        let path = self.inside(relative)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
        Ok(())
    }

    /// The commit the branch points at, if it has one.
    pub fn head(&self) -> Option<String> {
        self.repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .map(|oid| oid.to_string())
    }

    /// Stages every change (new, modified, deleted) and commits it, signed
    /// by `signer` when there is one; `None` when nothing changed.
    pub fn commit(
        &self,
        message: &str,
        author: &Author,
        signer: Option<&Signer>,
    ) -> Result<Option<String>, GitError> {
        let mut index = self.repo.index()?;
        index.add_all(["*"], IndexAddOption::DEFAULT, None)?;
        index.update_all(["*"], None)?;
        index.write()?;
        let tree_id = index.write_tree()?;
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        if parent.as_ref().is_some_and(|p| p.tree_id() == tree_id) {
            return Ok(None);
        }
        // Written by hand: libgit2 refuses an empty email, which is
        // upstream's default author.
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let person = format!("{} <{}> {seconds} +0000", author.name, author.email);
        let mut raw = format!("tree {tree_id}\n");
        if let Some(parent) = &parent {
            raw.push_str(&format!("parent {}\n", parent.id()));
        }
        raw.push_str(&format!("author {person}\ncommitter {person}\n\n{message}"));
        if !raw.ends_with('\n') {
            raw.push('\n');
        }
        let oid = match signer {
            // As `git commit -S`: the signature covers the buffer without
            // it, and goes in the `gpgsig` header.
            Some(signer) => {
                let signature = signer.sign(raw.as_bytes())?;
                self.repo.commit_signed(&raw, &signature, None)?
            }
            None => self
                .repo
                .odb()?
                .write(git2::ObjectType::Commit, raw.as_bytes())?,
        };
        let branch_ref = format!("refs/heads/{}", self.branch);
        self.repo
            .reference(&branch_ref, oid, true, "bootstrap commit")?;
        Ok(Some(oid.to_string()))
    }

    /// Pushes the branch to `origin` (never forced).
    pub fn push(&self) -> Result<(), GitError> {
        let refspec = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
        let rejected = RefCell::new(None);
        {
            let _active = self.transports.activate()?;
            let mut cbs = callbacks();
            cbs.push_update_reference(|name, status| {
                if let Some(status) = status {
                    *rejected.borrow_mut() = Some(format!("{name}: {status}"));
                }
                Ok(())
            });
            let mut options = PushOptions::new();
            options.remote_callbacks(cbs);
            self.repo
                .find_remote("origin")?
                .push(&[refspec.as_str()], Some(&mut options))?;
        }
        match rejected.into_inner() {
            Some(reason) => Err(GitError::Rejected(reason)),
            None => Ok(()),
        }
    }
}

/// Commit author (and committer).
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        Repository::init_bare(dir.path()).unwrap();
        let url = format!("file://{}", dir.path().display());
        (dir, url)
    }

    fn author() -> Author {
        Author {
            name: "Flux".into(),
            email: String::new(),
        }
    }

    #[test]
    fn empty_repository_gets_the_branch_and_commits_only_changes() {
        let (_remote, url) = bare();
        let (tree, cloned) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        assert_eq!(cloned, Cloned::Empty);
        tree.write("a/b.yaml", "x: 1\n").unwrap();
        let first = tree.commit("first", &author(), None).unwrap().unwrap();
        assert_eq!(tree.commit("again", &author(), None).unwrap(), None);
        tree.push().unwrap();
        let (again, cloned) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        assert_eq!(cloned, Cloned::Branch);
        assert_eq!(again.head().as_deref(), Some(first.as_str()));
        assert_eq!(again.read("a/b.yaml").as_deref(), Some("x: 1\n"));
    }

    #[test]
    fn writes_never_follow_symbolic_links_out_of_the_clone() {
        let (_remote, url) = bare();
        let outside = tempfile::tempdir().unwrap();
        let (tree, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        let root = tree.dir.path();
        std::fs::create_dir(root.join("clusters")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("clusters/abs")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("clusters/up")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), root.join("file.yaml")).unwrap();
        for (path, link) in [
            ("clusters/abs/flux-system/gotk-sync.yaml", "clusters/abs"),
            ("clusters/up/x/gotk-sync.yaml", "clusters/up"),
            ("file.yaml", "file.yaml"),
        ] {
            let err = tree.write(path, "x: 1\n").unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "refusing to write {path}: {link} is a symbolic link"
                )),
                "{err}"
            );
        }
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            0,
            "nothing written outside"
        );
        tree.write("clusters/dev/flux-system/gotk-sync.yaml", "x: 1\n")
            .unwrap();
        assert_eq!(
            tree.read("clusters/dev/flux-system/gotk-sync.yaml")
                .as_deref(),
            Some("x: 1\n")
        );
    }

    #[test]
    fn a_signer_puts_its_signature_in_the_gpgsig_header() {
        let key = ssh_key::PrivateKey::random(&mut rand::thread_rng(), ssh_key::Algorithm::Ed25519)
            .unwrap();
        let public = key.public_key().clone();
        let signer = Signer::ssh(key).unwrap();
        let (_remote, url) = bare();
        let (tree, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        for (round, file) in ["a", "b"].iter().enumerate() {
            tree.write(file, "1").unwrap();
            let sha = tree
                .commit(file, &author(), Some(&signer))
                .unwrap()
                .unwrap();
            assert_eq!(tree.head().as_deref(), Some(sha.as_str()));
            let oid = git2::Oid::from_str(&sha).unwrap();
            let commit = tree.repo.find_commit(oid).unwrap();
            assert_eq!(commit.parent_count(), round);
            let (signature, signed) = tree.repo.extract_signature(&oid, None).unwrap();
            let signature = signature.as_str().unwrap();
            assert!(signature.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
            let sig = ssh_key::SshSig::from_pem(signature).unwrap();
            public.verify("git", &signed, &sig).unwrap();
            assert!(!String::from_utf8_lossy(&signed).contains("gpgsig"));
        }
        assert_eq!(
            tree.commit("again", &author(), Some(&signer)).unwrap(),
            None
        );
    }

    #[test]
    fn missing_branch_starts_from_the_default_branch() {
        let (_remote, url) = bare();
        let (tree, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        tree.write("README", "hi\n").unwrap();
        let base = tree.commit("base", &author(), None).unwrap().unwrap();
        tree.push().unwrap();
        let (other, cloned) = WorkTree::clone(&url, "staging", &GitAuth::None, None).unwrap();
        assert_eq!(cloned, Cloned::NewBranchFrom("main".into()));
        assert_eq!(other.head().as_deref(), Some(base.as_str()));
        assert_eq!(other.read("README").as_deref(), Some("hi\n"));
    }

    #[test]
    fn a_missing_branch_starts_from_the_head_the_server_names_not_the_first_branch() {
        let (remote, url) = bare();
        Repository::open_bare(remote.path())
            .unwrap()
            .set_head("refs/heads/trunk")
            .unwrap();
        let mut tips = Vec::new();
        for (branch, file) in [("aaa", "a"), ("trunk", "t")] {
            let (tree, _) = WorkTree::clone(&url, branch, &GitAuth::None, None).unwrap();
            tree.write(file, "1\n").unwrap();
            tips.push(tree.commit(file, &author(), None).unwrap().unwrap());
            tree.push().unwrap();
        }
        let (tree, cloned) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        assert_eq!(cloned, Cloned::NewBranchFrom("trunk".into()));
        assert_eq!(tree.head().as_ref(), Some(&tips[1]));
    }

    #[tokio::test]
    async fn work_off_the_runtime_ends_at_the_deadline_not_when_the_thread_does() {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        let started = Instant::now();
        let result = off_runtime(deadline, Duration::from_secs(5), || {
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(1));
        let err = result.unwrap_err();
        assert!(matches!(err, GitError::TimedOut { .. }), "{err}");
        assert!(err.to_string().contains("(5s from the start)"), "{err}");
    }

    #[tokio::test]
    async fn a_clone_from_a_silent_server_gives_up_by_itself_at_the_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/repo.git", listener.local_addr().unwrap());
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        // The HTTP transport's own wait must end the clone, so the thread
        // (and its temporary directory) does not outlive the command.
        let _ = off_runtime(
            tokio::time::Instant::now() + Duration::from_millis(500),
            Duration::from_millis(500),
            move || {
                let result = WorkTree::clone(&url, "main", &GitAuth::None, None).map(|_| ());
                let _ = done_tx.send(result.is_err());
                result
            },
        )
        .await;
        let failed = done_rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(failed, Ok(true));
        drop(listener);
    }

    #[test]
    fn the_clone_is_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let (_remote, url) = bare();
        let (tree, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        let mode = std::fs::metadata(tree.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    }

    #[test]
    fn a_bearer_token_is_in_no_debug_output_and_no_git_config() {
        let auth = GitAuth::Bearer {
            token: "s3cr3t".into(),
        };
        assert_eq!(format!("{auth:?}"), "Bearer");
        let (_remote, url) = bare();
        let (tree, _) = WorkTree::clone(&url, "main", &auth, None).unwrap();
        tree.write("a", "1").unwrap();
        tree.commit("a", &author(), None).unwrap();
        tree.push().unwrap();
        let config = std::fs::read_to_string(tree.path().join(".git/config")).unwrap();
        assert!(!config.contains("s3cr3t"), "{config}");
    }

    #[test]
    fn a_push_after_the_remote_moved_is_a_conflict() {
        let (_remote, url) = bare();
        let (first, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        first.write("a", "1").unwrap();
        first.commit("a", &author(), None).unwrap();
        first.push().unwrap();
        let (one, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        let (two, _) = WorkTree::clone(&url, "main", &GitAuth::None, None).unwrap();
        one.write("b", "1").unwrap();
        one.commit("b", &author(), None).unwrap();
        one.push().unwrap();
        two.write("c", "1").unwrap();
        two.commit("c", &author(), None).unwrap();
        let err = two.push().unwrap_err();
        assert!(err.is_conflict(), "{err}");
    }
}
