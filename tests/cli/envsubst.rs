//! `flux envsubst`: stdin to stdout with Flux's substitution language.

use crate::common::{flux, shared_dir};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn envsubst(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Out {
    let mut cmd = flux();
    cmd.arg("envsubst").args(args).env_remove("REPO_NAME");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.write_stdin(stdin).output().expect("flux runs");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

#[test]
fn envsubst_reproduces_the_upstream_golden() {
    let dir = shared_dir().join("conformance/flux2-testdata/envsubst");
    let input = std::fs::read(dir.join("file.yaml")).unwrap();
    let golden = std::fs::read_to_string(dir.join("file.gold")).unwrap();
    let out = envsubst(&[], &[("REPO_NAME", "test")], &input);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, golden);
}

#[test]
fn envsubst_strict_fails_on_the_first_unset_variable_after_the_lines_before_it() {
    let dir = shared_dir().join("conformance/flux2-testdata/envsubst");
    let input = std::fs::read(dir.join("file.yaml")).unwrap();
    let out = envsubst(&["--strict"], &[], &input);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n"
    );
    assert_eq!(
        out.stderr,
        "✗ variable not set (strict mode): \"REPO_NAME\"\n"
    );
}

#[test]
fn envsubst_strict_accepts_defaults_and_empty_variables() {
    let out = envsubst(
        &["--strict"],
        &[("FLUX_T_EMPTY", "")],
        b"a=${FLUX_T_EMPTY}|${FLUX_T_UNSET:=d}",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, "a=|d\n");
}

#[test]
fn envsubst_works_line_by_line_with_upstreams_escapes() {
    let out = envsubst(
        &[],
        &[("FLUX_T_V", "Value")],
        b"$${FLUX_T_V} costs $$5 and $FLUX_T_V\r\n${FLUX_T_V,,} ${#FLUX_T_V}\n${FLUX_T_UNSET}.",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        "${FLUX_T_V} costs $5 and $FLUX_T_V\nvalue 5\n.\n"
    );
}

#[test]
fn envsubst_parse_errors_are_upstreams() {
    for (input, message) in [
        ("ok\n${FLUX_T\n", "missing closing brace"),
        ("${}", "unable to parse variable name"),
        ("${A-x}", "missing closing brace"),
    ] {
        let out = envsubst(&[], &[], input.as_bytes());
        assert_eq!(out.code, 1, "{input}");
        assert_eq!(out.stderr, format!("✗ {message}\n"), "{input}");
    }
}

#[test]
fn envsubst_stops_silently_at_a_line_over_64_kib() {
    let mut input = b"first\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 70 * 1024));
    input.extend(b"\nlast\n");
    let out = envsubst(&[], &[], &input);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, "first\n");
}

#[test]
fn envsubst_takes_no_arguments() {
    let out = envsubst(&["file.yaml"], &[], b"");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "✗ unknown command \"file.yaml\" for \"flux envsubst\"\n"
    );
}
