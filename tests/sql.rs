//! SQL round trips for every statement vectable implements: DDL, INSERT / SELECT / UPDATE /
//! DELETE with their clauses, NULL semantics, integer vs real arithmetic, indexes, settings,
//! EXPLAIN, SHOW TABLES, COPY from CSV and Parquet — and persistence of all of it across
//! close and reopen.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use vectable::{params, DataType, Database, Error, Metric, Output, Value};

fn open(dir: &Path) -> Database {
    Database::open(dir).unwrap()
}

fn int(i: i64) -> Value {
    Value::Integer(i)
}
fn real(r: f64) -> Value {
    Value::Real(r)
}
fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}
fn boolean(b: bool) -> Value {
    Value::Boolean(b)
}
fn vector(v: &[f32]) -> Value {
    Value::Vector(v.to_vec())
}
const NULL: Value = Value::Null;

/// The first column of a query as text (NULL as "NULL").
fn strings(db: &Database, sql: &str) -> Vec<String> {
    values(db, sql)
        .into_iter()
        .map(|r| r[0].to_string())
        .collect()
}

/// One row of five people with NULLs in every nullable column somewhere.
fn people(db: &Database) {
    db.execute_batch(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, city TEXT, active BOOLEAN);
         INSERT INTO people VALUES
           (1, 'Alice', 30, 'Paris', TRUE),
           (2, 'bob', 25, NULL, FALSE),
           (3, 'Carol', NULL, 'Berlin', TRUE),
           (4, 'dave', 40, 'paris', NULL),
           (5, 'Eve', 35, 'Rome', FALSE);",
    )
    .unwrap();
}

fn people_ids(db: &Database, where_clause: &str) -> Vec<i64> {
    int_column(
        db,
        &format!("SELECT id FROM people WHERE {where_clause} ORDER BY id"),
    )
}

// ---------------------------------------------------------------------------------------------
// CREATE TABLE / DROP TABLE

#[test]
fn create_table_with_every_type_round_trips_values_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let schema_before;
    let rows_before;
    {
        let db = open(dir.path());
        let out = db
            .run(
                "CREATE TABLE all_types (a INTEGER PRIMARY KEY, b BIGINT, c REAL, d DOUBLE PRECISION, \
                 e FLOAT, f TEXT NOT NULL, g VARCHAR(20), h BOOLEAN, v VECTOR(3))",
                (),
            )
            .unwrap();
        assert_eq!(out, Output::Done("CREATE TABLE".into()));
        let t = db.table("all_types").unwrap();
        let want = [
            ("a", DataType::Integer, true),
            ("b", DataType::Integer, false),
            ("c", DataType::Real, false),
            ("d", DataType::Real, false),
            ("e", DataType::Real, false),
            ("f", DataType::Text, true),
            ("g", DataType::Text, false),
            ("h", DataType::Boolean, false),
            ("v", DataType::Vector(3), false),
        ];
        let got: Vec<(&str, DataType, bool)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type, c.not_null))
            .collect();
        assert_eq!(got, want);
        assert_eq!(t.primary_key, Some(0));

        // i64 beyond f64's exact range, an integer literal into a REAL column, text with a quote.
        let n = db
            .execute(
                "INSERT INTO all_types VALUES (1, 9007199254740993, 1.5, -0.25, 2, 'it''s', 'short', TRUE, '[1, 2.5, -3]'), \
                 (2, NULL, NULL, NULL, NULL, '', NULL, FALSE, NULL)",
                (),
            )
            .unwrap();
        assert_eq!(n, 2);
        rows_before = values(&db, "SELECT * FROM all_types ORDER BY a");
        assert_eq!(
            rows_before[0],
            vec![
                int(1),
                int(9007199254740993),
                real(1.5),
                real(-0.25),
                real(2.0),
                text("it's"),
                text("short"),
                boolean(true),
                vector(&[1.0, 2.5, -3.0])
            ]
        );
        assert_eq!(
            rows_before[1],
            vec![
                int(2),
                NULL,
                NULL,
                NULL,
                NULL,
                text(""),
                NULL,
                boolean(false),
                NULL
            ]
        );
        schema_before = t;
    }
    let db = open(dir.path());
    assert_eq!(db.table("all_types").unwrap(), schema_before);
    assert_eq!(
        values(&db, "SELECT * FROM all_types ORDER BY a"),
        rows_before
    );
}

#[test]
fn primary_key_column_level_and_table_level_and_if_not_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute("CREATE TABLE by_col (name TEXT PRIMARY KEY, n INTEGER)", ())
        .unwrap();
    db.execute(
        "CREATE TABLE by_table (n INTEGER, name TEXT, PRIMARY KEY (name))",
        (),
    )
    .unwrap();
    let t = db.table("by_table").unwrap();
    assert_eq!(t.primary_key, Some(1));
    assert!(t.columns[1].not_null, "a primary key is NOT NULL");
    assert!(!t.columns[0].not_null);
    assert_eq!(db.table("by_col").unwrap().primary_key, Some(0));
    // Both enforce uniqueness of text keys.
    db.execute("INSERT INTO by_table VALUES (1, 'k')", ())
        .unwrap();
    assert!(matches!(
        db.execute("INSERT INTO by_table VALUES (2, 'k')", ()),
        Err(Error::DuplicateKey { .. })
    ));
    db.execute("INSERT INTO by_col VALUES ('k', 1)", ())
        .unwrap();
    assert!(matches!(
        db.execute("INSERT INTO by_col VALUES ('k', 2)", ()),
        Err(Error::DuplicateKey { .. })
    ));
    // A table without a primary key accepts repeated rows.
    db.execute("CREATE TABLE nokey (n INTEGER)", ()).unwrap();
    assert_eq!(db.table("nokey").unwrap().primary_key, None);
    assert_eq!(
        db.execute("INSERT INTO nokey VALUES (1), (1), (1)", ())
            .unwrap(),
        3
    );

    // IF NOT EXISTS on a taken name is a no-op that keeps the old schema and rows.
    let before = db.table("by_col").unwrap();
    let out = db
        .run("CREATE TABLE IF NOT EXISTS by_col (other INTEGER)", ())
        .unwrap();
    assert_eq!(out, Output::Done("CREATE TABLE".into()));
    assert_eq!(db.table("by_col").unwrap(), before);
    assert_eq!(count(&db, "by_col"), 1);
    // IF NOT EXISTS on a new name creates it.
    db.execute("CREATE TABLE IF NOT EXISTS fresh (x INTEGER)", ())
        .unwrap();
    assert!(db.table("fresh").is_some());
    // Unquoted names fold to lower case; quoted ones keep their case.
    db.execute("CREATE TABLE MixedCase (SomeCol INTEGER)", ())
        .unwrap();
    assert_eq!(db.table("mixedcase").unwrap().columns[0].name, "somecol");
    db.execute("CREATE TABLE \"Quoted\" (\"Col\" INTEGER)", ())
        .unwrap();
    assert_eq!(db.table("Quoted").unwrap().columns[0].name, "Col");
    drop(db);
    let db = open(dir.path());
    assert_eq!(
        table_names(&db),
        [
            "Quoted",
            "by_col",
            "by_table",
            "fresh",
            "mixedcase",
            "nokey"
        ]
    );
    assert!(matches!(
        db.execute("INSERT INTO by_table VALUES (3, 'k')", ()),
        Err(Error::DuplicateKey { .. })
    ));
}

#[test]
fn drop_table_and_if_exists_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(2))", ())
            .unwrap();
        db.execute("CREATE TABLE keep (id INTEGER)", ()).unwrap();
        db.execute("INSERT INTO t VALUES (1, '[1,0]'), (2, '[0,1]')", ())
            .unwrap();
        db.query("SELECT id FROM t ORDER BY e <-> '[1,0]' LIMIT 1", ())
            .unwrap(); // builds an index
        assert_eq!(db.index_status().len(), 1);
        assert_eq!(
            db.run("DROP TABLE t", ()).unwrap(),
            Output::Done("DROP TABLE".into())
        );
        assert_eq!(table_names(&db), ["keep"]);
        assert!(db.index_status().is_empty());
        assert!(matches!(
            db.execute("SELECT * FROM t", ()),
            Err(Error::NoSuchTable(_))
        ));
        assert!(matches!(
            db.execute("DROP TABLE t", ()),
            Err(Error::NoSuchTable(_))
        ));
        db.execute("DROP TABLE IF EXISTS t", ()).unwrap();
        // The same name again: a new, empty table; the old rows and keys are gone.
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT)", ())
            .unwrap();
        assert_eq!(count(&db, "t"), 0);
        db.execute("INSERT INTO t VALUES (1, 'new')", ()).unwrap();
    }
    let db = open(dir.path());
    assert_eq!(table_names(&db), ["keep", "t"]);
    assert_eq!(
        values(&db, "SELECT * FROM t"),
        vec![vec![int(1), text("new")]]
    );
    assert_eq!(db.table("t").unwrap().columns[1].name, "label");
    assert!(db.index_status().is_empty());
    // DROP TABLE IF EXISTS with several names drops the existing ones.
    db.execute("DROP TABLE IF EXISTS nope, keep", ()).unwrap();
    assert_eq!(table_names(&db), ["t"]);
}

