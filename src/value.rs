//! Values, SQL data types, parameter binding and vector literals.
//!
//! [`Value`] is what a column holds and what a query returns. [`ToValue`] converts Rust values
//! into parameters (`$1`, `$2`, …), [`FromValue`] converts results back. `Vec<f32>` and
//! `&[f32]` bind as `VECTOR` values.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest `n` accepted in `VECTOR(n)`.
pub const MAX_VECTOR_DIMS: usize = 16_000;

/// A SQL value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// `INTEGER` / `BIGINT`: a 64-bit signed integer.
    Integer(i64),
    /// `REAL` / `DOUBLE PRECISION` / `FLOAT`: a 64-bit float.
    Real(f64),
    /// `TEXT` / `VARCHAR`: UTF-8 text.
    Text(String),
    /// `BOOLEAN`.
    Boolean(bool),
    /// `VECTOR(n)`: `n` finite `f32` values.
    Vector(#[serde(with = "f32_bytes")] Vec<f32>),
}

/// Stores a vector as one byte string of little-endian f32s, which bincode copies in one
/// go instead of decoding element by element.
mod f32_bytes {
    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(v.len() * 4);
        for x in v {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        struct F32s;
        impl<'de> Visitor<'de> for F32s {
            type Value = Vec<f32>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("little-endian f32 bytes")
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Vec<f32>, E> {
                if !b.len().is_multiple_of(4) {
                    return Err(E::custom(format!("vector of {} bytes", b.len())));
                }
                Ok(b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f32>, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<f32>()? {
                    out.push(x);
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(F32s)
    }
}

/// The declared type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DataType {
    /// `INTEGER`, `INT`, `BIGINT`, `SMALLINT`: i64.
    Integer,
    /// `REAL`, `DOUBLE PRECISION`, `FLOAT`: f64.
    Real,
    /// `TEXT`, `VARCHAR(n)`: UTF-8 text (the length limit is not enforced).
    Text,
    /// `BOOLEAN`.
    Boolean,
    /// `VECTOR(n)`: `n` f32 values, 1 ≤ n ≤ 16000.
    Vector(usize),
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Integer => f.write_str("INTEGER"),
            DataType::Real => f.write_str("REAL"),
            DataType::Text => f.write_str("TEXT"),
            DataType::Boolean => f.write_str("BOOLEAN"),
            DataType::Vector(n) => write!(f, "VECTOR({n})"),
        }
    }
}

impl Value {
    /// The SQL name of this value's type (`NULL`, `INTEGER`, `VECTOR(3)`…), for messages.
    pub fn type_name(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Integer(_) => "INTEGER".into(),
            Value::Real(_) => "REAL".into(),
            Value::Text(_) => "TEXT".into(),
            Value::Boolean(_) => "BOOLEAN".into(),
            Value::Vector(v) => format!("VECTOR({})", v.len()),
        }
    }

    /// True for `Value::Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// SQL text for this value, as it would be written in a statement (`'it''s'`, `[1,2]`).
    pub fn to_sql_literal(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Integer(i) => i.to_string(),
            Value::Real(r) => format_real(*r),
            Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Boolean(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Value::Vector(v) => format_vector(v, usize::MAX),
        }
    }

