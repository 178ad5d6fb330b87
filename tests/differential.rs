//! Differential testing: vectable's scalar SQL against SQLite (rusqlite, in memory), and its
//! kNN results against a brute-force oracle.
//!
//! Each proptest case builds a random table
//! `t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, r REAL, s TEXT, f BOOLEAN, v VECTOR(4))`
//! with random rows (NULLs, negative numbers, duplicated values, strings with quotes, `%`, `_`,
//! backslashes and a non-ASCII letter) in both engines (SQLite holds `v` as the vector's text),
//! then runs a random sequence of `SELECT` (expressions, `WHERE`, multi-key `ORDER BY` by
//! expression / position / alias, `LIMIT`/`OFFSET`, aggregates with `GROUP BY` / `HAVING`,
//! constant `SELECT`s without `FROM`), `INSERT`, `UPDATE` and `DELETE` statements on both and
//! compares: the rows (as a sequence where the `ORDER BY` ends with the primary key, otherwise
//! as a multiset), the rows-affected counts, success vs error, and the whole table after every
//! write. At the end of a case, kNN queries (`<->`, `<=>`, `<#>` and the function forms, with
//! and without a `WHERE`, with `LIMIT`/`OFFSET`, literal or `$1` query vectors) are compared
//! with a brute-force ranking of the rows SQLite says match the filter.
//!
//! The generator is typed: every expression has one of the types INTEGER, REAL, TEXT, BOOLEAN,
//! and operators only get operands of the types PostgreSQL accepts. Where SQLite and
//! PostgreSQL (whose semantics vectable follows) legitimately differ, the difference is handled
//! explicitly, never by loosening a comparison:
//!
//! - NULL ordering: PostgreSQL sorts NULLs last ascending and first descending, SQLite the
//!   opposite; the SQLite text of every ORDER BY key says `NULLS LAST` / `NULLS FIRST`.
//! - `LIKE` is case-sensitive in PostgreSQL and ASCII-case-insensitive in SQLite: the SQLite
//!   connection runs `PRAGMA case_sensitive_like = ON`. PostgreSQL's `LIKE` has the escape
//!   character `\` by default, SQLite none: the SQLite text says `ESCAPE '\'` (patterns never
//!   end in a lone `\`, which PostgreSQL rejects). SQLite has no `ILIKE`: it is written
//!   `lower(x) LIKE lower(p)` there, and `lower()` only meets ASCII letters and the lower-case
//!   `é` (SQLite's `lower`/`upper` fold ASCII only, so `upper` is not generated at all).
//! - Booleans: SQLite returns 0/1 integers; results are converted by the expression's type.
//! - Division and modulo by zero: PostgreSQL errors, SQLite returns NULL. Divisors are nonzero
//!   literals or `(abs(x) + 1)`, never an expression that can be zero.
//! - Integer overflow: PostgreSQL errors, SQLite silently switches to REAL. Every integer
//!   expression carries a bound on its magnitude; an operation whose bound would pass 1e15
//!   is not generated (so integers also stay exact when converted to REAL, as PostgreSQL
//!   compares int8 with float8 through float8 while SQLite compares exactly), and integer
//!   values stored by `UPDATE` are kept under 1e6 with `% 1000`.
//! - `%` on REAL does not exist in PostgreSQL (SQLite truncates to integers): only integer `%`
//!   is generated.
//! - Type affinity: SQLite converts values on assignment (text into INTEGER, real into
//!   INTEGER, …) where PostgreSQL errors or casts; assignments and `INSERT` values always have
//!   the column's type (or INTEGER into REAL, which both widen).
//! - `coalesce` unifies its argument types in PostgreSQL but not in SQLite: its arguments
//!   always have one type.
//! - SQLite's parser folds `FALSE AND x` to the literal 0, which ORDER BY / GROUP BY take for a
//!   column position: SQLite's keys are written `coalesce(key, NULL)` (same value).
//! - `round()` returns REAL for integers in SQLite; it is not generated. `||` with a REAL or a
//!   BOOLEAN operand formats differently in all three; only TEXT and INTEGER operands are used.
//! - Unique checks: PostgreSQL and SQLite check a non-deferrable unique key row by row during
//!   an `UPDATE`, vectable once per statement, so `SET id = id + 1` can fail spuriously in the
//!   former. Key updates are `SET id = <constant>` (fails in all three exactly when the result
//!   has a duplicate) or a shift by a statement-unique power of two that can never collide,
//!   not even transiently.
//! - REAL results are compared with a relative tolerance of 1e-9 (1e-6 for aggregates, whose
//!   summation order differs: SQLite uses Kahan-Babuska summation in its own scan order).
//!   -0.0 and 0.0 are equal, as in both engines' `=`.
//!
//! The default run has 128 + 64 cases and finishes in seconds; `VECTABLE_STRESS=1` runs 40 times
//! as many (several minutes). The totals are printed with `eprintln!` (see them with `--nocapture`).

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestRunner};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use vectable::{Database, Options, Value};

// ---------------------------------------------------------------------------------------------
// Counters, printed at the end of each test.

// Per test thread (each #[test] runs its proptest cases on its own thread).
thread_local! {
    static CASES: Cell<u64> = const { Cell::new(0) };
    static SELECTS: Cell<u64> = const { Cell::new(0) };
    static WRITES: Cell<u64> = const { Cell::new(0) };
    static TABLE_CHECKS: Cell<u64> = const { Cell::new(0) };
    static KNN_CASES: Cell<u64> = const { Cell::new(0) };
    static KNN_QUERIES: Cell<u64> = const { Cell::new(0) };
    static KNN_SKIPPED: Cell<u64> = const { Cell::new(0) };
}

fn bump(c: &'static std::thread::LocalKey<Cell<u64>>) {
    c.with(|c| c.set(c.get() + 1));
}

fn get(c: &'static std::thread::LocalKey<Cell<u64>>) -> u64 {
    c.with(Cell::get)
}

thread_local! {
    /// Set while proptest runs (and shrinks) cases on this thread: their panics are caught and
    /// reported once, with the shrunk case, by the runner.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `cases` cases of `strategy`, with panic messages printed only once at the end.
fn run_cases<S: Strategy>(name: &str, default_cases: u32, strategy: S, test: impl Fn(&S::Value))
where
    S::Value: std::fmt::Debug,
{
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config(default_cases));
    QUIET.with(|q| q.set(true));
    let result = runner.run(&strategy, |case| {
        test(&case);
        Ok(())
    });
    QUIET.with(|q| q.set(false));
    report(&format!("{name}, {:.1} s", started.elapsed().as_secs_f64()));
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn stress() -> bool {
    std::env::var("VECTABLE_STRESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn config(default_cases: u32) -> Config {
    Config {
        cases: if stress() {
            default_cases * 40
        } else {
            default_cases
        },
        // Do not write regression files into the shared checkout; a failure prints the
        // shrunk case, which goes into tests/sql.rs as a named regression test.
        failure_persistence: None,
        max_shrink_iters: if std::env::var("DIFF_NO_SHRINK").is_ok() {
            0
        } else {
            2_000
        },
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generated SQL: the same expression in vectable's (PostgreSQL's) and SQLite's spelling.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Int,
    Real,
    Text,
    Bool,
    /// The vector column (TEXT in SQLite); only in `SELECT *` and table comparisons.
    Vector,
}

#[derive(Clone, Debug)]
struct Sql {
    /// vectable's text.
    vt: String,
    /// SQLite's text.
    sq: String,
    /// INTEGER / REAL: an upper bound of the magnitude; TEXT: of the length in characters.
    bound: f64,
    /// Reads a column.
    col: bool,
}

impl Sql {
    fn same(text: impl Into<String>, bound: f64, col: bool) -> Sql {
        let t = text.into();
        Sql {
            vt: t.clone(),
            sq: t,
            bound,
            col,
        }
    }
    fn map(&self, f: impl Fn(&str) -> String, bound: f64) -> Sql {
        Sql {
            vt: f(&self.vt),
            sq: f(&self.sq),
            bound,
            col: self.col,
        }
    }
    fn map2(&self, o: &Sql, f: impl Fn(&str, &str) -> String, bound: f64) -> Sql {
        Sql {
            vt: f(&self.vt, &o.vt),
            sq: f(&self.sq, &o.sq),
            bound,
            col: self.col || o.col,
        }
    }
}

/// Magnitude bound of every integer expression (keeps clear of i64 overflow, and exact in f64).
const EXPR_BOUND: f64 = 1e15;
/// Magnitude bound of the values of `a` and `b`.
const COL_BOUND: f64 = 1e6;
/// Magnitude bound of `id` (constants stay within ±1000, shifts are powers of two from 2^12).
const ID_BOUND: f64 = (1u64 << 44) as f64;
/// Magnitude bound of the values of `r`.
const REAL_BOUND: f64 = 1e9;
/// Length bound of the values of `s`, and of text expressions.
const TEXT_BOUND: f64 = 40.0;

fn int_lit(i: i64) -> Sql {
    let t = if i < 0 {
        format!("({i})")
    } else {
        i.to_string()
    };
    Sql::same(t, i.unsigned_abs() as f64, false)
}

fn real_text(x: f64) -> String {
    // `{:?}` always has a decimal point or an exponent (`2.0`, `-0.0`, `0.001`).
    let t = format!("{x:?}");
    if x.is_sign_negative() {
        format!("({t})")
    } else {
        t
    }
}

fn real_lit(x: f64) -> Sql {
    Sql::same(real_text(x), x.abs(), false)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn text_lit(s: &str) -> Sql {
    Sql::same(quote(s), s.chars().count() as f64, false)
}

fn null() -> Sql {
    Sql::same("NULL", 0.0, false)
}

fn small_int() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![3 => -5i64..=5, 2 => -1000i64..=1000, 1 => Just(1_000_000i64), 1 => Just(-1_000_000i64)]
}

fn nice_real() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        4 => (-40i32..=40).prop_map(|k| f64::from(k) / 4.0),
        1 => Just(0.1),
        1 => Just(-0.0),
        1 => Just(123.456),
        1 => Just(0.001),
        1 => Just(-1e6),
    ]
}

