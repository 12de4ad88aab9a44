//! Provider-side subscriptions: Calendly webhook subscriptions, Google
//! watch channels and Graph subscriptions. Their secrets are in `secrets`.

use super::{found, now_ms, parse_id, DbError, DbResult, TenantScope, UserScope};
use crate::model::{ConnectionId, Provider, SubscriptionId, SubscriptionState};
use sqlx::{Any, Executor, FromRow};

#[derive(FromRow)]
struct Row {
    id: String,
    tenant_id: String,
    connection_id: String,
    provider: String,
    calendar_id: Option<String>,
    external_id: String,
    resource_id: Option<String>,
    state: String,
    expires_at: Option<i64>,
    renew_at: Option<i64>,
    last_error: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub tenant: TenantScope,
    pub connection_id: ConnectionId,
    pub provider: Provider,
    /// Google: the watched calendar.
    pub calendar_id: Option<String>,
    pub external_id: String,
    pub resource_id: Option<String>,
    pub state: SubscriptionState,
    pub expires_at: Option<i64>,
    pub renew_at: Option<i64>,
    pub last_error: Option<String>,
}

impl TryFrom<Row> for Subscription {
    type Error = DbError;
    fn try_from(r: Row) -> DbResult<Self> {
        Ok(Subscription {
            id: parse_id(&r.id)?,
            tenant: TenantScope::new(parse_id(&r.tenant_id)?),
            connection_id: parse_id(&r.connection_id)?,
            provider: r.provider.parse().map_err(DbError::Corrupt)?,
            calendar_id: r.calendar_id,
            external_id: r.external_id,
            resource_id: r.resource_id,
            state: r.state.parse().map_err(DbError::Corrupt)?,
            expires_at: r.expires_at,
            renew_at: r.renew_at,
            last_error: r.last_error,
        })
    }
}

const COLUMNS: &str =
    "id, tenant_id, connection_id, provider, calendar_id, external_id, resource_id, state, \
     expires_at, renew_at, last_error";

pub struct NewSubscription<'a> {
    pub id: SubscriptionId,
    pub connection_id: ConnectionId,
    pub provider: Provider,
    pub calendar_id: Option<&'a str>,
    pub external_id: &'a str,
    pub resource_id: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub renew_at: Option<i64>,
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    new: &NewSubscription<'_>,
) -> DbResult<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO subscriptions (id, tenant_id, connection_id, provider, calendar_id, external_id, resource_id, \
         state, expires_at, renew_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $10)",
    )
    .bind(new.id.to_string())
    .bind(scope.tenant())
    .bind(new.connection_id.to_string())
    .bind(new.provider.as_str())
    .bind(new.calendar_id)
    .bind(new.external_id)
    .bind(new.resource_id)
    .bind(new.expires_at)
    .bind(new.renew_at)
    .bind(now)
    .execute(ex)
    .await
    .map_err(|e| super::on_unique(e, super::Duplicate::Subscription))?;
    Ok(())
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: SubscriptionId,
) -> DbResult<Subscription> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.ok_or(DbError::NotFound)?.try_into()
}

/// The connection's subscriptions that are live or being worked on (not
/// stopped), oldest first.
pub async fn current_for_connection<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: ConnectionId,
) -> DbResult<Vec<Subscription>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND connection_id = $2 AND state <> 'stopped' \
         ORDER BY created_at, id"
    ))
    .bind(scope.tenant())
    .bind(connection.to_string())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Subscription::try_from).collect()
}

/// The live (not stopped) subscriptions of all the owner's connections.
pub async fn current_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
) -> DbResult<Vec<Subscription>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND state <> 'stopped' \
         AND connection_id IN (SELECT id FROM connections WHERE tenant_id = $1 AND user_id = $2)"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Subscription::try_from).collect()
}

/// unscoped: notifications carry only the provider's id (Google channel id,
/// Graph subscription id); the row names the tenant.
pub async fn find_by_external<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    provider: Provider,
    external_id: &str,
) -> DbResult<Option<Subscription>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE provider = $1 AND external_id = $2"
    ))
    .bind(provider.as_str())
    .bind(external_id)
    .fetch_optional(ex)
    .await?;
    row.map(Subscription::try_from).transpose()
}

/// unscoped: the scheduler looks across tenants; each row names its tenant.
///
/// Active or failed subscriptions whose renewal (or retry) is due.
pub async fn due<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    now: i64,
) -> DbResult<Vec<Subscription>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE state IN ('active', 'failed') AND renew_at <= $1"
    ))
    .bind(now)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Subscription::try_from).collect()
}

/// After a successful renewal.
pub async fn renewed<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: SubscriptionId,
    expires_at: Option<i64>,
    renew_at: Option<i64>,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE subscriptions SET state = 'active', expires_at = $1, renew_at = $2, last_error = NULL, updated_at = $3 \
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(expires_at)
    .bind(renew_at)
    .bind(now_ms())
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

/// Moves a subscription to `state`, keeping the provider's words and when
/// to look at it again.
pub async fn set_state<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: SubscriptionId,
    state: SubscriptionState,
    last_error: Option<&str>,
    renew_at: Option<i64>,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE subscriptions SET state = $1, last_error = $2, renew_at = $3, updated_at = $4 \
         WHERE tenant_id = $5 AND id = $6",
    )
    .bind(state.as_str())
    .bind(last_error)
    .bind(renew_at)
    .bind(now_ms())
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

/// Marks every live subscription of a connection for deletion at the
/// provider (disconnecting).
pub async fn stop_all_for_connection<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: ConnectionId,
) -> DbResult<u64> {
    let done = sqlx::query(
        "UPDATE subscriptions SET state = 'stopping', renew_at = NULL, updated_at = $1 \
         WHERE tenant_id = $2 AND connection_id = $3 AND state IN ('active', 'failed')",
    )
    .bind(now_ms())
    .bind(scope.tenant())
    .bind(connection.to_string())
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// A connection's subscriptions follow its provider account to a new
/// tenant, all marked for deletion at the provider; their secrets, sealed
/// to the old tenant, are forgotten (a stopping subscription verifies
/// nothing).
pub async fn hand_over(
    conn: &mut sqlx::AnyConnection,
    from: &TenantScope,
    to: &TenantScope,
    connection: ConnectionId,
) -> DbResult<()> {
    sqlx::query(
        "DELETE FROM secrets WHERE tenant_id = $1 AND owner_kind = 'subscription' AND owner_id IN \
         (SELECT id FROM subscriptions WHERE tenant_id = $1 AND connection_id = $2)",
    )
    .bind(from.tenant())
    .bind(connection.to_string())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE subscriptions SET tenant_id = $1, renew_at = NULL, updated_at = $2, \
         state = CASE WHEN state = 'stopped' THEN 'stopped' ELSE 'stopping' END \
         WHERE tenant_id = $3 AND connection_id = $4",
    )
    .bind(to.tenant())
    .bind(now_ms())
    .bind(from.tenant())
    .bind(connection.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
