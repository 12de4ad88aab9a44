//! The durable job queue's storage. Workers claim jobs with a lease; a
//! lease that runs out (the worker died) makes the job claimable again, so
//! every job may run more than once and every handler is idempotent.

use super::{found, now_ms, parse_id, Backend, DbError, DbResult, TenantScope, Tx, Writer};
use crate::model::{JobId, JobStatus};
use sqlx::{Any, AnyConnection, Executor, FromRow};

/// Where [`notify_channel`] wakes workers on other instances (PostgreSQL).
pub const NOTIFY_CHANNEL: &str = "calbridge_jobs";

pub struct NewJob<'a> {
    pub tenant: Option<&'a TenantScope>,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    /// Jobs with one key coalesce while queued and never run side by side.
    pub coalesce_key: Option<&'a str>,
    pub run_at: i64,
    pub max_attempts: i64,
}

/// Queues a job inside the caller's transaction. A coalesced job that is
/// already queued is moved earlier if needed instead of duplicated. On
/// PostgreSQL the notification that wakes other instances is sent on commit.
pub async fn enqueue(tx: &mut Tx, job: NewJob<'_>) -> DbResult<JobId> {
    let mut ids = enqueue_many(tx, std::slice::from_ref(&job)).await?;
    ids.pop()
        .ok_or_else(|| DbError::Corrupt("enqueue returned no id".into()))
}

/// Columns bound per job by [`insert_plain`].
const INSERT_COLUMNS: usize = 10;
/// Jobs per INSERT statement (see webhook_events' ROWS_PER_STATEMENT).
const ROWS_PER_STATEMENT: usize = 32;

