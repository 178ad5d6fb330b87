//! Tab completion at the prompt: SQL keywords, table and column names, dot commands.
//!
//! [`ShellHelper`] is the rustyline helper; the prompt loop gives it the current tables and
//! columns before each line ([`ShellHelper::set_names`]), so it never reads the database.

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::command;

/// The SQL keywords offered by completion (the words vectable's SQL uses).
const KEYWORDS: &[&str] = &[
    "ALL",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "AVG",
    "BETWEEN",
    "BOOLEAN",
    "BY",
    "CASE",
    "CAST",
    "CHECKPOINT",
    "COPY",
    "COUNT",
    "CREATE",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FORMAT",
    "FROM",
    "GROUP",
    "HAVING",
    "HEADER",
    "HNSW",
    "IF",
    "IN",
    "INDEX",
    "INSERT",
    "INTEGER",
    "INTO",
    "IS",
    "KEY",
    "LIKE",
    "LIMIT",
    "MAX",
    "MIN",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "REAL",
    "SELECT",
    "SET",
    "SHOW",
    "SUM",
    "TABLE",
    "TABLES",
    "TEXT",
    "THEN",
    "TO",
    "TRUE",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "VECTOR",
    "WHEN",
    "WHERE",
    "WITH",
];

/// The rustyline helper of the prompt: completion only (no hints, colours or validation).
#[derive(Debug, Default)]
pub struct ShellHelper {
    /// Each table's name and its columns' names.
    names: Vec<(String, Vec<String>)>,
}

impl ShellHelper {
    /// Replaces the table and column names offered (call it when the schema may have changed).
    pub fn set_names(&mut self, names: Vec<(String, Vec<String>)>) {
        self.names = names;
    }

    /// The completions of the word that ends at byte `pos` of `line`: where it starts, and
    /// the candidates, sorted, without duplicates.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_alphanumeric() || c == '_' || c == '.')
            .last()
            .map_or(pos, |(i, _)| i);
        let word = &before[start..];
        // A dot command: the first word of a line that starts with `.`.
        if before.trim_start().starts_with('.') {
            if before[..start].trim().is_empty() {
                let found = command::NAMES
                    .iter()
                    .filter(|n| n.starts_with(word))
                    .map(|n| format!("{n} "))
                    .collect();
                return (start, found);
            }
            // An argument of a dot command: table names (`.schema it<Tab>`).
            return (start, self.matching_tables(word));
        }
        if word.is_empty() {
            return (start, Vec::new());
        }
        // `table.col`: the columns of that table.
        if let Some((table, column)) = word.split_once('.') {
            let start = start + table.len() + 1;
            let found = self
                .names
                .iter()
                .filter(|(t, _)| t.eq_ignore_ascii_case(table))
                .flat_map(|(_, columns)| columns)
                .filter(|c| starts_with_ignore_case(c, column))
                .cloned();
            return (start, sorted(found));
        }
        let lower = word.chars().all(|c| !c.is_ascii_uppercase());
        let keywords = KEYWORDS
            .iter()
            .filter(|k| starts_with_ignore_case(k, word))
            .map(|k| {
                if lower {
                    k.to_ascii_lowercase()
                } else {
                    (*k).to_string()
                }
            });
        let tables = self.names.iter().map(|(t, _)| t);
        let columns = self.names.iter().flat_map(|(_, columns)| columns);
        let names = tables
            .chain(columns)
            .filter(|n| starts_with_ignore_case(n, word))
            .cloned();
        (start, sorted(names.chain(keywords)))
    }

    fn matching_tables(&self, word: &str) -> Vec<String> {
        sorted(
            self.names
                .iter()
                .map(|(t, _)| t)
                .filter(|t| starts_with_ignore_case(t, word))
                .cloned(),
        )
    }
}

/// ASCII case-insensitive prefix test.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Sorted and without duplicates.
fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items.dedup();
    items
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.candidates(line, pos);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                display: c.trim_end().to_string(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ShellHelper {
        let mut h = ShellHelper::default();
        h.set_names(vec![
            ("items".into(), vec!["id".into(), "embedding".into()]),
            ("idx_log".into(), vec!["entry".into()]),
        ]);
        h
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        helper().candidates(line, line.len())
    }

    #[test]
    fn tables_columns_and_keywords() {
        assert_eq!(
            complete("SELECT * FROM it"),
            (14, vec!["items".to_string()])
        );
        assert_eq!(
            complete("SELECT e"),
            (
                7,
                vec![
                    "else".into(),
                    "embedding".into(),
                    "end".into(),
                    "entry".into(),
                    "exists".into(),
                    "explain".into()
                ]
            )
        );
        assert_eq!(complete("sel"), (0, vec!["select".to_string()]));
        assert_eq!(complete("SEL"), (0, vec!["SELECT".to_string()]));
        assert_eq!(complete("SELECT "), (7, Vec::<String>::new()));
    }

    #[test]
    fn qualified_column() {
        assert_eq!(
            complete("SELECT items.em"),
            (13, vec!["embedding".to_string()])
        );
    }

    #[test]
    fn dot_commands_and_their_table_argument() {
        assert_eq!(
            complete(".ma"),
            (0, vec![".maxrows ".to_string(), ".maxwidth ".to_string()])
        );
        assert_eq!(
            complete(".schema i"),
            (8, vec!["idx_log".into(), "items".into()])
        );
    }
}