    /// Total order used by `ORDER BY`, `MIN`/`MAX` and `GROUP BY`: numbers compare by value
    /// (integers and reals together), text by bytes, `false < true`, vectors element-wise;
    /// values of different kinds order as NULL < boolean < number < text < vector.
    /// NaN sorts after every other number; -0.0 and 0.0 are equal.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Boolean(_) => 1,
                Value::Integer(_) | Value::Real(_) => 2,
                Value::Text(_) => 3,
                Value::Vector(_) => 4,
            }
        }
        match (self, other) {
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Integer(a), Value::Real(b)) => real_cmp(*a as f64, *b),
            (Value::Real(a), Value::Integer(b)) => real_cmp(*a, *b as f64),
            (Value::Real(a), Value::Real(b)) => real_cmp(*a, *b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::Vector(a), Value::Vector(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match real_cmp(f64::from(*x), f64::from(*y)) {
                        Ordering::Equal => {}
                        o => return o,
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// Orders reals as SQL compares them: -0.0 equals 0.0 (as `=` says); NaN after every number.
fn real_cmp(a: f64, b: f64) -> Ordering {
    if a == b {
        Ordering::Equal
    } else {
        a.total_cmp(&b)
    }
}

impl fmt::Display for Value {
    /// Plain text for display: NULL as `NULL`, text unquoted, vectors in full as `[1,2,3]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Real(r) => f.write_str(&format_real(*r)),
            Value::Text(s) => f.write_str(s),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Vector(v) => f.write_str(&format_vector(v, usize::MAX)),
        }
    }
}

/// Formats a real (`f64`) in the shortest form that reads back to the same value, as
/// PostgreSQL 12+ does: positional when the decimal exponent is in [-4, 15), with `.0` added to
/// integral values so they do not look like integers (`1.0`, `0.1`, `123.456`), and with an
/// exponent of at least two digits otherwise (`1e+15`, `1e+300`, `2.8e-33`, `1e-05`).
/// NaN and the infinities are `NaN`, `inf` and `-inf`.
pub fn format_real(r: f64) -> String {
    if !r.is_finite() {
        return format!("{r}");
    }
    let text = shortest(format!("{r:e}"), 15);
    if r == r.trunc() && !text.contains(['e', '.']) {
        format!("{text}.0")
    } else {
        text
    }
}

/// Formats an `f32` (a vector element) in the shortest form that reads back to the same
/// `f32`: positional when the decimal exponent is in [-4, 6), else with an exponent, as
/// PostgreSQL's `real` (`1`, `0.1`, `2.8e-33`, `1e+06`). Integral values have no `.0`.
pub fn format_f32(x: f32) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    shortest(format!("{x:e}"), 6)
}

/// Turns Rust's shortest scientific form (`-1.2345e2`, `2.8e-33`) into positional notation
/// when `-4 <= exponent < max_exponent`, else into `1.2345e+02` style (sign and at least two
/// exponent digits).
fn shortest(scientific: String, max_exponent: i32) -> String {
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific;
    };
    if !(-4..max_exponent).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    }
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exponent as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Formats a vector as `[a,b,c]`. With `max_items` smaller than its length, shows the first
/// `max_items` values with 4 decimals and the length: `[0.0123, -0.0456, …] (384)`.
pub fn format_vector(v: &[f32], max_items: usize) -> String {
    if v.len() <= max_items {
        let items: Vec<String> = v.iter().map(|x| format_f32(*x)).collect();
        format!("[{}]", items.join(","))
    } else {
        let items: Vec<String> = v[..max_items].iter().map(|x| format!("{x:.4}")).collect();
        format!("[{}, …] ({})", items.join(", "), v.len())
    }
}

/// Parses a vector literal `[0.1, 0.2, 0.3]` (the brackets are required; whitespace is free).
///
/// # Errors
/// [`Error::InvalidVector`] for text that is not a bracketed, comma-separated list of numbers
/// (or is empty); [`Error::NonFiniteVector`] for NaN, ±inf or a number too large for `f32`,
/// naming `context` and the 0-based position.
pub fn parse_vector(text: &str, context: &str) -> Result<Vec<f32>> {
    let short = || text.chars().take(80).collect::<String>();
    let t = text.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| Error::InvalidVector {
            literal: short(),
            reason: "expected a list of numbers in brackets, like '[0.1, 0.2]'".into(),
        })?;
    if inner.trim().is_empty() {
        return Err(Error::InvalidVector {
            literal: short(),
            reason: "a vector needs at least one dimension".into(),
        });
    }
    let mut out = Vec::with_capacity(inner.len() / 8 + 1);
    for (i, part) in inner.split(',').enumerate() {
        let p = part.trim();
        let x: f64 = p.parse().map_err(|_| Error::InvalidVector {
            literal: short(),
            reason: format!("element {i} ({p:?}) is not a number"),
        })?;
        out.push(x);
    }
    finite_f32(out.into_iter(), context)
}

