//! [`Database`]: the public handle that ties parsing, planning, execution, storage and the
//! vector indexes together, and [`Options`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use sqlparser::ast::{self as sql, Statement as SqlStatement};

use crate::catalog::{self, ColumnDef, HnswParams, IndexMeta, Metric, Quantization, TableSchema};
use crate::error::{Error, Result};
use crate::exec::copy::{self, CopyFormat};
use crate::exec::select::{self, ExecCtx};
use crate::exec::write::{self, TableEntry};
use crate::expr::eval::eval_const;
use crate::expr::Expr;
use crate::plan::{self, PlanCatalog};
use crate::row::{Row, Rows};
use crate::sql::bind::{self, Binder};
use crate::sql::select::bind_select;
use crate::sql::{parse_one, Catalog, Parsed};
use crate::storage::{Counters, Store};
use crate::value::{coerce, DataType, Params, Value};
use crate::vector::{IndexStatus, Progress, ProgressFn, VectorConfig, VectorIndexes};

/// Largest `SET ef_search` accepted.
pub const MAX_EF_SEARCH: usize = 10_000;

/// Settings for [`Database::open_with`].
///
/// ## Defaults
/// - `index_cache_capacity`: 16 indexes
/// - `ef_search`: 64
/// - `checkpoint_changes`: 10,000 changes
/// - `build_threads`: the number of available cores
/// - `exact_search_threshold`: 2,000 vectors
/// - `on_progress`: none
#[derive(Clone)]
pub struct Options {
    index_cache_capacity: usize,
    ef_search: usize,
    checkpoint_changes: u64,
    build_threads: usize,
    exact_search_threshold: usize,
    progress: Option<ProgressFn>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            index_cache_capacity: 16,
            ef_search: 64,
            checkpoint_changes: 10_000,
            build_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            exact_search_threshold: 2_000,
            progress: None,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("index_cache_capacity", &self.index_cache_capacity)
            .field("ef_search", &self.ef_search)
            .field("checkpoint_changes", &self.checkpoint_changes)
            .field("build_threads", &self.build_threads)
            .field("exact_search_threshold", &self.exact_search_threshold)
            .field("on_progress", &self.progress.is_some())
            .finish()
    }
}

impl Options {
    /// The defaults listed on [`Options`].
    pub fn new() -> Options {
        Options::default()
    }

    /// How many vector indexes stay in memory at once (a count of indexes, not bytes; at
    /// least 1). When a new one is needed, the least recently used is saved if dirty and
    /// then dropped from memory; its next use maps it back.
    pub fn index_cache_capacity(mut self, n: usize) -> Options {
        self.index_cache_capacity = n.max(1);
        self
    }

    /// Initial `ef_search` (USearch `expansion_search`, the candidate list size of an HNSW
    /// search), 1 to 10,000; `SET ef_search = n` changes it later. Larger is slower and more
    /// accurate.
    pub fn ef_search(mut self, n: usize) -> Options {
        self.ef_search = n.clamp(1, MAX_EF_SEARCH);
        self
    }

    /// Save a dirty index after this many changes to it (inserted, updated or deleted
    /// vectors). Between saves, changes are kept in the change log, so nothing is lost.
    pub fn checkpoint_changes(mut self, n: u64) -> Options {
        self.checkpoint_changes = n.max(1);
        self
    }

    /// Threads adding vectors while an index is built.
    pub fn build_threads(mut self, n: usize) -> Options {
        self.build_threads = n.max(1);
        self
    }

    /// A kNN query on an index holding at most this many vectors searches it exhaustively
    /// (USearch `exact_search`) instead of through its HNSW graph: at that size it costs about
    /// the same and cannot miss a row. 0 sends every index kNN query through the graph.
    /// (A kNN query with a `WHERE` never uses the index: it computes exact distances over the
    /// matching rows while the scan evaluates the filter.)
    pub fn exact_search_threshold(mut self, n: usize) -> Options {
        self.exact_search_threshold = n;
        self
    }

    /// Calls `f` while an index is built or rows are imported (`COPY`): first with
    /// `done == 0`, last with `done == total`.
    pub fn on_progress(mut self, f: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> Options {
        self.progress = Some(Arc::new(f));
        self
    }
}

/// The result of [`Database::run`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Rows of a `SELECT`, `EXPLAIN` or `SHOW TABLES`.
    Rows(Rows),
    /// Rows inserted, updated, deleted or copied.
    Affected(u64),
    /// A statement without rows completed (`CREATE TABLE`, `SET`, `CHECKPOINT`…); the text is
    /// the statement's tag.
    Done(String),
}

pub(crate) struct State {
    pub tables: BTreeMap<String, TableEntry>,
    pub next_table_id: u64,
}