// ---------------------------------------------------------------------------------------------
// INSERT

#[test]
fn insert_forms() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)",
        (),
    )
    .unwrap();
    assert_eq!(
        db.execute("INSERT INTO t VALUES (1, 'a', 1.5)", ())
            .unwrap(),
        1
    );
    // A column list in another order; the missing column is NULL.
    assert_eq!(
        db.execute("INSERT INTO t (score, id) VALUES (2.5, 2)", ())
            .unwrap(),
        1
    );
    // Several rows, expressions and parameters.
    assert_eq!(
        db.execute(
            "INSERT INTO t VALUES (3, 'x' || 'y', 1 + 0.5), ($1, $2, $3), (5, NULL, -2)",
            params![4, "four", 4.25]
        )
        .unwrap(),
        3
    );
    assert_eq!(
        values(&db, "SELECT * FROM t ORDER BY id"),
        vec![
            vec![int(1), text("a"), real(1.5)],
            vec![int(2), NULL, real(2.5)],
            vec![int(3), text("xy"), real(1.5)],
            vec![int(4), text("four"), real(4.25)],
            vec![int(5), NULL, real(-2.0)],
        ]
    );
    // INSERT ... SELECT into another table, with expressions and a filter.
    db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT)", ())
        .unwrap();
    let n = db
        .execute(
            "INSERT INTO u (id, name) SELECT id + 100, upper(name) FROM t WHERE name IS NOT NULL",
            (),
        )
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        values(&db, "SELECT * FROM u ORDER BY id"),
        vec![
            vec![int(101), text("A")],
            vec![int(103), text("XY")],
            vec![int(104), text("FOUR")]
        ]
    );
    // INSERT ... SELECT without a column list, from the same table.
    assert_eq!(
        db.execute("INSERT INTO t SELECT id + 10, name, score * 2 FROM t", ())
            .unwrap(),
        5
    );
    assert_eq!(count(&db, "t"), 10);
    assert_eq!(
        values(&db, "SELECT name, score FROM t WHERE id = 14"),
        vec![vec![text("four"), real(8.5)]]
    );
    // INSERT ... SELECT of nothing inserts nothing.
    assert_eq!(
        db.execute("INSERT INTO u SELECT id, name FROM t WHERE id > 1000", ())
            .unwrap(),
        0
    );
    assert_eq!(count(&db, "u"), 3);
}

// ---------------------------------------------------------------------------------------------
// SELECT

#[test]
fn select_star_expressions_and_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    let rows = db.query("SELECT * FROM people WHERE id = 1", ()).unwrap();
    assert_eq!(rows.columns(), ["id", "name", "age", "city", "active"]);
    assert_eq!(
        rows.values(),
        [vec![
            int(1),
            text("Alice"),
            int(30),
            text("Paris"),
            boolean(true)
        ]]
    );

    let rows = db
        .query(
            "SELECT id AS k, age * 2 AS twice, name || '!' AS shout, age FROM people WHERE id = 2",
            (),
        )
        .unwrap();
    assert_eq!(rows.columns(), ["k", "twice", "shout", "age"]);
    assert_eq!(
        rows.values(),
        [vec![int(2), int(50), text("bob!"), int(25)]]
    );
    // Functions and NULL propagation.
    let rows = values(
        &db,
        "SELECT upper(name), lower(name), length(name), abs(0 - age), coalesce(city, 'none'), age + NULL FROM people WHERE id = 2",
    );
    assert_eq!(
        rows,
        [vec![
            text("BOB"),
            text("bob"),
            int(3),
            int(25),
            text("none"),
            NULL
        ]]
    );
    // A query without FROM.
    assert_eq!(
        values(&db, "SELECT 1, 'a', NULL, TRUE"),
        [vec![int(1), text("a"), NULL, boolean(true)]]
    );
}

#[test]
fn integer_and_real_arithmetic() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert_eq!(
        values(&db, "SELECT 1 + 2, 7 / 2, -7 / 2, 7 % 3, 7 / 2.0, 7.0 / 2, 2 * 3.5, 10 - 2.5, -5, 0.1 + 0.2"),
        [vec![int(3), int(3), int(-3), int(1), real(3.5), real(3.5), real(7.0), real(7.5), int(-5), real(0.1 + 0.2)]]
    );
    assert_eq!(
        values(&db, "SELECT round(2.567, 2), round(2.5), CAST('42' AS INTEGER), CAST(3 AS REAL), CAST(7 AS TEXT), 9223372036854775807"),
        [vec![real(2.57), real(3.0), int(42), real(3.0), text("7"), int(i64::MAX)]]
    );
    // Integer arithmetic stays exact beyond f64 precision.
    assert_eq!(
        values(&db, "SELECT 9007199254740993 + 2"),
        [vec![int(9007199254740995)]]
    );
    // Column arithmetic follows the column types.
    db.execute("CREATE TABLE n (i INTEGER, r REAL)", ())
        .unwrap();
    db.execute("INSERT INTO n VALUES (7, 2)", ()).unwrap();
    assert_eq!(
        values(&db, "SELECT i / 2, r / 4, i / r, i * r, i - r FROM n"),
        [vec![int(3), real(0.5), real(3.5), real(14.0), real(5.0)]]
    );
}

#[test]
fn where_comparisons_and_boolean_logic() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    assert_eq!(people_ids(&db, "age > 28"), [1, 4, 5]);
    assert_eq!(people_ids(&db, "age >= 30 AND age <= 35"), [1, 5]);
    assert_eq!(people_ids(&db, "age <> 30"), [2, 4, 5]);
    assert_eq!(people_ids(&db, "age != 30"), [2, 4, 5]);
    assert_eq!(people_ids(&db, "age = 30 OR city = 'Rome'"), [1, 5]);
    assert_eq!(people_ids(&db, "name = 'bob'"), [2]);
    assert_eq!(people_ids(&db, "name < 'C'"), [1]); // bytes: 'A' < 'C' < 'E' < 'b'
    assert_eq!(people_ids(&db, "active"), [1, 3]);
    assert_eq!(people_ids(&db, "NOT active"), [2, 5]);
    assert_eq!(people_ids(&db, "NOT (age > 28)"), [2]);
    assert_eq!(
        people_ids(&db, "(age > 28 OR city = 'Berlin') AND NOT id = 4"),
        [1, 3, 5]
    );
    assert_eq!(people_ids(&db, "age + 5 = 35"), [1]);
    assert_eq!(people_ids(&db, "id = (1 + 1) * 2"), [4]);
    let got = ids(&db
        .query(
            "SELECT id FROM people WHERE age > $1 AND city <> $2 ORDER BY id",
            params![26, "Rome"],
        )
        .unwrap());
    assert_eq!(got, [1, 4]);
}

#[test]
fn where_in_between_like_ilike_and_is_null() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    assert_eq!(people_ids(&db, "age IN (25, 40)"), [2, 4]);
    assert_eq!(people_ids(&db, "age NOT IN (25, 40)"), [1, 5]);
    assert_eq!(people_ids(&db, "name IN ('Eve', 'bob', 'nobody')"), [2, 5]);
    assert_eq!(people_ids(&db, "age BETWEEN 25 AND 30"), [1, 2]);
    assert_eq!(people_ids(&db, "age NOT BETWEEN 25 AND 30"), [4, 5]);
    assert_eq!(people_ids(&db, "age BETWEEN 30 AND 25"), Vec::<i64>::new());
    assert_eq!(people_ids(&db, "name LIKE '%e'"), [1, 4, 5]);
    assert_eq!(people_ids(&db, "name LIKE 'A%'"), [1]);
    assert_eq!(people_ids(&db, "name LIKE 'a%'"), Vec::<i64>::new());
    assert_eq!(people_ids(&db, "name LIKE '_ob'"), [2]);
    assert_eq!(people_ids(&db, "name LIKE '%ar%'"), [3]);
    assert_eq!(people_ids(&db, "name NOT LIKE '%e'"), [2, 3]);
    assert_eq!(people_ids(&db, "name ILIKE 'a%'"), [1]);
    assert_eq!(people_ids(&db, "name ILIKE '%E'"), [1, 4, 5]);
    assert_eq!(people_ids(&db, "city ILIKE 'PARIS'"), [1, 4]);
    assert_eq!(people_ids(&db, "city NOT ILIKE 'paris'"), [3, 5]);
    assert_eq!(people_ids(&db, "city IS NULL"), [2]);
    assert_eq!(people_ids(&db, "city IS NOT NULL"), [1, 3, 4, 5]);
    assert_eq!(people_ids(&db, "age IS NULL OR active IS NULL"), [3, 4]);
}

