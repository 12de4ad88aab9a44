//! The `connections` table: a person's link to a provider account, its
//! encrypted tokens, refresh lease, state and change-feed cursor.

use super::{found, now_ms, parse_id, DbError, DbResult, TenantScope, UserScope};
use crate::model::{ConflictPolicy, ConnectionId, ConnectionState, Provider, SyncMode, UserId};
use sqlx::{Any, Executor, FromRow};

#[derive(FromRow)]
struct Row {
    id: String,
    tenant_id: String,
    user_id: String,
    provider: String,
    provider_account_id: String,
    account_email: String,
    account_name: String,
    state: String,
    token_expires_at: Option<i64>,
    connected_at: i64,
    last_sync_at: Option<i64>,
    last_error: Option<String>,
    organization: Option<String>,
    public_id: Option<String>,
    sync_mode: String,
    booking_calendar_id: Option<String>,
    conflict_policy: String,
}

pub struct Connection {
    pub id: ConnectionId,
    pub owner: UserScope,
    pub provider: Provider,
    pub provider_account_id: String,
    pub account_email: String,
    pub account_name: String,
    pub state: ConnectionState,
    pub token_expires_at: Option<i64>,
    pub connected_at: i64,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
    /// Calendly organization URI.
    pub organization: Option<String>,
    /// The random id in the connection's webhook URL.
    pub public_id: String,
    pub sync_mode: SyncMode,
    pub booking_calendar_id: Option<String>,
    /// What two-way sync does when both sides changed.
    pub conflict_policy: ConflictPolicy,
}

impl TryFrom<Row> for Connection {
    type Error = DbError;
    fn try_from(r: Row) -> DbResult<Self> {
        let tenant = TenantScope::new(parse_id(&r.tenant_id)?);
        let user: UserId = parse_id(&r.user_id)?;
        Ok(Connection {
            id: parse_id(&r.id)?,
            owner: UserScope::new(tenant, user),
            provider: r.provider.parse().map_err(DbError::Corrupt)?,
            provider_account_id: r.provider_account_id,
            account_email: r.account_email,
            account_name: r.account_name,
            state: r.state.parse().map_err(DbError::Corrupt)?,
            token_expires_at: r.token_expires_at,
            connected_at: r.connected_at,
            last_sync_at: r.last_sync_at,
            last_error: r.last_error,
            organization: r.organization,
            public_id: r.public_id.unwrap_or_default(),
            sync_mode: r.sync_mode.parse().map_err(DbError::Corrupt)?,
            booking_calendar_id: r.booking_calendar_id,
            conflict_policy: r.conflict_policy.parse().map_err(DbError::Corrupt)?,
        })
    }
}

const COLUMNS: &str =
    "id, tenant_id, user_id, provider, provider_account_id, account_email, account_name, \
     state, token_expires_at, connected_at, last_sync_at, last_error, organization, public_id, sync_mode, \
     booking_calendar_id, conflict_policy";

pub async fn list_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
) -> DbResult<Vec<Connection>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND user_id = $2 ORDER BY provider, connected_at"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Connection::try_from).collect()
}

/// A tenant's connections with their owners, optionally filtered.
pub async fn list_for_tenant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    provider: Option<Provider>,
    state: Option<ConnectionState>,
) -> DbResult<Vec<(Connection, String, String)>> {
    #[derive(FromRow)]
    struct Owned {
        #[sqlx(flatten)]
        row: Row,
        user_name: String,
        user_email: String,
    }
    let rows: Vec<Owned> = sqlx::query_as(
        "SELECT c.id, c.tenant_id, c.user_id, c.provider, c.provider_account_id, c.account_email, c.account_name, \
         c.state, c.token_expires_at, c.connected_at, c.last_sync_at, c.last_error, c.organization, c.public_id, \
         c.sync_mode, c.booking_calendar_id, c.conflict_policy, u.name AS user_name, u.email AS user_email \
         FROM connections c JOIN users u ON u.id = c.user_id AND u.tenant_id = c.tenant_id \
         WHERE c.tenant_id = $1 AND ($2 = '' OR c.provider = $2) AND ($3 = '' OR c.state = $3) \
         ORDER BY u.name, c.provider",
    )
    .bind(scope.tenant())
    .bind(provider.map(Provider::as_str).unwrap_or(""))
    .bind(state.map(ConnectionState::as_str).unwrap_or(""))
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|o| Ok((Connection::try_from(o.row)?, o.user_name, o.user_email)))
        .collect()
}

