//! Error cases, built from in-memory trees: each error names the file (and
//! the line for YAML) and says what to change.

use kustomize::{Error, MemFs, build};
use std::path::Path;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n";

fn fs(files: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for (p, c) in files {
        fs.add_file(p, c.as_bytes());
    }
    fs
}

fn err(files: &[(&str, &str)], entry: &str) -> Error {
    match build(&fs(files), Path::new(entry)) {
        Ok(list) => panic!("expected an error, got:\n{}", list.to_yaml()),
        Err(e) => e,
    }
}

#[test]
fn builds_from_memory() {
    let list = build(
        &fs(&[
            (
                "/app/kustomization.yaml",
                "resources:\n- cm.yaml\nnamePrefix: p-\n",
            ),
            ("/app/cm.yaml", CM),
        ]),
        Path::new("/app"),
    )
    .unwrap();
    assert_eq!(
        list.to_yaml(),
        "apiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  name: p-cfg\n"
    );
}

#[test]
fn relative_paths_in_memory_start_at_the_root() {
    let list = build(
        &fs(&[
            ("/app/kustomization.yaml", "resources:\n- cm.yaml\n"),
            ("/app/cm.yaml", CM),
        ]),
        Path::new("app"),
    )
    .unwrap();
    assert_eq!(list.resources()[0].id().name, "cfg");
}

#[test]
fn resource_cycle() {
    let e = err(
        &[
            ("/a/kustomization.yaml", "resources:\n- ../b\n"),
            ("/b/kustomization.yaml", "resources:\n- ../a\n"),
        ],
        "/a",
    );
    assert!(matches!(e, Error::Cycle { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("cycle detected") && msg.contains("/a"),
        "{msg}"
    );
}

#[test]
fn missing_file() {
    let e = err(
        &[("/a/kustomization.yaml", "resources:\n- nope.yaml\n")],
        "/a",
    );
    assert!(matches!(e, Error::MissingResource { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("/a/kustomization.yaml") && msg.contains("nope.yaml"),
        "{msg}"
    );
}

#[test]
fn path_escaping_the_root() {
    let e = err(
        &[
            (
                "/a/overlay/kustomization.yaml",
                "resources:\n- ../cm.yaml\n",
            ),
            ("/a/cm.yaml", CM),
        ],
        "/a/overlay",
    );
    assert!(matches!(e, Error::OutsideRoot { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("/a/cm.yaml") && msg.contains("/a/overlay"),
        "{msg}"
    );
}

#[test]
fn bases_may_live_outside_the_root() {
    let list = build(
        &fs(&[
            ("/a/overlay/kustomization.yaml", "resources:\n- ../base\n"),
            ("/a/base/kustomization.yaml", "resources:\n- cm.yaml\n"),
            ("/a/base/cm.yaml", CM),
        ]),
        Path::new("/a/overlay"),
    )
    .unwrap();
    assert_eq!(list.len(), 1);
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let e = err(
        &[
            ("/a/kustomization.yaml", "resources:\n- bad.yaml\n"),
            (
                "/a/bad.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1, 2\n",
            ),
        ],
        "/a",
    );
    match &e {
        Error::Yaml { path, line, .. } => {
            assert_eq!(path, Path::new("/a/bad.yaml"));
            assert!(*line >= 6, "line {line}");
        }
        other => panic!("expected a YAML error, got {other}"),
    }
    assert!(e.to_string().starts_with("/a/bad.yaml:"), "{e}");
}

#[test]
fn unknown_kustomization_field() {
    let e = err(
        &[("/a/kustomization.yaml", "resources: []\nnameprefix: x-\n")],
        "/a",
    );
    assert!(matches!(e, Error::Kustomization { .. }), "{e}");
    assert!(
        e.to_string().contains("unknown field \"nameprefix\""),
        "{e}"
    );
}

#[test]
fn name_collision_after_prefix() {
    let e = err(
        &[
            ("/t/kustomization.yaml", "resources:\n- ../a\n- ../b\n"),
            (
                "/a/kustomization.yaml",
                "namePrefix: x-\nresources:\n- cm.yaml\n",
            ),
            ("/a/cm.yaml", &CM.replace("name: cfg", "name: y-c")),
            (
                "/b/kustomization.yaml",
                "namePrefix: x-y-\nresources:\n- cm.yaml\n",
            ),
            ("/b/cm.yaml", &CM.replace("name: cfg", "name: c")),
        ],
        "/t",
    );
    assert!(e.to_string().contains("x-y-c"), "{e}");
}

#[test]
fn unsupported_fields_say_so() {
    let e = err(
        &[(
            "/a/kustomization.yaml",
            "helmCharts:\n- name: redis\n  repo: https://charts.example\n",
        )],
        "/a",
    );
    match &e {
        Error::Unsupported { field, value, .. } => {
            assert_eq!(field, "helmCharts");
            assert!(value.contains("redis"), "{value}");
        }
        other => panic!("expected Unsupported, got {other}"),
    }
    let e = err(
        &[(
            "/a/kustomization.yaml",
            "resources:\n- https://github.com/org/repo//base?ref=v1\n",
        )],
        "/a",
    );
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("https://github.com/org/repo//base?ref=v1"),
        "{e}"
    );
}

#[test]
fn no_kustomization_file() {
    let e = err(&[("/a/cm.yaml", CM)], "/a");
    assert!(matches!(e, Error::NoKustomization { .. }), "{e}");
}
