//! One way to run SQL on either backend (docs/adr/0001-team-store.md, §1 as revised): the local
//! SQLCipher file through rusqlite, or the team store through the blocking `postgres` client.
//!
//! A repository writes its statement once, in the SQL both engines read (`?1` placeholders,
//! `ON CONFLICT`, `RETURNING`, `COALESCE`, `CAST(… AS BIGINT)`), binds [`Value`]s and reads rows
//! as [`Row`]s; [`Db`] runs it on the engine at hand, turning `?N` into `$N` for PostgreSQL. The
//! team schema uses `BIGINT`, `TEXT` and `BYTEA` where the SQLite one has `INTEGER`, `TEXT` and
//! `BLOB`, so a value means the same on both. Where the engines differ, a repository matches on
//! [`Db::engine`] and writes both statements side by side.

use std::borrow::Cow;
use std::cell::RefCell;

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use rusqlite::types::ValueRef;

use crate::{Result, VaultError};

/// A bound value: the four kinds both engines store, borrowed where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

/// Which engine a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection of either engine, borrowed for the statements of one unit.
#[derive(Clone, Copy)]
pub enum Db<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a RefCell<PgClient>),
}

/// A team store connection that is safe to drop anywhere: the blocking client refuses to be
/// dropped inside a tokio runtime, so there it is dropped on a thread of its own. It keeps the
/// statements it prepared ([`PgClient::prepared`]).
pub struct PgClient(Option<postgres::Client>, Poisoned, Statements, Box<Link>);

/// What a desk's connection needs to come back after the server went away (a restart, a
/// failover, a network cut): the URL, whether a transaction is open (then it must not: what
/// the unit did is gone, and a `COMMIT` on a new connection would report it saved), and since
/// when the store has been unreachable.
#[derive(Default)]
struct Link {
    url: Option<Box<crate::team::StoreUrl>>,
    in_tx: bool,
    /// The last statement found the connection closed (one retry of a read is safe).
    lost: bool,
    down_since: Option<time::OffsetDateTime>,
}

/// Prepared statements by their text: a cached statement is one round trip (bind and execute)
/// where a text is two (parse and describe, then bind and execute). Named statements live as
/// long as the connection, whatever its transactions do. Bounded: past [`Statements::MAX`] texts
/// (lists build theirs from their filters) it starts again.
#[derive(Default)]
struct Statements(std::collections::HashMap<String, postgres::Statement>);

impl Statements {
    const MAX: usize = 512;

    /// Only data statements are kept: transaction control and session settings run as text.
    fn keeps(sql: &str) -> bool {
        let head = sql.trim_start();
        ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
            .iter()
            .any(|k| head.len() >= k.len() && head[..k.len()].eq_ignore_ascii_case(k))
    }
}

/// Whether a statement of the open transaction failed: PostgreSQL then aborts the transaction,
/// and a `COMMIT` of it quietly rolls back, so the unit must not report it saved.
#[derive(Default)]
struct Poisoned(bool);

impl PgClient {
    pub fn new(client: postgres::Client) -> Self {
        Self(
            Some(client),
            Poisoned::default(),
            Statements::default(),
            Box::default(),
        )
    }

    /// A connection that reconnects to `url` when the server went away, between units.
    pub fn reconnecting(client: postgres::Client, url: &crate::team::StoreUrl) -> Self {
        let mut me = Self::new(client);
        me.3.url = Some(Box::new(url.clone()));
        me
    }

    /// Since when the store has been unreachable, as this connection found it.
    pub fn down_since(&self) -> Option<time::OffsetDateTime> {
        self.3.down_since
    }

    /// Drops a connection the server closed (off any runtime: the blocking client refuses to
    /// be dropped inside one). A transaction open on it is gone: the unit must not commit.
    fn lose(&mut self) {
        if let Some(client) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
        self.2 .0.clear();
        self.3.lost = true;
        if self.3.in_tx {
            self.1 .0 = true;
        }
        self.3
            .down_since
            .get_or_insert_with(time::OffsetDateTime::now_utc);
    }