struct Inner {
    path: PathBuf,
    store: Store,
    /// Readers share it, one writer at a time holds it exclusively.
    state: RwLock<State>,
    vectors: VectorIndexes,
    ef_search: AtomicUsize,
    exact_threshold: usize,
    progress: Option<ProgressFn>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = self.vectors.checkpoint(&self.store) {
            log::warn!(
                "saving vector indexes at close failed: {e}; their changes stay in the change log"
            );
        }
    }
}

/// An open vectable database: a directory with RocksDB in `db/` and vector indexes in
/// `vectors/`.
///
/// `Database` is `Send + Sync` and cheap to clone (clones share one open database and its
/// session settings, such as `ef_search`). Reads run concurrently; a write statement waits
/// for running reads and runs alone. Each statement is atomic. When the last clone is
/// dropped, dirty vector indexes are saved.
///
/// ## Example
/// ```
/// use vectable::{Database, params};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::open(dir.path())?;
/// db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, embedding VECTOR(3))", ())?;
/// db.execute(
///     "INSERT INTO docs VALUES (1, 'red', '[1, 0, 0]'), (2, 'green', '[0, 1, 0]'), (3, 'dark red', '[0.9, 0.1, 0]')",
///     (),
/// )?;
/// let query = vec![1.0f32, 0.05, 0.0];
/// let rows = db.query(
///     "SELECT title, embedding <=> $1 AS distance FROM docs ORDER BY embedding <=> $1 LIMIT 2",
///     params![query],
/// )?;
/// let titles: Vec<String> = rows.iter().map(|r| r.get("title")).collect::<Result<_, _>>()?;
/// assert_eq!(titles, ["red", "dark red"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.path)
            .finish()
    }
}

struct CatalogView<'a> {
    state: &'a State,
    vectors: &'a VectorIndexes,
}

impl Catalog for CatalogView<'_> {
    fn table(&self, name: &str) -> Result<TableSchema> {
        lookup(self.state, name).map(|e| e.schema.clone())
    }
}

impl PlanCatalog for CatalogView<'_> {
    fn index_metric(&self, table_id: u64, column: usize) -> Option<Metric> {
        self.vectors.metric(table_id, column)
    }
}