/// Converts numbers to f32, refusing NaN, ±inf and values that overflow f32.
pub(crate) fn finite_f32(xs: impl Iterator<Item = f64>, context: &str) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(xs.size_hint().0);
    for (position, x) in xs.enumerate() {
        let f = x as f32;
        if !f.is_finite() {
            return Err(Error::NonFiniteVector {
                column: context.to_string(),
                position,
            });
        }
        out.push(f);
    }
    Ok(out)
}

/// Checks that every element of `v` is finite.
///
/// # Errors
/// [`Error::NonFiniteVector`] naming `context` and the first bad position.
pub(crate) fn check_finite(v: &[f32], context: &str) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(position) => Err(Error::NonFiniteVector {
            column: context.to_string(),
            position,
        }),
        None => Ok(()),
    }
}

/// Converts `value` to the type of a column, for storing it.
///
/// Integers widen to reals; integral reals narrow to integers; text in a vector column is
/// parsed as a vector literal. `NULL` passes through (constraints are checked by the caller).
///
/// # Errors
/// [`Error::TypeMismatch`], [`Error::DimensionMismatch`], [`Error::NonFiniteVector`] or
/// [`Error::InvalidVector`], naming `context` (`table.column`).
pub(crate) fn coerce(value: Value, ty: DataType, context: &str) -> Result<Value> {
    Ok(match (ty, value) {
        (_, Value::Null) => Value::Null,
        (DataType::Integer, Value::Integer(i)) => Value::Integer(i),
        (DataType::Integer, Value::Real(r)) if r.fract() == 0.0 && r.abs() < 9.2e18 => {
            Value::Integer(r as i64)
        }
        (DataType::Real, Value::Real(r)) => Value::Real(r),
        (DataType::Real, Value::Integer(i)) => Value::Real(i as f64),
        (DataType::Text, Value::Text(s)) => Value::Text(s),
        (DataType::Boolean, Value::Boolean(b)) => Value::Boolean(b),
        (DataType::Vector(n), Value::Vector(v)) => {
            check_vector(&v, n, context)?;
            Value::Vector(v)
        }
        (DataType::Vector(n), Value::Text(s)) => {
            let v = parse_vector(&s, context)?;
            check_vector(&v, n, context)?;
            Value::Vector(v)
        }
        (ty, v) => return Err(Error::type_mismatch(context, ty.to_string(), v.type_name())),
    })
}

fn check_vector(v: &[f32], dims: usize, context: &str) -> Result<()> {
    if v.len() != dims {
        return Err(Error::DimensionMismatch {
            column: context.to_string(),
            expected: dims,
            found: v.len(),
        });
    }
    check_finite(v, context)
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// Converts a Rust value into a SQL [`Value`] for a `$n` parameter.
///
/// Implemented for integers, floats, `bool`, `&str`/`String`, `Vec<f32>`/`&[f32]`/`[f32; N]`
/// (bound as `VECTOR`), `Vec<f64>`/`&[f64]`/`[f64; N]` (bound as `VECTOR` when every element
/// is exactly an `f32`, see [`ToValue::to_param`]), [`Value`] and `Option<T>` (`None` is
/// `NULL`).
pub trait ToValue {
    /// The SQL value of `self`.
    fn to_value(&self) -> Value;

    /// The value bound for a `$n` parameter: [`to_value`](ToValue::to_value), unless the
    /// conversion would lose information. An `f64` vector binds only when every element is
    /// exactly representable as `f32` (vectors are stored as f32): `vec![0.5f64, 0.25]` binds,
    /// `vec![0.1f64]` does not (0.1 has no exact f32); round it yourself with `as f32`.
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the element (0-based) and its value; the parameter list
    /// adds the parameter's `$n`.
    fn to_param(&self) -> Result<Value> {
        Ok(self.to_value())
    }
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value { Value::Integer(*self as i64) }
        }
    )*};
}
int_to_value!(i8, i16, i32, i64, u8, u16, u32, isize);