#[test]
fn null_semantics_are_three_valued() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    // Comparisons with NULL are never true, in either polarity.
    assert_eq!(people_ids(&db, "age = NULL"), Vec::<i64>::new());
    assert_eq!(people_ids(&db, "age <> NULL"), Vec::<i64>::new());
    assert_eq!(people_ids(&db, "NOT (age = NULL)"), Vec::<i64>::new());
    assert_eq!(people_ids(&db, "age > 20"), [1, 2, 4, 5]);
    assert_eq!(people_ids(&db, "NOT (age > 20)"), Vec::<i64>::new());
    assert_eq!(people_ids(&db, "active = TRUE"), [1, 3]);
    assert_eq!(people_ids(&db, "active <> TRUE"), [2, 5]);
    // NULL in an IN list: a match is true, no match is NULL (so NOT IN keeps nothing).
    assert_eq!(people_ids(&db, "age IN (25, NULL)"), [2]);
    assert_eq!(people_ids(&db, "age NOT IN (25, NULL)"), Vec::<i64>::new());
    // AND/OR with NULL operands.
    assert_eq!(people_ids(&db, "age > 100 OR active"), [1, 3]);
    assert_eq!(people_ids(&db, "NOT (age > 100 AND active)"), [1, 2, 4, 5]); // 3: NOT (NULL AND TRUE) is NULL
    assert_eq!(
        values(&db, "SELECT NULL AND FALSE, NULL AND TRUE, NULL OR TRUE, NULL OR FALSE, NULL = NULL, NULL IS NULL, NOT (NULL = 1), 1 + NULL, ('a' || NULL) IS NULL"),
        [vec![boolean(false), NULL, boolean(true), NULL, NULL, boolean(true), NULL, NULL, boolean(true)]]
    );
}

#[test]
fn order_by_nulls_alias_position_limit_offset() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    // NULLs last ascending, first descending.
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY age"),
        [2, 1, 5, 4, 3]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY age ASC"),
        [2, 1, 5, 4, 3]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY age DESC"),
        [3, 4, 5, 1, 2]
    );
    // Text orders by bytes (upper case first); ties broken by a second key.
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY city, id"),
        [3, 1, 5, 4, 2]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY active DESC, id"),
        [4, 1, 3, 2, 5]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY active, id DESC"),
        [5, 2, 3, 1, 4]
    );
    // By an expression, by an output alias, by an output position.
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY length(name), id"),
        [2, 5, 4, 1, 3]
    );
    assert_eq!(
        int_column(
            &db,
            "SELECT id, age * 2 AS twice FROM people ORDER BY twice DESC"
        ),
        [3, 4, 5, 1, 2]
    );
    assert_eq!(
        strings(&db, "SELECT name, id FROM people ORDER BY 2 DESC"),
        ["Eve", "dave", "Carol", "bob", "Alice"]
    );
    assert_eq!(
        strings(&db, "SELECT name, age FROM people ORDER BY 2, 1"),
        ["bob", "Alice", "Eve", "dave", "Carol"]
    );
    // LIMIT / OFFSET.
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id LIMIT 2"),
        [1, 2]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id LIMIT 2 OFFSET 1"),
        [2, 3]
    );
    assert_eq!(
        int_column(
            &db,
            "SELECT id FROM people ORDER BY id DESC LIMIT 2 OFFSET 3"
        ),
        [2, 1]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id OFFSET 3"),
        [4, 5]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id LIMIT 10 OFFSET 5"),
        Vec::<i64>::new()
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id LIMIT 0"),
        Vec::<i64>::new()
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id LIMIT NULL"),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people WHERE age IS NOT NULL LIMIT 3"),
        [1, 2, 4]
    );
    assert_eq!(
        ids(&db
            .query(
                "SELECT id FROM people ORDER BY id LIMIT $1 OFFSET $2",
                (2, 2)
            )
            .unwrap()),
        [3, 4]
    );
}

#[test]
fn aggregates_group_by_having() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    assert_eq!(
        values(&db, "SELECT count(*), count(age), count(city), sum(age), avg(age), min(age), max(age), min(name), max(name) FROM people"),
        [vec![int(5), int(4), int(4), int(130), real(32.5), int(25), int(40), text("Alice"), text("dave")]]
    );
    db.execute_batch(
        "CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount INTEGER, price REAL);
         INSERT INTO sales VALUES (1, 'north', 10, 1.5), (2, 'north', 20, 2.5), (3, 'south', 5, NULL),
                                  (4, 'east', NULL, 4.0), (5, NULL, 7, 1.0), (6, NULL, 1, NULL)",
    )
    .unwrap();
    // NULL keys form one group, sorted last.
    let rows = db
        .query("SELECT region, count(*) AS n, sum(amount), avg(price), max(price) FROM sales GROUP BY region ORDER BY region", ())
        .unwrap();
    assert_eq!(rows.columns()[..2], ["region".to_string(), "n".to_string()]);
    assert_eq!(
        rows.values(),
        [
            vec![text("east"), int(1), NULL, real(4.0), real(4.0)],
            vec![text("north"), int(2), int(30), real(2.0), real(2.5)],
            vec![text("south"), int(1), int(5), NULL, NULL],
            vec![NULL, int(2), int(8), real(1.0), real(1.0)],
        ]
    );
    // SUM of a REAL column is REAL.
    assert_eq!(
        values(&db, "SELECT sum(price) FROM sales"),
        [vec![real(9.0)]]
    );
    // HAVING on an aggregate (also one not in the select list), ORDER BY an aggregate alias.
    assert_eq!(
        values(&db, "SELECT region, sum(amount) AS total FROM sales GROUP BY region HAVING sum(amount) > 6 ORDER BY total DESC"),
        [vec![text("north"), int(30)], vec![NULL, int(8)]]
    );
    assert_eq!(
        strings(
            &db,
            "SELECT region FROM sales GROUP BY region HAVING count(*) > 1 ORDER BY 1"
        ),
        ["north", "NULL"]
    );
    assert_eq!(
        strings(
            &db,
            "SELECT region FROM sales GROUP BY region HAVING max(price) < 3 ORDER BY region"
        ),
        ["north", "NULL"]
    );
    // GROUP BY an expression and by position; ORDER BY position and by aggregate.
    assert_eq!(
        values(
            &db,
            "SELECT amount > 6 AS big, count(*) FROM sales GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
        [
            vec![boolean(true), int(3)],
            vec![boolean(false), int(2)],
            vec![NULL, int(1)]
        ]
    );
    assert_eq!(
        values(&db, "SELECT region, count(*) FROM sales WHERE amount IS NOT NULL GROUP BY region ORDER BY count(*) DESC, region LIMIT 2"),
        [vec![text("north"), int(2)], vec![NULL, int(2)]]
    );
    // Expressions over aggregates and group keys.
    assert_eq!(
        values(&db, "SELECT upper(region), sum(amount) * 2 + count(*) FROM sales WHERE region = 'north' GROUP BY region"),
        [vec![text("NORTH"), int(62)]]
    );
}

#[test]
fn aggregates_without_group_by_on_empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute("CREATE TABLE empty (x INTEGER, r REAL, s TEXT)", ())
        .unwrap();
    let want = [vec![int(0), int(0), NULL, NULL, NULL, NULL, NULL]];
    assert_eq!(
        values(
            &db,
            "SELECT count(*), count(x), sum(x), avg(r), min(s), max(x), sum(r) FROM empty"
        ),
        want
    );
    // Also when rows exist but none matches.
    db.execute("INSERT INTO empty VALUES (1, 1.0, 'a')", ())
        .unwrap();
    assert_eq!(values(&db, "SELECT count(*), count(x), sum(x), avg(r), min(s), max(x), sum(r) FROM empty WHERE x > 1"), want);
    // With GROUP BY, no input means no groups.
    assert!(values(&db, "SELECT x, count(*) FROM empty WHERE x > 1 GROUP BY x").is_empty());
    // HAVING can drop the single group.
    assert!(values(&db, "SELECT count(*) FROM empty HAVING count(*) > 5").is_empty());
}

