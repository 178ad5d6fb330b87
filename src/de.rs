//! Mapping a result row into a `serde::Deserialize` type (`Row::deserialize`): the row is a
//! map from column name to value (or, for a tuple or sequence, its values in order); a vector
//! is a sequence of f32, NULL is `None`, text can name a unit enum variant.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::error::{Error, Result};
use crate::value::Value;

/// A serde error, with the column it arose in once known.
#[derive(Debug)]
pub(crate) struct DeError {
    column: Option<String>,
    message: String,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            column: None,
            message: msg.to_string(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            column: Some(field.to_string()),
            message: format!("the result has no column named {field}"),
        }
    }
}

impl From<DeError> for Error {
    fn from(e: DeError) -> Error {
        Error::Deserialize {
            column: e.column,
            message: e.message,
        }
    }
}

/// Deserializes `T` from one row.
///
/// # Errors
/// [`Error::Deserialize`] naming the column that does not fit.
pub(crate) fn from_row<'de, T: de::Deserialize<'de>>(
    columns: &'de [String],
    values: &'de [Value],
) -> Result<T> {
    Ok(T::deserialize(RowDeserializer { columns, values })?)
}

struct RowDeserializer<'de> {
    columns: &'de [String],
    values: &'de [Value],
}

impl<'de> de::Deserializer<'de> for RowDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(RowMap {
            columns: self.columns,
            values: self.values,
            next: 0,
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut seq = RowSeq {
            columns: self.columns,
            values: self.values,
            next: 0,
        };
        let v = visitor.visit_seq(&mut seq)?;
        if seq.next < self.values.len() {
            return Err(de::Error::invalid_length(
                self.values.len(),
                &"as many elements as the row has columns",
            ));
        }
        Ok(v)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct map struct enum identifier ignored_any
    }
}

/// Names `column` in an error that has no column yet.
fn in_column(column: &str) -> impl FnOnce(DeError) -> DeError + '_ {
    move |mut e| {
        if e.column.is_none() {
            e.column = Some(column.to_string());
        }
        e
    }
}

struct RowMap<'de> {
    columns: &'de [String],
    values: &'de [Value],
    next: usize,
}

impl<'de> MapAccess<'de> for RowMap<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.columns.get(self.next) {
            Some(name) => seed
                .deserialize(BorrowedStrDeserializer::<DeError>::new(name))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let i = self.next;
        self.next += 1;
        seed.deserialize(ValueDeserializer(&self.values[i]))
            .map_err(in_column(&self.columns[i]))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.columns.len() - self.next)
    }
}

struct RowSeq<'de> {
    columns: &'de [String],
    values: &'de [Value],
    next: usize,
}

impl<'de> SeqAccess<'de> for RowSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let i = self.next;
        let Some(v) = self.values.get(i) else {
            return Ok(None);
        };
        self.next += 1;
        seed.deserialize(ValueDeserializer(v))
            .map(Some)
            .map_err(in_column(&self.columns[i]))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len() - self.next)
    }
}

/// One value: NULL is unit / `None`, a vector a sequence of f32.
struct ValueDeserializer<'de>(&'de Value);

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Integer(i) => visitor.visit_i64(*i),
            Value::Real(r) => visitor.visit_f64(*r),
            Value::Text(s) => visitor.visit_borrowed_str(s),
            Value::Boolean(b) => visitor.visit_bool(*b),
            Value::Vector(v) => {
                let mut seq = SeqDeserializer::new(v.iter().map(|x| x.into_deserializer()));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Text(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}