impl ToValue for u64 {
    /// Values above `i64::MAX` saturate; vectable integers are 64-bit signed.
    fn to_value(&self) -> Value {
        Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToValue for usize {
    fn to_value(&self) -> Value {
        Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::Real(f64::from(*self))
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Boolean(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [f32] {
    fn to_value(&self) -> Value {
        Value::Vector(self.to_vec())
    }
}
impl ToValue for Vec<f32> {
    fn to_value(&self) -> Value {
        Value::Vector(self.clone())
    }
}
impl<const N: usize> ToValue for [f32; N] {
    fn to_value(&self) -> Value {
        Value::Vector(self.to_vec())
    }
}
/// An `f64` vector as a parameter: `to_value` rounds each element to the nearest f32;
/// `to_param` refuses an element that does not convert exactly.
fn f64_vector_param(v: &[f64]) -> Result<Value> {
    let mut out = Vec::with_capacity(v.len());
    for (i, &x) in v.iter().enumerate() {
        let f = x as f32;
        if f64::from(f) != x {
            return Err(Error::Parameter(format!(
                "element {i} of the f64 vector ({x:?}) is not exactly representable as f32 \
                 (vectors are stored as f32: convert with `as f32` to round)"
            )));
        }
        out.push(f);
    }
    Ok(Value::Vector(out))
}
impl ToValue for [f64] {
    /// Rounds each element to the nearest f32 (parameters use the exact
    /// [`to_param`](ToValue::to_param)).
    fn to_value(&self) -> Value {
        Value::Vector(self.iter().map(|&x| x as f32).collect())
    }
    fn to_param(&self) -> Result<Value> {
        f64_vector_param(self)
    }
}
impl ToValue for Vec<f64> {
    fn to_value(&self) -> Value {
        self.as_slice().to_value()
    }
    fn to_param(&self) -> Result<Value> {
        f64_vector_param(self)
    }
}
impl<const N: usize> ToValue for [f64; N] {
    fn to_value(&self) -> Value {
        self.as_slice().to_value()
    }
    fn to_param(&self) -> Result<Value> {
        f64_vector_param(self)
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
    fn to_param(&self) -> Result<Value> {
        match self {
            Some(v) => v.to_param(),
            None => Ok(Value::Null),
        }
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
    fn to_param(&self) -> Result<Value> {
        (**self).to_param()
    }
}

/// A list of statement parameters: `()`, a tuple of up to 8 [`ToValue`]s, a slice or array of
/// one `ToValue` type, `Vec<Value>`, or `&[&dyn ToValue]` as made by [`params!`](crate::params).
pub trait Params {
    /// The parameter values, `$1` first.
    fn into_values(self) -> Vec<Value>;

    /// The parameter values, `$1` first, as statements bind them: each through
    /// [`ToValue::to_param`], which refuses lossy conversions.
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the parameter (`$n`) whose conversion would lose
    /// information.
    fn try_into_values(self) -> Result<Vec<Value>>
    where
        Self: Sized,
    {
        Ok(self.into_values())
    }
}

/// `to_param` of each value, the error naming the parameter as `$n`.
fn params_of<'a>(values: impl Iterator<Item = &'a (dyn ToValue + 'a)>) -> Result<Vec<Value>> {
    values
        .enumerate()
        .map(|(i, v)| param_at(i, v.to_param()))
        .collect()
}

/// Prefixes a parameter conversion error with the parameter's `$n` (`i` is 0-based).
fn param_at(i: usize, v: Result<Value>) -> Result<Value> {
    v.map_err(|e| match e {
        Error::Parameter(m) => Error::Parameter(format!("${}: {m}", i + 1)),
        e => e,
    })
}

impl Params for () {
    fn into_values(self) -> Vec<Value> {
        Vec::new()
    }
}
impl Params for &[&dyn ToValue] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
    fn try_into_values(self) -> Result<Vec<Value>> {
        params_of(self.iter().copied())
    }
}
impl<const N: usize> Params for &[&dyn ToValue; N] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
    fn try_into_values(self) -> Result<Vec<Value>> {
        params_of(self.iter().copied())
    }
}
impl Params for Vec<Value> {
    fn into_values(self) -> Vec<Value> {
        self
    }
}
impl Params for &[Value] {
    fn into_values(self) -> Vec<Value> {
        self.to_vec()
    }
}
impl<T: ToValue, const N: usize> Params for [T; N] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(ToValue::to_value).collect()
    }
    fn try_into_values(self) -> Result<Vec<Value>> {
        params_of(self.iter().map(|v| v as &dyn ToValue))
    }
}

macro_rules! tuple_params {
    ($($name:ident : $idx:tt),+) => {
        impl<$($name: ToValue),+> Params for ($($name,)+) {
            fn into_values(self) -> Vec<Value> {
                vec![$(self.$idx.to_value()),+]
            }
            fn try_into_values(self) -> Result<Vec<Value>> {
                Ok(vec![$(param_at($idx, self.$idx.to_param())?),+])
            }
        }
    };
}
tuple_params!(A: 0);
tuple_params!(A: 0, B: 1);
tuple_params!(A: 0, B: 1, C: 2);
tuple_params!(A: 0, B: 1, C: 2, D: 3);
tuple_params!(A: 0, B: 1, C: 2, D: 3, E: 4);
tuple_params!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
tuple_params!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6);
tuple_params!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7);

/// Builds a parameter list of mixed types: `params![1, "curl", vec![0.5f32; 384]]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::ToValue),+] as &[&dyn $crate::ToValue] };
}

