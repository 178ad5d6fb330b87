//! SQL text in: parsing with sqlparser (PostgreSQL dialect), and binding every statement
//! against the catalog into a bound statement that the planner ([`crate::plan`]) or the
//! executor ([`crate::exec`]) takes.
//!
//! This is the only module that calls sqlparser's parser. sqlparser's PostgreSQL dialect
//! already tokenizes the three distance operators (`<->` as `LtDashGt`, `<=>` as `Spaceship`,
//! `<#>` as a custom operator), so no custom dialect is needed; `CHECKPOINT`, which sqlparser
//! does not know, is recognised here before parsing, and duckdb's `CREATE TABLE t AS FROM …`
//! is rewritten to `… AS SELECT * FROM …` ([`load`]).
//!
//! - [`parse_one`] parses; [`StatementCache`] keeps recent parses by SQL text.
//! - [`command`] sorts a parsed statement by kind (and refuses kinds vectable does not have),
//!   so that [`crate::db`] can take the right lock before binding.
//! - The binders, one module per kind: [`select`], [`dml`] (`INSERT`, `UPDATE`, `DELETE`),
//!   [`ddl`] (`CREATE` / `DROP` of tables and indexes), [`alter`] (`ALTER TABLE`, column
//!   defaults and identity, `DESCRIBE`), [`copy`] and [`set`]; [`bind`] binds
//!   the expressions inside them. They read the catalog through [`Catalog`], and evaluate
//!   scalar subqueries through a callback ([`SubqueryFn`]) that the caller provides.
//!
//! [`parse_one`]: crate::sql::parse_one
//! [`StatementCache`]: crate::sql::cache::StatementCache
//! [`command`]: crate::sql::command
//! [`select`]: crate::sql::select
//! [`dml`]: crate::sql::dml
//! [`ddl`]: crate::sql::ddl
//! [`alter`]: crate::sql::alter
//! [`copy`]: crate::sql::copy
//! [`set`]: crate::sql::set
//! [`load`]: crate::sql::load
//! [`bind`]: crate::sql::bind
//! [`Catalog`]: crate::sql::Catalog
//! [`SubqueryFn`]: crate::sql::bind::SubqueryFn

pub(crate) mod alter;
pub(crate) mod bind;
pub(crate) mod cache;
pub(crate) mod copy;
pub(crate) mod ddl;
pub(crate) mod dml;
pub(crate) mod load;
pub(crate) mod select;
pub(crate) mod set;

use sqlparser::ast::{self as sql, Statement as SqlStatement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::catalog::{IndexMeta, SecondaryIndex, TableSchema};
use crate::error::{Error, Result};

/// What the binders read from the catalog: the tables and vector indexes, as seen under the
/// lock the caller holds while it binds and runs the statement.
pub(crate) trait Catalog {
    /// The table called `name` (exact name first, then ASCII case-insensitive).
    ///
    /// # Errors
    /// [`Error::NoSuchTable`].
    fn table(&self, name: &str) -> Result<TableSchema>;
    /// Every table.
    fn tables(&self) -> Vec<TableSchema>;
    /// Every vector index, explicit or built lazily.
    fn indexes(&self) -> Vec<IndexMeta>;
    /// The index on column `column` of table `table_id`, if there is one.
    fn index(&self, table_id: u64, column: usize) -> Option<IndexMeta>;
    /// Every secondary (B-tree) index, with its table's schema.
    fn secondary_indexes(&self) -> Vec<(TableSchema, SecondaryIndex)>;
}

/// A parsed statement: a sqlparser AST or one of vectable's own commands.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// `CHECKPOINT`.
    Checkpoint,
    /// Anything sqlparser parses.
    Sql(Box<SqlStatement>),
}