/// [`enqueue`] for many jobs: those without a coalescing key go in with one
/// statement per [`ROWS_PER_STATEMENT`], and every instance gets one wake-up.
/// The ids come back in the order of `jobs`.
pub async fn enqueue_many(tx: &mut Tx, jobs: &[NewJob<'_>]) -> DbResult<Vec<JobId>> {
    let backend = tx.backend();
    let conn: &mut AnyConnection = tx;
    // Coalesced jobs go in ordered by key, so transactions that touch the
    // same keys wait for each other instead of deadlocking.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| jobs[i].coalesce_key);
    let mut ids: Vec<Option<JobId>> = vec![None; jobs.len()];
    let mut plain = Vec::new();
    for i in order {
        ids[i] = Some(match jobs[i].coalesce_key {
            None => {
                let id = JobId::generate();
                plain.push((id, &jobs[i]));
                id
            }
            Some(_) => insert_coalesced(conn, backend, &jobs[i]).await?,
        });
    }
    for chunk in plain.chunks(ROWS_PER_STATEMENT) {
        insert_plain(conn, chunk).await?;
    }
    if backend == Backend::Postgres && !jobs.is_empty() {
        super::notify(&mut *conn, NOTIFY_CHANNEL, "").await?;
    }
    Ok(ids.into_iter().flatten().collect())
}

async fn insert_plain(conn: &mut AnyConnection, jobs: &[(JobId, &NewJob<'_>)]) -> DbResult<()> {
    let sql = format!(
        "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES {}",
        super::values_placeholders(jobs.len(), INSERT_COLUMNS)
    );
    let now = now_ms();
    let mut query = sqlx::query(&sql);
    for (id, job) in jobs {
        query = query
            .bind(id.to_string())
            .bind(job.tenant.map(TenantScope::tenant))
            .bind(job.kind)
            .bind(job.payload.to_string())
            .bind("queued")
            .bind(job.run_at)
            .bind(0_i64)
            .bind(job.max_attempts)
            .bind(now)
            .bind(now);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn insert_coalesced(
    conn: &mut AnyConnection,
    backend: Backend,
    job: &NewJob<'_>,
) -> DbResult<JobId> {
    let id = JobId::generate();
    let now = now_ms();
    let earliest = match backend {
        Backend::Sqlite => "min(jobs.run_at, excluded.run_at)",
        Backend::Postgres => "LEAST(jobs.run_at, excluded.run_at)",
    };
    let stored: String = sqlx::query_scalar(&format!(
        "INSERT INTO jobs (id, tenant_id, kind, payload, coalesce_key, status, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, 0, $7, $8, $8) \
         ON CONFLICT (coalesce_key) WHERE status = 'queued' AND coalesce_key IS NOT NULL \
         DO UPDATE SET run_at = {earliest}, updated_at = excluded.updated_at \
         RETURNING id"
    ))
    .bind(id.to_string())
    .bind(job.tenant.map(TenantScope::tenant))
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.coalesce_key)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    parse_id(&stored)
}

/// A claimed job.
pub struct Job {
    pub id: JobId,
    pub tenant: Option<TenantScope>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Including this run.
    pub attempts: i64,
    pub max_attempts: i64,
}

#[derive(FromRow)]
struct ClaimedRow {
    id: String,
    tenant_id: Option<String>,
    kind: String,
    payload: String,
    attempts: i64,
    max_attempts: i64,
}

/// unscoped: the queue serves every tenant; each job carries its tenant.
///
/// Claims up to `limit` due jobs for `owner` until `lease_until`: queued
/// ones, and running ones whose lease ran out with attempts left (their
/// worker died; [`bury_abandoned`] handles the rest).
pub async fn claim(
    writer: &mut Writer,
    owner: &str,
    limit: i64,
    lease_until: i64,
) -> DbResult<Vec<Job>> {
    let now = now_ms();
    let lock = match writer.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    // Due queued jobs and reclaimable ones are picked separately, each
    // limited in index order: one OR over both made SQLite collect and sort
    // every due job on each claim, which slowed down as the backlog grew.
    let not_running_elsewhere = "(j.coalesce_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs r \
         WHERE r.coalesce_key = j.coalesce_key AND r.status = 'running' AND r.id <> j.id AND r.lease_expires_at >= $3))";
    let rows: Vec<ClaimedRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id IN (SELECT id FROM ( \
           SELECT id, run_at FROM (SELECT j.id, j.run_at FROM jobs j \
             WHERE j.status = 'queued' AND j.run_at <= $3 AND {not_running_elsewhere} \
             ORDER BY j.run_at LIMIT $4 {lock}) queued \
           UNION ALL \
           SELECT id, run_at FROM (SELECT j.id, j.run_at FROM jobs j \
             WHERE j.status = 'running' AND j.lease_expires_at < $3 AND j.attempts < j.max_attempts \
             AND {not_running_elsewhere} LIMIT $4 {lock}) expired \
         ) due ORDER BY run_at LIMIT $4) \
         RETURNING id, tenant_id, kind, payload, attempts, max_attempts"
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut **writer)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Job {
                id: parse_id(&r.id)?,
                tenant: r
                    .tenant_id
                    .as_deref()
                    .map(parse_id)
                    .transpose()?
                    .map(TenantScope::new),
                kind: r.kind,
                payload: serde_json::from_str(&r.payload)
                    .map_err(|e| DbError::Corrupt(format!("job payload: {e}")))?,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
            })
        })
        .collect()
}

/// unscoped: housekeeping across tenants.
///
/// Buries running jobs whose lease ran out during their final attempt.
pub async fn bury_abandoned<'e, E: Executor<'e, Database = Any>>(ex: E) -> DbResult<u64> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL, finished_at = $1, updated_at = $1, \
         last_error = 'the worker stopped during the final attempt' \
         WHERE status = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts",
    )
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// unscoped: leases belong to the worker, whatever the tenant.
///
/// Extends the leases `owner` still holds.
pub async fn heartbeat<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &str,
    lease_until: i64,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE jobs SET lease_expires_at = $2 WHERE lease_owner = $1 AND status = 'running'",
    )
    .bind(owner)
    .bind(lease_until)
    .execute(ex)
    .await?;
    Ok(())
}

/// unscoped: only the lease holder finishes a job.
pub async fn complete<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: JobId,
    owner: &str,
) -> DbResult<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, finished_at = $3, updated_at = $3, last_error = NULL \
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id.to_string())
    .bind(owner)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// unscoped: only the lease holder reschedules a job.
