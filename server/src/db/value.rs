//! Values crossing the seam: parameters in ([`ToValue`]), columns out ([`FromValue`]).

use uuid::Uuid;

use super::DbError;

/// One SQL value, the same on both engines (SQLite's storage classes).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer (`INTEGER` / `BIGINT`; also `BOOLEAN` as 0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text (`TEXT`; also `JSONB` as its text).
    Text(String),
    /// Bytes (`BLOB` / `BYTEA`).
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }
}

/// A Rust value that can be bound as a statement parameter.
pub trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> Result<Value, DbError>;
}

/// A Rust value a column can be read into.
pub trait FromValue: Sized {
    /// Converts the column's value.
    fn from_value(value: Value) -> Result<Self, DbError>;
}

fn mismatch<T>(want: &str, got: &Value) -> Result<T, DbError> {
    Err(DbError::Conversion(format!(
        "expected {want}, found {}",
        got.kind()
    )))
}

impl ToValue for Value {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(self.clone())
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, DbError> {
        Ok(value)
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Value, DbError> {
                i64::try_from(*self)
                    .map(Value::Int)
                    .map_err(|_| DbError::Conversion(format!("{} does not fit a 64-bit integer", self)))
            }
        }
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<Self, DbError> {
                match value {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| {
                        DbError::Conversion(format!("{i} does not fit {}", stringify!($t)))
                    }),
                    other => mismatch("integer", &other),
                }
            }
        }
    )*};
}
int_value!(i64, i32, i16, u8, u16, u32, u64, usize);

impl ToValue for bool {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Int(i64::from(*self)))
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Int(i) => Ok(i != 0),
            other => mismatch("integer (flag)", &other),
        }
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Real(*self))
    }
}

impl FromValue for f64 {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Real(f) => Ok(f),
            // Aggregates over integer columns (AVG on SQLite) may come back as integers.
            Value::Int(i) => Ok(i as f64),
            other => mismatch("real", &other),
        }
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.to_owned()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.clone()))
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Text(s) => Ok(s),
            other => mismatch("text", &other),
        }
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.clone()))
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Blob(b) => Ok(b),
            other => mismatch("blob", &other),
        }
    }
}

/// Uuids are stored as their hyphenated lower-case text on both engines.
impl ToValue for Uuid {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.hyphenated().to_string()))
    }
}

impl FromValue for Uuid {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Text(s) => Uuid::parse_str(&s)
                .map_err(|_| DbError::Conversion("a column holds a malformed uuid".into())),
            other => mismatch("uuid text", &other),
        }
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Result<Value, DbError> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(Value::Null),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<Value, DbError> {
        (**self).to_value()
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` (0-based), converted.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| DbError::Conversion(format!("no column {i}")))?;
        T::from_value(v.clone()).map_err(|e| DbError::Conversion(format!("column {i}: {e}")))
    }

    /// Column `i`, moved out (cheaper for large blobs; the column reads NULL afterwards).
    pub fn take<T: FromValue>(&mut self, i: usize) -> Result<T, DbError> {
        let v = self
            .0
            .get_mut(i)
            .ok_or_else(|| DbError::Conversion(format!("no column {i}")))?;
        T::from_value(std::mem::replace(v, Value::Null))
            .map_err(|e| DbError::Conversion(format!("column {i}: {e}")))
    }

    /// How many columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