#[test]
fn scalar_subqueries_as_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    assert_eq!(
        values(&db, "SELECT (SELECT max(age) FROM people)"),
        [vec![int(40)]]
    );
    assert_eq!(
        strings(
            &db,
            "SELECT name FROM people WHERE age = (SELECT max(age) FROM people)"
        ),
        ["dave"]
    );
    assert_eq!(
        people_ids(&db, "age > (SELECT avg(age) FROM people)"),
        [4, 5]
    );
    // No row: NULL.
    assert_eq!(
        values(&db, "SELECT (SELECT id FROM people WHERE id = 99) IS NULL"),
        [vec![boolean(true)]]
    );
    // As an INSERT value and an UPDATE value.
    db.execute(
        "INSERT INTO people (id, name) VALUES ((SELECT max(id) + 1 FROM people), 'Frank')",
        (),
    )
    .unwrap();
    assert_eq!(
        strings(&db, "SELECT name FROM people WHERE id = 6"),
        ["Frank"]
    );
    db.execute(
        "UPDATE people SET age = (SELECT min(age) FROM people) WHERE id = 6",
        (),
    )
    .unwrap();
    assert_eq!(
        values(&db, "SELECT age FROM people WHERE id = 6"),
        [vec![int(25)]]
    );
    // In DELETE's WHERE.
    assert_eq!(
        db.execute(
            "DELETE FROM people WHERE age = (SELECT min(age) FROM people)",
            ()
        )
        .unwrap(),
        2
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id"),
        [1, 3, 4, 5]
    );
}

// ---------------------------------------------------------------------------------------------
// UPDATE / DELETE

#[test]
fn update_with_and_without_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    assert_eq!(
        db.execute("UPDATE people SET age = age + 1 WHERE city = 'Paris'", ())
            .unwrap(),
        1
    );
    assert_eq!(
        values(&db, "SELECT age FROM people WHERE id = 1"),
        [vec![int(31)]]
    );
    assert_eq!(
        db.execute("UPDATE people SET age = 0 WHERE id > 100", ())
            .unwrap(),
        0
    );
    // Several assignments see the old row.
    assert_eq!(
        db.execute(
            "UPDATE people SET age = age * 2, city = name WHERE id = 2",
            ()
        )
        .unwrap(),
        1
    );
    assert_eq!(
        values(&db, "SELECT age, city FROM people WHERE id = 2"),
        [vec![int(50), text("bob")]]
    );
    // Without WHERE: every row; NULL stays NULL through arithmetic.
    assert_eq!(
        db.execute("UPDATE people SET age = age - 1, active = NOT active", ())
            .unwrap(),
        5
    );
    assert_eq!(
        values(&db, "SELECT age, active FROM people ORDER BY id"),
        [
            vec![int(30), boolean(false)],
            vec![int(49), boolean(true)],
            vec![NULL, boolean(false)],
            vec![int(39), NULL],
            vec![int(34), boolean(true)],
        ]
    );
    // Setting a column to NULL, with parameters.
    assert_eq!(
        db.execute(
            "UPDATE people SET city = $1 WHERE id = $2",
            params![Option::<String>::None, 5]
        )
        .unwrap(),
        1
    );
    assert_eq!(people_ids(&db, "city IS NULL"), [5]);
}

#[test]
fn update_can_change_primary_keys() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        people(&db);
        assert_eq!(
            db.execute("UPDATE people SET id = 100 WHERE id = 1", ())
                .unwrap(),
            1
        );
        assert_eq!(
            strings(&db, "SELECT name FROM people WHERE id = 100"),
            ["Alice"]
        );
        // The old key is free, the new one is taken.
        db.execute("INSERT INTO people (id, name) VALUES (1, 'new one')", ())
            .unwrap();
        assert!(matches!(
            db.execute("INSERT INTO people (id, name) VALUES (100, 'x')", ()),
            Err(Error::DuplicateKey { .. })
        ));
        // Shifting every key onto its neighbour's is fine: each target is freed by the same statement.
        assert_eq!(db.execute("UPDATE people SET id = id + 1", ()).unwrap(), 6);
        assert_eq!(
            int_column(&db, "SELECT id FROM people ORDER BY id"),
            [2, 3, 4, 5, 6, 101]
        );
        assert_eq!(
            strings(&db, "SELECT name FROM people WHERE id = 2"),
            ["new one"]
        );
        // Swapping two keys.
        assert_eq!(
            db.execute("UPDATE people SET id = 7 - id WHERE id IN (3, 4)", ())
                .unwrap(),
            2
        );
        assert_eq!(
            strings(&db, "SELECT name FROM people ORDER BY id LIMIT 3"),
            ["new one", "Carol", "bob"]
        );
    }
    let db = open(dir.path());
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id"),
        [2, 3, 4, 5, 6, 101]
    );
    for taken in [2, 3, 4, 5, 6, 101] {
        let r = db.execute("INSERT INTO people (id, name) VALUES ($1, 'dup')", [taken]);
        assert!(
            matches!(r, Err(Error::DuplicateKey { .. })),
            "{taken}: {r:?}"
        );
    }
    for free in [1, 100] {
        db.execute("INSERT INTO people (id, name) VALUES ($1, 'ok')", [free])
            .unwrap();
    }
    assert_eq!(count(&db, "people"), 8);
}

#[test]
fn update_vector_to_null_removes_it_from_knn() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        db.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, e VECTOR(2))",
            (),
        )
        .unwrap();
        db.execute(
            "INSERT INTO docs VALUES (1, '[1, 0]'), (2, '[0.9, 0.1]'), (3, '[0, 1]')",
            (),
        )
        .unwrap();
        let knn = |db: &Database, k: usize| {
            int_column(
                db,
                &format!("SELECT id FROM docs ORDER BY e <-> '[1, 0]' LIMIT {k}"),
            )
        };
        assert_eq!(knn(&db, 2), [1, 2]);
        assert_eq!(status(&db, "docs", "e").rows, 3);
        assert_eq!(
            db.execute("UPDATE docs SET e = NULL WHERE id = 1", ())
                .unwrap(),
            1
        );
        assert_eq!(values(&db, "SELECT e FROM docs WHERE id = 1"), [vec![NULL]]);
        assert_eq!(knn(&db, 2), [2, 3]);
        assert_eq!(status(&db, "docs", "e").rows, 2);
        // Asking for more rows than there are vectors: the NULL distance sorts last, as in a scan.
        assert_eq!(knn(&db, 3), [2, 3, 1]);
        // And back to a vector.
        db.execute(
            "UPDATE docs SET e = $1 WHERE id = 3",
            params![vec![1.0f32, 0.0]],
        )
        .unwrap();
        assert_eq!(knn(&db, 2), [3, 2]);
    }
    let db = open(dir.path());
    assert_eq!(
        int_column(&db, "SELECT id FROM docs ORDER BY e <-> '[1, 0]' LIMIT 2"),
        [3, 2]
    );
    assert_eq!(int_column(&db, "SELECT id FROM docs WHERE e IS NULL"), [1]);
}

#[test]
fn delete_with_and_without_where() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        people(&db);
        assert_eq!(
            db.execute("DELETE FROM people WHERE age IS NULL", ())
                .unwrap(),
            1
        );
        assert_eq!(
            db.execute("DELETE FROM people WHERE id IN (1, 2)", ())
                .unwrap(),
            2
        );
        assert_eq!(
            db.execute("DELETE FROM people WHERE id = 42", ()).unwrap(),
            0
        );
        assert_eq!(int_column(&db, "SELECT id FROM people ORDER BY id"), [4, 5]);
        // A deleted key can be reused.
        db.execute("INSERT INTO people (id, name) VALUES (1, 'again')", ())
            .unwrap();
        assert_eq!(count(&db, "people"), 3);
    }
    let db = open(dir.path());
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id"),
        [1, 4, 5]
    );
    assert_eq!(db.execute("DELETE FROM people", ()).unwrap(), 3);
    assert_eq!(count(&db, "people"), 0);
    drop(db);
    let db = open(dir.path());
    assert_eq!(count(&db, "people"), 0);
    db.execute("INSERT INTO people (id, name) VALUES (4, 'four')", ())
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// CREATE INDEX / DROP INDEX, SET, CHECKPOINT, EXPLAIN, SHOW TABLES

