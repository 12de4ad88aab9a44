//! Received webhooks: one row per delivery worth keeping, deduplicated by
//! a provider-specific key.

use super::activity::{self, Counted, Tallies};
use super::{now_ms, parse_id, Db, DbError, DbResult, TenantScope};
use crate::model::{ConnectionId, Provider, UserId};
use sqlx::{Any, AnyConnection, Executor, FromRow};

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookResult {
    Queued,
    Processed,
    Ignored,
    Unrouted,
    Rejected,
    Failed,
}

impl WebhookResult {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookResult::Queued => "queued",
            WebhookResult::Processed => "processed",
            WebhookResult::Ignored => "ignored",
            WebhookResult::Unrouted => "unrouted",
            WebhookResult::Rejected => "rejected",
            WebhookResult::Failed => "failed",
        }
    }
}

impl WebhookResult {
    /// How a stored delivery counts in the overview's figures; deliveries
    /// tied to no tenant (unrouted) count for nobody.
    pub fn counted(self) -> Option<Counted> {
        match self {
            WebhookResult::Queued => Some(Counted::Queued),
            WebhookResult::Processed => Some(Counted::Processed),
            WebhookResult::Ignored => Some(Counted::Ignored),
            WebhookResult::Rejected => Some(Counted::Rejected),
            WebhookResult::Failed => Some(Counted::Failed),
            WebhookResult::Unrouted => None,
        }
    }
}

/// A delivery to record. Owned, so it can wait in the ingest writer's
/// queue after the request that made it has moved on.
pub struct NewEvent {
    pub tenant: Option<TenantScope>,
    pub user: Option<UserId>,
    pub connection: Option<ConnectionId>,
    pub provider: Provider,
    pub event_type: String,
    pub dedupe_key: Option<String>,
    pub result: WebhookResult,
    pub detail: Option<String>,
    pub payload: Option<String>,
}

/// Columns bound per event by [`insert_many`].
const INSERT_COLUMNS: usize = 11;
/// Events per INSERT statement. Small enough that binding stays cheap:
/// SQLite looks each `$n` name up in a list, so a statement's binding time
/// grows with the square of its parameter count.
const ROWS_PER_STATEMENT: usize = 32;

/// unscoped: a delivery may arrive for no tenant (unrouted); each row names
/// its tenant when there is one.
///
/// Inserts `events` (each with the id the caller chose, all received at
/// `received_at`, unix ms) in one statement;
/// for each, whether it was new. An event whose dedupe key was seen before
/// (earlier, or earlier in this batch) is not inserted; the original's
/// duplicate count goes up instead.
pub async fn insert_many(
    conn: &mut AnyConnection,
    events: &[(&str, &NewEvent)],
    received_at: i64,
) -> DbResult<Vec<bool>> {
    let mut inserted = std::collections::HashSet::new();
    // In dedupe-key order, so concurrent batches that share keys wait for
    // each other instead of deadlocking (PostgreSQL).
    let mut ordered = events.to_vec();
    ordered.sort_by_key(|(_, e)| (e.provider.as_str(), e.dedupe_key.as_deref()));
    for chunk in ordered.chunks(ROWS_PER_STATEMENT) {
        let values = super::values_placeholders(chunk.len(), INSERT_COLUMNS);
        let sql = format!(
            "INSERT INTO webhook_events (id, tenant_id, user_id, connection_id, provider, event_type, dedupe_key, result, \
             detail, payload, received_at) VALUES {values} \
             ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING id"
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for (id, new) in chunk {
            query = query
                .bind(*id)
                .bind(new.tenant.as_ref().map(TenantScope::tenant))
                .bind(new.user.map(|u| u.to_string()))
                .bind(new.connection.map(|c| c.to_string()))
                .bind(new.provider.as_str())
                .bind(new.event_type.as_str())
                .bind(new.dedupe_key.as_deref())
                .bind(new.result.as_str())
                .bind(new.detail.as_deref())
                .bind(new.payload.as_deref())
                .bind(received_at);
        }
        inserted.extend(query.fetch_all(&mut *conn).await?);
    }
    // Ordered, so the originals are updated in key order too.
    let mut repeats: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
    for (id, new) in events {
        if let (false, Some(key)) = (inserted.contains(*id), new.dedupe_key.as_deref()) {
            *repeats.entry((new.provider.as_str(), key)).or_default() += 1;
        }
    }
    for ((provider, key), count) in repeats {
        sqlx::query(
            "UPDATE webhook_events SET duplicates = duplicates + $1 WHERE provider = $2 AND dedupe_key = $3",
        )
        .bind(count)
        .bind(provider)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(events
        .iter()
        .map(|(id, _)| inserted.contains(*id))
        .collect())
}

#[derive(FromRow)]
struct Row {
    id: String,
    connection_id: Option<String>,
    event_type: String,
    payload: Option<String>,
}

/// What a processing job needs of its event.
pub struct StoredEvent {
    pub id: String,
    pub connection: ConnectionId,
    pub event_type: String,
    pub payload: serde_json::Value,
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: &str,
) -> DbResult<StoredEvent> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, connection_id, event_type, payload FROM webhook_events WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant())
    .bind(id)
    .fetch_optional(ex)
    .await?;
    let row = row.ok_or(DbError::NotFound)?;
    Ok(StoredEvent {
        connection: parse_id(row.connection_id.as_deref().unwrap_or_default())?,
        payload: serde_json::from_str(row.payload.as_deref().unwrap_or("null"))
            .map_err(|e| DbError::Corrupt(format!("webhook payload: {e}")))?,
        id: row.id,
        event_type: row.event_type,
    })
}