/// Parses exactly one statement (a trailing `;` is allowed). Also returns the largest `n` of
/// the `$n` placeholders it contains (0 when none), so the caller can check its parameters.
///
/// # Errors
/// [`Error::Parse`] with the 1-based line and column sqlparser reports, or when the text holds
/// no statement or more than one.
pub(crate) fn parse_one(sql: &str) -> Result<(Parsed, usize)> {
    let trimmed = sql.trim().trim_end_matches(';').trim();
    if trimmed.eq_ignore_ascii_case("checkpoint") {
        return Ok((Parsed::Checkpoint, 0));
    }
    let dialect = PostgreSqlDialect {};
    // Tokenize once: the tokens give the placeholders and then feed the parser.
    let mut tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| parse_error(ParserError::from(e), sql))?;
    let max_placeholder = tokens
        .iter()
        .filter_map(|t| match &t.token {
            Token::Placeholder(p) => p.strip_prefix('$').and_then(|d| d.parse::<usize>().ok()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    check_chain_length(&tokens)?;
    load::rewrite_as_from(&mut tokens);
    let mut stmts = Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| parse_error(e, sql))?;
    match stmts.len() {
        1 => Ok((Parsed::Sql(Box::new(stmts.remove(0))), max_placeholder)),
        0 => Err(Error::Parse {
            message: "empty statement".into(),
            line: 1,
            column: 1,
        }),
        n => Err(Error::Parse {
            message: format!("expected one statement, found {n}; run them one at a time"),
            line: 1,
            column: 1,
        }),
    }
}

/// A parsed statement by kind, borrowing its parts: what [`crate::db`] dispatches on.
pub(crate) enum Command<'a> {
    /// `CHECKPOINT`.
    Checkpoint,
    /// `SELECT` (a query).
    Select(&'a sql::Query),
    /// `EXPLAIN [ANALYZE] SELECT …`.
    Explain {
        query: &'a sql::Query,
        analyze: bool,
    },
    /// `SHOW TABLES`.
    ShowTables,
    /// `SET …`; see [`set::bind_set`].
    Set(&'a sql::Set),
    /// See [`ddl::bind_create_table`].
    CreateTable(&'a sql::CreateTable),
    /// See [`ddl::bind_create_index`].
    CreateIndex(&'a sql::CreateIndex),
    /// See [`ddl::bind_drop_tables`].
    DropTable {
        names: &'a [sql::ObjectName],
        if_exists: bool,
    },
    /// See [`ddl::bind_drop_indexes`].
    DropIndex {
        names: &'a [sql::ObjectName],
        if_exists: bool,
    },
    /// See [`dml::bind_insert`].
    Insert(&'a sql::Insert),
    /// See [`dml::bind_update`].
    Update(&'a sql::Update),
    /// See [`dml::bind_delete`].
    Delete(&'a sql::Delete),
    /// `COPY … FROM`; see [`copy::bind_copy`].
    Copy(copy::CopyStatement<'a>),
    /// `ALTER TABLE`; see [`alter::bind_alter_table`].
    AlterTable(&'a sql::AlterTable),
    /// `DESCRIBE t`, `SHOW COLUMNS FROM t`: the table's name.
    Describe(&'a sql::ObjectName),
    /// `VACUUM [FULL] [table]`: the table's name, or every table.
    Vacuum(Option<&'a sql::ObjectName>),
}

/// Sorts a parsed statement by kind.
///
/// # Errors
/// [`Error::Unsupported`] for statements vectable does not run: `EXPLAIN` of anything but a
/// `SELECT`, `DROP` of anything but a table or an index, `COPY … TO`, and
/// every other kind of statement (the message names its first two words).
pub(crate) fn command(parsed: &Parsed) -> Result<Command<'_>> {
    let stmt = match parsed {
        Parsed::Checkpoint => return Ok(Command::Checkpoint),
        Parsed::Sql(stmt) => stmt.as_ref(),
    };
    Ok(match stmt {
        SqlStatement::Query(q) => Command::Select(q),
        SqlStatement::Explain {
            statement, analyze, ..
        } => {
            let SqlStatement::Query(q) = statement.as_ref() else {
                return Err(Error::unsupported("EXPLAIN of anything but SELECT"));
            };
            Command::Explain {
                query: q,
                analyze: *analyze,
            }
        }
        SqlStatement::ShowTables { .. } => Command::ShowTables,
        SqlStatement::AlterTable(at) => Command::AlterTable(at),
        SqlStatement::ExplainTable { table_name, .. } => Command::Describe(table_name),
        SqlStatement::ShowColumns { show_options, .. } => {
            match show_options
                .show_in
                .as_ref()
                .and_then(|i| i.parent_name.as_ref())
            {
                Some(name) => Command::Describe(name),
                None => return Err(Error::unsupported("SHOW COLUMNS without FROM table")),
            }
        }
        SqlStatement::Set(set) => Command::Set(set),
        SqlStatement::CreateTable(ct) => Command::CreateTable(ct),
        SqlStatement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => match object_type {
            sql::ObjectType::Table => Command::DropTable {
                names,
                if_exists: *if_exists,
            },
            sql::ObjectType::Index => Command::DropIndex {
                names,
                if_exists: *if_exists,
            },
            other => return Err(Error::unsupported(format!("DROP {other}"))),
        },
        SqlStatement::CreateIndex(ci) => Command::CreateIndex(ci),
        SqlStatement::Vacuum(v) => {
            if v.sort_only || v.delete_only || v.reindex || v.recluster || v.boost {
                return Err(Error::unsupported(
                    "VACUUM with SORT ONLY, DELETE ONLY, REINDEX, RECLUSTER or BOOST",
                ));
            }
            if v.threshold.is_some() {
                return Err(Error::unsupported("VACUUM ... TO n PERCENT"));
            }
            Command::Vacuum(v.table_name.as_ref())
        }
        SqlStatement::Insert(ins) => Command::Insert(ins),
        SqlStatement::Update(up) => Command::Update(up),
        SqlStatement::Delete(del) => Command::Delete(del),
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
            Command::Copy(copy::CopyStatement {
                source,
                target,
                options,
                legacy_options,
            })
        }
        other => {
            return Err(Error::unsupported(format!(
                "statement {}",
                other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            )))
        }
    })
}

/// The most tokens accepted at one parenthesis level between two commas. A chain this long
/// (5,000 operators) could not bind anyway: binding stops at 1,000 levels.
const MAX_CHAIN_TOKENS: usize = 10_000;

/// Refuses an operator chain too long to drop: sqlparser parses `1 + 1 + ... + 1` into a
/// left-deep tree without recursing, but dropping that tree recurses once per operator, and
/// 30,000 terms (`n = n = ... = n` in a function argument; `'a' || 'a' || ...` with a syntax
/// error at the end, dropped inside the parser) overflowed a 2 MiB thread stack, an abort.
/// Such a chain has all its tokens at one parenthesis level with no comma between them,
/// unlike any real statement (a large `INSERT` or vector literal is comma-separated).
fn check_chain_length(tokens: &[sqlparser::tokenizer::TokenWithSpan]) -> Result<()> {
    let mut runs = vec![0usize];
    for t in tokens {
        match t.token {
            Token::Whitespace(_) => continue,
            Token::LParen | Token::LBracket | Token::LBrace => runs.push(0),
            Token::RParen | Token::RBracket | Token::RBrace if runs.len() > 1 => {
                runs.pop();
            }
            Token::Comma | Token::SemiColon => *runs.last_mut().expect("never empty") = 0,
            _ => {}
        }
        let run = runs.last_mut().expect("never empty");
        *run += 1;
        if *run > MAX_CHAIN_TOKENS {
            return Err(Error::Parse {
                message: format!(
                    "expression too long: more than {MAX_CHAIN_TOKENS} tokens without a comma or parenthesis"
                ),
                line: t.span.start.line,
                column: t.span.start.column,
            });
        }
    }
    Ok(())
}

fn parse_error(e: ParserError, sql: &str) -> Error {
    let message = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "statement nested too deeply".to_string(),
    };
    let find = |label: &str| -> u64 {
        message
            .find(label)
            .map(|i| {
                message[i + label.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    };
    let (mut line, mut column) = (find("Line: "), find("Column: "));
    // The position is in `line` and `column`; sqlparser's own copy would repeat it.
    let message = match message.rfind(" at Line: ") {
        Some(i) if line != 0 => message[..i].to_string(),
        _ => message,
    };
    if line == 0 {
        // sqlparser gives no position at the end of the input: point just past the text.
        let text = sql.trim_end();
        line = text.lines().count().max(1) as u64;
        column = text.lines().last().map_or(0, |l| l.chars().count()) as u64 + 1;
    }
    Error::Parse {
        message,
        line,
        column,
    }
}

/// Splits SQL text into statements at top-level semicolons, respecting quotes and comments.
/// Each returned statement is trimmed and has no trailing `;`; empty statements are dropped.
/// Text that does not tokenize is returned whole, so that running it reports the error.
pub fn split_statements(sql: &str) -> Vec<String> {
    split_statements_at(sql)
        .into_iter()
        .map(|(_, statement)| statement)
        .collect()
}

/// [`split_statements`], with the byte offset in `sql` where each statement starts, so that a
/// caller can report an error's position relative to the whole text (a script) rather than to
/// the statement.
pub fn split_statements_at(sql: &str) -> Vec<(usize, String)> {
    let dialect = PostgreSqlDialect {};
    let whole = || {
        let t = sql.trim().trim_end_matches(';').trim();
        if t.is_empty() {
            Vec::new()
        } else {
            vec![(sql.len() - sql.trim_start().len(), t.to_string())]
        }
    };
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return whole();
    };
    // Byte offset of each line start, to turn sqlparser's (line, column) into offsets.
    let mut line_starts = vec![0usize];
    line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |line: u64, column: u64| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(column).ok()?.checked_sub(1)?;
        Some(
            sql[start..]
                .char_indices()
                .nth(col)
                .map_or(sql.len(), |(i, _)| start + i),
        )
    };
    let mut out = Vec::new();
    let mut begin: Option<usize> = None;
    for t in &tokens {
        match t.token {
            Token::SemiColon => {
                let Some(end) = offset(t.span.start.line, t.span.start.column) else {
                    return whole();
                };
                if let Some(b) = begin.take() {
                    out.push((b, sql[b..end].trim().to_string()));
                }
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => {
                if begin.is_none() {
                    let Some(b) = offset(t.span.start.line, t.span.start.column) else {
                        return whole();
                    };
                    begin = Some(b);
                }
            }
        }
    }
    if let Some(b) = begin {
        out.push((b, sql[b..].trim().to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::{BinaryOperator, Expr as SqlExpr, SetExpr};

    #[test]
    fn distance_operators_parse_without_a_custom_dialect() {
        for (op, want) in [
            ("<->", BinaryOperator::LtDashGt),
            ("<=>", BinaryOperator::Spaceship),
            ("<#>", BinaryOperator::Custom("<#>".into())),
        ] {
            let (Parsed::Sql(stmt), _) = parse_one(&format!("SELECT a {op} b FROM t")).unwrap()
            else {
                panic!()
            };
            let SqlStatement::Query(q) = *stmt else {
                panic!()
            };
            let SetExpr::Select(s) = *q.body else {
                panic!()
            };
            let sqlparser::ast::SelectItem::UnnamedExpr(SqlExpr::BinaryOp { op: got, .. }) =
                &s.projection[0]
            else {
                panic!()
            };
            assert_eq!(*got, want);
        }
    }

    #[test]
    fn checkpoint_and_errors() {
        assert!(matches!(
            parse_one(" checkpoint ; ").unwrap().0,
            Parsed::Checkpoint
        ));
        assert_eq!(parse_one("SELECT $2, $10, '$99'").unwrap().1, 10);
        match parse_one("SELECT *\nFROM t WHERE a = = 1").unwrap_err() {
            Error::Parse {
                line,
                column,
                message,
            } => {
                assert_eq!((line, column), (2, 18));
                assert_eq!(message, "Expected: an expression, found: =");
            }
            e => panic!("{e}"),
        }
        assert!(matches!(
            parse_one("SELECT 1; SELECT 2"),
            Err(Error::Parse { .. })
        ));
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        let s = split_statements("SELECT ';' ; -- a comment; here\nINSERT INTO t VALUES (1);;  ");
        assert_eq!(s, vec!["SELECT ';'", "INSERT INTO t VALUES (1)"]);
        assert!(split_statements("  ;  ").is_empty());
        let text = "SELECT 1;\n  -- note\n  SELECT 'it''s';";
        let at = split_statements_at(text);
        assert_eq!(at.len(), 2);
        for (offset, statement) in at {
            assert!(
                text[offset..].starts_with(&statement),
                "{offset} {statement}"
            );
        }
        assert_eq!(split_statements_at("\n  SELECT 'open")[0].0, 3);
    }
}