/// 200 deterministic 4-d vectors, ids 0..200.
fn docs(db: &Database) -> Vec<(i64, Vec<f32>)> {
    db.execute(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, tag TEXT, e VECTOR(4))",
        (),
    )
    .unwrap();
    let mut all = Vec::new();
    for i in 0..200i64 {
        let v = vec![
            (i % 7) as f32,
            (i % 11) as f32 - 5.0,
            (i % 13) as f32 * 0.5,
            1.0 + (i / 50) as f32,
        ];
        db.execute(
            "INSERT INTO docs VALUES ($1, $2, $3)",
            params![i, if i % 2 == 0 { "even" } else { "odd" }, v.clone()],
        )
        .unwrap();
        all.push((i, v));
    }
    all
}

fn plan(db: &Database, sql: &str) -> Vec<String> {
    strings(db, &format!("EXPLAIN {sql}"))
}

#[test]
fn create_index_options_and_drop_index_persist() {
    let dir = tempfile::tempdir().unwrap();
    let all;
    {
        let db = open(dir.path());
        all = docs(&db);
        let out = db
            .run("CREATE INDEX docs_e ON docs USING hnsw (e) WITH (metric = 'l2', m = 12, ef_construction = 40)", ())
            .unwrap();
        assert_eq!(out, Output::Done("CREATE INDEX".into()));
        let st = status(&db, "docs", "e");
        assert_eq!(
            (
                st.name.as_str(),
                st.metric,
                st.m,
                st.ef_construction,
                st.explicit,
                st.dims
            ),
            ("docs_e", Metric::L2, 12, 40, true, 4)
        );
        // The L2 index serves `<->`; `<=>` falls back to an exact scan.
        let p = plan(
            &db,
            "SELECT id FROM docs ORDER BY e <-> '[1,0,0,1]' LIMIT 5",
        );
        assert!(
            p[0].starts_with("Index kNN scan on docs.e using index docs_e"),
            "{p:?}"
        );
        let p = plan(
            &db,
            "SELECT id FROM docs ORDER BY e <=> '[1,0,0,1]' LIMIT 5",
        );
        assert!(p[0].starts_with("Full scan on docs"), "{p:?}");
        assert!(p.iter().any(|l| l.contains("another metric")), "{p:?}");
        // Each stored vector is its own nearest neighbour, and the distances are exact.
        for (id, v) in all.iter().step_by(37) {
            let rows = db
                .query(
                    "SELECT id, e <-> $1 AS d FROM docs ORDER BY e <-> $1 LIMIT 5",
                    params![v.clone()],
                )
                .unwrap();
            let truth = brute_force(&all, v, 5, l2);
            assert_eq!(rows.get(0).unwrap().get::<f64>("d").unwrap(), 0.0);
            assert!(
                truth
                    .iter()
                    .take_while(|t| t.1 == 0.0)
                    .any(|t| t.0 == rows.get(0).unwrap().get::<i64>(0).unwrap()),
                "{id}"
            );
            for r in &rows {
                let got_id: i64 = r.get(0).unwrap();
                let d: f64 = r.get(1).unwrap();
                let want = l2(&all.iter().find(|x| x.0 == got_id).unwrap().1, v);
                assert!((d - want).abs() < 1e-5);
                assert!(
                    d <= truth[4].1 + 1e-5,
                    "{id}: {d} is not among the 5 nearest"
                );
            }
        }
        // A second explicit index on the same column is refused; IF NOT EXISTS is a no-op.
        assert!(matches!(
            db.execute("CREATE INDEX other ON docs USING hnsw (e)", ()),
            Err(Error::IndexExists(_))
        ));
        db.execute(
            "CREATE INDEX IF NOT EXISTS docs_e ON docs USING hnsw (e)",
            (),
        )
        .unwrap();
        assert_eq!(status(&db, "docs", "e").metric, Metric::L2);
    }
    {
        let db = open(dir.path());
        let st = status(&db, "docs", "e");
        assert_eq!(
            (st.name.as_str(), st.metric, st.m, st.explicit),
            ("docs_e", Metric::L2, 12, true)
        );
        assert_eq!(st.last_load.kind(), "not loaded");
        let (id, v) = &all[101];
        assert_eq!(
            int_column(
                &db,
                &format!(
                    "SELECT id FROM docs ORDER BY e <-> '{}' LIMIT 1",
                    vectable::format_vector(v, 99)
                )
            )[0],
            *id
        );
        assert_eq!(status(&db, "docs", "e").last_load.kind(), "mapped");
        assert!(dir.path().join("vectors").join("docs_e.usearch").exists());
        assert_eq!(
            db.run("DROP INDEX docs_e", ()).unwrap(),
            Output::Done("DROP INDEX".into())
        );
        assert!(db.index_status().is_empty());
        assert!(!dir.path().join("vectors").join("docs_e.usearch").exists());
        db.execute("DROP INDEX IF EXISTS docs_e", ()).unwrap();
        // The operator-class form, with the default name.
        db.execute("CREATE INDEX ON docs USING hnsw (e vector_ip_ops)", ())
            .unwrap();
        let st = status(&db, "docs", "e");
        assert_eq!(
            (st.name.as_str(), st.metric, st.explicit),
            ("docs_e_hnsw", Metric::InnerProduct, true)
        );
    }
    let db = open(dir.path());
    let st = status(&db, "docs", "e");
    assert_eq!(
        (st.name.as_str(), st.metric),
        ("docs_e_hnsw", Metric::InnerProduct)
    );
    let p = plan(
        &db,
        "SELECT id FROM docs ORDER BY e <#> '[1,0,0,1]' LIMIT 3",
    );
    assert!(
        p[0].starts_with("Index kNN scan on docs.e using index docs_e_hnsw"),
        "{p:?}"
    );
    // The largest inner product first.
    let truth = brute_force(&all, &[1.0, 0.0, 0.0, 1.0], 1, |a, b| {
        -a.iter()
            .zip(b)
            .map(|(x, y)| *x as f64 * *y as f64)
            .sum::<f64>()
    });
    let got = db
        .query_row(
            "SELECT e <#> '[1,0,0,1]' FROM docs ORDER BY e <#> '[1,0,0,1]' LIMIT 1",
            (),
            |r| r.get::<f64>(0),
        )
        .unwrap();
    assert!((got - truth[0].1).abs() < 1e-5, "{got} vs {truth:?}");
}

#[test]
fn set_ef_search_is_a_session_setting() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        docs(&db);
        assert_eq!(db.ef_search(), 64);
        assert_eq!(
            db.run("SET ef_search = 200", ()).unwrap(),
            Output::Done("SET".into())
        );
        assert_eq!(db.ef_search(), 200);
        let clone = db.clone();
        assert_eq!(clone.ef_search(), 200, "clones share session settings");
        db.execute("SET hnsw.ef_search = 50", ()).unwrap();
        assert_eq!(clone.ef_search(), 50);
        db.execute("SET ef_search TO 7", ()).unwrap();
        assert_eq!(db.ef_search(), 7);
        db.execute("SET ef_search = $1", [33]).unwrap();
        assert_eq!(db.ef_search(), 33);
        db.execute("SET ef_search = 10000", ()).unwrap();
        assert_eq!(db.ef_search(), vectable::MAX_EF_SEARCH);
        db.execute("SET ef_search = 1", ()).unwrap();
        let p = plan(
            &db,
            "SELECT id FROM docs ORDER BY e <-> '[1,0,0,1]' LIMIT 5",
        );
        assert!(p.iter().any(|l| l.contains("ef_search: 1")), "{p:?}");
        // k larger than ef_search still returns k rows.
        assert_eq!(
            int_column(
                &db,
                "SELECT id FROM docs ORDER BY e <-> '[1,0,0,1]' LIMIT 20"
            )
            .len(),
            20
        );
    }
    // Not persisted: a reopened database starts from its options.
    assert_eq!(open(dir.path()).ef_search(), 64);
    let db = Database::open_with(dir.path(), vectable::Options::new().ef_search(300)).unwrap();
    assert_eq!(db.ef_search(), 300);
}