/// Any connection of the tenant, for admins.
pub async fn get_in_tenant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: ConnectionId,
) -> DbResult<Connection> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.ok_or(DbError::NotFound)?.try_into()
}

pub async fn get_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
) -> DbResult<Connection> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND user_id = $2 AND id = $3"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.ok_or(DbError::NotFound)?.try_into()
}

/// unscoped: one provider account belongs to one calbridge user across all
/// tenants, so linking checks every tenant's connections.
pub async fn find_by_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    provider: Provider,
    provider_account_id: &str,
) -> DbResult<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE provider = $1 AND provider_account_id = $2"
    ))
    .bind(provider.as_str())
    .bind(provider_account_id)
    .fetch_optional(ex)
    .await?;
    row.map(Connection::try_from).transpose()
}

pub struct LinkedAccount<'a> {
    pub provider: Provider,
    pub provider_account_id: &'a str,
    pub account_email: &'a str,
    pub account_name: &'a str,
    pub organization: Option<&'a str>,
    pub token_expires_at: Option<i64>,
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    account: &LinkedAccount<'_>,
) -> DbResult<ConnectionId> {
    let id = ConnectionId::generate();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO connections (id, tenant_id, user_id, provider, provider_account_id, account_email, account_name, \
         organization, state, token_expires_at, connected_at, created_at, updated_at, public_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'connected', $9, $10, $10, $10, $11)",
    )
    .bind(id.to_string())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(account.provider.as_str())
    .bind(account.provider_account_id)
    .bind(account.account_email)
    .bind(account.account_name)
    .bind(account.organization)
    .bind(account.token_expires_at)
    .bind(now)
    .bind(crate::server::platform::vault::crypto::random_token())
    .execute(ex)
    .await?;
    Ok(id)
}

/// Where a connection's tokens stand: when the access token expires, and
/// the version every stored refresh bumps.
pub struct TokenStamp {
    pub expires_at: Option<i64>,
    pub version: i64,
}

pub async fn token_stamp<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
) -> DbResult<TokenStamp> {
    let row: Option<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT token_expires_at, token_version FROM connections WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    let (expires_at, version) = row.ok_or(DbError::NotFound)?;
    Ok(TokenStamp {
        expires_at,
        version,
    })
}

/// Takes the connection's refresh lease for `holder` until `until`, unless
/// someone else holds an unexpired one. One short statement: no
/// transaction stays open while the provider is called.
pub async fn take_refresh_lease<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    holder: &str,
    until: i64,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE connections SET refresh_lease_owner = $1, refresh_lease_until = $2 \
         WHERE tenant_id = $3 AND user_id = $4 AND id = $5 \
         AND (refresh_lease_until IS NULL OR refresh_lease_until < $6 OR refresh_lease_owner = $1)",
    )
    .bind(holder)
    .bind(until)
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .bind(now_ms())
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release_refresh_lease<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    holder: &str,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE connections SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND refresh_lease_owner = $4",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .bind(holder)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a refresh if nobody stored one since `seen_version` was read
/// (compare-and-set), releasing the lease. False: someone else's tokens
/// are newer and stay.
pub async fn record_refresh<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    seen_version: i64,
    expires_at: Option<i64>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE connections SET token_expires_at = $1, token_version = token_version + 1, \
         refresh_lease_owner = NULL, refresh_lease_until = NULL, updated_at = $2 \
         WHERE tenant_id = $3 AND user_id = $4 AND id = $5 AND token_version = $6",
    )
    .bind(expires_at)
    .bind(now_ms())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .bind(seen_version)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Reconnecting: fresh account details, state back to connected.
/// unscoped: a disconnected account may move to a new owner in another tenant.
pub async fn reconnect<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    account: &LinkedAccount<'_>,
) -> DbResult<()> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE connections SET tenant_id = $1, user_id = $2, account_email = $3, account_name = $4, organization = $5, \
         state = 'connected', token_expires_at = $6, connected_at = $7, last_error = NULL, updated_at = $7, \
         sync_mode = 'webhook', token_version = token_version + 1 \
         WHERE id = $8 AND (state = 'disconnected' OR (tenant_id = $1 AND user_id = $2))",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(account.account_email)
    .bind(account.account_name)
    .bind(account.organization)
    .bind(account.token_expires_at)
    .bind(now)
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

pub async fn set_state<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    state: ConnectionState,
    last_error: Option<&str>,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE connections SET state = $1, last_error = $2, updated_at = $3 \
         WHERE tenant_id = $4 AND user_id = $5 AND id = $6",
    )
    .bind(state.as_str())
    .bind(last_error)
    .bind(now_ms())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