/// Strings with duplicates, quotes, LIKE metacharacters, backslashes and a 2-byte letter.
fn text_value() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        1 => Just(String::new()),
        6 => "[abA '%_\\\\é]{1,4}",
        2 => prop::sample::select(vec!["a", "b", "ab", "A", "it's", "a%b", "a_b", "x\\y", "é"])
            .prop_map(String::from),
    ]
}

/// A LIKE pattern: literal characters, `%`, `_`, and `\` escaping the next character.
fn like_pattern() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec!["a", "b", "A", "'", " ", "é"]).prop_map(String::from),
            2 => Just("%".to_string()),
            2 => Just("_".to_string()),
            2 => prop::sample::select(vec!["\\%", "\\_", "\\\\", "\\a", "\\b"]).prop_map(String::from),
        ],
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

/// Typed expression strategies of one depth.
#[derive(Clone)]
struct Gen {
    int: BoxedStrategy<Sql>,
    real: BoxedStrategy<Sql>,
    text: BoxedStrategy<Sql>,
    boolean: BoxedStrategy<Sql>,
}

impl Gen {
    fn typed(&self) -> BoxedStrategy<(Sql, Ty)> {
        prop_oneof![
            3 => self.int.clone().prop_map(|s| (s, Ty::Int)),
            2 => self.real.clone().prop_map(|s| (s, Ty::Real)),
            2 => self.text.clone().prop_map(|s| (s, Ty::Text)),
            2 => self.boolean.clone().prop_map(|s| (s, Ty::Bool)),
        ]
        .boxed()
    }
}

fn union(arms: Vec<(u32, BoxedStrategy<Sql>)>) -> BoxedStrategy<Sql> {
    Union::new_weighted(arms).boxed()
}

/// Leaves; `subqueries` adds uncorrelated scalar subqueries over `t`.
fn leaves(cols: bool, subqueries: bool) -> Gen {
    let mut int = vec![
        (4, small_int().prop_map(int_lit).boxed()),
        (1, Just(null()).boxed()),
    ];
    let mut real = vec![
        (3, nice_real().prop_map(real_lit).boxed()),
        (1, Just(null()).boxed()),
    ];
    let mut text = vec![
        (3, text_value().prop_map(|s| text_lit(&s)).boxed()),
        (1, Just(null()).boxed()),
    ];
    let mut boolean = vec![
        (
            2,
            any::<bool>()
                .prop_map(|b| Sql::same(if b { "TRUE" } else { "FALSE" }, 0.0, false))
                .boxed(),
        ),
        (1, Just(null()).boxed()),
    ];
    // Uncorrelated scalar subqueries (evaluated once by vectable's binder). Not in UPDATE /
    // DELETE: PostgreSQL evaluates them on the snapshot the statement started with, SQLite
    // lazily, after it may already have changed rows of the same statement.
    if subqueries {
        int.push((
            1,
            prop::sample::select(vec![
                "(SELECT max(a) FROM t)",
                "(SELECT count(*) FROM t)",
                "(SELECT min(b) FROM t WHERE b > 0)",
            ])
            .prop_map(|q| Sql::same(q, COL_BOUND, false))
            .boxed(),
        ));
    }
    if cols {
        int.push((3, Just(Sql::same("id", ID_BOUND, true)).boxed()));
        int.push((
            5,
            prop::sample::select(vec!["a", "b"])
                .prop_map(|c| Sql::same(c, COL_BOUND, true))
                .boxed(),
        ));
        real.push((5, Just(Sql::same("r", REAL_BOUND, true)).boxed()));
        text.push((6, Just(Sql::same("s", TEXT_BOUND, true)).boxed()));
        boolean.push((4, Just(Sql::same("f", 0.0, true)).boxed()));
        boolean.push((
            1,
            any::<bool>()
                .prop_map(|n| {
                    Sql::same(if n { "(v IS NOT NULL)" } else { "(v IS NULL)" }, 0.0, true)
                })
                .boxed(),
        ));
    }
    Gen {
        int: union(int),
        real: union(real),
        text: union(text),
        boolean: union(boolean),
    }
}

fn arith(x: &Sql, y: &Sql, op: &str, limit: f64) -> Sql {
    let bound = if op == "*" {
        x.bound * y.bound
    } else {
        x.bound + y.bound
    };
    if bound > limit {
        // Would risk overflow: keep the left operand.
        return x.clone();
    }
    x.map2(y, |a, b| format!("({a} {op} {b})"), bound)
}

fn cmp_op() -> impl Strategy<Value = &'static str> + Clone {
    prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">=", "!="])
}

