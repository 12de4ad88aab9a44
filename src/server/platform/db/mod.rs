//! Storage: one connection pool over SQLite or PostgreSQL, chosen by the URL
//! scheme at run time. All SQL lives in this module's children and is written
//! once with `$n` placeholders, which both backends accept. Times are stored
//! as unix milliseconds (BIGINT) and ids as UUID text, identical on both.

pub mod activity;
pub mod api_keys;
pub mod appointments;
pub mod audit_log;
pub mod booking_profiles;
pub mod bookings;
pub mod connection_calendars;
pub mod connections;
pub mod housekeeping;
pub mod invites;
pub mod jobs;
pub mod meetings;
pub mod oauth_apps;
pub mod oauth_states;
pub mod overview;
pub mod rate_limits;
pub mod sessions;
pub mod subscriptions;
pub mod sync_runs;
pub mod tenants;
pub mod users;
pub mod vault;
pub mod webhook_events;

use crate::model::{TenantId, UserId};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A connection that, on SQLite, holds its place at the write gate (see
/// [`Db::begin_write`]) until dropped, and knows which backend it talks to
/// (for the few statements that differ). Dereferences to the connection.
pub struct Gated<C> {
    conn: C,
    backend: Backend,
    _gates: [Option<OwnedMutexGuard<()>>; 2],
}

impl<C> Gated<C> {
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// A write transaction.
pub type Tx = Gated<sqlx::Transaction<'static, sqlx::Any>>;
/// A pooled connection for single background write statements.
pub type Writer = Gated<sqlx::pool::PoolConnection<sqlx::Any>>;

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.conn.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.conn.rollback().await
    }
}

impl<C: std::ops::Deref<Target = sqlx::AnyConnection>> std::ops::Deref for Gated<C> {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<C: std::ops::DerefMut<Target = sqlx::AnyConnection>> std::ops::DerefMut for Gated<C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

/// `($1, $2, …), ($n+1, …)`: the VALUES list of a multi-row INSERT.
pub(crate) fn values_placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let params = (1..=columns)
                .map(|col| format!("${}", row * columns + col))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({params})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0:?} already exists")]
    Conflict(Duplicate),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("'{0}:' is not a database this build supports (sqlite: or postgres:)")]
    UnsupportedUrl(String),
}

pub type DbResult<T> = Result<T, DbError>;

/// What a unique constraint found twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicate {
    /// A user with this email in the tenant.
    Email,
    /// A queued job with the same kind and payload.
    Job,
    /// A webhook subscription for the same calendar.
    Subscription,
    /// The tenant's own OAuth app for a provider.
    OAuthApp,
    /// A booking page slug another host has.
    BookingSlug,
    /// An event type slug the host already uses.
    EventTypeSlug,
    /// A confirmed booking of the host at an overlapping time.
    OverlappingBooking,
    /// A booking made earlier with the same idempotency key.
    IdempotencyKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names; any other scheme is refused rather
    /// than guessed (only the scheme is echoed: the URL may hold a password).
    pub fn of_url(url: &str) -> DbResult<Backend> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(DbError::UnsupportedUrl(
                other.chars().take(32).collect::<String>(),
            )),
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Writers of this process queue here,
    /// in order, rather than in SQLite's busy handler, which polls with
    /// sleeps growing to 100 ms and so turns brief contention into long
    /// stalls. PostgreSQL needs no gate.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Background writers ([`Db::writer`]) queue here first, so at most one
    /// of them waits at the write gate: a request's write never waits
    /// behind a pile of job bookkeeping.
    background_gate: Option<Arc<Mutex<()>>>,
}

/// Proof that a query runs on behalf of one tenant. Only the auth layer (from
/// a verified session) and account creation construct it, and every
/// repository function over tenant-owned rows requires one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: TenantId,
}

impl TenantScope {
    pub(in crate::server) fn new(tenant_id: TenantId) -> Self {
        Self { tenant_id }
    }
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
    pub(crate) fn tenant(&self) -> String {
        self.tenant_id.to_string()
    }
}

/// A tenant scope narrowed to one user, for rows a user owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserScope {
    pub tenant: TenantScope,
    user_id: UserId,
}

