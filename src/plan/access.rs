//! The access-path pass: how a statement finds the rows its `WHERE` selects.
//!
//! The `WHERE` is split into its `AND`ed terms. A term `col = c`, `col IN (c, …)`,
//! `col < c` (`<=`, `>`, `>=`), `col BETWEEN a AND b` or `col IS NULL`, with `c` a constant of
//! the column's type, constrains a column. A secondary index is usable when its first column
//! is constrained: equalities on its leading columns narrow the key prefix, and the first
//! column without one contributes its ranges (the intersection of that column's terms). The
//! planner counts the index entries in those ranges up to [`COUNT_LIMIT`] (beyond that, a
//! sample of the table's rows estimates them) — the estimate — and picks the index with the
//! fewest, when that is at most a quarter of the table; otherwise it scans.
//! `pk = c` still reads one row through the primary-key index.
//!
//! Whatever the path, the executor evaluates the whole `WHERE` on every row it reads, unless
//! the index ranges answer every term exactly ([`IndexScan::covers_filter`]), which lets
//! `count(*)` count index keys without reading rows.

use crate::catalog::{SecondaryIndex, TableSchema};
use crate::error::Result;
use crate::expr::{BinOp, Expr};
use crate::storage::{keys, KeyRange};
use crate::value::{DataType, Value};

/// How rows are found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowSource {
    /// Every row of the table, in rowid order.
    FullScan,
    /// The one row whose primary key is this value.
    PrimaryKey(Value),
    /// The rows a secondary-index range scan names.
    Index(IndexScan),
}

/// A secondary-index range scan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexScan {
    /// The index.
    pub index: SecondaryIndex,
    /// Key ranges, ascending and disjoint.
    pub ranges: Vec<KeyRange>,
    /// Entries in the ranges: counted when planning, up to [`COUNT_LIMIT`]; beyond that
    /// estimated from a sample of the table (`estimate_sampled`).
    pub estimate: u64,
    /// The count stopped at its cap: there are at least `estimate` entries.
    pub estimate_capped: bool,
    /// The count passed [`COUNT_LIMIT`] and `estimate` comes from a sample of the rows.
    pub estimate_sampled: bool,
    /// Every `WHERE` term is answered exactly by the ranges.
    pub covers_filter: bool,
    /// The terms the ranges come from, as text (for `EXPLAIN`).
    pub condition: String,
    /// `Some(descending)` when the scan walks the index in key order for an `ORDER BY`.
    pub order: Option<bool>,
}

/// What the planner needs to estimate an index scan.
pub(crate) trait IndexStats {
    /// Entries of a secondary index in `ranges`, counting at most `cap`.
    fn count(&self, ranges: &[KeyRange], cap: u64) -> Result<u64>;
    /// The fraction of a sample of about `n` of the table's rows, spread over its rowid
    /// range, that satisfy `filter`, and the sample size (cached until the table is written).
    fn sample_selectivity(
        &self,
        table: &TableSchema,
        filter: &Expr,
        n: usize,
    ) -> Result<(f64, u64)>;
}

/// Index entries counted exactly when planning; a range holding more is estimated from a
/// sample of the table's rows instead, so planning never walks a large part of an index.
pub(crate) const COUNT_LIMIT: u64 = 1024;

/// Rows sampled for an estimate (see [`IndexStats::sample_selectivity`]).
pub(crate) const SAMPLE_ROWS: usize = 1000;

/// A constraint one term puts on a column.
#[derive(Debug, Clone)]
enum Constraint {
    Eq(Value),
    In(Vec<Value>),
    Range {
        lo: Option<(Value, bool)>,
        hi: Option<(Value, bool)>,
    },
    IsNull,
}

/// The `AND`ed terms of a filter.
pub(crate) fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Binary(BinOp::And, a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        other => vec![other],
    }
}

/// `v` converted to the type of a column (losslessly), or `None`.
fn typed(v: &Value, ty: DataType) -> Option<Value> {
    match (v, ty) {
        (Value::Integer(_), DataType::Integer)
        | (Value::Real(_), DataType::Real)
        | (Value::Text(_), DataType::Text)
        | (Value::Boolean(_), DataType::Boolean) => Some(v.clone()),
        (Value::Integer(i), DataType::Real) if i.unsigned_abs() <= 1 << 53 => {
            Some(Value::Real(*i as f64))
        }
        _ => None,
    }
}

