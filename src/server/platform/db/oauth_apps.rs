//! Tenant OAuth app overrides.

use super::{found, now_ms, on_unique, parse_id, DbError, DbResult, TenantScope};
use crate::model::{OAuthAppId, OAuthAppState, Provider};
use sqlx::{Any, Executor, FromRow};

#[derive(FromRow)]
struct Row {
    id: String,
    provider: String,
    name: String,
    client_id: String,
    state: String,
    last_checked_at: Option<i64>,
    last_error: Option<String>,
}

pub struct OAuthApp {
    pub id: OAuthAppId,
    pub provider: Provider,
    pub name: String,
    pub client_id: String,
    pub state: OAuthAppState,
    pub last_checked_at: Option<i64>,
    pub last_error: Option<String>,
}

impl TryFrom<Row> for OAuthApp {
    type Error = DbError;
    fn try_from(r: Row) -> DbResult<Self> {
        Ok(OAuthApp {
            id: parse_id(&r.id)?,
            provider: r.provider.parse().map_err(DbError::Corrupt)?,
            name: r.name,
            client_id: r.client_id,
            state: r.state.parse().map_err(DbError::Corrupt)?,
            last_checked_at: r.last_checked_at,
            last_error: r.last_error,
        })
    }
}

const COLUMNS: &str = "id, provider, name, client_id, state, last_checked_at, last_error";

pub async fn list<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<OAuthApp>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM oauth_apps WHERE tenant_id = $1 ORDER BY provider"
    ))
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(OAuthApp::try_from).collect()
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: OAuthAppId,
) -> DbResult<OAuthApp> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM oauth_apps WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.ok_or(DbError::NotFound)?.try_into()
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    provider: Provider,
    name: &str,
    client_id: &str,
) -> DbResult<OAuthAppId> {
    let id = OAuthAppId::generate();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO oauth_apps (id, tenant_id, provider, name, client_id, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'configured', $6, $6)",
    )
    .bind(id.to_string())
    .bind(scope.tenant())
    .bind(provider.as_str())
    .bind(name)
    .bind(client_id)
    .bind(now)
    .execute(ex)
    .await
    .map_err(|e| on_unique(e, super::Duplicate::OAuthApp))?;
    Ok(id)
}

/// Changes the name and client id; credentials changed means "not tested yet".
pub async fn update<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: OAuthAppId,
    name: &str,
    client_id: &str,
    credentials_changed: bool,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE oauth_apps SET name = $1, client_id = $2, updated_at = $3, \
         state = CASE WHEN $4 THEN 'configured' ELSE state END, \
         last_error = CASE WHEN $4 THEN NULL ELSE last_error END \
         WHERE tenant_id = $5 AND id = $6",
    )
    .bind(name)
    .bind(client_id)
    .bind(now_ms())
    .bind(credentials_changed)
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

pub async fn record_check<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: OAuthAppId,
    state: OAuthAppState,
    error: Option<&str>,
) -> DbResult<()> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE oauth_apps SET state = $1, last_error = $2, last_checked_at = $3, updated_at = $3 \
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(now)
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

pub async fn delete<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: OAuthAppId,
) -> DbResult<()> {
    let done = sqlx::query("DELETE FROM oauth_apps WHERE tenant_id = $1 AND id = $2")
        .bind(scope.tenant())
        .bind(id.to_string())
        .execute(ex)
        .await?;
    found(done.rows_affected())
}