// ---------------------------------------------------------------------------------------------
// Reading results

/// Converts a result [`Value`] into a Rust type, for [`Row::get`](crate::Row::get).
///
/// Implemented for `i64`, `i32`, `u64`, `usize`, `f64`, `f32`, `bool`, `String`, `Vec<f32>`,
/// `[f32; N]` (a vector of exactly `N` dimensions), `Vec<f64>` (a vector, widened exactly),
/// [`Value`] and `Option<T>` (NULL is `None`). Integers read as `f64` too. For borrowed
/// `&str` and `&[f32]` see [`FromValueRef`].
pub trait FromValue: Sized {
    /// The Rust type's name, for error messages.
    const NAME: &'static str;
    /// Converts, or returns `None` when the value has another type (or is out of range).
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const NAME: &'static str = "i64";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for i32 {
    const NAME: &'static str = "i32";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| i32::try_from(i).ok())
    }
}
impl FromValue for u64 {
    const NAME: &'static str = "u64";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| u64::try_from(i).ok())
    }
}
impl FromValue for usize {
    const NAME: &'static str = "usize";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| usize::try_from(i).ok())
    }
}
impl FromValue for f64 {
    const NAME: &'static str = "f64";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(r) => Some(*r),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromValue for f32 {
    const NAME: &'static str = "f32";
    fn from_value(value: &Value) -> Option<Self> {
        f64::from_value(value).map(|f| f as f32)
    }
}
impl FromValue for bool {
    const NAME: &'static str = "bool";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}
impl FromValue for String {
    const NAME: &'static str = "String";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<f32> {
    const NAME: &'static str = "Vec<f32>";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Vector(v) => Some(v.clone()),
            _ => None,
        }
    }
}
impl FromValue for Value {
    const NAME: &'static str = "Value";
    fn from_value(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
}
impl<T: FromValue> FromValue for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<const N: usize> FromValue for [f32; N] {
    const NAME: &'static str = "[f32; N]";
    /// A vector of exactly `N` dimensions.
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Vector(v) => v.as_slice().try_into().ok(),
            _ => None,
        }
    }
}
impl FromValue for Vec<f64> {
    const NAME: &'static str = "Vec<f64>";
    /// A vector, each f32 widened to f64 (exact).
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Vector(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            _ => None,
        }
    }
}

/// Converts a result [`Value`] into a Rust type that may borrow from it, for
/// [`Row::get`](crate::Row::get): every [`FromValue`] type, plus `&str` (TEXT), `&[f32]`
/// (a vector), `Option<&str>` and `Option<&[f32]>`.
pub trait FromValueRef<'a>: Sized {
    /// The Rust type's name, for error messages.
    const NAME: &'static str;
    /// Converts, or returns `None` when the value has another type (or is out of range).
    fn from_value_ref(value: &'a Value) -> Option<Self>;
}

