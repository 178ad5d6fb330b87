//! The interactive shell in a pseudo-terminal: Ctrl-C cancels a running statement and the
//! session goes on; Ctrl-C clears a line being typed; Ctrl-C twice on an empty line exits;
//! the history file has every statement even when the shell is killed.

use std::path::Path;
use std::process::Command;

use rexpect::process::Signal;
use rexpect::reader::Options as ExpectOptions;
use rexpect::session::{spawn_with_options, PtySession};
use vectable::Database;

/// Milliseconds any expected output may take (builds share the machine with other work).
const TIMEOUT_MS: u64 = 60_000;

/// The shell on `dir` in a pseudo-terminal, in CSV mode, with its history in `history`.
fn shell(dir: &Path, history: &Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vectable"));
    cmd.arg(dir)
        .args(["--mode", "csv"])
        .env("TERM", "xterm")
        .env("VECTABLE_HISTORY", history)
        .env_remove("VECTABLE_LOG");
    let mut p = spawn_with_options(
        cmd,
        ExpectOptions::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    p.exp_string("vectable> ").unwrap();
    p
}

/// `t` with `n` rows of 16-dimensional vectors, loaded through the library.
fn fill(dir: &Path, n: usize) {
    let db = Database::open(dir).unwrap();
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(16))", ())
        .unwrap();
    let mut text = String::from("id,v\n");
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..n {
        let v: Vec<String> = (0..16)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{:.4}", (x % 10_000) as f32 / 10_000.0)
            })
            .collect();
        text.push_str(&format!("{i},\"[{}]\"\n", v.join(",")));
    }
    let csv = dir.join("fill.csv");
    std::fs::write(&csv, text).unwrap();
    db.execute(
        &format!(
            "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
            csv.display()
        ),
        (),
    )
    .unwrap();
    std::fs::remove_file(csv).unwrap();
}

#[test]
fn ctrl_c_cancels_an_index_build_and_the_history_survives_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let history = tmp.path().join("history");
    let n = 100_000;
    fill(&dir, n);

    let mut p = shell(&dir, &history);
    p.send_line("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops);")
        .unwrap();
    // The progress bar on stderr shows the build has started.
    p.exp_string("building index t.v").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("Interrupted").unwrap();
    p.exp_string("vectable> ").unwrap();

    // The same session goes on.
    p.send_line("SELECT count(*) AS n FROM t;").unwrap();
    p.exp_string(&format!("n\r\n{n}")).unwrap();
    p.exp_string("vectable> ").unwrap();

    // Killed: no normal exit, yet both statements are in the history file.
    p.process_mut().kill(Signal::SIGKILL).unwrap();
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops);"),
        "{saved}"
    );
    assert!(saved.contains("SELECT count(*) AS n FROM t;"), "{saved}");

    // The interrupted build left no index behind.
    let db = Database::open(&dir).unwrap();
    assert!(db.index_status().is_empty(), "{:?}", db.index_status());
}

#[test]
fn ctrl_c_clears_the_line_and_twice_on_an_empty_line_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let history = tmp.path().join("history");
    let mut p = shell(&dir, &history);

    // A line being typed is dropped, as is a pending multi-line statement. (rustyline
    // discards input typed before its next prompt: wait for each prompt.)
    p.send("SELECT 'dropped'").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("vectable> ").unwrap();
    p.send_line("SELECT 'first' AS a").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("vectable> ").unwrap();
    p.send_line("SELECT 'kept' AS b;").unwrap();
    p.exp_string("b\r\nkept").unwrap();
    p.exp_string("vectable> ").unwrap();

    // Once on an empty line: a hint; twice: the shell exits normally.
    p.send_control('c').unwrap();
    p.exp_string("Ctrl-C again").unwrap();
    p.exp_string("vectable> ").unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    assert!(matches!(
        p.process().wait().unwrap(),
        rexpect::process::WaitStatus::Exited(_, 0)
    ));
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("SELECT 'kept' AS b;"), "{saved}");
    assert!(!saved.contains("dropped"), "{saved}");
}