/// Expressions of at most `depth` levels of operators.
fn gen(depth: u32, cols: bool, subqueries: bool) -> Gen {
    let leaf = leaves(cols, subqueries);
    if depth == 0 {
        return leaf;
    }
    let sub = gen(depth - 1, cols, subqueries);
    let (i, r, t, b) = (
        sub.int.clone(),
        sub.real.clone(),
        sub.text.clone(),
        sub.boolean.clone(),
    );
    let arith_ops = prop::sample::select(vec!["+", "-", "*"]);

    // INTEGER
    let int_divisor = prop_oneof![
        2 => (1i64..=7, any::<bool>()).prop_map(|(d, neg)| int_lit(if neg { -d } else { d })),
        1 => i.clone().prop_map(|y| y.map(|s| format!("(abs({s}) + 1)"), y.bound + 1.0)),
    ];
    let int = union(vec![
        (4, leaf.int.clone()),
        (
            3,
            (i.clone(), i.clone(), arith_ops.clone())
                .prop_map(|(x, y, op)| arith(&x, &y, op, EXPR_BOUND))
                .boxed(),
        ),
        (
            1,
            i.clone()
                .prop_map(|x| x.map(|s| format!("(-{s})"), x.bound))
                .boxed(),
        ),
        (
            2,
            (i.clone(), int_divisor, prop::sample::select(vec!["/", "%"]))
                .prop_map(|(x, d, op)| x.map2(&d, |a, b| format!("({a} {op} {b})"), x.bound))
                .boxed(),
        ),
        (
            1,
            i.clone()
                .prop_map(|x| x.map(|s| format!("abs({s})"), x.bound))
                .boxed(),
        ),
        (
            1,
            t.clone()
                .prop_map(|x| x.map(|s| format!("length({s})"), x.bound))
                .boxed(),
        ),
        (
            1,
            (i.clone(), i.clone())
                .prop_map(|(x, y)| {
                    x.map2(
                        &y,
                        |a, b| format!("coalesce({a}, {b})"),
                        x.bound.max(y.bound),
                    )
                })
                .boxed(),
        ),
    ]);

    // REAL (INTEGER operands mixed in are converted, as in both engines)
    let num = prop_oneof![2 => r.clone(), 1 => i.clone()];
    let real_divisor = prop_oneof![
        2 => prop::sample::select(vec![0.5, -0.25, 2.0, 0.1, -3.0]).prop_map(real_lit),
        1 => r.clone().prop_map(|y| y.map(|s| format!("(abs({s}) + 0.5)"), y.bound + 0.5)),
    ];
    let real = union(vec![
        (4, leaf.real.clone()),
        (
            2,
            (r.clone(), num.clone(), arith_ops.clone())
                .prop_map(|(x, y, op)| arith(&x, &y, op, 1e30))
                .boxed(),
        ),
        (
            1,
            (i.clone(), r.clone(), arith_ops)
                .prop_map(|(x, y, op)| arith(&x, &y, op, 1e30))
                .boxed(),
        ),
        (
            1,
            r.clone()
                .prop_map(|x| x.map(|s| format!("(-{s})"), x.bound))
                .boxed(),
        ),
        (
            1,
            (num.clone(), real_divisor)
                .prop_map(|(x, d)| x.map2(&d, |a, b| format!("({a} / {b})"), x.bound * 10.0))
                .boxed(),
        ),
        (
            1,
            r.clone()
                .prop_map(|x| x.map(|s| format!("abs({s})"), x.bound))
                .boxed(),
        ),
        (
            1,
            (r.clone(), r.clone())
                .prop_map(|(x, y)| {
                    x.map2(
                        &y,
                        |a, b| format!("coalesce({a}, {b})"),
                        x.bound.max(y.bound),
                    )
                })
                .boxed(),
        ),
    ]);

    // TEXT
    let text = union(vec![
        (4, leaf.text.clone()),
        (
            2,
            (t.clone(), t.clone())
                .prop_map(|(x, y)| {
                    if x.bound + y.bound > 2.0 * TEXT_BOUND {
                        x
                    } else {
                        x.map2(&y, |a, b| format!("({a} || {b})"), x.bound + y.bound)
                    }
                })
                .boxed(),
        ),
        (
            1,
            (t.clone(), i.clone())
                .prop_map(|(x, y)| x.map2(&y, |a, b| format!("({a} || {b})"), x.bound + 17.0))
                .boxed(),
        ),
        (
            1,
            t.clone()
                .prop_map(|x| x.map(|s| format!("lower({s})"), x.bound))
                .boxed(),
        ),
        (
            1,
            (t.clone(), t.clone())
                .prop_map(|(x, y)| {
                    x.map2(
                        &y,
                        |a, b| format!("coalesce({a}, {b})"),
                        x.bound.max(y.bound),
                    )
                })
                .boxed(),
        ),
    ]);

    // BOOLEAN
    let cmp = |x: Sql, y: Sql, op: &str| x.map2(&y, |a, b| format!("({a} {op} {b})"), 0.0);
    let any_sub = prop_oneof![i.clone(), r.clone(), t.clone(), b.clone()];
    let in_list = |x: BoxedStrategy<Sql>, lit: BoxedStrategy<Sql>| {
        (x, prop::collection::vec(lit, 1..5), any::<bool>())
            .prop_map(|(x, mut items, negated)| {
                let not = if negated { "NOT " } else { "" };
                // sqlparser takes `IN ((SELECT …), …)` for an IN subquery and fails on the
                // comma (PostgreSQL accepts it): a leading scalar subquery is written `0 + (…)`.
                if items[0].vt.starts_with("(SELECT") {
                    items[0] = items[0].map(|s| format!("(0 + {s})"), items[0].bound);
                }
                let vt: Vec<&str> = items.iter().map(|s| s.vt.as_str()).collect();
                let sq: Vec<&str> = items.iter().map(|s| s.sq.as_str()).collect();
                Sql {
                    vt: format!("({} {not}IN ({}))", x.vt, vt.join(", ")),
                    sq: format!("({} {not}IN ({}))", x.sq, sq.join(", ")),
                    bound: 0.0,
                    col: x.col || items.iter().any(|s| s.col),
                }
            })
            .boxed()
    };
    let between = |x: BoxedStrategy<Sql>, y: BoxedStrategy<Sql>| {
        (x, y.clone(), y, any::<bool>())
            .prop_map(|(x, lo, hi, negated)| {
                let not = if negated { "NOT " } else { "" };
                Sql {
                    vt: format!("({} {not}BETWEEN {} AND {})", x.vt, lo.vt, hi.vt),
                    sq: format!("({} {not}BETWEEN {} AND {})", x.sq, lo.sq, hi.sq),
                    bound: 0.0,
                    col: x.col || lo.col || hi.col,
                }
            })
            .boxed()
    };
    let like = (t.clone(), like_pattern(), any::<bool>(), any::<bool>()).prop_map(
        |(x, p, negated, ilike)| {
            let not = if negated { "NOT " } else { "" };
            let pat = quote(&p);
            if ilike {
                Sql {
                    vt: format!("({} {not}ILIKE {pat})", x.vt),
                    sq: format!("(lower({}) {not}LIKE lower({pat}) ESCAPE '\\')", x.sq),
                    bound: 0.0,
                    col: x.col,
                }
            } else {
                Sql {
                    vt: format!("({} {not}LIKE {pat})", x.vt),
                    sq: format!("({} {not}LIKE {pat} ESCAPE '\\')", x.sq),
                    bound: 0.0,
                    col: x.col,
                }
            }
        },
    );
    let boolean = union(vec![
        (3, leaf.boolean.clone()),
        (
            4,
            (i.clone(), i.clone(), cmp_op())
                .prop_map(move |(x, y, op)| cmp(x, y, op))
                .boxed(),
        ),
        (
            2,
            (r.clone(), num.clone(), cmp_op())
                .prop_map(move |(x, y, op)| cmp(x, y, op))
                .boxed(),
        ),
        (
            2,
            (t.clone(), t.clone(), cmp_op())
                .prop_map(move |(x, y, op)| cmp(x, y, op))
                .boxed(),
        ),
        (
            1,
            (b.clone(), b.clone(), cmp_op())
                .prop_map(move |(x, y, op)| cmp(x, y, op))
                .boxed(),
        ),
        (
            2,
            (any_sub, any::<bool>())
                .prop_map(|(x, n)| {
                    x.map(
                        |s| format!("({s} IS {}NULL)", if n { "NOT " } else { "" }),
                        0.0,
                    )
                })
                .boxed(),
        ),
        (1, in_list(i.clone(), leaf.int.clone())),
        (1, in_list(t.clone(), leaf.text.clone())),
        (1, in_list(r.clone(), num.clone().boxed())),
        (1, between(i.clone(), i.clone())),
        (1, between(r.clone(), num.boxed())),
        (1, between(t.clone(), t.clone())),
        (2, like.boxed()),
        (
            3,
            (
                b.clone(),
                b.clone(),
                prop::sample::select(vec!["AND", "OR"]),
            )
                .prop_map(|(x, y, op)| x.map2(&y, |a, c| format!("({a} {op} {c})"), 0.0))
                .boxed(),
        ),
        (
            2,
            b.clone()
                .prop_map(|x| x.map(|s| format!("(NOT {s})"), 0.0))
                .boxed(),
        ),
        (
            1,
            (
                b,
                prop::sample::select(vec!["IS TRUE", "IS FALSE", "IS NOT TRUE", "IS NOT FALSE"]),
            )
                .prop_map(|(x, is)| x.map(|s| format!("({s} {is})"), 0.0))
                .boxed(),
        ),
    ]);
    Gen {
        int,
        real,
        text,
        boolean,
    }
}

// ---------------------------------------------------------------------------------------------
// Statements

#[derive(Clone, Debug)]
enum Stmt {
    /// A query; `ordered` when its ORDER BY determines the order of every row.
    Query {
        vt: String,
        sq: String,
        types: Vec<Ty>,
        ordered: bool,
    },
    /// INSERT / UPDATE / DELETE.
    Write { vt: String, sq: String },
    /// `UPDATE t SET id = id + <2^(12 + statement index)> WHERE …`.
    ShiftIds { filter: Option<Sql> },
}

#[derive(Clone, Debug)]
enum OrderKey {
    Expr(Sql, Option<bool>),
    Position(usize, Option<bool>),
    Alias(usize, Option<bool>),
}

fn dir() -> impl Strategy<Value = Option<bool>> + Clone {
    prop_oneof![Just(None), Just(Some(false)), Just(Some(true))]
}