impl UserScope {
    pub(in crate::server) fn new(tenant: TenantScope, user_id: UserId) -> Self {
        Self { tenant, user_id }
    }
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
}

/// unscoped: a PostgreSQL notification to every instance listening on
/// `channel`; inside a transaction it is sent on commit.
pub async fn notify<'e, E: Executor<'e, Database = sqlx::Any>>(
    ex: E,
    channel: &str,
    payload: &str,
) -> DbResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(ex)
        .await?;
    Ok(())
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn parse_id<T: FromStr>(text: &str) -> DbResult<T> {
    text.parse()
        .map_err(|_| DbError::Corrupt(format!("bad id '{text}'")))
}

/// `NotFound` when an UPDATE or DELETE touched nothing (wrong id or tenant).
pub(crate) fn found(rows_affected: u64) -> DbResult<()> {
    if rows_affected == 0 {
        Err(DbError::NotFound)
    } else {
        Ok(())
    }
}

/// Maps a unique-constraint violation to a domain conflict.
pub(crate) fn on_unique(err: sqlx::Error, what: Duplicate) -> DbError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Conflict(what),
        _ => DbError::Sqlx(err),
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    pub async fn connect(url: &str) -> DbResult<Self> {
        Self::connect_with(url, None).await
    }

    /// `max_connections` overrides the pool size (SQLite 8, PostgreSQL 16).
    pub async fn connect_with(url: &str, max_connections: Option<u32>) -> DbResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(max_connections.unwrap_or(8))
                    .acquire_timeout(Duration::from_secs(10))
                    // A connection to a local file cannot go stale, and the
                    // ping before each use is a round trip to its worker
                    // thread: about as dear as the query itself.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the single writer;
                            // busy_timeout makes a second writer wait instead of failing.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(max_connections.unwrap_or(16))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        let gate = || (backend == Backend::Sqlite).then(Arc::default);
        Ok(Db {
            pool,
            backend,
            write_gate: gate(),
            background_gate: gate(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub async fn migrate(&self) -> DbResult<()> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// True when the database answers and every known migration is applied.
    pub async fn ready(&self) -> bool {
        let applied: Result<i64, _> =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await;
        matches!(applied, Ok(n) if n as usize >= self.migrator().iter().count())
    }

    async fn pass(gate: &Option<Arc<Mutex<()>>>) -> Option<OwnedMutexGuard<()>> {
        match gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }

    /// A write transaction. On SQLite it passes the write gate and takes the
    /// write lock up front (`BEGIN IMMEDIATE`), so a read-then-write inside
    /// it can never fail half-way with SQLITE_BUSY. Never open a second one
    /// while holding one: the gate would wait for itself.
    pub async fn begin_write(&self) -> DbResult<Tx> {
        let gate = Self::pass(&self.write_gate).await;
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Gated {
            conn: inner,
            backend: self.backend,
            _gates: [gate, None],
        })
    }

    /// A connection for a single background write statement (job claims
    /// and results, meeting updates), through the write gate like
    /// [`Db::begin_write`] but behind at most one other background writer.
    pub async fn writer(&self) -> DbResult<Writer> {
        let background = Self::pass(&self.background_gate).await;
        let gate = Self::pass(&self.write_gate).await;
        Ok(Gated {
            conn: self.pool.acquire().await?,
            backend: self.backend,
            _gates: [gate, background],
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure the SQLite file (and its folder) can be created.
fn sqlite_url_with_create(url: &str) -> DbResult<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    DbError::Corrupt(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
    }
    let mut query = query.to_owned();
    if !query.contains("mode=") {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::{values_placeholders, Backend, DbError};

    #[test]
    fn the_url_scheme_names_the_backend_and_nothing_else_is_guessed() {
        assert_eq!(
            Backend::of_url("sqlite://data/x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        for url in ["mysql://root:hunter2@db/x", "data/calbridge.db", ""] {
            let err = Backend::of_url(url).unwrap_err();
            assert!(matches!(err, DbError::UnsupportedUrl(_)), "{url}");
            assert!(
                !err.to_string().contains("hunter2"),
                "no credentials in {err}"
            );
        }
    }

    #[test]
    fn values_placeholders_number_every_row() {
        assert_eq!(values_placeholders(1, 2), "($1, $2)");
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