/// The column and constraint of one term, if it has an index-usable shape.
fn constraint(t: &TableSchema, e: &Expr) -> Option<(usize, Constraint)> {
    let ty = |c: usize| t.columns.get(c).map(|c| c.data_type);
    match e {
        Expr::Binary(op, a, b) => {
            let (c, v, op) = match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c), Expr::Literal(v)) => (*c, v, *op),
                (Expr::Literal(v), Expr::Column(c)) => (
                    *c,
                    v,
                    match op {
                        BinOp::Lt => BinOp::Gt,
                        BinOp::LtEq => BinOp::GtEq,
                        BinOp::Gt => BinOp::Lt,
                        BinOp::GtEq => BinOp::LtEq,
                        other => *other,
                    },
                ),
                _ => return None,
            };
            let v = typed(v, ty(c)?)?;
            let k = match op {
                BinOp::Eq => Constraint::Eq(v),
                BinOp::Lt => Constraint::Range {
                    lo: None,
                    hi: Some((v, false)),
                },
                BinOp::LtEq => Constraint::Range {
                    lo: None,
                    hi: Some((v, true)),
                },
                BinOp::Gt => Constraint::Range {
                    lo: Some((v, false)),
                    hi: None,
                },
                BinOp::GtEq => Constraint::Range {
                    lo: Some((v, true)),
                    hi: None,
                },
                _ => return None,
            };
            Some((c, k))
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let Expr::Column(c) = expr.as_ref() else {
                return None;
            };
            let ty = ty(*c)?;
            let vals = list
                .iter()
                .map(|e| match e {
                    Expr::Literal(v) => typed(v, ty),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some((*c, Constraint::In(vals)))
        }
        Expr::Between {
            expr,
            low,
            high,
            negated: false,
        } => match (expr.as_ref(), low.as_ref(), high.as_ref()) {
            (Expr::Column(c), Expr::Literal(lo), Expr::Literal(hi)) => {
                let ty = ty(*c)?;
                Some((
                    *c,
                    Constraint::Range {
                        lo: Some((typed(lo, ty)?, true)),
                        hi: Some((typed(hi, ty)?, true)),
                    },
                ))
            }
            _ => None,
        },
        Expr::IsNull(x, false) => match x.as_ref() {
            Expr::Column(c) => Some((*c, Constraint::IsNull)),
            _ => None,
        },
        _ => None,
    }
}

fn type_tag(ty: DataType) -> Option<u8> {
    Some(match ty {
        DataType::Boolean => keys::TAG_BOOL,
        DataType::Integer => keys::TAG_INT,
        DataType::Real => keys::TAG_REAL,
        DataType::Text => keys::TAG_TEXT,
        DataType::Vector(_) => return None,
    })
}

fn with(prefix: &[u8], v: &Value) -> Vec<u8> {
    let mut k = prefix.to_vec();
    keys::encode_index_value(v, &mut k).expect("constraints hold scalar values");
    k
}

fn succ(k: &[u8]) -> Vec<u8> {
    keys::prefix_successor(k).expect("index keys end in a value tag")
}

/// The key ranges (under `prefix`) of the rows satisfying `c` on a column of type `ty`.
fn ranges_of(prefix: &[u8], ty: DataType, c: &Constraint) -> Option<Vec<KeyRange>> {
    let point = |v: &Value| {
        let k = with(prefix, v);
        KeyRange {
            end: succ(&k),
            start: k,
        }
    };
    Some(match c {
        Constraint::Eq(v) => vec![point(v)],
        Constraint::In(vs) => {
            let mut r: Vec<KeyRange> = vs.iter().map(point).collect();
            r.sort_by(|a, b| a.start.cmp(&b.start));
            r.dedup();
            r
        }
        Constraint::IsNull => {
            let mut k = prefix.to_vec();
            k.push(keys::TAG_NULL);
            vec![KeyRange {
                end: succ(&k),
                start: k,
            }]
        }
        Constraint::Range { lo, hi } => {
            let tag = type_tag(ty)?;
            let start = match lo {
                Some((v, true)) => with(prefix, v),
                Some((v, false)) => succ(&with(prefix, v)),
                None => [prefix, &[tag]].concat(),
            };
            let end = match hi {
                Some((v, true)) => succ(&with(prefix, v)),
                Some((v, false)) => with(prefix, v),
                None => [prefix, &[tag + 1]].concat(),
            };
            vec![KeyRange { start, end }]
        }
    })
}