/// ` ASC`/` DESC` for vectable; with SQLite's explicit NULL placement (PostgreSQL's default).
fn dir_text(d: Option<bool>) -> (&'static str, &'static str) {
    match d {
        None => ("", " NULLS LAST"),
        Some(false) => (" ASC", " ASC NULLS LAST"),
        Some(true) => (" DESC", " DESC NULLS FIRST"),
    }
}

/// An ORDER BY / GROUP BY expression for SQLite. SQLite's parser folds `FALSE AND x` (and
/// `x AND FALSE`) to the integer literal 0, which ORDER BY / GROUP BY then take for a column
/// position ("term out of range"); PostgreSQL keeps it an expression. `coalesce(e, NULL)` has
/// the same value and is never folded to a literal.
fn sqlite_key(sq: &str) -> String {
    format!("coalesce({sq}, NULL)")
}

fn where_text(w: &Option<Sql>) -> (String, String) {
    match w {
        Some(w) => (format!(" WHERE {}", w.vt), format!(" WHERE {}", w.sq)),
        None => (String::new(), String::new()),
    }
}

fn limit_text(l: Option<(u32, Option<u32>)>) -> String {
    match l {
        None => String::new(),
        Some((n, None)) => format!(" LIMIT {n}"),
        Some((n, Some(o))) => format!(" LIMIT {n} OFFSET {o}"),
    }
}

fn plain_select(g2: &Gen, g3: &Gen) -> BoxedStrategy<Stmt> {
    let key = prop_oneof![
        2 => (g2.typed().prop_filter("ORDER BY key reads a column", |(s, _)| s.col), dir())
            .prop_map(|((s, _), d)| OrderKey::Expr(s, d)),
        1 => (0usize..4, dir()).prop_map(|(i, d)| OrderKey::Position(i, d)),
        1 => (0usize..4, dir()).prop_map(|(i, d)| OrderKey::Alias(i, d)),
    ];
    (
        prop::collection::vec(g2.typed(), 1..5),
        prop::option::weighted(0.7, g3.boolean.clone()),
        prop::collection::vec(key, 0..3),
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.4, (0u32..8, prop::option::of(0u32..4))),
        prop::option::weighted(0.1, Just(())),
    )
        .prop_map(|(projs, filter, keys, total, id_desc, limit, star)| {
            let (mut sel_vt, mut sel_sq, mut types) = (Vec::new(), Vec::new(), Vec::new());
            if star.is_some() {
                sel_vt.push("*".to_string());
                sel_sq.push("*".to_string());
                types.extend([
                    Ty::Int,
                    Ty::Int,
                    Ty::Int,
                    Ty::Real,
                    Ty::Text,
                    Ty::Bool,
                    Ty::Vector,
                ]);
            }
            for (n, (p, ty)) in projs.iter().enumerate() {
                sel_vt.push(format!("{} AS c{n}", p.vt));
                sel_sq.push(format!("{} AS c{n}", p.sq));
                types.push(*ty);
            }
            let (wv, ws) = where_text(&filter);
            let (mut ov, mut os) = (Vec::new(), Vec::new());
            for k in &keys {
                match k {
                    OrderKey::Expr(s, d) => {
                        let (dv, ds) = dir_text(*d);
                        ov.push(format!("{}{dv}", s.vt));
                        os.push(format!("{}{ds}", sqlite_key(&s.sq)));
                    }
                    OrderKey::Position(i, d) => {
                        let (dv, ds) = dir_text(*d);
                        let p = i % types.len() + 1;
                        ov.push(format!("{p}{dv}"));
                        os.push(format!("{p}{ds}"));
                    }
                    OrderKey::Alias(i, d) => {
                        let (dv, ds) = dir_text(*d);
                        let a = i % projs.len();
                        ov.push(format!("c{a}{dv}"));
                        os.push(format!("c{a}{ds}"));
                    }
                }
            }
            // A LIMIT / OFFSET needs a total order (else the rows it keeps are arbitrary).
            let ordered = total || limit.is_some();
            if ordered {
                let d = if id_desc { " DESC" } else { "" };
                ov.push(format!("id{d}"));
                os.push(format!("id{d}"));
            }
            let order = |o: &[String]| {
                if o.is_empty() {
                    String::new()
                } else {
                    format!(" ORDER BY {}", o.join(", "))
                }
            };
            let lim = limit_text(limit);
            Stmt::Query {
                vt: format!("SELECT {} FROM t{wv}{}{lim}", sel_vt.join(", "), order(&ov)),
                sq: format!("SELECT {} FROM t{ws}{}{lim}", sel_sq.join(", "), order(&os)),
                types,
                ordered,
            }
        })
        .boxed()
}

/// `(call, result type, exact)`: `exact` when both engines compute the same value bit for bit
/// (so it may be a sort key).
fn aggregate(g1: &Gen) -> BoxedStrategy<(Sql, Ty, bool)> {
    let call = |name: &'static str, x: Sql| x.map(|s| format!("{name}({s})"), 0.0);
    prop_oneof![
        2 => Just((Sql::same("count(*)", 0.0, false), Ty::Int, true)),
        1 => g1.typed().prop_map(move |(x, _)| (call("count", x), Ty::Int, true)),
        2 => g1.int.clone().prop_map(move |x| (call("sum", x), Ty::Int, true)),
        1 => g1.real.clone().prop_map(move |x| (call("sum", x), Ty::Real, false)),
        1 => prop_oneof![g1.int.clone(), g1.real.clone()].prop_map(move |x| (call("avg", x), Ty::Real, false)),
        2 => (prop::sample::select(vec!["min", "max"]), g1.int.clone()).prop_map(move |(f, x)| (call(f, x), Ty::Int, true)),
        1 => (prop::sample::select(vec!["min", "max"]), g1.real.clone()).prop_map(move |(f, x)| (call(f, x), Ty::Real, true)),
        1 => (prop::sample::select(vec!["min", "max"]), g1.text.clone()).prop_map(move |(f, x)| (call(f, x), Ty::Text, true)),
    ]
    .boxed()
}

