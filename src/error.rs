//! The one public error type of vectable and its `Result` alias.
//!
//! Every fallible call in the crate returns [`Result<T>`]. Each variant is one kind of failure;
//! its doc says which calls return it. A statement that fails with any variant has written
//! nothing: rows, primary keys and the change log are committed in one RocksDB `WriteBatch`
//! per statement, after every check has passed.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in vectable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text does not parse. `line` and `column` are 1-based positions in the statement
    /// text as reported by sqlparser (just past the end of the text for an unexpected end).
    /// Returned by [`Database::execute`](crate::Database::execute) and
    /// [`Database::query`](crate::Database::query).
    #[error("syntax error at line {line}, column {column}: {message}")]
    Parse {
        /// What sqlparser expected or found.
        message: String,
        /// 1-based line of the offending token.
        line: u64,
        /// 1-based column of the offending token.
        column: u64,
    },

    /// Valid SQL that vectable does not implement (joins, `RETURNING`, a data type…).
    #[error("not supported: {0}")]
    Unsupported(String),

    /// A statement names a table that does not exist.
    #[error("no such table: {0}")]
    NoSuchTable(String),

    /// `CREATE TABLE` of a name that is already taken (without `IF NOT EXISTS`).
    #[error("table {0} already exists")]
    TableExists(String),

    /// A statement names a column the table does not have.
    #[error("no such column: {column} (table {table})")]
    NoSuchColumn {
        /// The table searched (empty for a query without `FROM`).
        table: String,
        /// The name that did not resolve.
        column: String,
    },

    /// `DROP INDEX` of a name that does not exist (without `IF EXISTS`).
    #[error("no such index: {0}")]
    NoSuchIndex(String),

    /// `CREATE INDEX` of a name that is taken, or on a column that already has an explicit index.
    #[error("index already exists: {0}")]
    IndexExists(String),

    /// A table or column name that cannot be used: names are `[A-Za-z_][A-Za-z0-9_]*`, at most
    /// 64 bytes, because they become file names under `<dir>/vectors/`.
    #[error("invalid identifier {name:?}: {reason}")]
    InvalidIdentifier {
        /// The name as written.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// Two (table, column) pairs would share the index file `<table>_<column>.usearch`.
    #[error("index file name {file} of {table}.{column} collides with {other_table}.{other_column}; rename the table or the column")]
    FileNameCollision {
        /// The file name both pairs map to.
        file: String,
        /// The table being created.
        table: String,
        /// Its vector column.
        column: String,
        /// The table that already owns the file name.
        other_table: String,
        /// Its vector column.
        other_column: String,
    },

    /// A value of the wrong type: inserting text into an `INTEGER` column, comparing a vector
    /// with a number, calling `vector_dims` on text that is not a vector…
    /// `context` names the table and column, or the expression.
    #[error("type mismatch in {context}: expected {expected}, found {found}")]
    TypeMismatch {
        /// Where: `table.column`, `row 3 of INSERT`, an operator or function name.
        context: String,
        /// The type that was required.
        expected: String,
        /// The type that was given.
        found: String,
    },

    /// A vector whose number of dimensions differs from its column's `VECTOR(n)`, or from
    /// the other operand of a distance operator.
    #[error(
        "vector dimension mismatch for {column}: expected {expected} dimensions, found {found}"
    )]
    DimensionMismatch {
        /// `table.column` (or the operator) the vector was meant for.
        column: String,
        /// `n` of the column's `VECTOR(n)`.
        expected: usize,
        /// Dimensions of the value given.
        found: usize,
    },

    /// A vector containing NaN or ±infinity (also a literal that overflows `f32`).
    /// `position` is the 0-based element index.
    #[error("vector for {column} has a non-finite value at position {position}")]
    NonFiniteVector {
        /// `table.column` or the expression the vector was meant for.
        column: String,
        /// 0-based index of the first NaN/Inf element.
        position: usize,
    },

    /// Text that should be a vector literal (`'[0.1, 0.2]'`) but is not.
    #[error("invalid vector literal {literal:?}: {reason}")]
    InvalidVector {
        /// The text (shortened to 80 characters).
        literal: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `NULL` (or a missing value) for a `NOT NULL` or `PRIMARY KEY` column.
    #[error("NOT NULL constraint failed: {table}.{column}")]
    NotNull {
        /// The table written.
        table: String,
        /// The column that may not be NULL.
        column: String,
    },

    /// A `PRIMARY KEY` or `UNIQUE` index value that another row already has (or that appears
    /// twice in the statement): returned by `INSERT`, `UPDATE`, `COPY`, and by
    /// `CREATE UNIQUE INDEX` over existing duplicates.
    #[error("duplicate key {key} in {table}.{column} (violates {index})")]
    DuplicateKey {
        /// The table written.
        table: String,
        /// The key column (for an index on several columns, their names joined by `, `).
        column: String,
        /// The duplicated key, as SQL text (several columns: `(a, b)`).
        key: String,
        /// `primary key`, or `unique index <name>`.
        index: String,
    },

    /// An `INSERT` gives a value (even NULL) to a `GENERATED ALWAYS AS IDENTITY` column, as
    /// PostgreSQL's `cannot insert a non-DEFAULT value into column`, or an `UPDATE` sets it.
    /// Leave the column out of the column list; nothing is written.
    #[error("cannot write a non-DEFAULT value into column {column} of table {table}: it is GENERATED ALWAYS AS IDENTITY (leave it out of the column list)")]
    IdentityAlways {
        /// The table written.
        table: String,
        /// The identity column.
        column: String,
    },

    /// `ALTER TABLE … ADD COLUMN` or `RENAME COLUMN … TO` a name the table already has.
    #[error("column {column} of table {table} already exists")]
    ColumnExists {
        /// The table altered.
        table: String,
        /// The name that is taken.
        column: String,
    },

    /// `ALTER TABLE … DROP COLUMN` of the table's primary key (its rows are found by it).
    #[error("cannot drop column {column} of table {table}: it is the primary key")]
    DropPrimaryKey {
        /// The table altered.
        table: String,
        /// The primary-key column.
        column: String,
    },

    /// `$n` refers to a parameter that was not supplied, or more parameters were given than
    /// used, or an `f64` vector parameter has an element that is not exactly an `f32` (the
    /// message names `$n`, the element and its value; see
    /// [`ToValue::to_param`](crate::ToValue::to_param)).
    #[error("parameter error: {0}")]
    Parameter(String),

    /// A value outside what an operation accepts: `SET ef_search = 0`, a negative `LIMIT`,
    /// division by zero, an unknown `WITH` option, an integer overflow…
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// `COPY` (or the shell's `.import`), a file read as a table (`SELECT … FROM 'file'`,
    /// `CREATE TABLE t AS FROM 'file'`) or `COPY t (col, …)` could not read its input: a
    /// missing or malformed file, a value that does not fit its column, a listed column the
    /// file lacks. `line` is the 1-based line of
    /// a CSV file (the header is line 1) or the 1-based row of a Parquet file, when known.
    #[error("import from {path}{}: {message}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Import {
        /// The file given to `COPY`.
        path: PathBuf,
        /// 1-based line or row, when the problem is in one.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },

    /// A file read as a table (`SELECT … FROM 'file'`, `CREATE TABLE t AS FROM 'file'`, the
    /// shell's `.import` into a new table) has a column whose type no vectable type holds
    /// (a Parquet date, a list of integers, a struct…).
    #[error("{path}: column {column} has type {type_name}, which no vectable type holds (INTEGER, REAL, TEXT, BOOLEAN, VECTOR(n))")]
    UnsupportedFileColumn {
        /// The file.
        path: PathBuf,
        /// The file's column.
        column: String,
        /// Its type in the file (an Arrow type name for Parquet).
        type_name: String,
    },

    /// The database was written by a newer vectable whose storage layout this build cannot
    /// read (returned by `Database::open`). Older layouts are migrated on open instead.
    #[error("database {path} has storage layout {found}; this build reads layouts up to {supported}: open it with a newer vectable")]
    UnsupportedLayout {
        /// The database directory.
        path: PathBuf,
        /// The layout recorded in its catalog.
        found: u32,
        /// The newest layout this build knows.
        supported: u32,
    },

    /// `SET filtered_knn = …` with a value other than `auto`, `exact` or `index`.
    #[error("unknown filtered_knn strategy {0:?}: use auto, exact or index")]
    UnknownStrategy(String),

    /// The database directory is in use by another process (RocksDB holds `<dir>/db/LOCK`).
    #[error("database {0} is locked by another process")]
    Locked(PathBuf),

    /// A write on a handle opened read-only ([`Database::open_read_only`](crate::Database::open_read_only),
    /// `vectable --readonly`): `INSERT`, `UPDATE`, `DELETE`, `COPY`, `CREATE`, `DROP`,
    /// `CHECKPOINT` and [`Database::checkpoint`](crate::Database::checkpoint). Nothing was written.
    #[error("database {path} is open read-only: {statement} is refused")]
    ReadOnly {
        /// The database directory.
        path: PathBuf,
        /// What was refused (`INSERT`, `CHECKPOINT`…).
        statement: String,
    },

    /// [`Database::open`](crate::Database::open) of a path that is not a vectable database
    /// and where none is created: a file, a directory holding other files (create one there
    /// with [`Options::create_in_non_empty`](crate::Options::create_in_non_empty) or
    /// `vectable --create`), or, read-only, a missing or empty directory.
    #[error("{path} is not a vectable database: {reason}")]
    NotADatabase {
        /// The path given.
        path: PathBuf,
        /// Why it is not one.
        reason: String,
    },

    /// [`Database::open`](crate::Database::open) failed for a reason other than
    /// [`Error::Locked`], [`Error::Corrupt`] or [`Error::NotADatabase`]: the directory cannot
    /// be created or read (permissions, a missing parent…), or RocksDB cannot open it.
    #[error("cannot open database {path}: {reason}")]
    Open {
        /// The database directory.
        path: PathBuf,
        /// The underlying I/O or RocksDB error.
        reason: String,
    },

    /// A vector index file could not be written or used. Reading damaged files is not an error
    /// (the index is rebuilt from rows); this is returned when saving fails, e.g. the
    /// `<dir>/vectors/` directory is not writable. Rows are never affected.
    #[error("vector index file {path}: {reason}")]
    IndexFile {
        /// The `.usearch` file concerned.
        path: PathBuf,
        /// What failed.
        reason: String,
    },

    /// `CREATE INDEX … USING hnsw` whose index was dropped or changed (`DROP INDEX`, `DROP
    /// TABLE`, `ALTER TABLE`) while it was being built: nothing was published (returned by
    /// [`Database::execute`](crate::Database::execute)).
    #[error("index {index} was not built: {reason}")]
    IndexBuildAbandoned {
        /// The index name.
        index: String,
        /// Why.
        reason: String,
    },

    /// USearch reported an error while building or searching an index.
    #[error("vector index error: {0}")]
    VectorIndex(String),

    /// A stored value could not be decoded (unknown format version or damaged bytes), or
    /// RocksDB reports corruption when opening the database (the message names the path).
    #[error("corrupt data: {0}")]
    Corrupt(String),

    /// [`Row::get`](crate::Row::get) asked for a type the value cannot convert to.
    #[error("column {index} ({name}) is {found}, cannot read it as {expected}")]
    InvalidColumnType {
        /// 0-based column index.
        index: usize,
        /// Column name.
        name: String,
        /// The Rust type asked for.
        expected: &'static str,
        /// The SQL type of the value.
        found: String,
    },

    /// [`Row::get`](crate::Row::get) with an index past the last column or an unknown name.
    #[error("no column {0} in the result")]
    InvalidColumn(String),

    /// [`Row::deserialize`](crate::Row::deserialize) (and `query_as`) could not map a row into
    /// the requested type: a column's value does not fit its field (a `VECTOR(3)` into
    /// `[f32; 4]`, text into an integer, NULL into a non-`Option` field), or a field has no
    /// column of its name.
    #[error("cannot deserialize the row{}: {message}", .column.as_ref().map(|c| format!(" (column {c})")).unwrap_or_default())]
    Deserialize {
        /// The column (or the field no column provides), when the problem is in one.
        column: Option<String>,
        /// What serde reported.
        message: String,
    },

    /// [`Database::query_row`](crate::Database::query_row) found no row.
    #[error("query returned no rows")]
    QueryReturnedNoRows,

    /// A statement was cancelled before it finished: by
    /// [`InterruptHandle::interrupt`](crate::InterruptHandle::interrupt) (the shell's Ctrl-C) or
    /// because it ran longer than `statement_timeout`. It wrote nothing. Returned by every
    /// call that runs statements.
    #[error("{reason}")]
    Interrupted {
        /// Interrupt or timeout.
        reason: crate::exec::cancel::InterruptReason,
    },

    /// A setting that takes a duration (`SET statement_timeout`) was given something else.
    #[error("invalid value for {setting}: {value:?} is not a duration (an integer of milliseconds, or a number with a unit ms, s, min or h)")]
    InvalidDuration {
        /// The setting.
        setting: String,
        /// The value as written.
        value: String,
    },

    /// An error from RocksDB.
    #[error("storage error: {0}")]
    Storage(#[from] rocksdb::Error),

    /// An I/O error outside RocksDB (index files, imports).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn type_mismatch(
        context: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Error::TypeMismatch {
            context: context.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> Self {
        Error::Unsupported(msg.into())
    }
}