/// The intersection of two ascending lists of disjoint ranges.
fn intersect(a: &[KeyRange], b: &[KeyRange]) -> Vec<KeyRange> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let start = x.start.clone().max(y.start.clone());
            let end = x.end.clone().min(y.end.clone());
            if start < end {
                out.push(KeyRange { start, end });
            }
        }
    }
    out.sort_by(|p, q| p.start.cmp(&q.start));
    out
}

/// The ranges of `index` that the filter's terms select, with the number of terms used and
/// whether they are answered exactly; `None` when its first column is unconstrained.
fn index_ranges(
    t: &TableSchema,
    index: &SecondaryIndex,
    terms: &[(usize, Constraint, String)],
) -> Option<(Vec<KeyRange>, usize, bool, String)> {
    let mut prefix = keys::sindex_prefix(t.id, index.id).to_vec();
    let mut used = 0;
    let mut exact = true;
    let mut text = Vec::new();
    for &col in &index.columns {
        let ty = t.columns[col].data_type;
        let on_col: Vec<&(usize, Constraint, String)> =
            terms.iter().filter(|(c, _, _)| *c == col).collect();
        if on_col.is_empty() {
            break;
        }
        // Reals: `Value::total_cmp` and the key order agree, but a covered count would skip
        // the filter's own NaN semantics; keep the filter for them.
        if ty == DataType::Real {
            exact = false;
        }
        if let Some((_, Constraint::Eq(v), s)) = on_col
            .iter()
            .find(|(_, k, _)| matches!(k, Constraint::Eq(_)))
        {
            prefix = with(&prefix, v);
            used += 1;
            text.push(s.clone());
            if on_col.len() > 1 {
                exact = false;
            }
            continue;
        }
        let mut ranges: Option<Vec<KeyRange>> = None;
        for (_, k, s) in &on_col {
            let r = ranges_of(&prefix, ty, k)?;
            ranges = Some(match ranges {
                None => r,
                Some(prev) => intersect(&prev, &r),
            });
            used += 1;
            text.push(s.clone());
        }
        return Some((ranges.unwrap_or_default(), used, exact, text.join(" AND ")));
    }
    if used == 0 {
        return None;
    }
    let end = succ(&prefix);
    Some((
        vec![KeyRange { start: prefix, end }],
        used,
        exact,
        text.join(" AND "),
    ))
}

/// The smallest count of entries that makes an index scan worth it: an index scan is chosen
/// when it names at most a quarter of the table's rows (each costs a random read, about
/// four times a scanned row).
pub(crate) fn index_cap(rows: u64) -> u64 {
    (rows / 4).max(2048)
}

/// Chooses how to read the rows of `t` that `filter` selects.
///
/// # Errors
/// Storage errors from counting index entries.
pub(crate) fn choose_source(
    t: &TableSchema,
    indexes: &[SecondaryIndex],
    filter: Option<&Expr>,
    rows: u64,
    stats: &dyn IndexStats,
) -> Result<RowSource> {
    let Some(filter) = filter else {
        return Ok(RowSource::FullScan);
    };
    let all = conjuncts(filter);
    if let Some(pk) = t.primary_key {
        for term in &all {
            if let Some((c, Constraint::Eq(v))) = constraint(t, term) {
                if c == pk && matches!(v, Value::Integer(_) | Value::Text(_)) {
                    return Ok(RowSource::PrimaryKey(v));
                }
            }
        }
    }
    let terms: Vec<(usize, Constraint, String)> = all
        .iter()
        .filter_map(|e| constraint(t, e).map(|(c, k)| (c, k, describe(t, e))))
        .collect();
    if terms.is_empty() {
        return Ok(RowSource::FullScan);
    }
    let cap = index_cap(rows);
    let mut best: Option<IndexScan> = None;
    for index in indexes {
        let Some((ranges, used, exact, condition)) = index_ranges(t, index, &terms) else {
            continue;
        };
        let counted = stats.count(&ranges, COUNT_LIMIT + 1)?;
        let (estimate, sampled) = if counted <= COUNT_LIMIT {
            (counted, false)
        } else {
            // Many entries: estimate from a sample of the rows, on the terms this index
            // answers, instead of walking the range.
            let on_index: Vec<&Expr> = all
                .iter()
                .copied()
                .filter(|e| constraint(t, e).is_some_and(|(c, _)| index.columns.contains(&c)))
                .collect();
            let Some(first) = on_index.first() else {
                continue;
            };
            let expr = on_index[1..].iter().fold((*first).clone(), |acc, e| {
                Expr::Binary(BinOp::And, Box::new(acc), Box::new((*e).clone()))
            });
            let (sel, _) = stats.sample_selectivity(t, &expr, SAMPLE_ROWS)?;
            (
                ((sel * rows as f64).round() as u64).max(COUNT_LIMIT + 1),
                true,
            )
        };
        let scan = IndexScan {
            index: index.clone(),
            ranges,
            estimate: estimate.min(cap),
            estimate_capped: estimate > cap,
            estimate_sampled: sampled,
            covers_filter: exact && used == all.len() && used == terms.len(),
            condition,
            order: None,
        };
        if best.as_ref().is_none_or(|b| scan.estimate < b.estimate) {
            best = Some(scan);
        }
    }
    Ok(match best {
        Some(b) if !b.estimate_capped => RowSource::Index(b),
        _ => RowSource::FullScan,
    })
}

