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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn syntax_errors_show_the_input_line_with_a_caret() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE TABLE t (id INTEGER);\n\nSELECT id FROM t WHERE = 1;\n";
    let o = vectable(dir.path(), &[], Some(script));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    // The line is counted from the start of the script, not of the statement, and the
    // position is given once.
    assert_eq!(
        err,
        "Error: syntax error: Expected: an expression, found: =\n\
         LINE 3: SELECT id FROM t WHERE = 1;\n\
         \x20                              ^\n"
    );
    // A second statement on the same line of a -c text: the column counts from the line start.
    let o = vectable(dir.path(), &["-c", "SELECT 1;\nSELECT 2; SELEC 3"], None);
    let err = stderr(&o);
    assert!(
        err.ends_with("LINE 2: SELECT 2; SELEC 3\n                  ^\n"),
        "{err}"
    );
    assert!(!err.contains("Line:"), "{err}");
}

#[test]
fn read_runs_a_file_and_reports_errors_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("setup.sql");
    std::fs::write(
        &script,
        "CREATE TABLE r (id INTEGER PRIMARY KEY);\nINSERT INTO r VALUES (1), (2);\n.mode csv\nSELECT count(*) AS n FROM r;\n",
    )
    .unwrap();
    let broken = dir.path().join("broken.sql");
    std::fs::write(
        &broken,
        "SELECT 1;\n-- comment\n\nINSERT INTO r VALUES (3) (4);\n",
    )
    .unwrap();
    let db = dir.path().join("db");
    let o = vectable(&db, &["-c", &format!(".read {}", script.display())], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).ends_with("n\n2\n"), "{}", stdout(&o));
    let o = vectable(
        &db,
        &[
            "--mode",
            "csv",
            "-c",
            &format!(".read '{}'", broken.display()),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("Error: syntax error in {}: ", broken.display())),
        "{err}"
    );
    assert!(
        err.contains("\nLINE 4: INSERT INTO r VALUES (3) (4);\n"),
        "{err}"
    );
    // The statement with the error wrote nothing.
    let o = vectable(
        &db,
        &["--mode", "csv", "-c", "SELECT count(*) AS n FROM r"],
        None,
    );
    assert_eq!(stdout(&o), "n\n2\n");
}