/// How a stored result counts in the overview's figures.
fn counted(result: &str) -> Option<Counted> {
    match result {
        "queued" => Some(Counted::Queued),
        "processed" => Some(Counted::Processed),
        "ignored" => Some(Counted::Ignored),
        "rejected" => Some(Counted::Rejected),
        "failed" => Some(Counted::Failed),
        _ => None,
    }
}

/// Moves the overview's count of one delivery from its old result to its
/// new one.
fn tally_move(
    tallies: &mut Tallies,
    scope: &TenantScope,
    provider: &str,
    received_at: i64,
    from: &str,
    to: &str,
) -> DbResult<()> {
    if let (Some(from), Some(to)) = (counted(from), counted(to)) {
        let provider = provider.parse().map_err(DbError::Corrupt)?;
        tallies
            .at(scope, provider, activity::hour_of(received_at))
            .moved(from, to, 1);
    }
    Ok(())
}

/// Records what processing made of a delivery, and moves it in the
/// overview's figures, in one transaction.
pub async fn finish(
    db: &Db,
    scope: &TenantScope,
    id: &str,
    result: WebhookResult,
    detail: Option<&str>,
) -> DbResult<()> {
    let mut tx = db.begin_write().await?;
    // Conditional on the result read, so a concurrent change (PostgreSQL)
    // makes this look again instead of moving the wrong count.
    let (old, provider, received_at) = loop {
        let before: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT result, provider, received_at FROM webhook_events WHERE tenant_id = $1 AND id = $2",
        )
        .bind(scope.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (old, provider, received_at) = before.ok_or(DbError::NotFound)?;
        let done = sqlx::query(
            "UPDATE webhook_events SET result = $1, detail = $2, processed_at = $3 \
             WHERE tenant_id = $4 AND id = $5 AND result = $6",
        )
        .bind(result.as_str())
        .bind(detail)
        .bind(now_ms())
        .bind(scope.tenant())
        .bind(id)
        .bind(&old)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            break (old, provider, received_at);
        }
    };
    let mut tallies = Tallies::default();
    tally_move(
        &mut tallies,
        scope,
        &provider,
        received_at,
        &old,
        result.as_str(),
    )?;
    activity::add(&mut tx, &tallies).await?;
    tx.commit().await?;
    Ok(())
}

/// After a sync: every notification for the connection received before it
/// started is processed (and counted so in the overview).
pub async fn finish_queued_before(
    db: &Db,
    scope: &TenantScope,
    connection: ConnectionId,
    received_before: i64,
) -> DbResult<u64> {
    let mut tx = db.begin_write().await?;
    let done: Vec<(String, i64)> = sqlx::query_as(
        "UPDATE webhook_events SET result = 'processed', processed_at = $1 \
         WHERE tenant_id = $2 AND connection_id = $3 AND result = 'queued' AND received_at <= $4 \
         RETURNING provider, received_at",
    )
    .bind(now_ms())
    .bind(scope.tenant())
    .bind(connection.to_string())
    .bind(received_before)
    .fetch_all(&mut *tx)
    .await?;
    let mut tallies = Tallies::default();
    for (provider, received_at) in &done {
        tally_move(
            &mut tallies,
            scope,
            provider,
            *received_at,
            "queued",
            "processed",
        )?;
    }
    activity::add(&mut tx, &tallies).await?;
    tx.commit().await?;
    Ok(done.len() as u64)
}

