//! `flux plugin …` against a catalog served on loopback, and `flux <name>`
//! dispatch to plugins in a temporary plugin directory.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::file_server::{FileServer, Response};
use crate::common::{Run, flux};

/// The running system in the catalog's (Go's) names.
fn platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    ("linux", arch)
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn script(body: &str) -> Vec<u8> {
    format!("#!/bin/sh\n{body}\n").into_bytes()
}

const CATALOG: &str = "apiVersion: cli.fluxcd.io/v1beta1
kind: PluginCatalog
plugins:
  - name: hello
    description: Says hello
    homepage: https://example.com/hello
    source: https://example.com/hello.git
    license: Apache-2.0
  - name: operator
    description: Flux Operator CLI
  - name: schema
    description: Validates manifests against the OPERATOR schema
";

/// One version of a manifest: version, file served at `/<path>`, its
/// checksum, and an optional extractPath.
struct Release<'a> {
    version: &'a str,
    path: &'a str,
    checksum: String,
    extract_path: Option<&'a str>,
}

struct Env {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    server: FileServer,
}

impl Env {
    fn new() -> Self {
        let server = FileServer::start();
        server.serve("catalog.yaml", CATALOG);
        Self {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            server,
        }
    }

    fn plugins(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = flux()
            .env("HOME", self.home.path())
            .env("FLUXCD_PLUGINS", self.plugins())
            .env("FLUXCD_PLUGIN_CATALOG", self.server.url())
            .env("HELLO_VAR", "from-env")
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("flux runs");
        Run::from(output)
    }

    /// Serves the manifest of `name` (installed as `bin`) with `releases`,
    /// newest first, all for this system.
    fn manifest(&self, name: &str, bin: &str, releases: &[Release]) {
        let (os, arch) = platform();
        let mut text = format!(
            "apiVersion: cli.fluxcd.io/v1beta1\nkind: Plugin\nname: {name}\ndescription: test\nbin: {bin}\nversions:\n"
        );
        for r in releases {
            text.push_str(&format!(
                "  - version: \"{}\"\n    platforms:\n      - os: other\n        arch: {arch}\n        url: {}elsewhere\n        checksum: sha256:00\n      - os: {os}\n        arch: {arch}\n        url: {}{}\n        checksum: {}\n",
                r.version,
                self.server.url(),
                self.server.url(),
                r.path,
                r.checksum
            ));
            if let Some(p) = r.extract_path {
                text.push_str(&format!("        extractPath: {p}\n"));
            }
        }
        self.server.serve(&format!("{name}.yaml"), text);
    }

    /// Serves `bytes` at `/path` and returns the release entry for it.
    fn release<'a>(&self, version: &'a str, path: &'a str, bytes: &[u8]) -> Release<'a> {
        self.server.serve(path, bytes.to_vec());
        Release {
            version,
            path,
            checksum: sha256(bytes),
            extract_path: None,
        }
    }

    /// A plugin dropped in by hand.
    fn manual(&self, file: &str, body: &str, mode: u32) -> PathBuf {
        let path = self.plugins().join(file);
        std::fs::write(&path, script(body)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.plugins())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.plugins().join(file)).unwrap()
    }
}

fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn failed_with(run: &Run, message: &str) {
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!("✗ {message}\n")),
        "expected ✗ {message}\nstderr:\n{}",
        run.stderr
    );
}

