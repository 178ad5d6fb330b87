//! The `vectable` shell as a user runs it: `-c`, piped stdin, output modes, dot commands,
//! errors on stderr with a non-zero exit code.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vectable(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vectable"))
        .arg(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn commands_run_in_order_and_print_csv() {
    let dir = tempfile::tempdir().unwrap();
    let o = vectable(
        dir.path(),
        &[
            "--mode",
            "csv",
            "-c",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v VECTOR(2)); INSERT INTO t VALUES (1, 'a', '[1, 0]'), (2, 'b', '[0, 1]')",
            "-c",
            "SELECT id, name, v <-> '[1, 0.1]' AS d FROM t ORDER BY d LIMIT 1",
            "-c",
            ".tables",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "id,name,d");
    assert!(lines[1].starts_with("1,a,0.1"), "{out}");
    assert!(lines.contains(&"t"), "{out}");
}

#[test]
fn errors_go_to_stderr_and_stop_a_script_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let o = vectable(
        dir.path(),
        &[],
        Some("CREATE TABLE t (id INTEGER);\nSELECT nope FROM t;\nCREATE TABLE after_error (id INTEGER);\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Error: no such column: nope"), "{err}");
    // The statement after the error did not run.
    let o = vectable(dir.path(), &["--mode", "csv", "-c", "SHOW TABLES"], None);
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), vec!["name", "t"]);
}

#[test]
fn indexes_report_built_then_mapped_and_vectors_print_shortened() {
    let dir = tempfile::tempdir().unwrap();
    let setup = "CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(4));\
                 INSERT INTO t VALUES (1, '[1,0,0,0]'), (2, '[0,1,0,0]'), (3, '[0,0,1,0]');";
    let knn = "SELECT id FROM t ORDER BY v <=> '[1, 0.1, 0, 0]' LIMIT 2";
    let o = vectable(
        dir.path(),
        &["--mode", "csv", "-c", setup, "-c", knn, "-c", ".indexes"],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("t_v_hnsw,t,v,cosine,4,") && l.contains("built (")),
        "{out}"
    );
    let o = vectable(
        dir.path(),
        &["--mode", "csv", "-c", knn, "-c", ".indexes"],
        None,
    );
    let out = stdout(&o);
    assert!(out.contains("mapped ("), "{out}");
    // Table mode shortens vectors longer than 3 values.
    let o = vectable(dir.path(), &["-c", "SELECT v FROM t WHERE id = 1"], None);
    assert!(
        stdout(&o).contains("[1.0000, 0.0000, 0.0000, …] (4)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn import_and_schema_dot_commands() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "id,name\n1,x\n2,y\n").unwrap();
    let o = vectable(
        &dir.path().join("db"),
        &[
            "--mode",
            "csv",
            "-c",
            "CREATE TABLE r (id INTEGER PRIMARY KEY, name TEXT)",
            "-c",
            &format!(".import {} r", csv.display()),
            "-c",
            "SELECT count(*) AS n FROM r",
            "-c",
            ".schema r",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("n\n2\n"), "{out}");
    assert!(
        out.contains("CREATE TABLE r (id INTEGER PRIMARY KEY, name TEXT);"),
        "{out}"
    );
}