impl<'a, T: FromValue> FromValueRef<'a> for T {
    const NAME: &'static str = T::NAME;
    fn from_value_ref(value: &'a Value) -> Option<Self> {
        T::from_value(value)
    }
}
impl<'a> FromValueRef<'a> for &'a str {
    const NAME: &'static str = "&str";
    fn from_value_ref(value: &'a Value) -> Option<Self> {
        ValueRef::from(value).as_str().ok()
    }
}
impl<'a> FromValueRef<'a> for &'a [f32] {
    const NAME: &'static str = "&[f32]";
    fn from_value_ref(value: &'a Value) -> Option<Self> {
        ValueRef::from(value).as_vector().ok()
    }
}
impl<'a> FromValueRef<'a> for Option<&'a str> {
    const NAME: &'static str = "&str";
    fn from_value_ref(value: &'a Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => <&str>::from_value_ref(v).map(Some),
        }
    }
}
impl<'a> FromValueRef<'a> for Option<&'a [f32]> {
    const NAME: &'static str = "&[f32]";
    fn from_value_ref(value: &'a Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => <&[f32]>::from_value_ref(v).map(Some),
        }
    }
}

/// A result value borrowed from its row, as returned by [`Row::get_ref`](crate::Row::get_ref):
/// text as `&str` and vectors as `&[f32]`, without copying.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ValueRef<'a> {
    /// SQL `NULL`.
    Null,
    /// `INTEGER`.
    Integer(i64),
    /// `REAL`.
    Real(f64),
    /// `TEXT`.
    Text(&'a str),
    /// `BOOLEAN`.
    Boolean(bool),
    /// `VECTOR(n)`: `n` f32 values.
    Vector(&'a [f32]),
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(s) => ValueRef::Text(s),
            Value::Boolean(b) => ValueRef::Boolean(*b),
            Value::Vector(v) => ValueRef::Vector(v),
        }
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(s) => Value::Text(s.to_string()),
            ValueRef::Boolean(b) => Value::Boolean(b),
            ValueRef::Vector(v) => Value::Vector(v.to_vec()),
        }
    }
}

impl<'a> ValueRef<'a> {
    /// The SQL name of the value's type (`NULL`, `TEXT`, `VECTOR(3)`…).
    pub fn type_name(&self) -> String {
        match self {
            ValueRef::Vector(v) => format!("VECTOR({})", v.len()),
            ValueRef::Null => "NULL".into(),
            ValueRef::Integer(_) => "INTEGER".into(),
            ValueRef::Real(_) => "REAL".into(),
            ValueRef::Text(_) => "TEXT".into(),
            ValueRef::Boolean(_) => "BOOLEAN".into(),
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Null)
    }

    fn mismatch<T>(&self, expected: &str) -> Result<T> {
        Err(Error::type_mismatch("ValueRef", expected, self.type_name()))
    }