#[test]
fn install_latest_writes_an_executable_and_a_sorted_receipt_then_runs() {
    let env = Env::new();
    let new = script("echo new \"$@\"");
    let old = script("echo old");
    let releases = [
        env.release("1.1.0", "hello-1.1.0", &new),
        env.release("1.0.0", "hello-1.0.0", &old),
    ];
    env.manifest("hello", "flux-hello", &releases);

    let run = env.run(&["plugin", "install", "hello"]);
    ok(&run);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.ends_with("✔ installed hello v1.1.0\n"),
        "{}",
        run.stderr
    );
    assert_eq!(env.files(), ["flux-hello", "flux-hello.yaml"]);
    let binary = env.plugins().join("flux-hello");
    assert_eq!(std::fs::read(&binary).unwrap(), new);
    let mode = std::fs::metadata(&binary).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);

    let receipt = env.read("flux-hello.yaml");
    let (os, arch) = platform();
    let keys: Vec<&str> = receipt
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "installedAt",
            "name",
            "platform",
            "  arch",
            "  checksum",
            "  os",
            "  url",
            "version"
        ],
        "{receipt}"
    );
    assert!(receipt.contains(&format!("  arch: {arch}\n")), "{receipt}");
    assert!(receipt.contains(&format!("  os: {os}\n")), "{receipt}");
    assert!(
        receipt.contains(&format!("  checksum: {}\n", sha256(&new))),
        "{receipt}"
    );
    assert!(
        receipt.contains(&format!("  url: {}hello-1.1.0\n", env.server.url())),
        "{receipt}"
    );
    assert!(receipt.contains("name: hello\n"), "{receipt}");
    let version_line = receipt.lines().last().unwrap();
    assert!(
        version_line == "version: 1.1.0" || version_line == "version: \"1.1.0\"",
        "{receipt}"
    );

    let run = env.run(&["hello", "world"]);
    ok(&run);
    assert_eq!(run.stdout, "new world\n");

    let run = env.run(&["plugin", "list"]);
    ok(&run);
    assert!(run.stdout.contains("hello\t1.1.0  \t"), "{}", run.stdout);
}