/// An ordered scan of the index whose first column is `col`, for `ORDER BY col [DESC]
/// LIMIT n` without a usable filter: the whole index, in key order.
pub(crate) fn ordered_source(
    t: &TableSchema,
    indexes: &[SecondaryIndex],
    col: usize,
    desc: bool,
) -> Option<RowSource> {
    let index = indexes.iter().find(|s| s.columns.first() == Some(&col))?;
    let prefix = keys::sindex_prefix(t.id, index.id).to_vec();
    Some(RowSource::Index(IndexScan {
        index: index.clone(),
        ranges: vec![KeyRange {
            end: succ(&prefix),
            start: prefix,
        }],
        estimate: 0,
        estimate_capped: false,
        estimate_sampled: false,
        covers_filter: false,
        condition: format!("order of {}", t.columns[col].name),
        order: Some(desc),
    }))
}

/// A term as SQL-ish text naming the column.
fn describe(t: &TableSchema, e: &Expr) -> String {
    let name = |c: &usize| {
        t.columns
            .get(*c)
            .map_or("?".to_string(), |c| c.name.clone())
    };
    let lit = |v: &Value| v.to_sql_literal();
    match e {
        Expr::Binary(op, a, b) => {
            let side = |x: &Expr| match x {
                Expr::Column(c) => name(c),
                Expr::Literal(v) => lit(v),
                _ => "…".into(),
            };
            let o = match op {
                BinOp::Eq => "=",
                BinOp::Lt => "<",
                BinOp::LtEq => "<=",
                BinOp::Gt => ">",
                BinOp::GtEq => ">=",
                _ => "?",
            };
            format!("{} {o} {}", side(a), side(b))
        }
        Expr::InList { expr, list, .. } => {
            let c = match expr.as_ref() {
                Expr::Column(c) => name(c),
                _ => "…".into(),
            };
            let n = list.len();
            format!("{c} IN ({n} values)")
        }
        Expr::Between {
            expr, low, high, ..
        } => match (expr.as_ref(), low.as_ref(), high.as_ref()) {
            (Expr::Column(c), Expr::Literal(a), Expr::Literal(b)) => {
                format!("{} BETWEEN {} AND {}", name(c), lit(a), lit(b))
            }
            _ => "BETWEEN".into(),
        },
        Expr::IsNull(x, _) => match x.as_ref() {
            Expr::Column(c) => format!("{} IS NULL", name(c)),
            _ => "IS NULL".into(),
        },
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnDef;

    fn table() -> TableSchema {
        TableSchema {
            id: 3,
            name: "t".into(),
            columns: vec![
                ColumnDef {
                    name: "id".into(),
                    data_type: DataType::Integer,
                    not_null: true,
                },
                ColumnDef {
                    name: "s".into(),
                    data_type: DataType::Text,
                    not_null: false,
                },
            ],
            primary_key: Some(0),
            extras: Vec::new(),
        }
    }

    fn idx(cols: Vec<usize>) -> SecondaryIndex {
        SecondaryIndex {
            name: "i".into(),
            id: 1,
            table_id: 3,
            columns: cols,
            unique: false,
        }
    }

    fn key(v: &[Value]) -> Vec<u8> {
        let refs: Vec<&Value> = v.iter().collect();
        let k = keys::sindex_key(3, 1, &refs, 7).unwrap();
        k[..k.len() - 8].to_vec()
    }

    fn inside(r: &[KeyRange], k: &[u8]) -> bool {
        r.iter()
            .any(|r| r.start.as_slice() <= k && k < r.end.as_slice())
    }

    fn lit(v: Value) -> Box<Expr> {
        Box::new(Expr::Literal(v))
    }

    #[test]
    fn ranges_select_exactly_the_matching_keys() {
        let t = table();
        let i = idx(vec![1]);
        let col = || Box::new(Expr::Column(1));
        type Case = (Expr, Box<dyn Fn(&Value) -> bool>);
        let cases: Vec<Case> = vec![
            (
                Expr::Binary(BinOp::Eq, col(), lit(Value::Text("b".into()))),
                Box::new(|v| *v == Value::Text("b".into())),
            ),
            (
                Expr::Binary(BinOp::Lt, col(), lit(Value::Text("b".into()))),
                Box::new(|v| matches!(v, Value::Text(s) if s.as_str() < "b")),
            ),
            (
                Expr::Binary(BinOp::GtEq, lit(Value::Text("b".into())), col()),
                Box::new(|v| matches!(v, Value::Text(s) if s.as_str() <= "b")),
            ),
            (Expr::IsNull(col(), false), Box::new(|v| v.is_null())),
            (
                Expr::Between {
                    expr: col(),
                    low: lit(Value::Text("a".into())),
                    high: lit(Value::Text("b\0".into())),
                    negated: false,
                },
                Box::new(|v| matches!(v, Value::Text(s) if ("a"..="b\0").contains(&s.as_str()))),
            ),
            (
                Expr::InList {
                    expr: col(),
                    list: vec![
                        Expr::Literal(Value::Text("c".into())),
                        Expr::Literal(Value::Text("".into())),
                    ],
                    negated: false,
                },
                Box::new(|v| matches!(v, Value::Text(s) if s == "c" || s.is_empty())),
            ),
        ];
        let values: Vec<Value> = ["", "a", "a\0", "b", "b\0", "b\0a", "ba", "c", "\u{ff}"]
            .iter()
            .map(|s| Value::Text(s.to_string()))
            .chain([Value::Null])
            .collect();
        for (e, pred) in cases {
            let terms: Vec<(usize, Constraint, String)> = vec![{
                let (c, k) = constraint(&t, &e).expect("usable term");
                (c, k, String::new())
            }];
            let (ranges, used, exact, _) = index_ranges(&t, &i, &terms).unwrap();
            assert_eq!((used, exact), (1, true));
            for v in &values {
                assert_eq!(
                    inside(&ranges, &key(std::slice::from_ref(v))),
                    pred(v),
                    "{e:?} on {v:?}"
                );
            }
        }
    }

    #[test]
    fn equality_prefix_then_range_on_a_two_column_index() {
        let mut t = table();
        t.columns.push(ColumnDef {
            name: "n".into(),
            data_type: DataType::Integer,
            not_null: false,
        });
        let i = idx(vec![1, 2]);
        let terms = vec![
            (1, Constraint::Eq(Value::Text("x".into())), String::new()),
            (
                2,
                Constraint::Range {
                    lo: Some((Value::Integer(-3), false)),
                    hi: Some((Value::Integer(5), true)),
                },
                String::new(),
            ),
        ];
        let (ranges, used, _, _) = index_ranges(&t, &i, &terms).unwrap();
        assert_eq!(used, 2);
        for (s, n, want) in [
            ("x", -3, false),
            ("x", -2, true),
            ("x", 5, true),
            ("x", 6, false),
            ("y", 0, false),
            ("", 0, false),
        ] {
            let k = key(&[Value::Text(s.into()), Value::Integer(n)]);
            assert_eq!(inside(&ranges, &k), want, "{s} {n}");
        }
        // A term on the second column alone cannot use the index.
        assert!(index_ranges(&t, &i, &terms[1..]).is_none());
    }

    #[test]
    fn a_constant_of_another_type_is_not_a_constraint() {
        let t = table();
        let e = Expr::Binary(BinOp::Eq, Box::new(Expr::Column(1)), lit(Value::Integer(3)));
        assert!(constraint(&t, &e).is_none());
    }
}
