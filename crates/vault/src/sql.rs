//! One way to run SQL on either backend (docs/adr/0001-team-store.md, §1 as revised): the local
//! SQLCipher file through rusqlite, or the team store through the blocking `postgres` client.
//!
//! A repository writes its statement once, in the SQL both engines read (`?1` placeholders,
//! `ON CONFLICT`, `RETURNING`, `COALESCE`, `CAST(… AS BIGINT)`), binds [`Value`]s and reads rows
//! as [`Row`]s; [`Db`] runs it on the engine at hand, turning `?N` into `$N` for PostgreSQL. The
//! team schema uses `BIGINT`, `TEXT` and `BYTEA` where the SQLite one has `INTEGER`, `TEXT` and
//! `BLOB`, so a value means the same on both. Where the engines differ, a repository matches on
//! [`Db::engine`] and writes both statements side by side.

use std::cell::RefCell;

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::{Result, VaultError};

/// A bound or read value: the four kinds both engines store.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Which engine a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection of either engine, borrowed for the statements of one unit.
pub enum Db<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a RefCell<postgres::Client>),
}

/// One result row, its columns in the statement's order.
pub struct Row(Vec<Value>);

/// A type a column can be read as.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Option<Self>;
}

impl Row {
    /// Column `i` as `T`; a missing column or a value of another kind is a damaged row.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        self.0
            .get(i)
            .cloned()
            .and_then(T::from_value)
            .ok_or(VaultError::VaultDamaged(
                "a stored row holds a value of an unexpected kind",
            ))
    }
}

impl FromValue for i64 {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    fn from_value(value: Value) -> Option<Self> {
        i64::from_value(value).and_then(|v| u32::try_from(v).ok())
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Option<Self> {
        i64::from_value(value).map(|v| v != 0)
    }
}

impl FromValue for f64 {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Real(v) => Some(v),
            Value::Int(v) => Some(v as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Blob(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Self {
        Value::Blob(v.clone())
    }
}
impl<const N: usize> From<&[u8; N]> for Value {
    fn from(v: &[u8; N]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Binds values: `args![seq, actor, None::<String>]`.
#[macro_export]
#[doc(hidden)]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($value)),*][..]
    };
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Real(v) => Value::Real(v),
        ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
        ValueRef::Blob(v) => Value::Blob(v.to_vec()),
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Value::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Value::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            (Value::Int(v), &Type::BOOL) => (*v != 0).to_sql(ty, out),
            (Value::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Value::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Value::Text(v), _) if <&str as ToSql>::accepts(ty) => v.as_str().to_sql(ty, out),
            (Value::Blob(v), &Type::BYTEA) => v.as_slice().to_sql(ty, out),
            (value, ty) => {
                Err(format!("a {} cannot be bound to a {ty} column", kind(value)).into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    }
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(<Vec<u8>>::from_sql(ty, raw)?),
            _ if <String as FromSql>::accepts(ty) => Value::Text(String::from_sql(ty, raw)?),
            _ => return Err(format!("a {ty} column has no value kind here").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `sql` with SQLite's `?N` placeholders as PostgreSQL's `$N` (outside quoted text).
pub(crate) fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = None;
    for c in sql.chars() {
        match (quoted, c) {
            (None, '\'' | '"') => quoted = Some(c),
            (Some(q), _) if c == q => quoted = None,
            (None, '?') => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

impl Db<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, context: &'static str, sql: &str, args: &[Value]) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(args)))
                .map(|n| n as u64)
                .map_err(VaultError::storage(context)),
            Db::Postgres(client) => {
                let params: Vec<&(dyn ToSql + Sync)> =
                    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                client
                    .borrow_mut()
                    .execute(to_postgres(sql).as_str(), &params)
                    .map_err(VaultError::store(context))
            }
        }
    }

    /// Every row of a query.
    pub fn query(&self, context: &'static str, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(sql)
                    .map_err(VaultError::storage(context))?;
                let columns = stmt.column_count();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| {
                        (0..columns)
                            .map(|i| r.get_ref(i).map(from_sqlite))
                            .collect::<rusqlite::Result<Vec<_>>>()
                            .map(Row)
                    })
                    .map_err(VaultError::storage(context))?;
                rows.collect::<rusqlite::Result<_>>()
                    .map_err(VaultError::storage(context))
            }
            Db::Postgres(client) => {
                let params: Vec<&(dyn ToSql + Sync)> =
                    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                let rows = client
                    .borrow_mut()
                    .query(to_postgres(sql).as_str(), &params)
                    .map_err(VaultError::store(context))?;
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.try_get::<_, Value>(i))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Row)
                            .map_err(VaultError::store(context))
                    })
                    .collect()
            }
        }
    }

    /// The first row of a query, if any.
    pub fn query_opt(
        &self,
        context: &'static str,
        sql: &str,
        args: &[Value],
    ) -> Result<Option<Row>> {
        Ok(self.query(context, sql, args)?.into_iter().next())
    }

    /// Runs statements with no arguments (schema, `BEGIN`, `COMMIT`).
    pub fn batch(&self, context: &'static str, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite(conn) => conn
                .execute_batch(sql)
                .map_err(VaultError::storage(context)),
            Db::Postgres(client) => client
                .borrow_mut()
                .batch_execute(sql)
                .map_err(VaultError::store(context)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?1 AND c = '?' AND d = ?2"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $2"
        );
        assert_eq!(to_postgres("SELECT \"?x\" FROM t"), "SELECT \"?x\" FROM t");
    }

    #[test]
    fn values_read_back_as_the_kinds_they_are() {
        let row = Row(vec![
            Value::Int(7),
            Value::Null,
            Value::Text("x".into()),
            Value::Blob(vec![1]),
        ]);
        assert_eq!(row.get::<i64>(0).ok(), Some(7));
        assert_eq!(row.get::<Option<i64>>(1).ok(), Some(None));
        assert_eq!(row.get::<Option<String>>(2).ok(), Some(Some("x".into())));
        assert_eq!(row.get::<Vec<u8>>(3).ok(), Some(vec![1]));
        assert!(matches!(
            row.get::<String>(0),
            Err(VaultError::VaultDamaged(_))
        ));
        assert!(matches!(
            row.get::<i64>(9),
            Err(VaultError::VaultDamaged(_))
        ));
        assert!(u32::from_value(Value::Int(-1)).is_none());
    }
}