#[test]
fn install_a_version_or_a_digest() {
    let env = Env::new();
    let new = script("echo new");
    let old = script("echo old");
    let releases = [
        env.release("1.1.0", "hello-1.1.0", &new),
        env.release("1.0.0", "hello-1.0.0", &old),
    ];
    env.manifest("hello", "flux-hello", &releases);

    ok(&env.run(&["plugin", "install", "hello@1.0.0"]));
    assert_eq!(
        std::fs::read(env.plugins().join("flux-hello")).unwrap(),
        old
    );
    assert!(env.read("flux-hello.yaml").contains("1.0.0"));

    let digest = sha256(&new);
    let run = env.run(&["plugin", "install", &format!("hello@{digest}")]);
    ok(&run);
    assert!(
        run.stderr.ends_with("✔ installed hello v1.1.0\n"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(env.plugins().join("flux-hello")).unwrap(),
        new
    );

    failed_with(
        &env.run(&["plugin", "install", "hello@v1.0.0"]),
        "version \"v1.0.0\" not found for plugin \"hello\"",
    );
    let (_, arch) = platform();
    failed_with(
        &env.run(&["plugin", "install", "hello@sha256:00"]),
        &format!("digest \"sha256:00\" not found for plugin \"hello\" on linux/{arch}"),
    );
    failed_with(
        &env.run(&["plugin", "install"]),
        "accepts 1 arg(s), received 0",
    );
}

#[test]
fn a_checksum_mismatch_leaves_nothing_behind() {
    let env = Env::new();
    let bytes = script("echo hi");
    let mut release = env.release("1.0.0", "hello-1.0.0", &bytes);
    release.checksum = format!("sha256:{}", "0".repeat(64));
    env.manifest("hello", "flux-hello", &[release]);

    let run = env.run(&["plugin", "install", "hello"]);
    failed_with(
        &run,
        &format!(
            "checksum verification failed (expected: sha256:{}, got: {})",
            "0".repeat(64),
            sha256(&bytes)
        ),
    );
    assert!(env.files().is_empty(), "{:?}", env.files());
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn archives_are_unpacked_by_bin_or_extract_path() {
    let env = Env::new();
    let inner = script("echo from-tar");
    let archive = tar_gz(&[
        ("README.md", b"readme"),
        ("other/flux-hello", b"decoy"),
        ("bin/flux-hello", &inner),
    ]);
    let mut release = env.release("2.0.0", "hello_2.0.0_linux.tar.gz", &archive);
    release.extract_path = Some("bin/flux-hello");
    env.manifest("hello", "flux-hello", &[release]);
    ok(&env.run(&["plugin", "install", "hello"]));
    assert_eq!(
        std::fs::read(env.plugins().join("flux-hello")).unwrap(),
        inner
    );
    assert!(
        env.read("flux-hello.yaml")
            .contains("  extractPath: bin/flux-hello\n")
    );
    assert_eq!(env.run(&["hello"]).stdout, "from-tar\n");

    // A zip, found by the base name of bin; the served name has no suffix,
    // so the format comes from the magic bytes.
    let inner = script("echo from-zip");
    let archive = zip(&[("LICENSE", b"text"), ("dist/flux-zipped", &inner)]);
    let release = env.release("1.0.0", "download/zipped", &archive);
    env.manifest("zipped", "flux-zipped", &[release]);
    ok(&env.run(&["plugin", "install", "zipped"]));
    assert_eq!(env.run(&["zipped"]).stdout, "from-zip\n");

    let archive = tar_gz(&[("flux-other", b"x")]);
    let release = env.release("1.0.0", "missing.tgz", &archive);
    env.manifest("missing", "flux-missing", &[release]);
    failed_with(
        &env.run(&["plugin", "install", "missing"]),
        "binary \"flux-missing\" not found in archive",
    );
    assert!(
        !env.files().iter().any(|f| f.contains("missing")),
        "{:?}",
        env.files()
    );
    assert!(
        !env.files().iter().any(|f| f.starts_with('.')),
        "{:?}",
        env.files()
    );
}

#[test]
fn manifests_that_would_write_outside_the_directory_are_refused() {
    let env = Env::new();
    let bytes = script("echo hi");
    let release = env.release("1.0.0", "x", &bytes);
    env.manifest("evil", "../flux-evil", &[release]);
    failed_with(
        &env.run(&["plugin", "install", "evil"]),
        "plugin \"evil\" has invalid bin \"../flux-evil\" (must be a plain filename prefixed with \"flux-\")",
    );
    let mut release = env.release("1.0.0", "y.tar.gz", &tar_gz(&[("flux-escape", b"x")]));
    release.extract_path = Some("../flux-escape");
    env.manifest("escape", "flux-escape", &[release]);
    failed_with(
        &env.run(&["plugin", "install", "escape"]),
        "plugin \"escape\" has invalid extractPath \"../flux-escape\" (must be a relative path inside the archive)",
    );
    failed_with(
        &env.run(&["plugin", "install", "../x"]),
        "invalid plugin name \"../x\": use the name as the catalog lists it (one word, no slashes)",
    );
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn unsupported_api_version_or_kind_is_refused() {
    let env = Env::new();
    env.server.serve(
        "hello.yaml",
        "apiVersion: cli.fluxcd.io/v1\nkind: Plugin\nname: hello\nbin: flux-hello\n",
    );
    failed_with(
        &env.run(&["plugin", "install", "hello"]),
        "plugin \"hello\" has unsupported apiVersion \"cli.fluxcd.io/v1\" (expected \"cli.fluxcd.io/v1beta1\")",
    );
    env.server.serve(
        "hello.yaml",
        "apiVersion: cli.fluxcd.io/v1beta1\nkind: Other\nname: hello\nbin: flux-hello\n",
    );
    failed_with(
        &env.run(&["plugin", "install", "hello"]),
        "plugin \"hello\" has unexpected kind \"Other\" (expected \"Plugin\")",
    );
    env.server.serve(
        "hello.yaml",
        "apiVersion: cli.fluxcd.io/v1beta1\nkind: Plugin\nname: hello\nbin: flux-hello\n",
    );
    failed_with(
        &env.run(&["plugin", "install", "hello"]),
        "plugin \"hello\" has no versions",
    );
    env.server.serve("hello.yaml", "versions: [\n");
    let run = env.run(&["plugin", "install", "hello"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("✗ failed to parse plugin manifest for \"hello\": "),
        "{}",
        run.stderr
    );

    env.server.serve(
        "catalog.yaml",
        "apiVersion: cli.fluxcd.io/v1beta1\nkind: Plugin\n",
    );
    failed_with(
        &env.run(&["plugin", "search"]),
        "plugin catalog has unexpected kind \"Plugin\" (expected \"PluginCatalog\")",
    );
    env.server
        .serve("catalog.yaml", "apiVersion: v9\nkind: PluginCatalog\n");
    failed_with(
        &env.run(&["plugin", "search"]),
        "plugin catalog has unsupported apiVersion \"v9\" (expected \"cli.fluxcd.io/v1beta1\")",
    );
}

#[test]
fn not_found_answers_name_what_is_missing() {
    let env = Env::new();
    failed_with(
        &env.run(&["plugin", "install", "nope"]),
        "plugin \"nope\" not found in catalog",
    );
    let release = Release {
        version: "1.0.0",
        path: "gone",
        checksum: "sha256:00".into(),
        extract_path: None,
    };
    env.manifest("hello", "flux-hello", &[release]);
    failed_with(
        &env.run(&["plugin", "install", "hello"]),
        "failed to download plugin: HTTP 404",
    );
    assert!(env.files().is_empty(), "{:?}", env.files());

    env.server
        .script("catalog.yaml", vec![Response::status(404)]);
    failed_with(
        &env.run(&["plugin", "search"]),
        &format!(
            "failed to fetch plugin catalog: HTTP 404 from {}catalog.yaml",
            env.server.url()
        ),
    );
}

#[test]
fn busy_servers_are_retried_then_given_up_on() {
    let env = Env::new();
    let bytes = script("echo hi");
    let release = env.release("1.0.0", "hello-bin", &bytes);
    env.manifest("hello", "flux-hello", &[release]);
    // Two refusals, then the manifest; Retry-After keeps the test fast.
    let manifest_text = {
        let (os, arch) = platform();
        format!(
            "apiVersion: cli.fluxcd.io/v1beta1\nkind: Plugin\nname: hello\nbin: flux-hello\nversions:\n  - version: 1.0.0\n    platforms:\n      - os: {os}\n        arch: {arch}\n        url: {}hello-bin\n        checksum: {}\n",
            env.server.url(),
            sha256(&bytes)
        )
    };
    env.server.script(
        "hello.yaml",
        vec![
            Response::status(503).header("Retry-After", "0"),
            Response::status(429).header("Retry-After", "0"),
            Response::ok(manifest_text),
        ],
    );
    let run = env.run(&["plugin", "install", "hello"]);
    ok(&run);
    assert_eq!(env.server.hits("hello.yaml"), 3);

    env.server.script(
        "catalog.yaml",
        vec![Response::status(502).header("Retry-After", "0")],
    );
    let url = format!("{}catalog.yaml", env.server.url());
    failed_with(
        &env.run(&["plugin", "search"]),
        &format!(
            "failed to fetch plugin catalog: Get \"{url}\": GET {url} giving up after 4 attempt(s)"
        ),
    );
    assert_eq!(env.server.hits("catalog.yaml"), 4);

    // 501 is an answer, not a busy server.
    env.server
        .script("catalog.yaml", vec![Response::status(501)]);
    let run = env.run(&["plugin", "search"]);
    assert_eq!(run.code, 1);
    assert_eq!(env.server.hits("catalog.yaml"), 5);
}

#[test]
fn list_shows_receipt_versions_and_manual_plugins() {
    let env = Env::new();
    let run = env.run(&["plugin", "list"]);
    ok(&run);
    assert_eq!(run.stdout, "No plugins found\n");

    let bytes = script("echo hi");
    let release = env.release("3.2.1", "hello-bin", &bytes);
    env.manifest("hello", "flux-hello", &[release]);
    ok(&env.run(&["plugin", "install", "hello"]));
    let manual = env.manual("flux-byhand", "echo by hand", 0o755);
    env.manual("flux-notexec", "echo no", 0o644);

    // -n is not validated for plugin commands: they use no namespace.
    let run = env.run(&["plugin", "ls", "-n", "Not_A_Label"]);
    ok(&run);
    let hello = env.plugins().join("flux-hello");
    let width = manual
        .to_string_lossy()
        .len()
        .max(hello.to_string_lossy().len());
    let expected = format!(
        "NAME  \tVERSION\t{:width$} \nbyhand\tmanual \t{:width$}\t\nhello \t3.2.1  \t{:width$}\t\n",
        "PATH",
        manual.display(),
        hello.display()
    );
    assert_eq!(run.stdout, expected);
    assert_eq!(run.stderr, "");
}

#[test]
fn search_filters_by_name_or_description_and_shows_installed_versions() {
    let env = Env::new();
    let bytes = script("echo hi");
    let release = env.release("0.9.0", "hello-bin", &bytes);
    env.manifest("hello", "flux-hello", &[release]);
    ok(&env.run(&["plugin", "install", "hello"]));

    let run = env.run(&["plugin", "search"]);
    ok(&run);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(
        lines[0].starts_with("NAME    \tDESCRIPTION"),
        "{}",
        run.stdout
    );
    assert!(lines[0].ends_with("INSTALLED "), "{}", run.stdout);
    assert!(
        lines[1].starts_with("hello   \tSays hello"),
        "{}",
        run.stdout
    );
    assert!(lines[1].ends_with("\t0.9.0    \t"), "{}", run.stdout);
    assert!(lines[2].starts_with("operator\t"), "{}", run.stdout);
    assert!(lines[2].ends_with("\t         \t"), "{}", run.stdout);

    // Case-insensitive, in names and descriptions, catalog order.
    let run = env.run(&["plugin", "search", "Operator"]);
    ok(&run);
    let names: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().trim_end())
        .collect();
    assert_eq!(names, ["operator", "schema"], "{}", run.stdout);

    let run = env.run(&["plugin", "search", "zzz"]);
    ok(&run);
    assert_eq!(run.stdout, "No plugins matching \"zzz\" found in catalog\n");

    env.server.serve(
        "catalog.yaml",
        "apiVersion: cli.fluxcd.io/v1beta1\nkind: PluginCatalog\nplugins: []\n",
    );
    let run = env.run(&["plugin", "search"]);
    ok(&run);
    assert_eq!(run.stdout, "No plugins found in catalog\n");
    failed_with(
        &env.run(&["plugin", "search", "a", "b"]),
        "accepts at most 1 arg(s), received 2",
    );
}

#[test]
fn uninstall_removes_a_symlink_not_its_target_and_the_receipt() {
    let env = Env::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("real-tool");
    std::fs::write(&target, script("echo real")).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&target, env.plugins().join("flux-linked")).unwrap();
    std::fs::write(env.plugins().join("flux-linked.yaml"), "version: 1.0.0\n").unwrap();
    assert_eq!(env.run(&["linked"]).stdout, "real\n");

    let run = env.run(&["plugin", "delete", "linked"]);
    ok(&run);
    assert_eq!(run.stderr, "✔ uninstalled linked\n");
    assert!(env.files().is_empty(), "{:?}", env.files());
    assert!(target.exists());

    failed_with(
        &env.run(&["plugin", "uninstall", "linked"]),
        "plugin \"linked\" is not installed",
    );
    failed_with(
        &env.run(&["plugin", "uninstall", "../../etc"]),
        "invalid plugin name \"../../etc\": use the name as the catalog lists it (one word, no slashes)",
    );
}

#[test]
fn update_goes_on_after_failures_and_exits_zero() {
    let env = Env::new();
    let run = env.run(&["plugin", "update"]);
    ok(&run);
    assert_eq!(run.stdout, "No plugins found\n");

    let (v1, v2) = (script("echo v1"), script("echo v2"));
    let old = env.release("1.0.0", "aaa-1", &v1);
    env.manifest("aaa", "flux-aaa", &[old]);
    ok(&env.run(&["plugin", "install", "aaa"]));
    let same = env.release("5.0.0", "bbb-5", &v1);
    env.manifest("bbb", "flux-bbb", &[same]);
    ok(&env.run(&["plugin", "install", "bbb"]));
    let gone = env.release("1.0.0", "ccc-1", &v1);
    env.manifest("ccc", "flux-ccc", &[gone]);
    ok(&env.run(&["plugin", "install", "ccc"]));
    env.manual("flux-manual", "echo m", 0o755);

    // aaa has a newer version, bbb does not, ccc left the catalog.
    let releases = [
        env.release("2.0.0", "aaa-2", &v2),
        env.release("1.0.0", "aaa-1", &v1),
    ];
    env.manifest("aaa", "flux-aaa", &releases);
    env.server.script("ccc.yaml", vec![Response::status(404)]);

    let run = env.run(&["plugin", "upgrade"]);
    ok(&run);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "► updating aaa v1.0.0 → v2.0.0\n\
         ✔ updated aaa v1.0.0 → v2.0.0\n\
         ✔ bbb already up to date (v5.0.0)\n\
         ✗ error checking ccc: plugin \"ccc\" not found in catalog\n\
         ⚠️ skipping manual (manually installed)\n"
    );
    assert_eq!(env.run(&["aaa"]).stdout, "v2\n");
    assert!(env.read("flux-aaa.yaml").contains("2.0.0"));

    // A failing download is reported and the old version stays.
    let mut broken = env.release("3.0.0", "aaa-3", &v1);
    broken.checksum = "sha256:11".into();
    env.manifest("aaa", "flux-aaa", &[broken]);
    let run = env.run(&["plugin", "update", "aaa"]);
    ok(&run);
    assert!(
        run.stderr.ends_with(&format!(
            "✗ error updating aaa: checksum verification failed (expected: sha256:11, got: {})\n",
            sha256(&v1)
        )),
        "{}",
        run.stderr
    );
    assert_eq!(env.run(&["aaa"]).stdout, "v2\n");

    failed_with(
        &env.run(&["plugin", "update", "zzz"]),
        "plugin \"zzz\" is not installed",
    );
}

#[test]
fn dispatch_replaces_the_process_with_the_plugin() {
    let env = Env::new();
    let path = env.manual(
        "flux-hello",
        "echo \"argv0=$0\"; for a in \"$@\"; do echo \"arg=$a\"; done; echo \"env=$HELLO_VAR\"; exit 7",
        0o755,
    );
    let run = env.run(&[
        "--timeout=1m",
        "hello",
        "--help",
        "-n",
        "x",
        "--",
        "--verbose",
        "a b",
    ]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "argv0={}\narg=--timeout=1m\narg=--help\narg=-n\narg=x\narg=--\narg=--verbose\narg=a b\nenv=from-env\n",
            path.display()
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn plugins_appear_in_help_but_never_shadow_builtin_commands() {
    let env = Env::new();
    env.manual("flux-hello", "echo hello", 0o755);
    env.manual("flux-version", "echo hijacked", 0o755);
    env.manual("flux-plugin", "echo hijacked", 0o755);
    env.manual("flux-noexec", "echo never", 0o644);
    std::fs::create_dir(env.plugins().join("flux-dir")).unwrap();

    let run = env.run(&["--help"]);
    ok(&run);
    let group = run
        .stdout
        .split("Plugin Commands:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no plugin group:\n{}", run.stdout));
    let group = group.split("\n\n").next().unwrap();
    let names: Vec<&str> = group
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["hello"], "{}", run.stdout);
    assert!(group.contains("Runs the hello plugin"));
    assert!(
        run.stdout.contains("\nAdditional Commands:\n"),
        "{}",
        run.stdout
    );

    let run = env.run(&["help", "hello"]);
    ok(&run);
    assert!(
        run.stdout.starts_with(
            "This command runs the hello plugin.\nUse 'flux hello --help' for full plugin help.\n\nUsage:\n  flux hello [flags]\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("\nhello\n"),
        "the plugin ran: {}",
        run.stdout
    );

    let run = env.run(&["version", "--client"]);
    ok(&run);
    assert!(!run.stdout.contains("hijacked"), "{}", run.stdout);
    let run = env.run(&["plugin", "list"]);
    ok(&run);
    assert!(
        !run.stdout.contains("hijacked") && !run.stdout.contains("noexec"),
        "{}",
        run.stdout
    );

    let run = env.run(&["noexec"]);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("never"), "{}", run.stdout);
}

#[test]
fn without_plugins_help_is_unchanged_and_a_broken_directory_is_ignored() {
    let env = Env::new();
    let run = env.run(&["--help"]);
    ok(&run);
    assert!(
        run.stdout.contains("\nAvailable Commands:\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Plugin Commands"), "{}", run.stdout);

    // A file where the directory should be: no plugins, no failure.
    let file = tempfile::NamedTempFile::new().unwrap();
    let output = flux()
        .env("FLUXCD_PLUGINS", file.path())
        .args(["plugin", "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "No plugins found\n"
    );
}

#[test]
fn a_plugin_that_cannot_be_executed_is_reported() {
    let env = Env::new();
    let path = env.plugins().join("flux-broken");
    std::fs::write(&path, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = env.run(&["broken", "x"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with(&format!("✗ unable to run plugin {}: ", path.display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("No such file or directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_default_directory_is_created_under_home() {
    let env = Env::new();
    let bytes = script("echo home");
    let release = env.release("1.0.0", "hello-bin", &bytes);
    env.manifest("hello", "flux-hello", &[release]);
    let output = flux()
        .env("HOME", env.home.path())
        .env_remove("FLUXCD_PLUGINS")
        .env("FLUXCD_PLUGIN_CATALOG", env.server.url())
        .args(["plugin", "install", "hello"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = env.home.path().join(".fluxcd/plugins");
    assert_eq!(std::fs::read(dir.join("flux-hello")).unwrap(), bytes);
    let output = flux()
        .env("HOME", env.home.path())
        .env_remove("FLUXCD_PLUGINS")
        .arg("hello")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "home\n");
}

/// Asks the binary for bash completions of `words` (the last one is the
/// word being completed).
fn complete(env: &Env, words: &[&str]) -> String {
    let index = words.len().to_string();
    let output = flux()
        .env("HOME", env.home.path())
        .env("FLUXCD_PLUGINS", env.plugins())
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", &index)
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .args(["--", "flux"])
        .args(words)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn plugin_names_and_their_arguments_complete() {
    let env = Env::new();
    // Answers cobra's __complete request from its arguments.
    let log = env.plugins().join("calls.log");
    env.manual(
        "flux-hello",
        &format!(
            "echo \"$*\" >> {}\nif [ \"$1\" = __complete ]; then printf 'greet\\tSay hi\\ngoodbye\\nother\\n:4\\n'; fi",
            log.display()
        ),
        0o755,
    );
    env.manual("flux-failing", "printf 'x\\n:1\\n'", 0o755);

    let names: Vec<String> = complete(&env, &["hel"])
        .lines()
        .map(str::to_string)
        .collect();
    assert!(names.iter().any(|n| n == "hello"), "{names:?}");

    let candidates = complete(&env, &["hello", "--flag", "g"]);
    let values: Vec<&str> = candidates.lines().collect();
    assert_eq!(values, ["greet", "goodbye"], "{candidates}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls, "__complete --flag g\n");

    // An error directive yields no candidate from the plugin (clap may
    // still offer the global flags for an empty word).
    let candidates = complete(&env, &["failing", ""]);
    assert!(!candidates.lines().any(|l| l == "x"), "{candidates}");
}

#[test]
fn redirects_are_followed_as_release_downloads_need() {
    let env = Env::new();
    let bytes = script("echo moved");
    let release = env.release("1.0.0", "assets/hello-bin", &bytes);
    env.manifest("real-hello", "flux-hello", &[release]);
    let moved = |to: &str| vec![Response::status(302).header("Location", to)];
    // A relative and an absolute Location.
    env.server.script("hello.yaml", moved("/real-hello.yaml"));
    env.server.script(
        "download/hello-bin",
        moved(&format!("{}assets/hello-bin", env.server.url())),
    );
    let text = {
        let (os, arch) = platform();
        format!(
            "apiVersion: cli.fluxcd.io/v1beta1\nkind: Plugin\nname: hello\nbin: flux-hello\nversions:\n  - version: 1.0.0\n    platforms:\n      - os: {os}\n        arch: {arch}\n        url: {}download/hello-bin\n        checksum: {}\n",
            env.server.url(),
            sha256(&bytes)
        )
    };
    env.server.serve("real-hello.yaml", text);
    let run = env.run(&["plugin", "install", "hello"]);
    ok(&run);
    assert_eq!(env.run(&["hello"]).stdout, "moved\n");
    assert_eq!(env.server.hits("download/hello-bin"), 1);
    assert_eq!(env.server.hits("assets/hello-bin"), 1);

    // A loop ends with an error instead of spinning.
    env.server.script("loop.yaml", moved("/loop.yaml"));
    let run = env.run(&["plugin", "install", "loop"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("stopped after 10 redirects"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_interrupted_install_leaves_nothing_behind() {
    use std::io::Read;
    let env = Env::new();
    // A download that sends a little and then stalls.
    let stall = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_url = format!("http://{}/stalled-bin", stall.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in stall.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n#!/bin/sh\necho partial\n",
            );
            std::thread::sleep(std::time::Duration::from_secs(20));
        }
    });
    let (os, arch) = platform();
    env.server.serve(
        "hello.yaml",
        format!(
            "apiVersion: cli.fluxcd.io/v1beta1\nkind: Plugin\nname: hello\nbin: flux-hello\nversions:\n  - version: 1.0.0\n    platforms:\n      - os: {os}\n        arch: {arch}\n        url: {stall_url}\n        checksum: sha256:00\n"
        ),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flux"))
        .args(["plugin", "install", "hello"])
        .env("HOME", env.home.path())
        .env("FLUXCD_PLUGINS", env.plugins())
        .env("FLUXCD_PLUGIN_CATALOG", env.server.url())
        .env("CI", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the partial download is on disk.
    let started = std::time::Instant::now();
    while env.files().is_empty() {
        assert!(
            started.elapsed().as_secs() < 20,
            "the download never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        env.files()[0].starts_with(".flux-download-"),
        "{:?}",
        env.files()
    );
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.ends_with("✗ interrupted\n"), "{stderr}");
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn oversized_catalogs_and_non_http_urls_are_refused() {
    let env = Env::new();
    let mut big = CATALOG.to_string();
    big.push_str(&format!("# {}\n", "x".repeat(10 << 20)));
    env.server.serve("catalog.yaml", big);
    failed_with(
        &env.run(&["plugin", "search"]),
        &format!(
            "failed to fetch plugin catalog: the response from {}catalog.yaml is larger than 10 MiB",
            env.server.url()
        ),
    );

    let output = flux()
        .env("FLUXCD_PLUGINS", env.plugins())
        .env("FLUXCD_PLUGIN_CATALOG", "file:///etc/")
        .args(["plugin", "search"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "✗ failed to fetch plugin catalog: Get \"file:///etc/catalog.yaml\": unsupported protocol scheme \"file\"\n"
    );
}