    /// `sql` prepared once per connection (a data statement), or `None` to run it as text.
    /// A failed prepare poisons the transaction, as the statement itself would have.
    fn prepared(
        &mut self,
        sql: &str,
    ) -> Result<Result<Option<postgres::Statement>, postgres::Error>> {
        if !Statements::keeps(sql) {
            return Ok(Ok(None));
        }
        if let Some(stmt) = self.2 .0.get(sql) {
            return Ok(Ok(Some(stmt.clone())));
        }
        let prepared = self.run(|c| c.prepare(sql))?;
        Ok(prepared.map(|stmt| {
            if self.2 .0.len() >= Statements::MAX {
                self.2 .0.clear();
            }
            self.2 .0.insert(sql.to_string(), stmt.clone());
            Some(stmt)
        }))
    }

    /// Runs `f` on the connection (off any tokio runtime); an error poisons the transaction.
    fn run<T: Send>(
        &mut self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<Result<T, postgres::Error>> {
        let out = self.run_quiet(f)?;
        if out.is_err() {
            self.1 .0 = true;
        }
        Ok(out)
    }

    /// [`PgClient::run`] for a statement whose failure the caller undoes (a savepoint).
    pub(crate) fn run_quiet<T: Send>(
        &mut self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<Result<T, postgres::Error>> {
        let client = self.get()?;
        let out = off_runtime(|| f(client));
        if let Err(e) = &out {
            // Closed, or the server's last word before closing it (shut down, crashed).
            let ended = e.is_closed()
                || client.is_closed()
                || e.as_db_error()
                    .is_some_and(|d| d.code().code().starts_with("57P"));
            if ended {
                self.lose();
            }
        }
        Ok(out)
    }

    /// The open connection (for the store's own checks: `team::schema`).
    pub fn connection(&mut self) -> Result<&mut postgres::Client> {
        self.get()
    }

    pub(crate) fn get(&mut self) -> Result<&mut postgres::Client> {
        if self.0.is_none() && !self.3.in_tx {
            if let Some(url) = self.3.url.as_deref() {
                match crate::team::connect::connect(url) {
                    Ok(client) => {
                        tracing::info!("the team store is reachable again: reconnected");
                        self.0 = Some(client);
                        self.1 .0 = false;
                        self.3.down_since = None;
                    }
                    Err(e) => {
                        self.3
                            .down_since
                            .get_or_insert_with(time::OffsetDateTime::now_utc);
                        return Err(e);
                    }
                }
            }
        }
        match self.0.as_mut() {
            Some(client) => Ok(client),
            None if self.3.in_tx => Err(VaultError::StoreUnavailable(
                "the connection to the team store was lost during the change: nothing of it was saved"
                    .to_string(),
            )),
            None => Err(VaultError::StoreUnavailable(
                "the connection was closed".to_string(),
            )),
        }
    }

    /// Whether the last statement found the connection closed (and clears it).
    fn take_lost(&mut self) -> bool {
        std::mem::take(&mut self.3.lost)
    }
}

impl Drop for PgClient {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            }
        }
    }
}

/// What an `INSERT` did ([`Db::insert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Rows(u64),
    /// A row with the same unique key exists: nothing was written.
    Duplicate,
}

/// One result row, read in place (no copy of the engine's row).
pub enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

/// A type a column can be read as, on either engine.
pub trait Column: Sized {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self>;
    fn from_owned(value: Owned) -> Option<Self>;
}

/// A value read from the team store, before it becomes the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

fn damaged() -> VaultError {
    VaultError::VaultDamaged("a stored row holds a value of an unexpected kind")
}

impl Row<'_> {
    /// Column `i` as `T`; a missing column or a value of another kind is a damaged row.
    pub fn get<T: Column>(&self, i: usize) -> Result<T> {
        match self {
            Row::Sqlite(row) => row
                .get_ref(i)
                .ok()
                .and_then(T::from_sqlite)
                .ok_or_else(damaged),
            Row::Postgres(row) => row
                .try_get::<_, Owned>(i)
                .ok()
                .and_then(T::from_owned)
                .ok_or_else(damaged),
        }
    }
}

impl Row<'_> {
    /// A stored word of a closed vocabulary (a job state, a merchant status, a risk band…);
    /// one this version does not know is vault damage, never read as a default.
    pub fn parsed<T>(&self, i: usize, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
        let text: String = self.get(i)?;
        parse(&text).ok_or(UNKNOWN_WORD)
    }

    /// [`Row::parsed`] for a nullable column.
    pub fn parsed_opt<T>(
        &self,
        i: usize,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get::<Option<String>>(i)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).ok_or(UNKNOWN_WORD),
        }
    }
}