    /// The text of a TEXT value.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] for any other type (NULL included).
    pub fn as_str(&self) -> Result<&'a str> {
        match self {
            ValueRef::Text(s) => Ok(s),
            _ => self.mismatch("TEXT"),
        }
    }

    /// The elements of a vector value.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] for any other type (NULL included).
    pub fn as_vector(&self) -> Result<&'a [f32]> {
        match self {
            ValueRef::Vector(v) => Ok(v),
            _ => self.mismatch("VECTOR"),
        }
    }

    /// An INTEGER value.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] for any other type.
    pub fn as_i64(&self) -> Result<i64> {
        match self {
            ValueRef::Integer(i) => Ok(*i),
            _ => self.mismatch("INTEGER"),
        }
    }

    /// A REAL value, or an INTEGER converted to f64.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] for any other type.
    pub fn as_f64(&self) -> Result<f64> {
        match self {
            ValueRef::Real(r) => Ok(*r),
            ValueRef::Integer(i) => Ok(*i as f64),
            _ => self.mismatch("REAL"),
        }
    }

    /// A BOOLEAN value.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] for any other type.
    pub fn as_bool(&self) -> Result<bool> {
        match self {
            ValueRef::Boolean(b) => Ok(*b),
            _ => self.mismatch("BOOLEAN"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vector_literals() {
        assert_eq!(
            parse_vector("[1, 2.5,-3]", "t.v").unwrap(),
            vec![1.0, 2.5, -3.0]
        );
        assert_eq!(parse_vector(" [ 0.25 ] ", "t.v").unwrap(), vec![0.25]);
        assert!(matches!(
            parse_vector("1,2", "t.v"),
            Err(Error::InvalidVector { .. })
        ));
        assert!(matches!(
            parse_vector("[]", "t.v"),
            Err(Error::InvalidVector { .. })
        ));
        assert!(matches!(
            parse_vector("[1,x]", "t.v"),
            Err(Error::InvalidVector { .. })
        ));
        assert!(matches!(
            parse_vector("[1,NaN]", "t.v"),
            Err(Error::NonFiniteVector { position: 1, .. })
        ));
        assert!(matches!(
            parse_vector("[1e39]", "t.v"),
            Err(Error::NonFiniteVector { position: 0, .. })
        ));
    }

    #[test]
    fn coerces_to_column_types() {
        assert_eq!(
            coerce(Value::Integer(2), DataType::Real, "c").unwrap(),
            Value::Real(2.0)
        );
        assert_eq!(
            coerce(Value::Real(3.0), DataType::Integer, "c").unwrap(),
            Value::Integer(3)
        );
        assert!(coerce(Value::Real(3.5), DataType::Integer, "c").is_err());
        assert!(matches!(
            coerce(Value::Text("[1,2]".into()), DataType::Vector(3), "t.v"),
            Err(Error::DimensionMismatch {
                expected: 3,
                found: 2,
                ..
            })
        ));
        assert!(matches!(
            coerce(Value::Integer(1), DataType::Text, "t.name"),
            Err(Error::TypeMismatch { .. })
        ));
    }

    #[test]
    fn formats_reals_like_postgresql() {
        for (r, want) in [
            (1e300, "1e+300"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345.0"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (3.0, "3.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.8e-33, "2.8e-33"),
            (-1.5e-300, "-1.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(format_real(r), want, "{r:e}");
        }
        for (x, want) in [
            (2.8e-33f32, "2.8e-33"),
            (1.0, "1"),
            (0.1, "0.1"),
            (123456.79, "123456.79"),
            (1e6, "1e+06"),
            (-1e-7, "-1e-07"),
            (0.001, "0.001"),
        ] {
            assert_eq!(format_f32(x), want, "{x:e}");
        }
    }

    #[test]
    fn formatted_reals_read_back_exactly() {
        let mut rng = rand::rng();
        for _ in 0..100_000 {
            let r = f64::from_bits(rand::Rng::random(&mut rng));
            if r.is_finite() {
                assert_eq!(format_real(r).parse::<f64>().ok(), Some(r), "{r:e}");
            }
            let x = f32::from_bits(rand::Rng::random(&mut rng));
            if x.is_finite() {
                assert_eq!(format_f32(x).parse::<f32>().ok(), Some(x), "{x:e}");
            }
        }
    }

    #[test]
    fn formats_vectors_short_and_long() {
        assert_eq!(format_vector(&[1.0, 2.5], 8), "[1,2.5]");
        assert_eq!(
            format_vector(&[0.5, -0.25, 1.0], 2),
            "[0.5000, -0.2500, …] (3)"
        );
    }

    #[test]
    fn params_macro_mixes_types() {
        let v = vec![0.5f32, 1.0];
        let p = params![1, "a", v, Option::<i64>::None];
        assert_eq!(
            p.into_values(),
            vec![
                Value::Integer(1),
                Value::Text("a".into()),
                Value::Vector(vec![0.5, 1.0]),
                Value::Null
            ]
        );
    }
}