fn aggregate_select(g1: &Gen, g3: &Gen) -> BoxedStrategy<Stmt> {
    let group_key = prop_oneof![
        3 => prop::sample::select(vec![("a", Ty::Int), ("b", Ty::Int), ("s", Ty::Text), ("f", Ty::Bool), ("r", Ty::Real)])
            .prop_map(|(c, ty)| (Sql::same(c, 0.0, true), ty)),
        1 => g1.typed().prop_filter("group key reads a column", |(s, _)| s.col),
    ];
    let having = (
        aggregate(g1),
        cmp_op(),
        small_int(),
        text_value(),
        nice_real(),
    )
        .prop_map(|((agg, ty, _), op, i, s, r)| {
            let lit = match ty {
                Ty::Int => int_lit(i),
                Ty::Text => text_lit(&s),
                _ => real_lit(r),
            };
            agg.map2(&lit, |a, b| format!("({a} {op} {b})"), 0.0)
        });
    (
        prop::collection::vec(group_key, 0..3),
        prop::collection::vec(aggregate(g1), 1..4),
        prop::option::weighted(0.5, g3.boolean.clone()),
        prop::option::weighted(0.3, having),
        prop::option::weighted(
            0.6,
            (
                prop::collection::vec(any::<u32>(), 8),
                prop::collection::vec(dir(), 6),
            ),
        ),
        prop::option::weighted(0.3, (0u32..5, prop::option::of(0u32..3))),
    )
        .prop_map(|(keys, aggs, filter, having, order, limit)| {
            let mut types = Vec::new();
            let (mut sv, mut ss) = (Vec::new(), Vec::new());
            for (k, ty) in &keys {
                sv.push(k.vt.clone());
                ss.push(k.sq.clone());
                types.push(*ty);
            }
            for (a, ty, _) in &aggs {
                sv.push(a.vt.clone());
                ss.push(a.sq.clone());
                types.push(*ty);
            }
            let (wv, ws) = where_text(&filter);
            let (mut gv, mut gs) = (String::new(), String::new());
            if !keys.is_empty() {
                gv = format!(
                    " GROUP BY {}",
                    keys.iter()
                        .map(|(k, _)| k.vt.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                gs = format!(
                    " GROUP BY {}",
                    keys.iter()
                        .map(|(k, _)| sqlite_key(&k.sq))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(h) = &having {
                gv.push_str(&format!(" HAVING {}", h.vt));
                gs.push_str(&format!(" HAVING {}", h.sq));
            }
            // Ordered by every group key (groups are distinct in their keys) plus, in front,
            // possibly some exact aggregates; a LIMIT only with such an order.
            let (mut ov, mut os) = (String::new(), String::new());
            let mut ordered = keys.is_empty();
            if let Some((choices, dirs)) = order {
                let mut positions: Vec<usize> = (1..=keys.len()).collect();
                let exact_aggs: Vec<usize> = aggs
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, _, exact))| *exact)
                    .map(|(n, _)| keys.len() + n + 1)
                    .collect();
                let mut front: Vec<usize> = exact_aggs
                    .into_iter()
                    .enumerate()
                    .filter(|(n, _)| choices[n % choices.len()] % 3 == 0)
                    .map(|(_, p)| p)
                    .collect();
                // Shuffle the keys' positions with the generated choices.
                for i in (1..positions.len()).rev() {
                    let j = choices[i % choices.len()] as usize % (i + 1);
                    positions.swap(i, j);
                }
                front.extend(positions);
                let (mut v, mut s) = (Vec::new(), Vec::new());
                for (n, p) in front.iter().enumerate() {
                    let (dv, ds) = dir_text(dirs[n % dirs.len()]);
                    v.push(format!("{p}{dv}"));
                    s.push(format!("{p}{ds}"));
                }
                if !v.is_empty() {
                    ov = format!(" ORDER BY {}", v.join(", "));
                    os = format!(" ORDER BY {}", s.join(", "));
                }
                ordered = true;
            }
            let lim = if ordered {
                limit_text(limit)
            } else {
                String::new()
            };
            Stmt::Query {
                vt: format!("SELECT {} FROM t{wv}{gv}{ov}{lim}", sv.join(", ")),
                sq: format!("SELECT {} FROM t{ws}{gs}{os}{lim}", ss.join(", ")),
                types,
                ordered,
            }
        })
        .boxed()
}

fn constant_select(c3: &Gen) -> BoxedStrategy<Stmt> {
    prop::collection::vec(c3.typed(), 1..4)
        .prop_map(|items| Stmt::Query {
            vt: format!(
                "SELECT {}",
                items
                    .iter()
                    .map(|(s, _)| s.vt.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            sq: format!(
                "SELECT {}",
                items
                    .iter()
                    .map(|(s, _)| s.sq.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            types: items.iter().map(|(_, t)| *t).collect(),
            ordered: true,
        })
        .boxed()
}

fn vector_value() -> impl Strategy<Value = Vec<f32>> + Clone {
    prop::collection::vec((-8i32..=8).prop_map(|k| k as f32 / 4.0), 4).prop_map(|mut v| {
        if v.iter().all(|x| *x == 0.0) {
            v[0] = 1.0;
        }
        v
    })
}

/// A vector as vectable prints it (`[1,0.25,-2,0]`); written that way into both engines.
fn vector_text(v: &[f32]) -> String {
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(","))
}

#[derive(Clone, Debug)]
struct RowData {
    a: Option<i64>,
    b: Option<i64>,
    r: Option<f64>,
    s: Option<String>,
    f: Option<bool>,
    v: Option<Vec<f32>>,
}

fn row_data() -> impl Strategy<Value = RowData> {
    (
        prop::option::weighted(0.8, small_int()),
        prop::option::weighted(0.8, -3i64..=3),
        prop::option::weighted(0.8, nice_real()),
        prop::option::weighted(0.8, text_value()),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.85, vector_value()),
    )
        .prop_map(|(a, b, r, s, f, v)| RowData { a, b, r, s, f, v })
}

/// The VALUES tuple of a row, with the columns in `cols` (after `id`).
fn row_tuple(id: i64, row: &RowData, cols: &[&str]) -> String {
    let mut items = vec![int_lit(id).vt];
    for c in cols {
        items.push(match *c {
            "a" => row.a.map_or("NULL".into(), |x| int_lit(x).vt),
            "b" => row.b.map_or("NULL".into(), |x| int_lit(x).vt),
            "r" => row.r.map_or("NULL".into(), real_text),
            "s" => row.s.as_deref().map_or("NULL".into(), quote),
            "f" => row
                .f
                .map_or("NULL".into(), |x| if x { "TRUE" } else { "FALSE" }.into()),
            "v" => row
                .v
                .as_deref()
                .map_or("NULL".into(), |v| quote(&vector_text(v))),
            _ => unreachable!(),
        });
    }
    format!("({})", items.join(", "))
}

fn insert_stmt() -> BoxedStrategy<Stmt> {
    (
        prop::collection::vec((-60i64..260, row_data()), 1..4),
        prop::sample::subsequence(vec!["a", "b", "r", "s", "f", "v"], 0..=6),
    )
        .prop_map(|(rows, cols)| {
            let tuples: Vec<String> = rows
                .iter()
                .map(|(id, r)| row_tuple(*id, r, &cols))
                .collect();
            let mut names = vec!["id"];
            names.extend(cols.iter().copied());
            let sql = format!(
                "INSERT INTO t ({}) VALUES {}",
                names.join(", "),
                tuples.join(", ")
            );
            Stmt::Write {
                vt: sql.clone(),
                sq: sql,
            }
        })
        .boxed()
}

fn update_stmt(g2: &Gen, g3: &Gen) -> BoxedStrategy<Stmt> {
    let g2 = g2.clone();
    let shift = prop::option::weighted(0.8, g3.boolean.clone())
        .prop_map(|filter| Stmt::ShiftIds { filter });
    let assign = move |c: &'static str| -> BoxedStrategy<Sql> {
        let set = move |s: Sql| s.map(|x| format!("{c} = {x}"), 0.0);
        match c {
            "a" | "b" => g2
                .int
                .clone()
                .prop_map(move |x| {
                    // Stored integers stay small, so later expressions cannot overflow.
                    let x = if x.bound > COL_BOUND {
                        x.map(|s| format!("({s} % 1000)"), 999.0)
                    } else {
                        x
                    };
                    set(x)
                })
                .boxed(),
            "r" => prop_oneof![2 => g2.real.clone(), 1 => g2.int.clone()]
                .prop_map(move |x| {
                    set(if x.bound > REAL_BOUND {
                        real_lit(1.5)
                    } else {
                        x
                    })
                })
                .boxed(),
            "s" => g2
                .text
                .clone()
                .prop_map(move |x| {
                    set(if x.bound > TEXT_BOUND {
                        text_lit("long")
                    } else {
                        x
                    })
                })
                .boxed(),
            "f" => g2.boolean.clone().prop_map(set).boxed(),
            "v" => prop::option::weighted(0.8, vector_value())
                .prop_map(move |v| set(v.map_or(null(), |v| text_lit(&vector_text(&v)))))
                .boxed(),
            // Key updates: a constant (a duplicate fails in every engine) or NULL (fails).
            _ => prop_oneof![5 => (-60i64..260).prop_map(int_lit), 1 => Just(null())]
                .prop_map(set)
                .boxed(),
        }
    };
    let plain = (
        prop::sample::subsequence(vec!["id", "a", "b", "r", "s", "f", "v"], 1..=3),
        prop::option::weighted(0.8, g3.boolean.clone()),
    )
        .prop_flat_map(move |(cols, filter)| {
            let sets: Vec<BoxedStrategy<Sql>> = cols.iter().map(|c| assign(c)).collect();
            (sets, Just(filter))
        })
        .prop_map(|(sets, filter)| {
            let (wv, ws) = where_text(&filter);
            let vt: Vec<&str> = sets.iter().map(|s| s.vt.as_str()).collect();
            let sq: Vec<&str> = sets.iter().map(|s| s.sq.as_str()).collect();
            Stmt::Write {
                vt: format!("UPDATE t SET {}{wv}", vt.join(", ")),
                sq: format!("UPDATE t SET {}{ws}", sq.join(", ")),
            }
        });
    prop_oneof![6 => plain, 1 => shift].boxed()
}

fn delete_stmt(g3: &Gen) -> BoxedStrategy<Stmt> {
    prop::option::weighted(0.95, g3.boolean.clone())
        .prop_map(|filter| {
            let (wv, ws) = where_text(&filter);
            Stmt::Write {
                vt: format!("DELETE FROM t{wv}"),
                sq: format!("DELETE FROM t{ws}"),
            }
        })
        .boxed()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KnnOp {
    L2,
    Cosine,
    NegIp,
    L2Fn,
    CosineFn,
}

impl KnnOp {
    fn expr(self, q: &str) -> String {
        match self {
            KnnOp::L2 => format!("v <-> {q}"),
            KnnOp::Cosine => format!("v <=> {q}"),
            KnnOp::NegIp => format!("v <#> {q}"),
            KnnOp::L2Fn => format!("l2_distance(v, {q})"),
            KnnOp::CosineFn => format!("cosine_distance(v, {q})"),
        }
    }

    fn distance(self, a: &[f32], b: &[f32]) -> f64 {
        let (mut ab, mut aa, mut bb, mut l2) = (0f64, 0f64, 0f64, 0f64);
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (f64::from(*x), f64::from(*y));
            ab += x * y;
            aa += x * x;
            bb += y * y;
            l2 += (x - y) * (x - y);
        }
        match self {
            KnnOp::L2 | KnnOp::L2Fn => l2.sqrt(),
            KnnOp::Cosine | KnnOp::CosineFn => (1.0 - ab / (aa * bb).sqrt()).clamp(0.0, 2.0),
            KnnOp::NegIp => -ab,
        }
    }
}

#[derive(Clone, Debug)]
struct KnnQuery {
    query: Vec<f32>,
    op: KnnOp,
    k: u32,
    offset: Option<u32>,
    filter: Option<Sql>,
    /// Bind the query vector as `$1` (else a literal).
    param: bool,
    /// Also return the distance, aliased and ordered by the alias.
    with_distance: bool,
}

fn query_vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, 4).prop_map(|mut v| {
        if v.iter().all(|x| x.abs() < 1e-3) {
            v[0] = 0.5;
        }
        v
    })
}