pub struct EventRow {
    pub id: String,
    pub provider: String,
    pub event_type: String,
    pub user_email: Option<String>,
    pub dedupe_key: Option<String>,
    pub result: String,
    pub detail: Option<String>,
    pub duplicates: i64,
    pub received_at: i64,
    pub processed_at: Option<i64>,
    pub payload: Option<String>,
}

type EventTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// The tenant's webhook events, newest first, filtered by provider and
/// result and searched in type, dedupe key and detail.
pub async fn list_for_tenant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    provider: Option<Provider>,
    result: Option<&str>,
    search: Option<&str>,
    limit: i64,
) -> DbResult<Vec<EventRow>> {
    let pattern = search.map(|s| format!("%{}%", s.to_lowercase()));
    let rows: Vec<EventTuple> = sqlx::query_as(
        "SELECT e.id, e.provider, e.event_type, u.email, e.dedupe_key, e.result, e.detail, e.duplicates, \
         e.received_at, e.processed_at, e.payload \
         FROM webhook_events e LEFT JOIN users u ON u.id = e.user_id AND u.tenant_id = e.tenant_id \
         WHERE e.tenant_id = $1 AND ($2 = '' OR e.provider = $2) AND ($3 = '' OR e.result = $3) \
         AND ($4 = '' OR lower(e.event_type) LIKE $4 OR lower(COALESCE(e.dedupe_key, '')) LIKE $4 \
              OR lower(COALESCE(e.detail, '')) LIKE $4 OR lower(COALESCE(u.email, '')) LIKE $4) \
         ORDER BY e.received_at DESC, e.id DESC LIMIT $5",
    )
    .bind(scope.tenant())
    .bind(provider.map(Provider::as_str).unwrap_or(""))
    .bind(result.unwrap_or(""))
    .bind(pattern.as_deref().unwrap_or(""))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EventRow {
            id: r.0,
            provider: r.1,
            event_type: r.2,
            user_email: r.3,
            dedupe_key: r.4,
            result: r.5,
            detail: r.6,
            duplicates: r.7,
            received_at: r.8,
            processed_at: r.9,
            payload: r.10,
        })
        .collect())
}

/// Which processing a stored event needs again (admin Replay).
pub struct Replayable {
    pub provider: Provider,
    pub connection: ConnectionId,
}

/// Marks a routed event queued again (and counts it so in the overview);
/// what to re-run.
pub async fn requeue(
    conn: &mut AnyConnection,
    scope: &TenantScope,
    id: &str,
) -> DbResult<Replayable> {
    let before: Option<(String, i64)> = sqlx::query_as(
        "SELECT result, received_at FROM webhook_events WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (old, received_at) = before.ok_or(DbError::NotFound)?;
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "UPDATE webhook_events SET result = 'queued', processed_at = NULL, detail = NULL \
         WHERE tenant_id = $1 AND id = $2 AND connection_id IS NOT NULL AND dedupe_key IS NOT NULL \
         AND result NOT IN ('rejected', 'unrouted', 'ignored') AND result = $3 \
         RETURNING provider, connection_id",
    )
    .bind(scope.tenant())
    .bind(id)
    .bind(&old)
    .fetch_optional(&mut *conn)
    .await?;
    let (provider, connection) = row.ok_or(DbError::NotFound)?;
    let mut tallies = Tallies::default();
    tally_move(&mut tallies, scope, &provider, received_at, &old, "queued")?;
    activity::add(conn, &tallies).await?;
    Ok(Replayable {
        provider: provider.parse().map_err(DbError::Corrupt)?,
        connection: parse_id(connection.as_deref().unwrap_or_default())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrouted_deliveries_count_for_no_tenant() {
        assert_eq!(WebhookResult::Unrouted.counted(), None);
        assert_eq!(WebhookResult::Failed.counted(), Some(Counted::Failed));
        assert_eq!(counted("queued"), Some(Counted::Queued));
        assert_eq!(counted("unrouted"), None);
    }
}