#[test]
fn checkpoint_saves_dirty_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let all = docs(&db);
    let (_, q) = &all[5];
    db.query(
        "SELECT id FROM docs ORDER BY e <=> $1 LIMIT 3",
        params![q.clone()],
    )
    .unwrap();
    let file = dir.path().join("vectors").join("docs_e.usearch");
    assert!(file.exists());
    for i in 1000..1003i64 {
        db.execute(
            "INSERT INTO docs VALUES ($1, 'new', $2)",
            params![i, vec![i as f32, 1.0, 2.0, 3.0]],
        )
        .unwrap();
    }
    assert_eq!(status(&db, "docs", "e").dirty_changes, 3);
    assert_eq!(
        db.run("CHECKPOINT", ()).unwrap(),
        Output::Done("CHECKPOINT".into())
    );
    let st = status(&db, "docs", "e");
    assert_eq!((st.dirty_changes, st.rows), (0, 203));
    assert_eq!(st.file_bytes, Some(std::fs::metadata(&file).unwrap().len()));
    db.execute("DELETE FROM docs WHERE id = 1000", ()).unwrap();
    assert_eq!(status(&db, "docs", "e").dirty_changes, 1);
    assert_eq!(db.execute("checkpoint;", ()).unwrap(), 0);
    assert_eq!(status(&db, "docs", "e").dirty_changes, 0);
    db.checkpoint().unwrap();
}

#[test]
fn explain_describes_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    docs(&db);
    let rows = db
        .query(
            "EXPLAIN SELECT name FROM people WHERE age > 30 ORDER BY name LIMIT 2 OFFSET 1",
            (),
        )
        .unwrap();
    assert_eq!(rows.columns(), ["plan"]);
    let p: Vec<String> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(p[0], "Full scan on people");
    assert!(p.contains(&"  filter: age > 30".to_string()), "{p:?}");
    assert!(
        p.iter()
            .any(|l| l.starts_with("  sort:") && l.contains("name")),
        "{p:?}"
    );
    assert!(p.contains(&"  limit: 2, offset: 1".to_string()), "{p:?}");
    assert_eq!(p.last().unwrap(), "  output: name");
    let p = plan(
        &db,
        "SELECT city, count(*), max(age) FROM people GROUP BY city",
    );
    assert!(
        p.contains(&"  aggregate: 1 group key(s), 2 aggregate(s)".to_string()),
        "{p:?}"
    );
    // A kNN plan on a column without an index says the index will be built — and EXPLAIN
    // does not build it.
    let p = plan(
        &db,
        "SELECT id FROM docs ORDER BY e <=> '[1,2,3,4]' LIMIT 4",
    );
    assert_eq!(
        p[0],
        "Index kNN scan on docs.e using HNSW index built lazily on first use"
    );
    assert!(
        p.iter().any(|l| l.contains("metric: cosine (<=>), k: 4")),
        "{p:?}"
    );
    // With a WHERE on a small table, the kNN query computes exact distances over the
    // matching rows.
    let p = plan(
        &db,
        "SELECT id FROM docs WHERE tag = 'even' ORDER BY e <=> '[1,2,3,4]' LIMIT 4",
    );
    assert_eq!(
        p[0],
        "Filtered kNN on docs.e: exact distances over the matching rows"
    );
    assert!(p[1].starts_with("  why: at most 2000 vectors"), "{p:?}");
    assert!(
        p.contains(&"  candidates: Full scan on docs".to_string()),
        "{p:?}"
    );
    assert!(p.contains(&"  filter: tag = 'even'".to_string()), "{p:?}");
    assert!(db.index_status().is_empty());
    // EXPLAIN of a write is refused rather than run.
    assert!(matches!(
        db.execute("EXPLAIN DELETE FROM people", ()),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(count(&db, "people"), 5);
}

#[test]
fn show_tables_lists_names_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let rows = db.query("SHOW TABLES", ()).unwrap();
    assert_eq!(rows.columns(), ["name"]);
    assert!(rows.is_empty());
    for t in ["zeta", "alpha", "mid"] {
        db.execute(&format!("CREATE TABLE {t} (x INTEGER)"), ())
            .unwrap();
    }
    assert_eq!(strings(&db, "SHOW TABLES"), ["alpha", "mid", "zeta"]);
    db.execute("DROP TABLE mid", ()).unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(strings(&db, "SHOW TABLES"), ["alpha", "zeta"]);
}

// ---------------------------------------------------------------------------------------------
// COPY

const ITEMS: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, in_stock BOOLEAN, tags TEXT, e VECTOR(3))";

#[test]
fn copy_from_csv_with_header_and_positional() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let with_header = files.path().join("items.csv");
    std::fs::write(
        &with_header,
        "e,id,name,price,in_stock\n\
         \"[1,0,0]\",1,\"Widget, large\",9.5,true\n\
         \"[0,1,0]\",2,,3,f\n\
         ,3,\"say \"\"hi\"\"\",,YES\n\
         \"[0.5, 0.5, 0]\",4,plain, 2.25 ,0\n",
    )
    .unwrap();
    let positional = files.path().join("more.txt");
    std::fs::write(&positional, "5,five,1.0,true,t1,\"[0,0,1]\"\n6,six,,,,\n").unwrap();
    let piped = files.path().join("piped.csv");
    std::fs::write(&piped, "id|name\n7|seven, with comma\n").unwrap();
    let want;
    {
        let db = open(dir.path());
        db.execute(ITEMS, ()).unwrap();
        let n = db
            .execute(
                &format!(
                    "COPY items FROM '{}' WITH (FORMAT csv, HEADER true)",
                    with_header.display()
                ),
                (),
            )
            .unwrap();
        assert_eq!(n, 4);
        assert_eq!(
            db.run(
                &format!(
                    "COPY items FROM '{}' WITH (FORMAT csv)",
                    positional.display()
                ),
                ()
            )
            .unwrap(),
            Output::Affected(2)
        );
        assert_eq!(
            db.execute(
                &format!(
                    "COPY items FROM '{}' WITH (FORMAT csv, HEADER true, DELIMITER '|')",
                    piped.display()
                ),
                ()
            )
            .unwrap(),
            1
        );
        want = vec![
            vec![
                int(1),
                text("Widget, large"),
                real(9.5),
                boolean(true),
                NULL,
                vector(&[1.0, 0.0, 0.0]),
            ],
            vec![
                int(2),
                NULL,
                real(3.0),
                boolean(false),
                NULL,
                vector(&[0.0, 1.0, 0.0]),
            ],
            vec![int(3), text("say \"hi\""), NULL, boolean(true), NULL, NULL],
            vec![
                int(4),
                text("plain"),
                real(2.25),
                boolean(false),
                NULL,
                vector(&[0.5, 0.5, 0.0]),
            ],
            vec![
                int(5),
                text("five"),
                real(1.0),
                boolean(true),
                text("t1"),
                vector(&[0.0, 0.0, 1.0]),
            ],
            vec![int(6), text("six"), NULL, NULL, NULL, NULL],
            vec![int(7), text("seven, with comma"), NULL, NULL, NULL, NULL],
        ];
        assert_eq!(values(&db, "SELECT * FROM items ORDER BY id"), want);
        assert_eq!(
            int_column(
                &db,
                "SELECT id FROM items ORDER BY e <-> '[0.1, 0, 0.9]' LIMIT 2"
            ),
            [5, 4]
        );
    }
    let db = open(dir.path());
    assert_eq!(values(&db, "SELECT * FROM items ORDER BY id"), want);
    assert_eq!(
        int_column(
            &db,
            "SELECT id FROM items ORDER BY e <-> '[0.1, 0, 0.9]' LIMIT 2"
        ),
        [5, 4]
    );
}

#[test]
fn copy_from_parquet_written_here() {
    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("items.parquet");
    write_parquet(
        &path,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as ArrayRef,
            ),
            (
                "price",
                Arc::new(Float64Array::from(vec![Some(1.5), Some(2.0), None])) as ArrayRef,
            ),
            (
                "in_stock",
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])) as ArrayRef,
            ),
            (
                "e",
                fixed_list(
                    &[Some(vec![1.0, 0.0, 0.0]), None, Some(vec![0.0, 0.25, -1.0])],
                    3,
                ),
            ),
        ],
    );
    let want = vec![
        vec![
            int(1),
            text("a"),
            real(1.5),
            boolean(true),
            NULL,
            vector(&[1.0, 0.0, 0.0]),
        ],
        vec![int(2), NULL, real(2.0), NULL, NULL, NULL],
        vec![
            int(3),
            text("c"),
            NULL,
            boolean(false),
            NULL,
            vector(&[0.0, 0.25, -1.0]),
        ],
    ];
    {
        let db = open(dir.path());
        db.execute(ITEMS, ()).unwrap();
        assert_eq!(
            db.execute(
                &format!("COPY items FROM '{}' WITH (FORMAT parquet)", path.display()),
                ()
            )
            .unwrap(),
            3
        );
        assert_eq!(values(&db, "SELECT * FROM items ORDER BY id"), want);
        // The format follows the file extension when not given; a table without a key takes
        // the same rows twice.
        db.execute(
            "CREATE TABLE loose (id INTEGER, name TEXT, price REAL, in_stock BOOLEAN, e VECTOR(3))",
            (),
        )
        .unwrap();
        for _ in 0..2 {
            assert_eq!(
                db.execute(&format!("COPY loose FROM '{}'", path.display()), ())
                    .unwrap(),
                3
            );
        }
        assert_eq!(
            values(
                &db,
                "SELECT id, count(*) FROM loose GROUP BY id ORDER BY id"
            ),
            [[int(1), int(2)], [int(2), int(2)], [int(3), int(2)]]
        );
    }
    let db = open(dir.path());
    assert_eq!(values(&db, "SELECT * FROM items ORDER BY id"), want);
    assert_eq!(count(&db, "loose"), 6);
}