const UNKNOWN_WORD: VaultError =
    VaultError::VaultDamaged("a stored row holds a value this version does not know");

impl Column for crate::seal::Sealed {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        Vec::<u8>::from_sqlite(value).map(crate::seal::Sealed::from_bytes)
    }
    fn from_owned(value: Owned) -> Option<Self> {
        Vec::<u8>::from_owned(value).map(crate::seal::Sealed::from_bytes)
    }
}

impl<'a> From<&'a crate::seal::Sealed> for Value<'a> {
    fn from(v: &'a crate::seal::Sealed) -> Self {
        Value::Blob(Cow::Borrowed(v.as_bytes()))
    }
}

impl Column for i64 {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Integer(v) => Some(v),
            _ => None,
        }
    }
    fn from_owned(value: Owned) -> Option<Self> {
        match value {
            Owned::Int(v) => Some(v),
            _ => None,
        }
    }
}

impl Column for u32 {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        i64::from_sqlite(value).and_then(|v| u32::try_from(v).ok())
    }
    fn from_owned(value: Owned) -> Option<Self> {
        i64::from_owned(value).and_then(|v| u32::try_from(v).ok())
    }
}

impl Column for u64 {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        i64::from_sqlite(value).and_then(|v| u64::try_from(v).ok())
    }
    fn from_owned(value: Owned) -> Option<Self> {
        i64::from_owned(value).and_then(|v| u64::try_from(v).ok())
    }
}

impl Column for bool {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        i64::from_sqlite(value).map(|v| v != 0)
    }
    fn from_owned(value: Owned) -> Option<Self> {
        i64::from_owned(value).map(|v| v != 0)
    }
}

impl Column for f64 {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Real(v) => Some(v),
            ValueRef::Integer(v) => Some(v as f64),
            _ => None,
        }
    }
    fn from_owned(value: Owned) -> Option<Self> {
        match value {
            Owned::Real(v) => Some(v),
            Owned::Int(v) => Some(v as f64),
            _ => None,
        }
    }
}