fn lookup<'s>(state: &'s State, name: &str) -> Result<&'s TableEntry> {
    state
        .tables
        .get(name)
        .or_else(|| {
            state
                .tables
                .values()
                .find(|t| t.schema.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| Error::NoSuchTable(name.to_string()))
}

fn table_name_key(state: &State, name: &str) -> Result<String> {
    lookup(state, name).map(|e| e.schema.name.clone())
}

impl Database {
    /// Opens the database in directory `path`, creating it when missing, with default
    /// [`Options`].
    ///
    /// # Errors
    /// [`Error::Locked`] when another process has it open; [`Error::Io`] when the directory
    /// cannot be created; [`Error::Storage`] / [`Error::Corrupt`] when RocksDB or the catalog
    /// cannot be read.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default())
    }

    /// Opens the database in directory `path` with `options`. Opening reads only the catalog:
    /// vector indexes are mapped lazily by the first query that needs them.
    ///
    /// # Errors
    /// As [`Database::open`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Database> {
        let path = path.as_ref().to_path_buf();
        std::fs::create_dir_all(path.join("vectors"))?;
        let store = Store::open(&path.join("db"))?;
        let loaded = store.load_catalog()?;
        let tables = loaded
            .tables
            .into_iter()
            .map(|(schema, counters)| (schema.name.clone(), TableEntry { schema, counters }))
            .collect();
        let vectors = VectorIndexes::new(
            path.join("vectors"),
            VectorConfig {
                cache_capacity: options.index_cache_capacity,
                checkpoint_changes: options.checkpoint_changes,
                build_threads: options.build_threads,
                progress: options.progress.clone(),
            },
            loaded.indexes,
        );
        Ok(Database {
            inner: Arc::new(Inner {
                path,
                store,
                state: RwLock::new(State {
                    tables,
                    next_table_id: loaded.next_table_id,
                }),
                vectors,
                ef_search: AtomicUsize::new(options.ef_search),
                exact_threshold: options.exact_search_threshold,
                progress: options.progress,
            }),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs one statement and returns the number of rows it inserted, updated, deleted or
    /// copied (0 for other statements; the row count for a `SELECT`).
    ///
    /// `params` binds `$1`, `$2`, …: `()`, a tuple, an array, or [`params!`](crate::params).
    ///
    /// ```no_run
    /// # use vectable::{Database, params};
    /// # let db = Database::open("./data")?;
    /// db.execute("INSERT INTO docs (id, embedding) VALUES ($1, $2)", (7, vec![0.1f32, 0.2, 0.3]))?;
    /// db.execute("DELETE FROM docs WHERE id = $1", [7])?;
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] variant for the statement's failure; on error nothing was written.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<u64> {
        Ok(match self.run(sql, params)? {
            Output::Affected(n) => n,
            Output::Rows(r) => r.len() as u64,
            Output::Done(_) => 0,
        })
    }

    /// Runs one statement and returns its rows (empty for statements without rows).
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub fn query(&self, sql: &str, params: impl Params) -> Result<Rows> {
        Ok(match self.run(sql, params)? {
            Output::Rows(r) => r,
            _ => Rows::default(),
        })
    }

    /// Runs a query and maps its first row with `f`.
    ///
    /// # Errors
    /// [`Error::QueryReturnedNoRows`] when there is no row (see
    /// [`OptionalExtension`](crate::OptionalExtension)); otherwise as [`Database::execute`]
    /// or whatever `f` returns.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let rows = self.query(sql, params)?;
        let row = rows.get(0).ok_or(Error::QueryReturnedNoRows)?;
        f(row)
    }

    /// Runs several `;`-separated statements without parameters, stopping at the first error.
    ///
    /// # Errors
    /// The first statement's error; statements before it stay committed.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        for stmt in crate::sql::split_statements(sql) {
            self.run(&stmt, ())?;
        }
        Ok(())
    }

    /// Runs exactly one statement of any kind and returns its [`Output`].
    ///
    /// # Errors
    /// As [`Database::execute`]; [`Error::Parse`] when `sql` holds more than one statement.
    pub fn run(&self, sql: &str, params: impl Params) -> Result<Output> {
        let params = params.into_values();
        let (parsed, used) = parse_one(sql)?;
        if params.len() > used {
            return Err(Error::Parameter(format!(
                "{} parameter(s) were given but the statement uses {used}",
                params.len()
            )));
        }
        match parsed {
            Parsed::Checkpoint => {
                self.checkpoint()?;
                Ok(Output::Done("CHECKPOINT".into()))
            }
            Parsed::Sql(stmt) => self.run_statement(&stmt, &params),
        }
    }

    /// Saves every vector index that changed since its last save, truncates their change
    /// logs, and flushes RocksDB's memtables. (`CHECKPOINT` in SQL.)
    ///
    /// # Errors
    /// [`Error::IndexFile`] when an index file cannot be written (its changes stay in the
    /// change log, so nothing is lost); [`Error::Storage`].
    pub fn checkpoint(&self) -> Result<()> {
        let _w = self.inner.state.write();
        self.inner.vectors.checkpoint(&self.inner.store)?;
        self.inner.store.flush()
    }

    /// Status of every vector index: rows, memory, file size, and how it last came into
    /// memory (`built`, `mapped`, `caught-up`, `rebuilt`).
    pub fn index_status(&self) -> Vec<IndexStatus> {
        let _r = self.inner.state.read();
        self.inner.vectors.status()
    }

    /// Schemas of all tables, sorted by name.
    pub fn tables(&self) -> Vec<TableSchema> {
        self.inner
            .state
            .read()
            .tables
            .values()
            .map(|e| e.schema.clone())
            .collect()
    }

    /// The schema of one table.
    pub fn table(&self, name: &str) -> Option<TableSchema> {
        lookup(&self.inner.state.read(), name)
            .ok()
            .map(|e| e.schema.clone())
    }

    /// The current `ef_search` of this database handle and its clones.
    pub fn ef_search(&self) -> usize {
        self.inner.ef_search.load(Ordering::Relaxed)
    }

    fn run_statement(&self, stmt: &SqlStatement, params: &[Value]) -> Result<Output> {
        match stmt {
            SqlStatement::Query(q) => {
                let state = self.inner.state.read();
                self.select(&state, q, params).map(Output::Rows)
            }
            SqlStatement::Explain {
                statement, analyze, ..
            } => {
                if *analyze {
                    return Err(Error::unsupported("EXPLAIN ANALYZE"));
                }
                let SqlStatement::Query(q) = statement.as_ref() else {
                    return Err(Error::unsupported("EXPLAIN of anything but SELECT"));
                };
                let state = self.inner.state.read();
                let sub = |q: &sql::Query| self.subquery(&state, q, params);
                let view = CatalogView {
                    state: &state,
                    vectors: &self.inner.vectors,
                };
                let plan = plan::plan_select(bind_select(q, &view, params, &sub)?, &view);
                let cx = self.exec_ctx(&state, plan.table.as_ref());
                let lines = select::explain(&plan, q, &cx);
                Ok(Output::Rows(Rows::new(
                    vec!["plan".into()],
                    lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
                )))
            }
            SqlStatement::ShowTables { .. } => {
                let state = self.inner.state.read();
                let rows = state
                    .tables
                    .keys()
                    .map(|n| vec![Value::Text(n.clone())])
                    .collect();
                Ok(Output::Rows(Rows::new(vec!["name".into()], rows)))
            }
            SqlStatement::Set(set) => self.set(set, params),
            SqlStatement::CreateTable(ct) => self.create_table(ct),
            SqlStatement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => match object_type {
                sql::ObjectType::Table => self.drop_table(names, *if_exists),
                sql::ObjectType::Index => self.drop_index(names, *if_exists),
                other => Err(Error::unsupported(format!("DROP {other}"))),
            },
            SqlStatement::CreateIndex(ci) => self.create_index(ci),
            SqlStatement::Insert(ins) => self.insert(ins, params),
            SqlStatement::Update(up) => self.update(up, params),
            SqlStatement::Delete(del) => self.delete(del, params),
            SqlStatement::Copy {
                source,
                to,
                target,
                options,
                legacy_options,
                ..
            } => {
                if *to {
                    return Err(Error::unsupported("COPY ... TO"));
                }
                self.copy(source, target, options, legacy_options)
            }
            other => Err(Error::unsupported(format!(
                "statement {}",
                other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))),
        }
    }

    fn exec_ctx<'a>(&'a self, state: &'a State, table: Option<&TableSchema>) -> ExecCtx<'a> {
        let counters = table
            .and_then(|t| state.tables.get(&t.name))
            .map(|e| e.counters)
            .unwrap_or_default();
        ExecCtx {
            store: &self.inner.store,
            vectors: &self.inner.vectors,
            counters,
            ef_search: self.ef_search(),
            exact_threshold: self.inner.exact_threshold,
        }
    }

    fn select(&self, state: &State, q: &sql::Query, params: &[Value]) -> Result<Rows> {
        let sub = |q: &sql::Query| self.subquery(state, q, params);
        let view = CatalogView {
            state,
            vectors: &self.inner.vectors,
        };
        let plan = plan::plan_select(bind_select(q, &view, params, &sub)?, &view);
        let cx = self.exec_ctx(state, plan.table.as_ref());
        select::run(&plan, &cx)
    }

    /// A scalar subquery: one column, at most one row (none is NULL).
    fn subquery(&self, state: &State, q: &sql::Query, params: &[Value]) -> Result<Value> {
        let rows = self.select(state, q, params)?;
        if rows.columns().len() != 1 {
            return Err(Error::invalid(format!(
                "a scalar subquery returns one column, this one returns {}",
                rows.columns().len()
            )));
        }
        match rows.len() {
            0 => Ok(Value::Null),
            1 => Ok(rows.values()[0][0].clone()),
            n => Err(Error::invalid(format!(
                "a scalar subquery returned {n} rows, expected at most one"
            ))),
        }
    }

    fn set(&self, set: &sql::Set, params: &[Value]) -> Result<Output> {
        let sql::Set::SingleAssignment {
            variable, values, ..
        } = set
        else {
            return Err(Error::unsupported(format!("{set}")));
        };
        // `hnsw.ef_search` (pgvector's name) has two parts; object_name accepts only one.
        let name = variable
            .0
            .iter()
            .map(|p| p.as_ident().map_or_else(|| p.to_string(), bind::ident_name))
            .collect::<Vec<_>>()
            .join(".");
        if name != "ef_search" && name != "hnsw.ef_search" {
            return Err(Error::invalid(format!(
                "unknown setting {name}; vectable has ef_search"
            )));
        }
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET ef_search takes one value"));
        };
        let noop = |_: &sql::Query| Err(Error::unsupported("subquery in SET"));
        let mut b = Binder {
            table: None,
            params,
            subquery: &noop,
            aggs: None,
        };
        match b.bind(value)? {
            Expr::Literal(Value::Integer(n)) if n >= 1 && n as usize <= MAX_EF_SEARCH => {
                self.inner.ef_search.store(n as usize, Ordering::Relaxed);
                Ok(Output::Done("SET".into()))
            }
            _ => Err(Error::invalid(format!(
                "ef_search must be an integer from 1 to {MAX_EF_SEARCH}, got {value}"
            ))),
        }
    }

    fn create_table(&self, ct: &sql::CreateTable) -> Result<Output> {
        if ct.or_replace || ct.query.is_some() || ct.temporary || ct.external {
            return Err(Error::unsupported(
                "CREATE OR REPLACE / TEMPORARY / EXTERNAL / AS SELECT",
            ));
        }
        let name = bind::object_name(&ct.name)?;
        catalog::validate_identifier(&name)?;
        let mut columns: Vec<ColumnDef> = Vec::new();
        let mut primary_key = None;
        for (i, c) in ct.columns.iter().enumerate() {
            let cname = bind::ident_name(&c.name);
            catalog::validate_identifier(&cname)?;
            if columns.iter().any(|x| x.name.eq_ignore_ascii_case(&cname)) {
                return Err(Error::invalid(format!(
                    "column {cname} is declared twice in table {name}"
                )));
            }
            let data_type = bind::data_type(&c.data_type)?;
            let mut not_null = false;
            for opt in &c.options {
                match &opt.option {
                    sql::ColumnOption::NotNull => not_null = true,
                    sql::ColumnOption::Null => not_null = false,
                    sql::ColumnOption::PrimaryKey(_) => {
                        if primary_key.replace(i).is_some() {
                            return Err(Error::unsupported("more than one PRIMARY KEY column"));
                        }
                        not_null = true;
                    }
                    other => return Err(Error::unsupported(format!("column option {other}"))),
                }
            }
            columns.push(ColumnDef {
                name: cname,
                data_type,
                not_null,
            });
        }
        if columns.is_empty() {
            return Err(Error::invalid(format!(
                "table {name} needs at least one column"
            )));
        }
        for con in &ct.constraints {
            match con {
                sql::TableConstraint::PrimaryKey(pk) => {
                    let [col] = pk.columns.as_slice() else {
                        return Err(Error::unsupported("a PRIMARY KEY of several columns"));
                    };
                    let cname = match &col.column.expr {
                        sql::Expr::Identifier(id) => bind::ident_name(id),
                        other => return Err(Error::unsupported(format!("PRIMARY KEY ({other})"))),
                    };
                    let i = columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(&cname))
                        .ok_or_else(|| Error::NoSuchColumn {
                            table: name.clone(),
                            column: cname.clone(),
                        })?;
                    if primary_key.replace(i).is_some_and(|p| p != i) {
                        return Err(Error::unsupported("more than one PRIMARY KEY column"));
                    }
                    columns[i].not_null = true;
                }
                other => return Err(Error::unsupported(format!("table constraint {other}"))),
            }
        }
        if let Some(pk) = primary_key {
            if !matches!(columns[pk].data_type, DataType::Integer | DataType::Text) {
                return Err(Error::unsupported(format!(
                    "PRIMARY KEY of type {} (use INTEGER or TEXT)",
                    columns[pk].data_type
                )));
            }
        }

        let mut state = self.inner.state.write();
        if lookup(&state, &name).is_ok() {
            return if ct.if_not_exists {
                Ok(Output::Done("CREATE TABLE".into()))
            } else {
                Err(Error::TableExists(name))
            };
        }
        // Two (table, column) pairs must not share an index file name.
        let mut files: Vec<(String, String, String)> = Vec::new();
        for e in state.tables.values() {
            for c in &e.schema.columns {
                if matches!(c.data_type, DataType::Vector(_)) {
                    files.push((
                        catalog::index_file_name(&e.schema.name, &c.name).to_lowercase(),
                        e.schema.name.clone(),
                        c.name.clone(),
                    ));
                }
            }
        }
        for c in &columns {
            if matches!(c.data_type, DataType::Vector(_)) {
                let f = catalog::index_file_name(&name, &c.name).to_lowercase();
                if let Some((_, ot, oc)) = files.iter().find(|(g, _, _)| *g == f) {
                    return Err(Error::FileNameCollision {
                        file: catalog::index_file_name(&name, &c.name),
                        table: name.clone(),
                        column: c.name.clone(),
                        other_table: ot.clone(),
                        other_column: oc.clone(),
                    });
                }
                files.push((f, name.clone(), c.name.clone()));
            }
        }
        let id = state.next_table_id;
        let schema = TableSchema {
            id,
            name: name.clone(),
            columns,
            primary_key,
        };
        let counters = Counters::default();
        let mut batch = self.inner.store.batch();
        batch.put_table(&schema)?;
        batch.put_counters(id, &counters)?;
        batch.put_next_table_id(id + 1)?;
        self.inner.store.write(batch)?;
        state.next_table_id = id + 1;
        state.tables.insert(name, TableEntry { schema, counters });
        Ok(Output::Done("CREATE TABLE".into()))
    }

    fn drop_table(&self, names: &[sql::ObjectName], if_exists: bool) -> Result<Output> {
        let mut state = self.inner.state.write();
        // Resolve every name before dropping any: a missing one must leave all tables in place.
        let mut keys = Vec::new();
        for n in names {
            let name = bind::object_name(n)?;
            match table_name_key(&state, &name) {
                Ok(key) => keys.push(key),
                Err(_) if if_exists => {}
                Err(_) => return Err(Error::NoSuchTable(name)),
            }
        }
        for key in keys {
            let Some(id) = state.tables.get(&key).map(|e| e.schema.id) else {
                continue;
            };
            self.inner.vectors.forget_table(&self.inner.store, id)?;
            let mut batch = self.inner.store.batch();
            batch.delete_table(id);
            self.inner.store.write(batch)?;
            state.tables.remove(&key);
        }
        Ok(Output::Done("DROP TABLE".into()))
    }

    fn drop_index(&self, names: &[sql::ObjectName], if_exists: bool) -> Result<Output> {
        let _state = self.inner.state.write();
        // Resolve every name before dropping any: a missing one must leave all indexes in place.
        let mut keys = Vec::new();
        for n in names {
            let name = bind::object_name(n)?;
            let found = self
                .inner
                .vectors
                .all_metas()
                .into_iter()
                .find(|m| m.name.eq_ignore_ascii_case(&name));
            match found {
                Some(m) if !keys.contains(&(m.table_id, m.column_index)) => {
                    keys.push((m.table_id, m.column_index))
                }
                Some(_) => {}
                None if if_exists => {}
                None => return Err(Error::NoSuchIndex(name)),
            }
        }
        for key in keys {
            self.inner.vectors.forget(&self.inner.store, key)?;
        }
        Ok(Output::Done("DROP INDEX".into()))
    }

    fn create_index(&self, ci: &sql::CreateIndex) -> Result<Output> {
        if ci.unique || ci.predicate.is_some() || !ci.include.is_empty() {
            return Err(Error::unsupported("UNIQUE, partial or INCLUDE indexes"));
        }
        match &ci.using {
            None => {}
            Some(sql::IndexType::Custom(id)) if id.value.eq_ignore_ascii_case("hnsw") => {}
            Some(other) => {
                return Err(Error::unsupported(format!(
                    "index type {other}; vectable has USING hnsw"
                )))
            }
        }
        let table_name = bind::object_name(&ci.table_name)?;
        let [col] = ci.columns.as_slice() else {
            return Err(Error::unsupported("an index on several columns"));
        };
        let col_name = match &col.column.expr {
            sql::Expr::Identifier(id) => bind::ident_name(id),
            other => return Err(Error::unsupported(format!("index on expression {other}"))),
        };
        // Options: WITH (metric = 'cosine', m = 16, ef_construction = 128, quantization = 'f32').
        let mut params = HnswParams::with_metric(Metric::Cosine);
        if let Some(opclass) = &col.operator_class {
            let oc = opclass.to_string().to_ascii_lowercase();
            params.metric = match oc.as_str() {
                "vector_l2_ops" => Metric::L2,
                "vector_cosine_ops" => Metric::Cosine,
                "vector_ip_ops" => Metric::InnerProduct,
                _ => return Err(Error::unsupported(format!("operator class {oc}"))),
            };
        }
        for w in &ci.with {
            let sql::Expr::BinaryOp {
                left,
                op: sql::BinaryOperator::Eq,
                right,
            } = w
            else {
                return Err(Error::invalid(format!(
                    "index option {w}: expected name = value"
                )));
            };
            let key = match left.as_ref() {
                sql::Expr::Identifier(id) => id.value.to_ascii_lowercase(),
                other => return Err(Error::invalid(format!("index option {other}"))),
            };
            let val = match right.as_ref() {
                sql::Expr::Value(v) => match &v.value {
                    sql::Value::SingleQuotedString(s) => s.clone(),
                    sql::Value::Number(n, _) => n.clone(),
                    other => other.to_string(),
                },
                sql::Expr::Identifier(id) => id.value.clone(),
                other => other.to_string(),
            };
            let int = |lo: usize, hi: usize| -> Result<usize> {
                val.parse::<usize>()
                    .ok()
                    .filter(|n| (lo..=hi).contains(n))
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "index option {key} must be an integer from {lo} to {hi}, got {val}"
                        ))
                    })
            };
            match key.as_str() {
                "metric" => {
                    params.metric = Metric::parse(&val)
                        .ok_or_else(|| Error::invalid(format!("unknown metric {val}: use l2, cosine or ip")))?
                }
                "m" => params.m = int(2, 256)?,
                "ef_construction" => params.ef_construction = int(1, 4096)?,
                "quantization" => {
                    params.quantization = Quantization::parse(&val)
                        .ok_or_else(|| Error::invalid(format!("unknown quantization {val}: use f32, f16 or i8")))?
                }
                _ => return Err(Error::invalid(format!("unknown index option {key}; vectable has metric, m, ef_construction, quantization"))),
            }
        }
        let state = self.inner.state.write();
        let entry = lookup(&state, &table_name)?;
        let t = &entry.schema;
        let column = t.require_column(&col_name)?;
        let DataType::Vector(dims) = t.columns[column].data_type else {
            return Err(Error::type_mismatch(
                format!("CREATE INDEX on {}", t.qualified(column)),
                "a VECTOR column",
                t.columns[column].data_type.to_string(),
            ));
        };
        let name = match &ci.name {
            Some(n) => bind::object_name(n)?,
            None => format!("{}_{}_hnsw", t.name, t.columns[column].name),
        };
        catalog::validate_identifier(&name)?;
        let metas = self.inner.vectors.all_metas();
        if let Some(existing) = metas.iter().find(|m| m.name.eq_ignore_ascii_case(&name)) {
            if ci.if_not_exists {
                return Ok(Output::Done("CREATE INDEX".into()));
            }
            if existing.explicit || (existing.table_id, existing.column_index) != (t.id, column) {
                return Err(Error::IndexExists(name));
            }
        }
        if let Some(existing) = self.inner.vectors.meta(t.id, column) {
            if existing.explicit {
                if ci.if_not_exists {
                    return Ok(Output::Done("CREATE INDEX".into()));
                }
                return Err(Error::IndexExists(format!(
                    "{} (column {} already has it; DROP INDEX first)",
                    existing.name,
                    t.qualified(column)
                )));
            }
        }
        let meta = IndexMeta {
            name,
            table_id: t.id,
            table: t.name.clone(),
            column: t.columns[column].name.clone(),
            column_index: column,
            dims,
            params,
            explicit: true,
            saved: None,
        };
        self.inner.vectors.create(
            &self.inner.store,
            t,
            entry.counters.seq,
            meta,
            entry.counters.rows,
        )?;
        Ok(Output::Done("CREATE INDEX".into()))
    }

    fn insert(&self, ins: &sql::Insert, params: &[Value]) -> Result<Output> {
        if ins.on.is_some()
            || ins.returning.is_some()
            || ins.or.is_some()
            || !ins.assignments.is_empty()
        {
            return Err(Error::unsupported(
                "INSERT with ON CONFLICT / RETURNING / OR / SET",
            ));
        }
        let sql::TableObject::TableName(tname) = &ins.table else {
            return Err(Error::unsupported("INSERT into a table function"));
        };
        let table_name = bind::object_name(tname)?;
        let source = ins
            .source
            .as_ref()
            .ok_or_else(|| Error::unsupported("INSERT without VALUES"))?;
        let mut state = self.inner.state.write();
        let key = table_name_key(&state, &table_name)?;
        let schema = state.tables[&key].schema.clone();
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..schema.columns.len()).collect()
        } else {
            let mut seen = Vec::new();
            for c in &ins.columns {
                let i = schema.require_column(&bind::object_name(c)?)?;
                if seen.contains(&i) {
                    return Err(Error::invalid(format!(
                        "column {} is listed twice",
                        schema.columns[i].name
                    )));
                }
                seen.push(i);
            }
            seen
        };
        let source_rows: Vec<Vec<Value>> = match source.body.as_ref() {
            sql::SetExpr::Values(values) => {
                let sub = |q: &sql::Query| self.subquery(&state, q, params);
                let mut b = Binder {
                    table: None,
                    params,
                    subquery: &sub,
                    aggs: None,
                };
                let mut out = Vec::with_capacity(values.rows.len());
                for (n, row) in values.rows.iter().enumerate() {
                    if row.content.len() != targets.len() {
                        return Err(Error::invalid(format!(
                            "row {} of INSERT has {} values for {} columns",
                            n + 1,
                            row.content.len(),
                            targets.len()
                        )));
                    }
                    let mut vals = Vec::with_capacity(row.content.len());
                    for e in &row.content {
                        match b.bind(e)? {
                            Expr::Literal(v) => vals.push(v),
                            other => vals.push(eval_const(&other)?),
                        }
                    }
                    out.push(vals);
                }
                out
            }
            sql::SetExpr::Select(_) => {
                let rows = self.select(&state, source, params)?;
                if rows.columns().len() != targets.len() {
                    return Err(Error::invalid(format!(
                        "INSERT ... SELECT returns {} columns for {} target columns",
                        rows.columns().len(),
                        targets.len()
                    )));
                }
                rows.into_values()
            }
            _ => {
                return Err(Error::unsupported(
                    "INSERT source other than VALUES or SELECT",
                ))
            }
        };
        let single = source_rows.len() == 1;
        let mut rows = Vec::with_capacity(source_rows.len());
        for (n, src) in source_rows.into_iter().enumerate() {
            let mut row = vec![Value::Null; schema.columns.len()];
            for (v, &c) in src.into_iter().zip(&targets) {
                // Errors name the column, and the row of a multi-row INSERT.
                let context = if single {
                    schema.qualified(c)
                } else {
                    format!("{} (row {})", schema.qualified(c), n + 1)
                };
                row[c] = coerce(v, schema.columns[c].data_type, &context)?;
            }
            rows.push(row);
        }
        self.insert_rows(&mut state, &key, rows)
    }

    /// Inserts rows already converted to the table's column types (INSERT and COPY).
    fn insert_rows(&self, state: &mut State, key: &str, rows: Vec<Vec<Value>>) -> Result<Output> {
        let entry = state
            .tables
            .get_mut(key)
            .ok_or_else(|| Error::NoSuchTable(key.to_string()))?;
        let n = write::insert_rows(
            &self.inner.store,
            &self.inner.vectors,
            entry,
            rows,
            self.inner.progress.as_ref(),
        )?;
        Ok(Output::Affected(n))
    }

    fn update(&self, up: &sql::Update, params: &[Value]) -> Result<Output> {
        if up.from.is_some()
            || up.returning.is_some()
            || !up.table.joins.is_empty()
            || up.limit.is_some()
        {
            return Err(Error::unsupported(
                "UPDATE with FROM / RETURNING / joins / LIMIT",
            ));
        }
        let sql::TableFactor::Table { name, .. } = &up.table.relation else {
            return Err(Error::unsupported("UPDATE of something other than a table"));
        };
        let table_name = bind::object_name(name)?;
        let mut state = self.inner.state.write();
        let key = table_name_key(&state, &table_name)?;
        let schema = state.tables[&key].schema.clone();
        let (assignments, filter) = {
            let sub = |q: &sql::Query| self.subquery(&state, q, params);
            let mut b = Binder {
                table: Some(&schema),
                params,
                subquery: &sub,
                aggs: None,
            };
            let mut assignments = Vec::new();
            for a in &up.assignments {
                let sql::AssignmentTarget::ColumnName(cn) = &a.target else {
                    return Err(Error::unsupported("UPDATE ... SET (a, b) = ..."));
                };
                let c = schema.require_column(&bind::object_name(cn)?)?;
                let mut e = b.bind(&a.value)?;
                // Check constants (vector literals especially) before touching any row.
                if let Expr::Literal(v) = e {
                    e = Expr::Literal(coerce(
                        v,
                        schema.columns[c].data_type,
                        &schema.qualified(c),
                    )?);
                }
                assignments.push((c, e));
            }
            let filter = up.selection.as_ref().map(|s| b.bind(s)).transpose()?;
            (assignments, filter)
        };
        let entry = state.tables.get_mut(&key).expect("looked up above");
        let n = write::update(
            &self.inner.store,
            &self.inner.vectors,
            entry,
            &assignments,
            filter.as_ref(),
        )?;
        Ok(Output::Affected(n))
    }

    fn delete(&self, del: &sql::Delete, params: &[Value]) -> Result<Output> {
        if del.using.is_some()
            || del.returning.is_some()
            || del.limit.is_some()
            || !del.order_by.is_empty()
        {
            return Err(Error::unsupported(
                "DELETE with USING / RETURNING / ORDER BY / LIMIT",
            ));
        }
        let tables = match &del.from {
            sql::FromTable::WithFromKeyword(t) | sql::FromTable::WithoutKeyword(t) => t,
        };
        let [twj] = tables.as_slice() else {
            return Err(Error::unsupported("DELETE from several tables"));
        };
        let sql::TableFactor::Table { name, .. } = &twj.relation else {
            return Err(Error::unsupported(
                "DELETE from something other than a table",
            ));
        };
        let table_name = bind::object_name(name)?;
        let mut state = self.inner.state.write();
        let key = table_name_key(&state, &table_name)?;
        let schema = state.tables[&key].schema.clone();
        let filter = {
            let sub = |q: &sql::Query| self.subquery(&state, q, params);
            let mut b = Binder {
                table: Some(&schema),
                params,
                subquery: &sub,
                aggs: None,
            };
            del.selection.as_ref().map(|s| b.bind(s)).transpose()?
        };
        let entry = state.tables.get_mut(&key).expect("looked up above");
        let n = write::delete(
            &self.inner.store,
            &self.inner.vectors,
            entry,
            filter.as_ref(),
        )?;
        Ok(Output::Affected(n))
    }

    fn copy(
        &self,
        source: &sql::CopySource,
        target: &sql::CopyTarget,
        options: &[sql::CopyOption],
        legacy: &[sql::CopyLegacyOption],
    ) -> Result<Output> {
        let sql::CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(Error::unsupported("COPY (query)"));
        };
        if !columns.is_empty() {
            return Err(Error::unsupported(
                "COPY t (columns): the file's header or the table order names the columns",
            ));
        }
        let sql::CopyTarget::File { filename } = target else {
            return Err(Error::unsupported(
                "COPY FROM STDIN / PROGRAM; give a file path",
            ));
        };
        if !legacy.is_empty() {
            return Err(Error::unsupported(
                "pre-9.0 COPY options; use WITH (FORMAT ..., HEADER ...)",
            ));
        }
        let path = PathBuf::from(filename);
        let mut format_name: Option<String> = None;
        let mut header = None;
        let mut delimiter = b',';
        for o in options {
            match o {
                sql::CopyOption::Format(f) => format_name = Some(f.value.to_ascii_lowercase()),
                sql::CopyOption::Header(h) => header = Some(*h),
                sql::CopyOption::Delimiter(c) if c.is_ascii() => delimiter = *c as u8,
                other => return Err(Error::unsupported(format!("COPY option {other}"))),
            }
        }
        let format_name = format_name.unwrap_or_else(|| {
            match path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("parquet") => "parquet".into(),
                _ => "csv".into(),
            }
        });
        let format = match format_name.as_str() {
            "csv" => CopyFormat::Csv {
                header: header.unwrap_or(false),
                delimiter,
            },
            "parquet" => CopyFormat::Parquet,
            other => {
                return Err(Error::unsupported(format!(
                    "COPY format {other}; use csv or parquet"
                )))
            }
        };
        let table = bind::object_name(table_name)?;
        let mut state = self.inner.state.write();
        let key = table_name_key(&state, &table)?;
        let rows = copy::read_rows(&path, &format, &state.tables[&key].schema)?;
        self.insert_rows(&mut state, &key, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn database_is_send_sync_clone() {
        assert_send_sync::<Database>();
    }
}