#[test]
fn copy_the_bundled_parquet_sample() {
    let dir = tempfile::tempdir().unwrap();
    let first;
    {
        let db = sample_db(dir.path());
        assert_eq!(count(&db, "packages"), 5000);
        assert_eq!(values(&db, "SELECT count(embedding), count(name), min(vector_dims(embedding)), max(vector_dims(embedding)) FROM packages"), [[int(5000), int(5000), int(384), int(384)]]);
        let norms = values(
            &db,
            "SELECT min(vector_norm(embedding)), max(vector_norm(embedding)) FROM packages",
        );
        for v in &norms[0] {
            let Value::Real(n) = v else { panic!("{v:?}") };
            assert!(
                (n - 1.0).abs() < 1e-3,
                "MiniLM embeddings are unit vectors: {n}"
            );
        }
        first = values(&db, "SELECT * FROM packages ORDER BY id LIMIT 3");
        // Primary keys from the file are enforced.
        let id = first[0][0].clone();
        assert!(matches!(
            db.execute("INSERT INTO packages (id, name) VALUES ($1, 'dup')", [id]),
            Err(Error::DuplicateKey { .. })
        ));
    }
    let db = open(dir.path());
    assert_eq!(count(&db, "packages"), 5000);
    assert_eq!(
        values(&db, "SELECT * FROM packages ORDER BY id LIMIT 3"),
        first
    );
}

// ---------------------------------------------------------------------------------------------
// Persistence of everything

#[test]
fn everything_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = |db: &Database| {
        let tables = db.tables();
        let data: Vec<Vec<Vec<Value>>> = tables
            .iter()
            .map(|t| values(db, &format!("SELECT * FROM {} ORDER BY 1", t.name)))
            .collect();
        let idx: Vec<(String, String, Metric, bool)> = db
            .index_status()
            .into_iter()
            .map(|s| (s.name, s.table, s.metric, s.explicit))
            .collect();
        (tables, data, idx)
    };
    let before;
    {
        let db = open(dir.path());
        people(&db);
        docs(&db);
        db.execute("CREATE TABLE gone (x INTEGER)", ()).unwrap();
        db.execute("CREATE INDEX people_unused ON docs USING hnsw (e) WITH (metric = 'cosine', quantization = 'f16')", ()).unwrap();
        db.execute(
            "UPDATE people SET city = 'Oslo', age = NULL WHERE id = 2",
            (),
        )
        .unwrap();
        db.execute("DELETE FROM docs WHERE id % 3 = 0", ()).unwrap();
        db.execute(
            "UPDATE docs SET e = '[9, 9, 9, 9]', tag = 'moved' WHERE id = 100",
            (),
        )
        .unwrap();
        db.execute("DROP TABLE gone", ()).unwrap();
        db.query(
            "SELECT id FROM docs ORDER BY e <=> '[1, 1, 1, 1]' LIMIT 1",
            (),
        )
        .unwrap();
        before = snapshot(&db);
        assert_eq!(before.0.len(), 2);
        assert_eq!(before.1[0].len(), 133);
    }
    for _ in 0..2 {
        let db = open(dir.path());
        assert_eq!(snapshot(&db), before);
        assert_eq!(
            int_column(
                &db,
                "SELECT id FROM docs ORDER BY e <=> '[9, 9, 9, 9]' LIMIT 1"
            ),
            [100]
        );
        let s = status(&db, "docs", "e");
        assert_eq!((s.name.as_str(), s.rows), ("people_unused", 133));
    }
}

#[test]
fn filters_that_pin_the_primary_key_agree_with_scans() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    people(&db);
    db.execute("UPDATE people SET id = 100 WHERE id = 1", ())
        .unwrap();
    db.execute("DELETE FROM people WHERE id = 2", ()).unwrap();
    for (filter, want) in [
        ("id = 100", vec![100]),
        ("100 = id", vec![100]),
        ("id = 1", vec![]),
        ("id = 2", vec![]),
        ("id = 3 AND age IS NULL", vec![3]),
        ("age IS NULL AND id = 3", vec![3]),
        ("id = 3 AND age > 100", vec![]),
        ("id = 4 OR id = 5", vec![4, 5]),
        ("id = 4.0", vec![4]),
        ("id = 4.5", vec![]),
        ("id = NULL", vec![]),
        ("id = $1", vec![5]),
    ] {
        let sql = format!("SELECT id FROM people WHERE {filter} ORDER BY id");
        let rows = if filter.contains("$1") {
            db.query(&sql, [5])
        } else {
            db.query(&sql, ())
        };
        let got = ids(&rows.unwrap());
        assert_eq!(got, want, "{filter}");
    }
    // Writes through a pinned key touch exactly that row.
    assert_eq!(
        db.execute("UPDATE people SET age = 1 WHERE id = 100", ())
            .unwrap(),
        1
    );
    assert_eq!(
        db.execute("UPDATE people SET age = 1 WHERE id = 1", ())
            .unwrap(),
        0
    );
    assert_eq!(
        db.execute("DELETE FROM people WHERE id = 5 AND name = 'nobody'", ())
            .unwrap(),
        0
    );
    assert_eq!(
        db.execute("DELETE FROM people WHERE id = 5", ()).unwrap(),
        1
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM people ORDER BY id"),
        [3, 4, 100]
    );
    // Text keys.
    db.execute("CREATE TABLE k (name TEXT PRIMARY KEY, n INTEGER)", ())
        .unwrap();
    db.execute("INSERT INTO k VALUES ('a', 1), ('b', 2)", ())
        .unwrap();
    db.execute("UPDATE k SET name = 'c' WHERE name = 'a'", ())
        .unwrap();
    assert_eq!(values(&db, "SELECT n FROM k WHERE name = 'c'"), [[int(1)]]);
    assert!(values(&db, "SELECT n FROM k WHERE name = 'a'").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Regressions found by the differential test against SQLite (tests/differential.rs)

/// `x BETWEEN lo AND hi` is `x >= lo AND x <= hi`: one false side makes it false (and NOT
/// BETWEEN true) even when the other bound is NULL. It used to be NULL.
#[test]
fn between_with_a_null_bound_is_false_when_the_other_side_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert_eq!(
        values(&db, "SELECT 5 BETWEEN 10 AND NULL"),
        [[boolean(false)]]
    );
    assert_eq!(
        values(&db, "SELECT 5 NOT BETWEEN 10 AND NULL"),
        [[boolean(true)]]
    );
    assert_eq!(
        values(&db, "SELECT 5 BETWEEN NULL AND 1"),
        [[boolean(false)]]
    );
    assert_eq!(
        values(&db, "SELECT 5 NOT BETWEEN NULL AND 1"),
        [[boolean(true)]]
    );
    assert_eq!(values(&db, "SELECT 5 BETWEEN NULL AND 10"), [[NULL]]);
    assert_eq!(values(&db, "SELECT 5 BETWEEN 1 AND NULL"), [[NULL]]);
    assert_eq!(values(&db, "SELECT NULL BETWEEN 1 AND 10"), [[NULL]]);
    people(&db);
    // age 40 (dave) is above 30 whatever the NULL lower bound is.
    assert_eq!(people_ids(&db, "age NOT BETWEEN NULL AND 30"), [4, 5]);
}