fn knn_query(filter: BoxedStrategy<Sql>, max_k: u32) -> BoxedStrategy<KnnQuery> {
    (
        query_vector(),
        prop::sample::select(vec![
            KnnOp::L2,
            KnnOp::Cosine,
            KnnOp::NegIp,
            KnnOp::L2Fn,
            KnnOp::CosineFn,
        ]),
        1..=max_k,
        prop::option::weighted(0.2, 0u32..4),
        prop::option::weighted(0.5, filter),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(query, op, k, offset, filter, param, with_distance)| KnnQuery {
                query,
                op,
                k,
                offset,
                filter,
                param,
                with_distance,
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Running both engines

/// A result value in a form both engines' results convert to.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

fn from_vectable(v: &Value) -> V {
    match v {
        Value::Null => V::Null,
        Value::Integer(i) => V::Int(*i),
        Value::Real(r) => V::Real(*r),
        Value::Text(s) => V::Text(s.clone()),
        Value::Boolean(b) => V::Bool(*b),
        Value::Vector(v) => V::Text(vector_text(v)),
        other => panic!("unexpected value {other:?}"),
    }
}

/// SQLite's value, read as the type the expression has in PostgreSQL.
fn from_sqlite(v: SqlValue, ty: Ty) -> V {
    match (v, ty) {
        (SqlValue::Null, _) => V::Null,
        (SqlValue::Integer(i), Ty::Bool) => {
            assert!(i == 0 || i == 1, "SQLite boolean {i}");
            V::Bool(i == 1)
        }
        (SqlValue::Integer(i), _) => V::Int(i),
        (SqlValue::Real(r), _) => V::Real(r),
        (SqlValue::Text(s), _) => V::Text(s),
        (SqlValue::Blob(b), _) => panic!("unexpected blob {b:?}"),
    }
}

fn real_eq(x: f64, y: f64, tolerance: f64) -> bool {
    x == y || (x - y).abs() <= tolerance * x.abs().max(y.abs()).max(1.0)
}

fn value_eq(x: &V, y: &V, tolerance: f64) -> bool {
    match (x, y) {
        (V::Real(a), V::Real(b)) => real_eq(*a, *b, tolerance),
        _ => x == y,
    }
}

fn rows_eq(x: &[V], y: &[V], tolerance: f64) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| value_eq(a, b, tolerance))
}

/// A sort key for multiset comparison: REALs rounded so that tolerance-equal rows sort
/// together, then the exact REALs, so that rows the rounding makes equal (1000000.0 and
/// 1000000.001 both round to `1.000000e6`) still sort the same way on both sides.
fn sort_key(row: &[V]) -> (String, String) {
    let key = |exact: bool| {
        row.iter()
            .map(|v| match v {
                V::Real(r) if exact => format!("R{r:e}"),
                V::Real(r) => format!("R{:.6e}", if *r == 0.0 { 0.0 } else { *r }),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    (key(false), key(true))
}

struct Engines {
    _dir: tempfile::TempDir,
    db: Database,
    lite: Connection,
}

const VT_SCHEMA: &str =
    "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, r REAL, s TEXT, f BOOLEAN, v VECTOR(4))";
const SQ_SCHEMA: &str =
    "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, r REAL, s TEXT, f BOOLEAN, v TEXT)";
const TABLE_TYPES: [Ty; 7] = [
    Ty::Int,
    Ty::Int,
    Ty::Int,
    Ty::Real,
    Ty::Text,
    Ty::Bool,
    Ty::Vector,
];

impl Engines {
    fn new(exact_search_threshold: usize, index: Option<&str>) -> Engines {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_with(
            dir.path(),
            Options::new()
                .ef_search(512)
                .exact_search_threshold(exact_search_threshold),
        )
        .unwrap();
        db.execute(VT_SCHEMA, ()).unwrap();
        db.execute("SET ef_search = 512", ()).unwrap();
        if let Some(metric) = index {
            db.execute(
                &format!("CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = '{metric}')"),
                (),
            )
            .unwrap();
        }
        let lite = Connection::open_in_memory().unwrap();
        lite.execute_batch("PRAGMA case_sensitive_like = ON;")
            .unwrap();
        lite.execute(SQ_SCHEMA, ()).unwrap();
        Engines {
            _dir: dir,
            db,
            lite,
        }
    }

    fn vt_rows(&self, sql: &str) -> Result<Vec<Vec<V>>, String> {
        self.db
            .query(sql, ())
            .map(|rows| {
                rows.values()
                    .iter()
                    .map(|r| r.iter().map(from_vectable).collect())
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    fn sq_rows(&self, sql: &str, types: &[Ty]) -> Result<Vec<Vec<V>>, String> {
        let mut stmt = self.lite.prepare(sql).map_err(|e| e.to_string())?;
        let n = stmt.column_count();
        assert_eq!(n, types.len(), "column count of {sql}");
        let rows = stmt
            .query_map((), |row| {
                (0..n)
                    .map(|i| row.get::<_, SqlValue>(i).map(|v| from_sqlite(v, types[i])))
                    .collect::<rusqlite::Result<Vec<V>>>()
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| e.to_string())
    }

    fn compare_query(&self, vt: &str, sq: &str, types: &[Ty], ordered: bool, tolerance: f64) {
        bump(&SELECTS);
        let ours = self.vt_rows(vt);
        let theirs = self.sq_rows(sq, types);
        let (mut ours, mut theirs) = match (ours, theirs) {
            (Ok(o), Ok(t)) => (o, t),
            (Err(e), Err(_)) => {
                panic!("generated query failed in both engines (generator bug?): {vt}\n{e}")
            }
            (o, t) => {
                panic!("one engine failed\nvectable: {vt}\n  -> {o:?}\nsqlite:   {sq}\n  -> {t:?}")
            }
        };
        if !ordered {
            ours.sort_by_cached_key(|r| sort_key(r));
            theirs.sort_by_cached_key(|r| sort_key(r));
        }
        let same = ours.len() == theirs.len()
            && ours
                .iter()
                .zip(&theirs)
                .all(|(a, b)| rows_eq(a, b, tolerance));
        assert!(
            same,
            "results differ ({})\nvectable: {vt}\n  -> {ours:?}\nsqlite:   {sq}\n  -> {theirs:?}",
            if ordered { "sequence" } else { "multiset" }
        );
    }

    fn compare_write(&self, vt: &str, sq: &str) {
        bump(&WRITES);
        let ours = self.db.execute(vt, ()).map_err(|e| e.to_string());
        let theirs = self
            .lite
            .execute(sq, ())
            .map(|n| n as u64)
            .map_err(|e| e.to_string());
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "rows affected differ\nvectable: {vt}\nsqlite:   {sq}")
            }
            (Err(_), Err(_)) => {}
            _ => panic!(
                "one engine failed\nvectable: {vt}\n  -> {ours:?}\nsqlite:   {sq}\n  -> {theirs:?}"
            ),
        }
        self.compare_table(vt);
    }

    fn compare_table(&self, after: &str) {
        bump(&TABLE_CHECKS);
        let q = "SELECT id, a, b, r, s, f, v FROM t ORDER BY id";
        let ours = self.vt_rows(q).unwrap();
        let theirs = self.sq_rows(q, &TABLE_TYPES).unwrap();
        let same =
            ours.len() == theirs.len() && ours.iter().zip(&theirs).all(|(a, b)| rows_eq(a, b, 0.0));
        assert!(
            same,
            "tables differ after: {after}\nvectable: {ours:?}\nsqlite:   {theirs:?}"
        );
    }

    /// Runs a kNN query on vectable and checks it against a brute-force ranking of the rows
    /// SQLite finds for the filter: position by position the same distance (ties may come in
    /// any order), distinct ids, each of them matching.
    fn check_knn(&self, q: &KnnQuery) {
        bump(&KNN_QUERIES);
        let (wv, ws) = where_text(&q.filter);
        let candidates = self
            .sq_rows(&format!("SELECT id, v FROM t{ws}"), &[Ty::Int, Ty::Vector])
            .unwrap();
        let mut truth: BTreeMap<i64, Option<f64>> = BTreeMap::new();
        for row in &candidates {
            let (V::Int(id), v) = (&row[0], &row[1]) else {
                panic!("bad row {row:?}")
            };
            let d = match v {
                V::Text(t) => Some(q.op.distance(&parse_vector(t), &q.query)),
                _ => None,
            };
            truth.insert(*id, d);
        }
        // PostgreSQL order: by distance, NULL distances (NULL vectors) last.
        let mut ranked: Vec<Option<f64>> = truth.values().copied().collect();
        ranked.sort_by(|a, b| match (a, b) {
            (Some(x), Some(y)) => x.total_cmp(y),
            (None, None) => std::cmp::Ordering::Equal,
            (None, _) => std::cmp::Ordering::Greater,
            (_, None) => std::cmp::Ordering::Less,
        });
        let offset = q.offset.unwrap_or(0) as usize;
        let expected: Vec<Option<f64>> =
            ranked.into_iter().skip(offset).take(q.k as usize).collect();

        let qtext = if q.param {
            "$1".to_string()
        } else {
            quote(&vector_text(&q.query))
        };
        let dist = q.op.expr(&qtext);
        let (select, order) = if q.with_distance {
            (format!("id, {dist} AS d"), "d".to_string())
        } else {
            ("id".to_string(), dist)
        };
        let off = q.offset.map_or(String::new(), |o| format!(" OFFSET {o}"));
        let sql = format!(
            "SELECT {select} FROM t{wv} ORDER BY {order} LIMIT {}{off}",
            q.k
        );
        let rows = if q.param {
            self.db.query(&sql, [q.query.clone()])
        } else {
            self.db.query(&sql, ())
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let got: Vec<Vec<V>> = rows
            .values()
            .iter()
            .map(|r| r.iter().map(from_vectable).collect())
            .collect();
        let context = || {
            format!(
                "kNN {sql} (query {:?})\n  got {got:?}\n  expected distances {expected:?}\n  matching rows {truth:?}",
                q.query
            )
        };
        assert_eq!(got.len(), expected.len(), "row count: {}", context());
        let mut seen = HashSet::new();
        for (row, want) in got.iter().zip(&expected) {
            let V::Int(id) = row[0] else {
                panic!("id {:?}: {}", row[0], context())
            };
            assert!(seen.insert(id), "id {id} twice: {}", context());
            let Some(actual) = truth.get(&id) else {
                panic!("id {id} does not match the filter: {}", context())
            };
            let close = match (actual, want) {
                (Some(a), Some(w)) => real_eq(*a, *w, 1e-9),
                (None, None) => true,
                _ => false,
            };
            assert!(
                close,
                "id {id} at distance {actual:?} where {want:?} belongs: {}",
                context()
            );
            if q.with_distance {
                let ok = match (&row[1], actual) {
                    (V::Real(d), Some(a)) => real_eq(*d, *a, 1e-9),
                    (V::Null, None) => true,
                    _ => false,
                };
                assert!(
                    ok,
                    "id {id}: distance {:?}, exact {actual:?}: {}",
                    row[1],
                    context()
                );
            }
        }
    }
}

fn parse_vector(t: &str) -> Vec<f32> {
    t.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect()
}

fn load(e: &Engines, ids: &[i64], rows: &[RowData], chunk: usize) {
    let cols = ["a", "b", "r", "s", "f", "v"];
    let pairs: Vec<(i64, &RowData)> = ids.iter().copied().zip(rows).collect();
    for part in pairs.chunks(chunk.max(1)) {
        let tuples: Vec<String> = part
            .iter()
            .map(|(id, r)| row_tuple(*id, r, &cols))
            .collect();
        let sql = format!(
            "INSERT INTO t (id, a, b, r, s, f, v) VALUES {}",
            tuples.join(", ")
        );
        e.compare_write(&sql, &sql);
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[derive(Clone, Debug)]
struct ScalarCase {
    ids: Vec<i64>,
    rows: Vec<RowData>,
    chunk: usize,
    index: Option<&'static str>,
    exact_search_threshold: usize,
    stmts: Vec<Stmt>,
    knn: Vec<KnnQuery>,
}

fn scalar_case() -> impl Strategy<Value = ScalarCase> {
    let c3 = gen(3, false, true);
    let g1 = gen(1, true, true);
    let g2 = gen(2, true, true);
    let g3 = gen(3, true, true);
    let (w2, w3) = (gen(2, true, false), gen(3, true, false));
    let stmt = prop_oneof![
        5 => plain_select(&g2, &g3),
        3 => aggregate_select(&g1, &g3),
        1 => constant_select(&c3),
        2 => insert_stmt(),
        3 => update_stmt(&w2, &w3),
        2 => delete_stmt(&w3),
    ];
    let ids = prop::collection::btree_set(-50i64..200, 0..40);
    (
        ids,
        prop::collection::vec(stmt, 1..25),
        1usize..12,
        prop::sample::select(vec![None, Some("l2"), Some("cosine"), Some("ip")]),
        prop::sample::select(vec![0usize, 3, 2_000]),
        prop::collection::vec(knn_query(g2.boolean.clone(), 12), 0..4),
    )
        .prop_flat_map(|(ids, stmts, chunk, index, th, knn)| {
            let n = ids.len();
            (
                Just(ids.into_iter().collect::<Vec<_>>()),
                prop::collection::vec(row_data(), n),
                Just((stmts, chunk, index, th, knn)),
            )
        })
        .prop_map(
            |(ids, rows, (stmts, chunk, index, exact_search_threshold, knn))| ScalarCase {
                ids,
                rows,
                chunk,
                index,
                exact_search_threshold,
                stmts,
                knn,
            },
        )
}

fn run_scalar_case(case: &ScalarCase) {
    bump(&CASES);
    let e = Engines::new(case.exact_search_threshold, case.index);
    load(&e, &case.ids, &case.rows, case.chunk);
    for (n, stmt) in case.stmts.iter().enumerate() {
        match stmt {
            Stmt::Query {
                vt,
                sq,
                types,
                ordered,
            } => {
                let aggregate = vt.contains("sum(") || vt.contains("avg(");
                e.compare_query(vt, sq, types, *ordered, if aggregate { 1e-6 } else { 1e-9 });
            }
            Stmt::Write { vt, sq } => e.compare_write(vt, sq),
            Stmt::ShiftIds { filter } => {
                let k = 1i64 << (12 + n);
                let (wv, ws) = where_text(filter);
                e.compare_write(
                    &format!("UPDATE t SET id = (id + {k}){wv}"),
                    &format!("UPDATE t SET id = (id + {k}){ws}"),
                );
            }
        }
    }
    e.compare_table("the last statement");
    // Deletes and vector updates on a live index make kNN miss rows (a vectable bug, see
    // `knn_after_deletes_and_updates_matches_brute_force`): such cases query a freshly built
    // index instead, so that this test keeps checking the SQL around kNN. Remove this when the
    // bug is fixed.
    let removals = case.stmts.iter().any(|s| match s {
        Stmt::Write { vt, .. } => vt.starts_with("DELETE") || vt.contains(" v = "),
        _ => false,
    });
    if let (Some(metric), true) = (case.index, removals) {
        e.db.execute("DROP INDEX t_v", ()).unwrap();
        e.db.execute(
            &format!("CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = '{metric}')"),
            (),
        )
        .unwrap();
    }
    // Exact duplicate vectors strand other vectors in the HNSW graph (see
    // `knn_with_many_duplicate_vectors_matches_brute_force`); `UPDATE … SET v = <literal>`
    // makes many. Tables where some vector is shared by more than 3 rows are not kNN-checked
    // here (counted and printed as skipped); `knn_matches_brute_force` covers kNN itself.
    let vectors = e
        .sq_rows(
            "SELECT v, count(*) FROM t WHERE v IS NOT NULL GROUP BY v",
            &[Ty::Vector, Ty::Int],
        )
        .unwrap();
    if vectors.iter().any(|r| matches!(r[1], V::Int(n) if n > 3)) {
        for _ in &case.knn {
            bump(&KNN_SKIPPED);
        }
        return;
    }
    for q in &case.knn {
        e.check_knn(q);
    }
}

fn report(test: &str) {
    eprintln!(
        "differential ({test}): {} case runs; {} statements compared against SQLite ({} SELECT, {} writes), {} whole-table comparisons; {} kNN queries compared against brute force, {} kNN queries skipped (tables with duplicated vectors)",
        get(&CASES) + get(&KNN_CASES),
        get(&SELECTS) + get(&WRITES),
        get(&SELECTS),
        get(&WRITES),
        get(&TABLE_CHECKS),
        get(&KNN_QUERIES),
        get(&KNN_SKIPPED),
    );
}

#[test]
fn scalar_sql_matches_sqlite() {
    run_cases("scalar", 128, scalar_case(), run_scalar_case);
}

/// A change between rounds of kNN queries.
#[derive(Clone, Debug)]
enum KnnChange {
    /// Insert a row with a new id.
    Insert(Option<Vec<f32>>, Option<i64>),
    /// Delete the row with id `n % rows inserted so far`.
    Delete(usize),
    /// Set the vector of the row with id `n % rows inserted so far`.
    Update(usize, Option<Vec<f32>>),
}

#[derive(Clone, Debug)]
struct KnnCase {
    rows: Vec<(Option<Vec<f32>>, Option<i64>)>,
    index: Option<&'static str>,
    exact_search_threshold: usize,
    /// Rounds of (queries, then changes).
    rounds: Vec<(Vec<KnnQuery>, Vec<KnnChange>)>,
}

fn knn_row() -> impl Strategy<Value = (Option<Vec<f32>>, Option<i64>)> + Clone {
    (
        prop_oneof![8 => query_vector().prop_map(Some), 1 => Just(None)],
        prop::option::weighted(0.9, -3i64..=3),
    )
}

/// kNN cases whose changes between query rounds are inserts and, with `removals`, deletes
/// and vector updates.
/// With `duplicates`, most rows share one of two vectors.
fn knn_case(removals: bool, duplicates: bool) -> impl Strategy<Value = KnnCase> {
    let filter = prop_oneof![
        (-3i64..=3, cmp_op()).prop_map(|(x, op)| Sql::same(
            format!("(a {op} {})", int_lit(x).vt),
            0.0,
            true
        )),
        (0i64..5, 1i64..=4).prop_map(|(lo, w)| Sql::same(
            format!("(id % 7) BETWEEN {lo} AND {}", lo + w),
            0.0,
            true
        )),
        Just(Sql::same("(a IS NULL)", 0.0, true)),
        Just(Sql::same("(a IN (1, 2, NULL))", 0.0, true)),
    ]
    .boxed();
    let change = prop_oneof![
        2 => knn_row().prop_map(|(v, a)| KnnChange::Insert(v, a)),
        if removals { 2 } else { 0 } => any::<usize>().prop_map(KnnChange::Delete),
        if removals { 3 } else { 0 } => (any::<usize>(), prop::option::weighted(0.9, query_vector()))
            .prop_map(|(n, v)| KnnChange::Update(n, v)),
    ];
    (
        prop::collection::vec(knn_row(), 1..300),
        prop::sample::select(vec![None, Some("l2"), Some("cosine"), Some("ip")]),
        // Tables with removals or many duplicates run at the default threshold: small indexes
        // are searched exhaustively there (see the two regression tests below); a forced
        // graph search (0 or 20) can miss rows on such tables, as HNSW does.
        prop::sample::select(if removals || duplicates {
            vec![2_000usize]
        } else {
            vec![0usize, 20, 2_000]
        }),
        prop::collection::vec(
            (
                prop::collection::vec(knn_query(filter, 30), 1..6),
                prop::collection::vec(change, 0..25),
            ),
            1..4,
        ),
    )
        .prop_map(move |(mut rows, index, exact_search_threshold, rounds)| {
            // Some exact duplicates, for ties.
            for i in (7..rows.len()).step_by(7) {
                rows[i].0 = rows[i - 3].0.clone();
            }
            if duplicates && rows.len() > 2 {
                let pool = [rows[0].0.clone(), rows[1].0.clone()];
                for (i, row) in rows.iter_mut().enumerate().skip(2) {
                    if i % 5 != 0 {
                        row.0 = pool[i % 2].clone();
                    }
                }
            }
            KnnCase {
                rows,
                index,
                exact_search_threshold,
                rounds,
            }
        })
}

fn knn_tuple(id: usize, (v, a): &(Option<Vec<f32>>, Option<i64>)) -> String {
    let a = a.map_or("NULL".to_string(), |a| int_lit(a).vt);
    let v = v
        .as_deref()
        .map_or("NULL".to_string(), |v| quote(&vector_text(v)));
    format!("({id}, {a}, {v})")
}

fn run_knn_case(case: &KnnCase) {
    bump(&KNN_CASES);
    let e = Engines::new(case.exact_search_threshold, case.index);
    let tuples: Vec<String> = case
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| knn_tuple(i, row))
        .collect();
    for part in tuples.chunks(100) {
        let sql = format!("INSERT INTO t (id, a, v) VALUES {}", part.join(", "));
        e.compare_write(&sql, &sql);
    }
    let mut n = case.rows.len();
    for (queries, changes) in &case.rounds {
        for q in queries {
            e.check_knn(q);
        }
        for c in changes {
            let sql = match c {
                KnnChange::Insert(v, a) => {
                    n += 1;
                    format!(
                        "INSERT INTO t (id, a, v) VALUES {}",
                        knn_tuple(n - 1, &(v.clone(), *a))
                    )
                }
                KnnChange::Delete(i) => format!("DELETE FROM t WHERE id = {}", i % n),
                KnnChange::Update(i, v) => {
                    let v = v
                        .as_deref()
                        .map_or("NULL".to_string(), |v| quote(&vector_text(v)));
                    format!("UPDATE t SET v = {v} WHERE id = {}", i % n)
                }
            };
            e.compare_write(&sql, &sql);
        }
    }
    for (queries, _) in &case.rounds {
        for q in queries {
            e.check_knn(q);
        }
    }
}

/// kNN on a fresh index (explicit or lazily built), and after inserts into the live index.
#[test]
fn knn_matches_brute_force() {
    run_cases("kNN", 64, knn_case(false, false), run_knn_case);
}

/// kNN on a freshly built index over a table where most rows share one of two vectors.
///
/// Regression test. With many exact duplicates, HNSW's neighbour selection fills the
/// duplicates' neighbour lists with each other and prunes the links to the few distinct
/// vectors, which become unreachable: `ORDER BY v <=> q LIMIT 2` over 17 rows (13 of them one
/// vector) at `ef_search` 512 returned two duplicates and missed the one row nearer to `q`.
/// Fixed for indexes of at most `exact_search_threshold` (2,000) vectors, which are now
/// searched exhaustively (USearch `exact_search`); larger indexes keep HNSW's recall.
#[test]
fn knn_with_many_duplicate_vectors_matches_brute_force() {
    run_cases(
        "kNN with duplicates",
        64,
        knn_case(false, true),
        run_knn_case,
    );
}

/// kNN after deletes and vector updates on a live index.
///
/// Regression test. After `DELETE`s / `UPDATE … SET v` on a table with a live HNSW index, a
/// plain `ORDER BY v <-> q LIMIT k` (no filter, ≤ 300 random 4-d rows, `ef_search` 512)
/// missed rows that belong in the top k — once even the row whose vector equals the query —
/// in about one case of 500: the graph loses reachability when USearch's `remove` + `add`
/// reuses slots. Fixed as above for indexes of at most 2,000 vectors.
#[test]
fn knn_after_deletes_and_updates_matches_brute_force() {
    run_cases(
        "kNN with deletes and updates",
        // It failed in about one of 500 cases before the fix.
        500,
        knn_case(true, false),
        run_knn_case,
    );
}