///
/// Records a failed attempt: queued again at `retry_at`, or dead when
/// `retry_at` is `None`.
pub async fn fail<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: JobId,
    owner: &str,
    error: &str,
    retry_at: Option<i64>,
) -> DbResult<()> {
    let now = now_ms();
    let (status, run_at, finished) = match retry_at {
        Some(at) => ("queued", Some(at), None),
        None => ("dead", None, Some(now)),
    };
    // A coalesced job whose twin is already queued is covered by the twin.
    sqlx::query(
        "UPDATE jobs SET status = CASE WHEN $3 = 'queued' AND coalesce_key IS NOT NULL AND EXISTS \
           (SELECT 1 FROM jobs q WHERE q.coalesce_key = jobs.coalesce_key AND q.status = 'queued') THEN 'done' ELSE $3 END, \
         run_at = COALESCE($4, run_at), finished_at = $5, last_error = $6, \
         lease_owner = NULL, lease_expires_at = NULL, updated_at = $7 \
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id.to_string())
    .bind(owner)
    .bind(status)
    .bind(run_at)
    .bind(finished)
    .bind(error)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// unscoped: returns every lease of a worker that is shutting down.
///
/// The interrupted attempt does not count.
pub async fn release<'e, E: Executor<'e, Database = Any> + Copy>(
    ex: E,
    owner: &str,
) -> DbResult<u64> {
    let now = now_ms();
    // A coalesced job whose twin is already queued is covered by the twin.
    sqlx::query(
        "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, finished_at = $2, updated_at = $2 \
         WHERE lease_owner = $1 AND status = 'running' AND coalesce_key IS NOT NULL AND EXISTS \
           (SELECT 1 FROM jobs q WHERE q.coalesce_key = jobs.coalesce_key AND q.status = 'queued')",
    )
    .bind(owner)
    .bind(now)
    .execute(ex)
    .await?;
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2 \
         WHERE lease_owner = $1 AND status = 'running'",
    )
    .bind(owner)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// unscoped: instance-wide; the earliest queued run of a job kind.
pub async fn next_run<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    kind: &str,
) -> DbResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE kind = $1 AND status = 'queued'")
            .bind(kind)
            .fetch_one(ex)
            .await?,
    )
}

/// unscoped: housekeeping across tenants; finished jobs are history only.
pub async fn purge_done<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    finished_before: i64,
) -> DbResult<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND finished_at < $1")
        .bind(finished_before)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

pub struct JobRow {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub updated_at: i64,
    pub last_error: Option<String>,
}

#[derive(FromRow)]
struct ListRow {
    id: String,
    kind: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    updated_at: i64,
    last_error: Option<String>,
}

/// The tenant's jobs, newest first, optionally of one status.
pub async fn list_for_tenant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    status: Option<JobStatus>,
    limit: i64,
) -> DbResult<Vec<JobRow>> {
    let rows: Vec<ListRow> = sqlx::query_as(
        "SELECT id, kind, status, attempts, max_attempts, run_at, updated_at, last_error FROM jobs \
         WHERE tenant_id = $1 AND ($2 = '' OR status = $2) ORDER BY updated_at DESC, id DESC LIMIT $3",
    )
    .bind(scope.tenant())
    .bind(status.map(JobStatus::as_str).unwrap_or(""))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(JobRow {
                id: parse_id(&r.id)?,
                kind: r.kind,
                status: r.status.parse().map_err(DbError::Corrupt)?,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
                run_at: r.run_at,
                updated_at: r.updated_at,
                last_error: r.last_error,
            })
        })
        .collect()
}

/// How many of the tenant's jobs are in each status.
pub async fn counts_for_tenant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<(JobStatus, i64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM jobs WHERE tenant_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|(s, n)| Ok((s.parse().map_err(DbError::Corrupt)?, n)))
        .collect()
}

/// Gives a dead job a fresh set of attempts, now.
pub async fn retry_dead<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: JobId,
) -> DbResult<()> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $3, finished_at = NULL, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'dead'",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(now)
    .execute(ex)
    .await
    .map_err(|e| super::on_unique(e, super::Duplicate::Job))?;
    found(done.rows_affected())
}

/// Deletes a dead job for good.
pub async fn discard_dead<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: JobId,
) -> DbResult<()> {
    let done = sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND id = $2 AND status = 'dead'")
        .bind(scope.tenant())
        .bind(id.to_string())
        .execute(ex)
        .await?;
    found(done.rows_affected())
}

/// Drops the queued jobs about one connection (by the `connection` field
/// of their payload): its provider account moved to another person.
pub async fn drop_queued_for_connection<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: crate::model::ConnectionId,
) -> DbResult<u64> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE tenant_id = $1 AND status = 'queued' AND payload LIKE $2",
    )
    .bind(scope.tenant())
    .bind(format!("%\"connection\":\"{connection}\"%"))
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