/// `IS [NOT] TRUE / FALSE` are never NULL (`NULL IS TRUE` is false), and the negated forms
/// are supported. `IS TRUE` used to be `= TRUE` (NULL for NULL); `IS NOT TRUE` was
/// "not supported".
#[test]
fn is_true_and_is_false_are_never_null() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert_eq!(
        values(
            &db,
            "SELECT NULL IS TRUE, NULL IS FALSE, NULL IS NOT TRUE, NULL IS NOT FALSE"
        ),
        [[boolean(false), boolean(false), boolean(true), boolean(true)]]
    );
    assert_eq!(
        values(
            &db,
            "SELECT TRUE IS TRUE, TRUE IS NOT TRUE, FALSE IS FALSE, FALSE IS NOT FALSE"
        ),
        [[boolean(true), boolean(false), boolean(true), boolean(false)]]
    );
    people(&db);
    // active: 1 TRUE, 2 FALSE, 3 TRUE, 4 NULL, 5 FALSE.
    assert_eq!(people_ids(&db, "active IS NOT TRUE"), [2, 4, 5]);
    assert_eq!(people_ids(&db, "active IS NOT FALSE"), [1, 3, 4]);
    assert_eq!(people_ids(&db, "NOT (active IS TRUE)"), [2, 4, 5]);
    assert!(matches!(
        db.query("SELECT 1 IS TRUE", ()),
        Err(Error::TypeMismatch { .. })
    ));
}

/// -0.0 equals 0.0 (in `=`, `IN`, `ORDER BY`, `MIN`/`MAX` and `GROUP BY`), as in PostgreSQL.
/// `r = 0` used to be false for -0.0, and `GROUP BY r` made two groups.
#[test]
fn negative_zero_equals_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute_batch(
        "CREATE TABLE z (id INTEGER PRIMARY KEY, r REAL);
         INSERT INTO z VALUES (1, -0.0), (2, 0.0), (3, 1.0);",
    )
    .unwrap();
    assert_eq!(
        int_column(&db, "SELECT id FROM z WHERE r = 0 ORDER BY id"),
        [1, 2]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM z WHERE r = 0.0 ORDER BY id"),
        [1, 2]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM z WHERE r IN (0) ORDER BY id"),
        [1, 2]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM z WHERE r >= 0 ORDER BY id"),
        [1, 2, 3]
    );
    assert_eq!(
        int_column(&db, "SELECT id FROM z WHERE r < 0 ORDER BY id"),
        Vec::<i64>::new()
    );
    // Equal sort keys keep their ties in the next key's order.
    assert_eq!(
        int_column(&db, "SELECT id FROM z ORDER BY r, id DESC"),
        [2, 1, 3]
    );
    assert_eq!(
        values(&db, "SELECT count(*) FROM z GROUP BY r ORDER BY 1"),
        [[int(1)], [int(2)]]
    );
}

/// LIKE's escape character is `\` by default, as in PostgreSQL: `\%`, `\_` and `\\` match
/// themselves literally, and a pattern may not end in a lone `\`. It used to be an ordinary
/// character, so `'a\%'` matched only the text `a\` followed by anything.
#[test]
fn like_backslash_escapes_the_next_character() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute_batch(
        r"CREATE TABLE w (id INTEGER PRIMARY KEY, s TEXT);
          INSERT INTO w VALUES (1, 'a%'), (2, 'ab'), (3, 'a_'), (4, 'a\b'), (5, 'a\');",
    )
    .unwrap();
    let ids = |pattern: &str| {
        int_column(
            &db,
            &format!("SELECT id FROM w WHERE s LIKE '{pattern}' ORDER BY id"),
        )
    };
    assert_eq!(ids(r"a\%"), [1]);
    assert_eq!(ids(r"a\_"), [3]);
    assert_eq!(ids(r"a\\%"), [4, 5]);
    assert_eq!(ids(r"a\b"), [2]);
    assert_eq!(ids(r"a%"), [1, 2, 3, 4, 5]);
    assert_eq!(
        int_column(&db, r"SELECT id FROM w WHERE s ILIKE 'A\%' ORDER BY id"),
        [1]
    );
    assert!(db.query(r"SELECT id FROM w WHERE s LIKE 'a\'", ()).is_err());
}

#[test]
fn order_by_with_limit_keeps_the_full_sort_order() {
    // ORDER BY ... LIMIT keeps only the top LIMIT + OFFSET rows while scanning (a top-N sort
    // that cuts its buffer back many times over 3,000 rows). The result must be exactly that of
    // a full stable sort: ties in rowid order, NULLs last ascending and first descending.
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, g INTEGER, e VECTOR(2))",
        (),
    )
    .unwrap();
    let mut rows: Vec<(i64, Option<i64>, [f32; 2])> = Vec::new();
    for id in 0..3000i64 {
        // Many ties in g, some NULLs, and a vector whose distance to [1, 0] ties in groups.
        let g = if id % 11 == 0 {
            None
        } else {
            Some((id * 7919) % 13)
        };
        let e = [((id * 31) % 17) as f32, ((id * 17) % 5) as f32];
        rows.push((id, g, e));
    }
    for chunk in rows.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(id, g, e)| {
                let g = g.map_or("NULL".to_string(), |g| g.to_string());
                format!("({id}, {g}, '[{}, {}]')", e[0], e[1])
            })
            .collect();
        db.execute(&format!("INSERT INTO t VALUES {}", values.join(", ")), ())
            .unwrap();
    }
    let got = |sql: &str| -> Vec<i64> {
        let r = db.query(sql, ()).unwrap();
        (0..r.len())
            .map(|i| r.get(i).unwrap().get(0).unwrap())
            .collect()
    };
    // Expected orders from a stable sort over rowid order.
    let by_g = |desc: bool| -> Vec<i64> {
        let mut v = rows.clone();
        v.sort_by(|a, b| match (a.1, b.1) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) if desc => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) if desc => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if desc => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
        });
        v.iter().map(|r| r.0).collect()
    };
    let asc = by_g(false);
    let desc = by_g(true);
    // The second pass reads the B-tree index on g in key order instead of sorting.
    for (indexed, limit, offset) in [false, true].into_iter().flat_map(|i| {
        if i {
            db.execute("CREATE INDEX t_g ON t (g)", ()).unwrap();
        }
        [
            (1usize, 0usize),
            (10, 0),
            (25, 40),
            (200, 1000),
            (0, 3),
            (5, 2998),
        ]
        .map(|(l, o)| (i, l, o))
    }) {
        assert_eq!(
            got(&format!(
                "SELECT id FROM t ORDER BY g LIMIT {limit} OFFSET {offset}"
            )),
            asc.iter()
                .skip(offset)
                .take(limit)
                .copied()
                .collect::<Vec<_>>(),
            "ASC LIMIT {limit} OFFSET {offset} (indexed: {indexed})"
        );
        assert_eq!(
            got(&format!(
                "SELECT id FROM t ORDER BY g DESC LIMIT {limit} OFFSET {offset}"
            )),
            desc.iter()
                .skip(offset)
                .take(limit)
                .copied()
                .collect::<Vec<_>>(),
            "DESC LIMIT {limit} OFFSET {offset} (indexed: {indexed})"
        );
    }
    // A filtered kNN query with exact distances: ties in rowid order, only matching rows.
    db.execute("SET filtered_knn = exact", ()).unwrap();
    let mut knn: Vec<(f64, i64)> = rows
        .iter()
        .filter(|r| r.0 % 3 == 1)
        .map(|r| {
            let (dx, dy) = (r.2[0] as f64 - 1.0, r.2[1] as f64);
            ((dx * dx + dy * dy).sqrt(), r.0)
        })
        .collect();
    knn.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(
        got("SELECT id FROM t WHERE id % 3 = 1 ORDER BY e <-> '[1, 0]' LIMIT 30 OFFSET 7"),
        knn.iter().skip(7).take(30).map(|x| x.1).collect::<Vec<_>>()
    );
}

#[test]
fn sum_and_avg_of_reals_are_compensated() {
    // Found by the differential test under stress: ten 0.001s summed naively give
    // 0.010000000000000002, so `HAVING avg(0.001) <= 0.001` was false where SQLite (which sums
    // with Kahan–Babuška–Neumaier compensation) says true.
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, r REAL)", ())
        .unwrap();
    for i in 0..10 {
        db.execute("INSERT INTO t VALUES ($1, 0.001)", [i]).unwrap();
    }
    let row = db
        .query(
            "SELECT sum(r), avg(r), avg(0.001) <= 0.001 FROM t HAVING avg(0.001) <= 0.001",
            (),
        )
        .unwrap();
    assert_eq!(
        row.values(),
        &[vec![
            Value::Real(0.01),
            Value::Real(0.001),
            Value::Boolean(true)
        ]]
    );
    // Infinities stay infinite (no NaN from the compensation term).
    db.execute("INSERT INTO t VALUES (100, 1e308), (101, 1e308)", ())
        .unwrap();
    let v = db.query("SELECT sum(r) FROM t", ()).unwrap();
    assert_eq!(v.values(), &[vec![Value::Real(f64::INFINITY)]]);
}
