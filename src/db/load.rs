//! Loading without a hand-written `CREATE TABLE`: `SELECT … FROM 'file'` and
//! `CREATE TABLE t AS SELECT …` / `CREATE TABLE t AS FROM 'file'`, dispatched from
//! [`Database::run`](crate::Database::run).

use std::path::Path;

use sqlparser::ast::{self as sql, Query, Statement as SqlStatement};

use crate::catalog::{self, TableSchema};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::exec::file_source;
use crate::exec::select;
use crate::exec::write::{self, TableEntry};
use crate::row::Rows;
use crate::sql::load::{self, FileCatalog};
use crate::sql::select::bind_select;
use crate::sql::{self as sqlmod, bind, ddl, dml, Catalog, Parsed};
use crate::storage::Counters;
use crate::value::{coerce, DataType, Value};

use super::{Database, Output, State};

impl Database {
    /// Runs a query whose `FROM` is the file `path`: reads the file, binds the query against
    /// its schema, runs it in memory. Also returns the select list's types as far as the
    /// expressions tell ([`load::output_types`]).
    pub(super) fn select_file(
        &self,
        state: &State,
        q: &Query,
        params: &[Value],
        path: &str,
        cancel: &Cancel,
    ) -> Result<(Rows, Vec<Option<DataType>>)> {
        let (schema, rows) = file_source::read_file(Path::new(path), cancel)?;
        let inner = self.catalog(state);
        let cat = FileCatalog {
            inner: &inner,
            path,
            schema: &schema,
        };
        let sub = |q: &Query| self.subquery(state, q, params, cancel);
        let bound = bind_select(q, &cat, params, &sub)?;
        let types = load::output_types(
            bound.table.as_ref(),
            &bound.projections,
            bound.aggregate.as_ref(),
        );
        let cx = self.exec_ctx(state, None, cancel);
        let rows = file_source::run_select(bound, rows, &cx)?;
        Ok((rows, types))
    }

    /// `INSERT INTO t [(cols)] SELECT … FROM 'file'`: the file is read, the query bound against
    /// its schema and run in memory, and the rows inserted as by any `INSERT … SELECT`.
    pub(super) fn insert_from_file(
        &self,
        ins: &sql::Insert,
        path: &str,
        params: &[Value],
        cancel: &Cancel,
    ) -> Result<Output> {
        let mut state = self.inner.state.write();
        let (schema, file_rows) = file_source::read_file(Path::new(path), cancel)?;
        let bound = {
            let inner = self.catalog(&state);
            let cat = FileCatalog {
                inner: &inner,
                path,
                schema: &schema,
            };
            let sub = |q: &Query| self.subquery(&state, q, params, cancel);
            dml::bind_insert(ins, &cat, params, &sub)?
        };
        let (key, rows) = bound.into_rows(|s| {
            let cx = self.exec_ctx(&state, None, cancel);
            file_source::run_select(s, file_rows, &cx)
        })?;
        self.insert_rows(&mut state, &key, rows, cancel)
    }

    /// A query's rows and the select list's types as far as the expressions tell.
    fn select_typed(
        &self,
        state: &State,
        q: &Query,
        params: &[Value],
        cancel: &Cancel,
    ) -> Result<(Rows, Vec<Option<DataType>>)> {
        if let Some(path) = load::file_source(q) {
            return self.select_file(state, q, params, path, cancel);
        }
        let plan = self.plan(state, q, params, cancel)?;
        let types = load::output_types(
            plan.table.as_ref(),
            &plan.projections,
            plan.aggregate.as_ref(),
        );
        let cx = self.exec_ctx(state, plan.table.as_ref(), cancel);
        let rows = select::run(&plan, &cx)?;
        Ok((rows, types))
    }

    /// `CREATE TABLE [IF NOT EXISTS] t AS SELECT …` (and `AS FROM 'file'`, rewritten to
    /// `AS SELECT * FROM 'file'` at parse time): a table without a primary key (rows get
    /// rowids) whose columns are the select list's names and types
    /// ([`load::column_types`]), created together with its rows in one `WriteBatch`.
    /// Returns the number of rows.
    pub(super) fn create_table_as(
        &self,
        ct: &sql::CreateTable,
        params: &[Value],
        cancel: &Cancel,
    ) -> Result<Output> {
        let Some(q) = ct.query.as_deref() else {
            return Err(Error::unsupported("CREATE TABLE without columns or AS"));
        };
        if ct.or_replace || ct.temporary || ct.external {
            return Err(Error::unsupported(
                "CREATE OR REPLACE / TEMPORARY / EXTERNAL TABLE … AS",
            ));
        }
        if !ct.columns.is_empty() || !ct.constraints.is_empty() {
            return Err(Error::unsupported(
                "a column list in CREATE TABLE … AS: name the columns in the select list (expr AS name)",
            ));
        }
        let mut state = self.inner.state.write();
        let name = bind::object_name(&ct.name)?;
        catalog::validate_identifier(&name)?;
        if self.catalog(&state).table(&name).is_ok() {
            return if ct.if_not_exists {
                Ok(Output::Affected(0))
            } else {
                Err(Error::TableExists(name))
            };
        }
        let (rows, static_types) = self.select_typed(&state, q, params, cancel)?;
        let names = rows.columns().to_vec();
        let types = load::column_types(&names, rows.values(), &static_types)?;

        // The new table goes through the CREATE TABLE binder, for its checks (names, a name
        // given twice, index file names).
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let columns: Vec<String> = names
            .iter()
            .zip(&types)
            .map(|(n, t)| format!("{} {t}", quote(n)))
            .collect();
        let ddl_text = format!("CREATE TABLE {} ({})", quote(&name), columns.join(", "));
        let (Parsed::Sql(stmt), _) = sqlmod::parse_one(&ddl_text)? else {
            return Err(Error::Corrupt(format!("CREATE TABLE AS built {ddl_text}")));
        };
        let SqlStatement::CreateTable(plain) = stmt.as_ref() else {
            return Err(Error::Corrupt(format!("CREATE TABLE AS built {ddl_text}")));
        };
        let Some(bound) = ddl::bind_create_table(plain, &self.catalog(&state))? else {
            return Err(Error::TableExists(name));
        };

        let id = state.next_table_id;
        let schema = TableSchema {
            id,
            name: bound.name.clone(),
            columns: bound.columns,
            primary_key: None,
            extras: bound.extras,
        };
        let values = rows
            .into_values()
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(c, v)| coerce(v, schema.columns[c].data_type, &schema.qualified(c)))
                    .collect::<Result<Vec<Value>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let mut entry = TableEntry {
            schema,
            counters: Counters::default(),
            indexes: Vec::new(),
            generation: 0,
        };
        let mut batch = self.inner.store.batch();
        // The counters are written again, final, by the insert below in this batch.
        batch.create_table(&entry.schema, &entry.counters, id + 1)?;
        let n = write::insert_rows_in(
            &self.inner.store,
            &self.inner.vectors,
            &mut entry,
            values,
            self.inner.progress.as_ref(),
            batch,
            &crate::exec::publish::Locked(&self.inner.store),
            cancel,
        )?;
        state.next_table_id = id + 1;
        state.tables.insert(bound.name, entry);
        Ok(Output::Affected(n))
    }
}