/// What [`lock`] read.
pub struct Locked {
    pub state: ConnectionState,
    pub token_expires_at: Option<i64>,
}

/// Inside a write transaction: the connection's state and token expiry,
/// with the row locked (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE`
/// already holds the write lock), so a disconnect and a recorded
/// subscription wait for each other.
pub async fn lock(tx: &mut super::Tx, owner: &UserScope, id: ConnectionId) -> DbResult<Locked> {
    let lock = if tx.backend() == super::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row: Option<(String, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT state, token_expires_at FROM connections WHERE tenant_id = $1 AND user_id = $2 AND id = $3{lock}"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    let (state, token_expires_at) = row.ok_or(DbError::NotFound)?;
    Ok(Locked {
        state: state.parse().map_err(DbError::Corrupt)?,
        token_expires_at,
    })
}

pub async fn set_sync_mode<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    mode: SyncMode,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE connections SET sync_mode = $1, updated_at = $2 WHERE tenant_id = $3 AND user_id = $4 AND id = $5",
    )
    .bind(mode.as_str())
    .bind(now_ms())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

pub async fn set_synced<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    at: i64,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE connections SET last_sync_at = $1, updated_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND id = $4",
    )
    .bind(at)
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

/// A connected connection, by the random id in its webhook URL.
/// unscoped: webhooks arrive without a session; the id routes them.
pub async fn find_by_public_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    public_id: &str,
) -> DbResult<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE public_id = $1"
    ))
    .bind(public_id)
    .fetch_optional(ex)
    .await?;
    row.map(Connection::try_from).transpose()
}

/// unscoped: the scheduler looks across tenants; each connection carries
/// its owner.
///
/// Connected connections whose token expires before `before`, or which poll
/// and last synced before `poll_before`.
pub async fn needing_upkeep<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    expiring_before: i64,
    poll_before: i64,
) -> DbResult<Vec<Connection>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE state = 'connected' AND \
         (token_expires_at < $1 OR (sync_mode = 'polling' AND COALESCE(last_sync_at, 0) < $2))"
    ))
    .bind(expiring_before)
    .bind(poll_before)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Connection::try_from).collect()
}

/// Where the account's change feed resumes (Graph's delta link).
pub async fn account_cursor<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
) -> DbResult<Option<String>> {
    let link: Option<Option<String>> = sqlx::query_scalar(
        "SELECT delta_link FROM connections WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    Ok(link.flatten())
}

pub async fn set_account_cursor<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    link: Option<&str>,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE connections SET delta_link = $1 WHERE tenant_id = $2 AND user_id = $3 AND id = $4",
    )
    .bind(link)
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

/// Sets the connection's last error, only while it is still in `state`
/// (a background job must not undo a disconnect or a reconnect that
/// happened meanwhile). Returns whether it was.
pub async fn set_note<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: ConnectionId,
    state: ConnectionState,
    note: Option<&str>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE connections SET last_error = $1, updated_at = $2 \
         WHERE tenant_id = $3 AND user_id = $4 AND id = $5 AND state = $6",
    )
    .bind(note)
    .bind(now_ms())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .bind(state.as_str())
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(FromRow)]
struct BusyCalendarRow {
    #[sqlx(flatten)]
    connection: Row,
    calendar_id: String,
}

/// The owner's connections that have calendars counted as busy, each with
/// those calendars' ids: one query for a whole busy read.
pub async fn with_busy_calendars<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
) -> DbResult<Vec<(Connection, Vec<String>)>> {
    let columns: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect();
    let rows: Vec<BusyCalendarRow> = sqlx::query_as(&format!(
        "SELECT {}, k.calendar_id FROM connections c JOIN connection_calendars k \
         ON k.tenant_id = c.tenant_id AND k.connection_id = c.id \
         WHERE c.tenant_id = $1 AND c.user_id = $2 AND k.busy <> 0 \
         ORDER BY c.provider, c.connected_at, c.id, k.calendar_id",
        columns.join(", ")
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .fetch_all(ex)
    .await?;
    let mut out: Vec<(Connection, Vec<String>)> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some((connection, calendars)) if connection.id.to_string() == row.connection.id => {
                calendars.push(row.calendar_id)
            }
            _ => out.push((Connection::try_from(row.connection)?, vec![row.calendar_id])),
        }
    }
    Ok(out)
}
