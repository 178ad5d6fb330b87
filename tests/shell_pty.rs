//! The interactive shell in a pseudo-terminal (rexpect): lines typed while a statement runs
//! are run afterwards, tables fit a narrow terminal, Tab completes table names.

use std::path::Path;
use std::process::Command;

use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};

/// How long one expectation may wait: generous, as the machine may be busy.
const TIMEOUT_MS: u64 = 60_000;

/// Runs SQL in `dir` without a terminal (setup).
fn setup(dir: &Path, sql: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_vectable"))
        .arg(dir)
        .args(["-c", sql])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The shell on `dir` in a pseudo-terminal `columns` wide (through `$COLUMNS`), at its first
/// prompt.
fn shell(dir: &Path, home: &Path, columns: usize) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vectable"));
    command
        .arg(dir)
        .env("TERM", "xterm")
        .env("COLUMNS", columns.to_string())
        .env("HOME", home)
        .env_remove("VECTABLE_LOG");
    let options = Options::default()
        .timeout_ms(Some(TIMEOUT_MS))
        // rexpect's escape-code filter also eats UTF-8 bytes such as 0x90 (in `┐`).
        .strip_ansi_escape_codes(false);
    let mut p = spawn_with_options(command, options).unwrap();
    p.exp_string("vectable> ").unwrap();
    p
}

/// rexpect turns each byte it reads into a `char`: `raw` spells UTF-8 text that way, `utf8`
/// reads it back.
fn raw(text: &str) -> String {
    text.bytes().map(char::from).collect()
}

fn utf8(read: &str) -> String {
    let bytes: Vec<u8> = read.chars().map(|c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn lines_typed_while_a_statement_runs_are_run_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // A table whose index build takes a moment.
    let csv = dir.path().join("big.csv");
    let mut text = String::from("id,v\n");
    for i in 0..4000u32 {
        let v: Vec<String> = (0..32)
            .map(|j| format!("{}", ((i * 31 + j * 17) % 97) as f32 / 97.0))
            .collect();
        text.push_str(&format!("{i},\"[{}]\"\n", v.join(",")));
    }
    std::fs::write(&csv, text).unwrap();
    setup(
        &db,
        &format!(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, v VECTOR(32)); COPY big FROM '{}' WITH (FORMAT csv, HEADER true)",
            csv.display()
        ),
    );
    let mut p = shell(&db, dir.path(), 80);
    p.send_line("CREATE INDEX big_v ON big USING hnsw (v);")
        .unwrap();
    // Typed ahead, all at once: rustyline must keep what it read past the first line.
    p.send("SELECT 1000 + 11 AS a;\nSELECT 2000 + 22 AS a;\nSELECT 3000 + 33 AS a;\n")
        .unwrap();
    p.flush().unwrap();
    p.exp_string("1011").unwrap();
    p.exp_string("2022").unwrap();
    p.exp_string("3033").unwrap();
    p.send_line(".quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn tables_fit_a_narrow_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let description = "a description that goes on and on ".repeat(20);
    setup(
        &db,
        &format!(
            "CREATE TABLE d (id INTEGER PRIMARY KEY, description TEXT); INSERT INTO d VALUES (1, '{description}'), (2, 'short')"
        ),
    );
    let mut p = shell(&db, dir.path(), 40);
    p.send_line("SELECT id, description FROM d ORDER BY id;")
        .unwrap();
    let before = utf8(&p.exp_string(&raw("└")).unwrap());
    let rows: Vec<&str> = before
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with('│'))
        .collect();
    // Header and two rows, one line each (long text is cut with …, not wrapped).
    assert_eq!(rows.len(), 3, "{before}");
    assert!(rows[1].contains('…'), "{before}");
    for row in &rows {
        assert!(row.chars().count() <= 40, "{row:?} is wider than 40");
    }
    p.send_line(".quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn tab_completes_a_table_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    setup(
        &db,
        "CREATE TABLE inventory_items (id INTEGER PRIMARY KEY); INSERT INTO inventory_items VALUES (1), (2), (3)",
    );
    let mut p = shell(&db, dir.path(), 80);
    p.send("SELECT count(*) * 1000 + 7 AS n FROM inventory_it\t")
        .unwrap();
    p.flush().unwrap();
    p.send(";\n").unwrap();
    p.flush().unwrap();
    // Without the completion the statement would fail: no such table inventory_it.
    p.exp_string("3007").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}