impl Column for String {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Text(v) => std::str::from_utf8(v).ok().map(str::to_string),
            _ => None,
        }
    }
    fn from_owned(value: Owned) -> Option<Self> {
        match value {
            Owned::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl Column for Vec<u8> {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Blob(v) => Some(v.to_vec()),
            _ => None,
        }
    }
    fn from_owned(value: Owned) -> Option<Self> {
        match value {
            Owned::Blob(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_sqlite(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Null => Some(None),
            other => T::from_sqlite(other).map(Some),
        }
    }
    fn from_owned(value: Owned) -> Option<Self> {
        match value {
            Owned::Null => Some(None),
            other => T::from_owned(other).map(Some),
        }
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u8> for Value<'_> {
    fn from(v: u8) -> Self {
        Value::Int(v.into())
    }
}
/// Counts and limits; one beyond `i64::MAX` cannot be stored by either engine and is refused
/// by the statement's own range (it never occurs: rows are counted in the millions).
impl From<usize> for Value<'_> {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u64> for Value<'_> {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Value<'_> {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(Cow::Owned(v))
    }
}
impl<'a, const N: usize> From<&'a [u8; N]> for Value<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl<const N: usize> From<[u8; N]> for Value<'_> {
    fn from(v: [u8; N]) -> Self {
        Value::Blob(Cow::Owned(v.to_vec()))
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Binds values: `args![seq, &actor, None::<&str>]`.
#[macro_export]
#[doc(hidden)]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($value)),*][..]
    };
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput;
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Value::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Value::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            (Value::Int(v), &Type::BOOL) => (*v != 0).to_sql(ty, out),
            (Value::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Value::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Value::Text(v), _) if <&str as ToSql>::accepts(ty) => v.as_ref().to_sql(ty, out),
            (Value::Blob(v), &Type::BYTEA) => v.as_ref().to_sql(ty, out),
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

fn kind(value: &Value<'_>) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    }
}

impl<'a> FromSql<'a> for Owned {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Owned::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Owned::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Owned::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Owned::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Owned::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Owned::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Owned::Blob(<Vec<u8>>::from_sql(ty, raw)?),
            _ if <String as FromSql>::accepts(ty) => Owned::Text(String::from_sql(ty, raw)?),
            _ => return Err(format!("a {ty} column has no value kind here").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Owned::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `sql` with SQLite's placeholders as PostgreSQL's (outside quoted text): `?N` becomes `$N`,
/// and a bare `?` takes the next number after the largest so far, as SQLite numbers it.
pub(crate) fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quoted = None;
    let mut highest = 0u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            // A `--` comment runs to the end of its line: nothing in it is a quote or a
            // placeholder.
            (None, '-') if chars.peek() == Some(&'-') => {
                out.push(c);
                for rest in chars.by_ref() {
                    out.push(rest);
                    if rest == '\n' {
                        break;
                    }
                }
                continue;
            }
            (None, '\'' | '"') => quoted = Some(c),
            (Some(q), _) if c == q => quoted = None,
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => highest + 1,
                };
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A read outside a unit, run again once on a new connection when it found the old one
/// closed (the server restarted or failed over): reading twice changes nothing. Inside a unit
/// it is not: the transaction is gone with the connection.
fn read_again_once<T>(
    client: &RefCell<PgClient>,
    mut read: impl FnMut(&mut PgClient) -> Result<T>,
) -> Result<T> {
    let mut guard = client.borrow_mut();
    let out = read(&mut guard);
    if out.is_err() && guard.take_lost() && !guard.3.in_tx {
        return read(&mut guard);
    }
    out
}

/// Runs `f`, which drives the blocking `postgres` client, on a thread of its own when the
/// caller is inside a tokio runtime: that client runs its own runtime and refuses to start it
/// inside another (the api's async workers call the vault). Elsewhere it runs in place.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn pg_params<'v>(args: &'v [Value<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Db<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, context: &'static str, sql: &str, args: &[Value<'_>]) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(args)))
                .map(|n| n as u64)
                .map_err(VaultError::storage(context)),
            Db::Postgres(client) => {
                let mut guard = client.borrow_mut();
                if sql.starts_with("ROLLBACK") {
                    guard.1 .0 = false;
                }
                let sql = to_postgres(sql);
                let stmt = guard.prepared(&sql)?.map_err(VaultError::store(context))?;
                guard
                    .run(|c| match &stmt {
                        Some(stmt) => c.execute(stmt, &pg_params(args)),
                        None => c.execute(sql.as_str(), &pg_params(args)),
                    })?
                    .map_err(VaultError::store(context))
            }
        }
    }

    /// Runs an `INSERT`; a row that would repeat a unique key (primary key or `UNIQUE`) is
    /// [`Inserted::Duplicate`], not an error, so the caller can name the field.
    pub fn insert(&self, context: &'static str, sql: &str, args: &[Value<'_>]) -> Result<Inserted> {
        match self {
            Db::Sqlite(conn) => {
                let done = conn
                    .prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(args)));
                match done {
                    Ok(n) => Ok(Inserted::Rows(n as u64)),
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                    {
                        Ok(Inserted::Duplicate)
                    }
                    Err(e) => Err(VaultError::storage(context)(e)),
                }
            }
            Db::Postgres(client) => {
                // A savepoint, so that a refused row leaves the unit usable (PostgreSQL aborts
                // the whole transaction on an error otherwise).
                let mut guard = client.borrow_mut();
                let sql = to_postgres(sql);
                guard
                    .run(|c| c.batch_execute("SAVEPOINT insert_row"))?
                    .map_err(VaultError::store(context))?;
                let stmt = guard.prepared(&sql)?.map_err(VaultError::store(context))?;
                let done = guard.run_quiet(|c| match &stmt {
                    Some(stmt) => c.execute(stmt, &pg_params(args)),
                    None => c.execute(sql.as_str(), &pg_params(args)),
                })?;
                match done {
                    Ok(n) => {
                        guard
                            .run(|c| c.batch_execute("RELEASE SAVEPOINT insert_row"))?
                            .map_err(VaultError::store(context))?;
                        Ok(Inserted::Rows(n))
                    }
                    // Either way the savepoint is rolled back and released: the unit stays
                    // usable, as a failed statement leaves it on SQLite.
                    Err(e) => {
                        guard
                            .run(|c| {
                                c.batch_execute(
                                    "ROLLBACK TO SAVEPOINT insert_row; RELEASE SAVEPOINT insert_row",
                                )
                            })?
                            .map_err(VaultError::store(context))?;
                        if e.as_db_error().is_some_and(|d| d.code().code() == "23505") {
                            Ok(Inserted::Duplicate)
                        } else {
                            Err(VaultError::store(context)(e))
                        }
                    }
                }
            }
        }
    }

    /// Every row of a query, each mapped by `f`.
    pub fn query_map<T>(
        &self,
        context: &'static str,
        sql: &str,
        args: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(sql)
                    .map_err(VaultError::storage(context))?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(args))
                    .map_err(VaultError::storage(context))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(VaultError::storage(context))? {
                    out.push(f(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Db::Postgres(client) => {
                let sql = to_postgres(sql);
                let rows = read_again_once(client, |guard| {
                    let stmt = guard.prepared(&sql)?.map_err(VaultError::store(context))?;
                    guard
                        .run(|c| match &stmt {
                            Some(stmt) => c.query(stmt, &pg_params(args)),
                            None => c.query(sql.as_str(), &pg_params(args)),
                        })?
                        .map_err(VaultError::store(context))
                })?;
                rows.iter().map(|r| f(&Row::Postgres(r))).collect()
            }
        }
    }

    /// The first row of a query mapped by `f`, if there is one.
    pub fn query_row<T>(
        &self,
        context: &'static str,
        sql: &str,
        args: &[Value<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(sql)
                    .map_err(VaultError::storage(context))?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(args))
                    .map_err(VaultError::storage(context))?;
                match rows.next().map_err(VaultError::storage(context))? {
                    Some(row) => f(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Db::Postgres(client) => {
                let sql = to_postgres(sql);
                let row = read_again_once(client, |guard| {
                    let stmt = guard.prepared(&sql)?.map_err(VaultError::store(context))?;
                    guard
                        .run(|c| match &stmt {
                            Some(stmt) => c.query_opt(stmt, &pg_params(args)),
                            None => c.query_opt(sql.as_str(), &pg_params(args)),
                        })?
                        .map_err(VaultError::store(context))
                })?;
                row.map(|r| f(&Row::Postgres(&r))).transpose()
            }
        }
    }

    /// A query's one value (a count, a `MAX`), as `T`.
    pub fn query_value<T: Column>(
        &self,
        context: &'static str,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<Option<T>> {
        self.query_row(context, sql, args, |r| r.get(0))
    }

    /// Runs statements with no arguments (schema, `BEGIN`, `COMMIT`).
    pub fn batch(&self, context: &'static str, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite(conn) => conn
                .execute_batch(sql)
                .map_err(VaultError::storage(context)),
            Db::Postgres(client) => {
                let mut guard = client.borrow_mut();
                let begin = sql.starts_with("BEGIN");
                // A new transaction, or one rolled back to a savepoint, is usable again.
                if begin || sql.starts_with("ROLLBACK") {
                    guard.1 .0 = false;
                }
                let ends = sql.starts_with("COMMIT") || sql == "ROLLBACK";
                let mut out = guard.run(|c| c.batch_execute(sql));
                // A unit's first statement found the server gone (restarted, failed over):
                // nothing was done yet, so it starts again on a new connection.
                if begin && guard.take_lost() {
                    guard.1 .0 = false;
                    out = guard.run(|c| c.batch_execute(sql));
                }
                let out = out.and_then(|r| r.map_err(VaultError::store(context)));
                if begin {
                    guard.3.in_tx = out.is_ok();
                } else if ends {
                    guard.3.in_tx = false;
                }
                out
            }
        }
    }

    /// Commits the open transaction. On PostgreSQL a transaction one of whose statements
    /// failed is rolled back and reported, never taken for saved (its `COMMIT` would quietly
    /// roll back).
    pub fn commit(&self, context: &'static str) -> Result<()> {
        if let Db::Postgres(client) = self {
            if client.borrow().1 .0 {
                let _ = self.batch("rolling back a failed unit", "ROLLBACK");
                return Err(VaultError::Storage {
                    context,
                    message: "a statement of the change failed, so nothing of it was saved"
                        .to_string(),
                });
            }
        }
        self.batch(context, "COMMIT")
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
        assert_eq!(
            to_postgres("WHERE a = ? AND b < ? LIMIT ?"),
            "WHERE a = $1 AND b < $2 LIMIT $3"
        );
        assert_eq!(
            to_postgres("WHERE a = ?2 AND b = ?"),
            "WHERE a = $2 AND b = $3"
        );
        assert_eq!(
            to_postgres("SELECT ?1 -- the merchant's ?2\n FROM t WHERE c = ?3"),
            "SELECT $1 -- the merchant's ?2\n FROM t WHERE c = $3"
        );
    }

    #[test]
    fn values_read_back_as_the_kinds_they_are() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db = Db::Sqlite(&conn);
        db.batch(
            "test",
            "CREATE TABLE t (i INTEGER, n INTEGER, s TEXT, b BLOB)",
        )
        .unwrap();
        let text = String::from("x");
        db.execute(
            "test",
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            args![7i64, None::<i64>, &text, &[1u8][..]],
        )
        .unwrap();
        let read = db
            .query_row("test", "SELECT i, n, s, b FROM t", &[], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<Option<i64>>(1)?,
                    r.get::<Option<String>>(2)?,
                    r.get::<Vec<u8>>(3)?,
                ))
            })
            .unwrap();
        assert_eq!(read, Some((7, None, Some("x".into()), vec![1])));
        let wrong = db.query_row("test", "SELECT i FROM t", &[], |r| r.get::<String>(0));
        assert!(matches!(wrong, Err(VaultError::VaultDamaged(_))));
        let missing = db.query_row("test", "SELECT i FROM t", &[], |r| r.get::<i64>(9));
        assert!(matches!(missing, Err(VaultError::VaultDamaged(_))));
        assert!(u32::from_owned(Owned::Int(-1)).is_none());
        assert_eq!(
            db.query_value::<i64>("test", "SELECT COUNT(*) FROM t WHERE i > ?1", args![100i64])
                .unwrap(),
            Some(0)
        );
    }

    /// A throwaway cluster with table `desk.t (v BIGINT)`, and a desk's connection to it.
    fn store_with_table_t() -> (testkit::postgres::Cluster, RefCell<PgClient>) {
        let cluster = testkit::postgres::Cluster::start();
        cluster
            .psql(
                "postgres",
                "CREATE SCHEMA desk; CREATE TABLE desk.t (v BIGINT)",
            )
            .unwrap();
        let url: crate::team::StoreUrl = cluster.url("postgres").parse().unwrap();
        let client = RefCell::new(PgClient::new(crate::team::connect::connect(&url).unwrap()));
        (cluster, client)
    }

    /// A unit one of whose statements failed on PostgreSQL is refused at commit, and
    /// nothing of it is kept (PostgreSQL's own `COMMIT` would report nothing).
    #[test]
    fn a_failed_statement_makes_the_unit_refuse_to_commit_on_postgres() {
        let (cluster, client) = store_with_table_t();
        let db = Db::Postgres(&client);
        db.batch("test", "BEGIN").unwrap();
        db.execute("test", "INSERT INTO t VALUES (1)", &[]).unwrap();
        assert!(db
            .execute("test", "INSERT INTO nowhere VALUES (1)", &[])
            .is_err());
        assert!(matches!(db.commit("test"), Err(VaultError::Storage { .. })));
        let rows = db
            .query_value::<i64>("test", "SELECT count(*) FROM t", &[])
            .unwrap();
        assert_eq!(rows, Some(0), "nothing of the failed unit was kept");

        // A refused duplicate (rolled back to its savepoint) does not poison the unit.
        cluster
            .psql("postgres", "CREATE TABLE desk.u (k TEXT PRIMARY KEY)")
            .unwrap();
        db.batch("test", "BEGIN").unwrap();
        assert_eq!(
            db.insert("test", "INSERT INTO u VALUES (?1)", args!["a"])
                .unwrap(),
            Inserted::Rows(1)
        );
        assert_eq!(
            db.insert("test", "INSERT INTO u VALUES (?1)", args!["a"])
                .unwrap(),
            Inserted::Duplicate
        );
        db.commit("test").unwrap();
        let kept = db
            .query_value::<i64>("test", "SELECT count(*) FROM u", &[])
            .unwrap();
        assert_eq!(kept, Some(1));
    }

    /// A data statement is prepared once per connection and still works after its transaction
    /// rolled back; transaction control is never kept.
    #[test]
    fn statements_are_prepared_once_per_connection_and_outlive_a_rollback() {
        let (_cluster, client) = store_with_table_t();
        let db = Db::Postgres(&client);
        let count = || {
            db.query_value::<i64>("test", "SELECT count(*) FROM t WHERE v >= ?1", args![0])
                .unwrap()
        };
        db.batch("test", "BEGIN").unwrap();
        db.execute("test", "INSERT INTO t VALUES (?1)", args![7])
            .unwrap();
        assert_eq!(count(), Some(1));
        db.execute("test", "SAVEPOINT one", &[]).unwrap();
        db.execute("test", "ROLLBACK TO SAVEPOINT one", &[])
            .unwrap();
        db.batch("test", "ROLLBACK").unwrap();
        assert_eq!(count(), Some(0), "the rolled-back row is gone");
        db.execute("test", "INSERT INTO t VALUES (?1)", args![8])
            .unwrap();
        assert_eq!(
            count(),
            Some(1),
            "both statements still run after the rollback"
        );
        let kept: Vec<String> = client.borrow().2 .0.keys().cloned().collect();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.iter().all(|k| !k.contains("SAVEPOINT")), "{kept:?}");
    }

    /// Issue 17's faults: a desk's connection cut (the server restarted, a failover, a DBA's
    /// `pg_terminate_backend`). A unit it was in is never reported saved, on a statement or at
    /// `COMMIT`, and nothing of it is kept; the next unit, and a read outside any, reconnect on
    /// their own; the store is "down since" only until then.
    #[test]
    fn a_connection_cut_mid_unit_is_never_reported_saved_and_the_next_unit_reconnects() {
        let (cluster, plain) = store_with_table_t();
        drop(plain);
        let url: crate::team::StoreUrl = cluster.url("postgres").parse().unwrap();
        let client = RefCell::new(PgClient::reconnecting(
            crate::team::connect::connect(&url).unwrap(),
            &url,
        ));
        let db = Db::Postgres(&client);
        let cut = || {
            cluster
                .psql(
                    "postgres",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE application_name = 'boarding-desk'",
                )
                .unwrap();
        };
        let count = || db.query_value::<i64>("test", "SELECT count(*) FROM t", &[]);

        // Cut between two statements of a unit.
        db.batch("test", "BEGIN").unwrap();
        db.execute("test", "INSERT INTO t VALUES (1)", &[]).unwrap();
        cut();
        assert!(db.execute("test", "INSERT INTO t VALUES (2)", &[]).is_err());
        assert!(client.borrow().down_since().is_some());
        assert!(db.commit("test").is_err(), "never reported saved");
        assert_eq!(
            count().unwrap(),
            Some(0),
            "a read reconnects: nothing was kept"
        );
        assert!(client.borrow().down_since().is_none());

        // Cut after the last statement, before the COMMIT.
        db.batch("test", "BEGIN").unwrap();
        db.execute("test", "INSERT INTO t VALUES (3)", &[]).unwrap();
        cut();
        assert!(db.commit("test").is_err(), "never reported saved");
        assert_eq!(count().unwrap(), Some(0));

        // Cut while idle: the next unit starts on a new connection and is saved.
        cut();
        db.batch("test", "BEGIN").unwrap();
        db.execute("test", "INSERT INTO t VALUES (4)", &[]).unwrap();
        db.commit("test").unwrap();
        assert_eq!(count().unwrap(), Some(1));

        // The server away: calls fail as unavailable, and it is down since the first.
        cluster.stop();
        assert!(matches!(count(), Err(VaultError::StoreUnavailable(_))));
        let since = client.borrow().down_since().expect("down");
        assert!(matches!(count(), Err(VaultError::StoreUnavailable(_))));
        assert_eq!(client.borrow().down_since(), Some(since), "since the first");
        cluster.restart();
        assert_eq!(count().unwrap(), Some(1));
        assert!(client.borrow().down_since().is_none());
    }
}