#[test]
fn output_writes_results_to_a_file_then_back_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.csv");
    let o = vectable(
        &dir.path().join("db"),
        &[
            "--mode",
            "csv",
            "-c",
            &format!(".output {}", file.display()),
            "-c",
            "SELECT 1 AS a",
            "-c",
            ".output",
            "-c",
            "SELECT 2 AS b",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\n1\n");
    assert_eq!(stdout(&o), "b\n2\n");
}

#[test]
fn headers_and_box_and_markdown_modes() {
    let dir = tempfile::tempdir().unwrap();
    let o = vectable(
        dir.path(),
        &[
            "-c",
            ".mode markdown",
            "-c",
            "SELECT 1 AS a, 'x' AS b",
            "-c",
            ".mode box",
            "-c",
            "SELECT 2 AS c",
            "-c",
            ".headers off",
            "-c",
            ".mode csv",
            "-c",
            "SELECT 3 AS d",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("| a | b |\n|---|---|\n| 1 | x |\n"),
        "{out}"
    );
    assert!(out.contains("┌───┐\n│ c │\n╞═══╡\n│ 2 │\n└───┘\n"), "{out}");
    assert!(out.ends_with("└───┘\n3\n"), "{out}");
}

#[test]
fn writes_report_their_row_counts_in_table_mode_only() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "id,name\n10,x\n11,y\n12,z\n").unwrap();
    let db = dir.path().join("db");
    let o = vectable(
        &db,
        &[
            "-c",
            "CREATE TABLE r (id INTEGER PRIMARY KEY, name TEXT)",
            "-c",
            "INSERT INTO r VALUES (1, 'a'), (2, 'b')",
            "-c",
            "UPDATE r SET name = 'c' WHERE id = 1",
            "-c",
            &format!(
                "COPY r FROM '{}' WITH (FORMAT csv, HEADER true)",
                csv.display()
            ),
            "-c",
            "DELETE FROM r WHERE id > 1",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "2 rows inserted\n1 row updated\n3 rows copied\n4 rows deleted\n"
    );
    // csv and json output is data only.
    for mode in ["csv", "json"] {
        let o = vectable(
            &db,
            &[
                "--mode",
                mode,
                "-c",
                "INSERT INTO r VALUES (20, 'q')",
                "-c",
                "DELETE FROM r WHERE id = 20",
            ],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "", "{mode}");
        assert_eq!(stderr(&o), "", "{mode}");
    }
}

#[test]
fn numbers_print_in_the_shortest_form_with_exponents_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let o = vectable(
        dir.path(),
        &[
            "--mode",
            "csv",
            "-c",
            "SELECT 1e300 AS a, 1e15 AS b, 0.1 AS c, 123.456 AS d, 2.8e-33 AS e, 3.0 AS f, 0.00001 AS g",
            "-c",
            "CREATE TABLE v (e VECTOR(3)); INSERT INTO v VALUES ('[2.8e-33, 1000000, 0.1]')",
            "-c",
            ".mode line",
            "-c",
            "SELECT e FROM v",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "a,b,c,d,e,f,g\n1e+300,1e+15,0.1,123.456,2.8e-33,3.0,1e-05\ne = [2.8e-33,1e+06,0.1]\n"
    );
}

#[test]
fn closed_stdout_is_not_an_error_in_any_mode() {
    let dir = tempfile::tempdir().unwrap();
    vectable(
        dir.path(),
        &["-c", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"],
        None,
    );
    // Enough rows that the output does not fit in a pipe buffer.
    let insert = format!(
        "INSERT INTO t VALUES {};",
        (0..3000)
            .map(|i| format!("({i}, 'name number {i}')"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let o = vectable(dir.path(), &["-c", &insert], None);
    assert!(o.status.success(), "{}", stderr(&o));
    for mode in ["csv", "json", "table", "box", "markdown", "line"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vectable"))
            .arg(dir.path())
            .args(["--mode", mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the shell has read its script, so every write fails.
        drop(child.stdout.take());
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"SELECT * FROM t;\nSELECT * FROM t;\n")
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{mode}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{mode}");
    }
}

#[test]
fn quit_words_leave_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    for word in ["\\q", "exit", "quit;", "EXIT;", ".quit"] {
        let script = format!("SELECT 1 AS a;\n{word}\nSELECT 2 AS b;\n");
        let o = vectable(dir.path(), &["--mode", "csv"], Some(&script));
        assert!(o.status.success(), "{word}: {}", stderr(&o));
        assert_eq!(stdout(&o), "a\n1\n", "{word}");
    }
}

#[test]
fn open_switches_the_session_to_another_database() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other");
    let o = vectable(
        &dir.path().join("first"),
        &[
            "--mode",
            "csv",
            "-c",
            "CREATE TABLE in_first (id INTEGER)",
            "-c",
            &format!(".open {}", other.display()),
            "-c",
            "CREATE TABLE in_other (id INTEGER)",
            "-c",
            ".tables",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "in_other\n");
    let o = vectable(&dir.path().join("first"), &["-c", ".tables"], None);
    assert_eq!(stdout(&o), "in_first\n");
}

#[test]
fn maxwidth_and_maxrows_limit_tables() {
    let dir = tempfile::tempdir().unwrap();
    let long = "word ".repeat(140);
    let o = vectable(
        dir.path(),
        &[
            "-c",
            "CREATE TABLE d (id INTEGER PRIMARY KEY, description TEXT)",
            "-c",
            &format!("INSERT INTO d SELECT 1, '{long}'"),
            "-c",
            &format!("INSERT INTO d VALUES (2, '{long}'), (3, 'c'), (4, 'd'), (5, 'e')"),
            "-c",
            ".maxwidth 50",
            "-c",
            ".maxrows 2",
            "-c",
            "SELECT * FROM d ORDER BY id",
        ],
        None,
    );
    let out = stdout(&o);
    // INSERT … SELECT may not be supported; only the last table matters.
    let table: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with(['┌', '│', '├', '└']))
        .collect();
    assert!(!table.is_empty(), "{out}\n{}", stderr(&o));
    for line in &table {
        assert!(line.chars().count() <= 50, "{line:?}");
    }
    let ids: Vec<&str> = table
        .iter()
        .filter(|l| l.starts_with('│'))
        .map(|l| l.trim_start_matches('│').split('│').next().unwrap().trim())
        .collect();
    assert_eq!(ids, ["id", "1", "…", "5"], "{out}");
    assert!(out.contains("5 rows (2 shown)"), "{out}");
}
