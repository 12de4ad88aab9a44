//! Instance-wide clean-up queries for the housekeeping job. Each works in
//! bounded chunks, so a large backlog never holds the write lock for long.

use super::{Db, DbResult};
use sqlx::FromRow;

/// Rows removed per statement.
const CHUNK: i64 = 2000;

/// What one run removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, FromRow)]
pub struct Run {
    pub finished_at: i64,
    pub sessions: i64,
    pub oauth_states: i64,
    pub webhook_events: i64,
    pub secrets: i64,
    pub duration_ms: i64,
}

/// Runs `statement` (a DELETE bounded by `$2` rows) until it removes fewer
/// than a chunk, each chunk its own short write.
async fn delete_in_chunks(db: &Db, statement: &str, bound: i64) -> DbResult<i64> {
    let mut total = 0;
    loop {
        let removed = sqlx::query(statement)
            .bind(bound)
            .bind(CHUNK)
            .execute(&mut *db.writer().await?)
            .await?
            .rows_affected() as i64;
        total += removed;
        if removed < CHUNK {
            return Ok(total);
        }
    }
}

/// unscoped: housekeeping across all tenants (expired sessions).
pub async fn purge_sessions(db: &Db, now: i64) -> DbResult<i64> {
    delete_in_chunks(
        db,
        "DELETE FROM sessions WHERE token_hash IN \
         (SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
        now,
    )
    .await
}

/// unscoped: housekeeping across all tenants (expired OAuth states; their
/// PKCE verifiers go with the orphaned secrets).
pub async fn purge_oauth_states(db: &Db, now: i64) -> DbResult<i64> {
    delete_in_chunks(
        db,
        "DELETE FROM oauth_states WHERE state_hash IN \
         (SELECT state_hash FROM oauth_states WHERE expires_at <= $1 LIMIT $2)",
        now,
    )
    .await
}

/// unscoped: housekeeping across all tenants (webhook events past retention).
pub async fn purge_webhook_events(db: &Db, received_before: i64) -> DbResult<i64> {
    delete_in_chunks(
        db,
        "DELETE FROM webhook_events WHERE id IN \
         (SELECT id FROM webhook_events WHERE received_at < $1 LIMIT $2)",
        received_before,
    )
    .await
}

/// unscoped: housekeeping across all tenants (sync runs past retention;
/// their items go with them).
pub async fn purge_sync_runs(db: &Db, started_before: i64) -> DbResult<i64> {
    delete_in_chunks(
        db,
        "DELETE FROM sync_runs WHERE id IN \
         (SELECT id FROM sync_runs WHERE started_at < $1 AND outcome <> 'running' LIMIT $2)",
        started_before,
    )
    .await
}

/// Which table owns secrets of each kind, and its key column.
const SECRET_OWNERS: &[(&str, &str, &str)] = &[
    ("connection", "connections", "id"),
    ("subscription", "subscriptions", "id"),
    ("oauth_state", "oauth_states", "state_hash"),
    ("invite", "invites", "id"),
    ("oauth_app", "oauth_apps", "id"),
    ("booking", "bookings", "id"),
    ("api_key", "api_keys", "id"),
];

/// unscoped: housekeeping across all tenants (secrets whose owning row is
/// gone; kinds not listed are left alone).
pub async fn purge_orphaned_secrets(db: &Db) -> DbResult<i64> {
    let mut total = 0;
    for (kind, table, key) in SECRET_OWNERS {
        let statement = format!(
            "DELETE FROM secrets WHERE id IN (SELECT s.id FROM secrets s WHERE s.owner_kind = '{kind}' \
             AND s.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.{key} = s.owner_id) LIMIT $2)"
        );
        // A secret is written just before its owner row in the same
        // transaction; the age bound keeps an in-flight one out of reach.
        total += delete_in_chunks(db, &statement, super::now_ms() - 60_000).await?;
    }
    Ok(total)
}

/// unscoped: new API keys not picked up by their creator in time.
pub async fn purge_key_reveals(db: &Db, stored_before: i64) -> DbResult<i64> {
    delete_in_chunks(
        db,
        "DELETE FROM secrets WHERE id IN (SELECT id FROM secrets WHERE owner_kind = 'api_key' \
         AND purpose = 'reveal' AND updated_at < $1 LIMIT $2)",
        stored_before,
    )
    .await
}

pub async fn record(db: &Db, run: &Run) -> DbResult<()> {
    let mut conn = db.writer().await?;
    sqlx::query(
        "INSERT INTO housekeeping_runs (id, finished_at, sessions, oauth_states, webhook_events, secrets, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(run.finished_at)
    .bind(run.sessions)
    .bind(run.oauth_states)
    .bind(run.webhook_events)
    .bind(run.secrets)
    .bind(run.duration_ms)
    .execute(&mut *conn)
    .await?;
    // The page shows the latest; a month of hourly runs is plenty.
    sqlx::query("DELETE FROM housekeeping_runs WHERE finished_at < $1")
        .bind(run.finished_at - 30 * 24 * 3600 * 1000)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn last(db: &Db) -> DbResult<Option<Run>> {
    Ok(sqlx::query_as::<_, Run>(
        "SELECT finished_at, sessions, oauth_states, webhook_events, secrets, duration_ms \
         FROM housekeeping_runs ORDER BY finished_at DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?)
}
