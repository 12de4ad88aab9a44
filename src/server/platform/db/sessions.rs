//! Login sessions. Only a SHA-256 hash of the cookie token is stored.

use super::{now_ms, parse_id, DbError, DbResult, TenantScope, UserScope};
use crate::model::{Role, UserId};
use sqlx::{Any, Executor, FromRow};

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token_hash: &str,
    owner: &UserScope,
    expires_at: i64,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(now_ms())
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The user behind a live session.
pub struct SessionOwner {
    pub user: UserScope,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub time_zone: String,
    pub expires_at: i64,
}

#[derive(FromRow)]
struct OwnerRow {
    tenant_id: String,
    user_id: String,
    tenant_name: String,
    email: String,
    name: String,
    role: String,
    time_zone: String,
    expires_at: i64,
}

/// unscoped: the token hash is the credential that establishes the scope.
pub async fn find_owner<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token_hash: &str,
    now: i64,
) -> DbResult<Option<SessionOwner>> {
    let row: Option<OwnerRow> = sqlx::query_as(
        "SELECT s.tenant_id, s.user_id, t.name AS tenant_name, u.email, u.name, u.role, u.time_zone, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id \
         JOIN tenants t ON t.id = s.tenant_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        let tenant = TenantScope::new(parse_id(&r.tenant_id)?);
        let user_id: UserId = parse_id(&r.user_id)?;
        Ok(SessionOwner {
            user: UserScope::new(tenant, user_id),
            tenant_name: r.tenant_name,
            email: r.email,
            name: r.name,
            role: r.role.parse().map_err(DbError::Corrupt)?,
            time_zone: r.time_zone,
            expires_at: r.expires_at,
        })
    })
    .transpose()
}

/// unscoped: logging out presents the token itself.
pub async fn delete<'e, E: Executor<'e, Database = Any>>(ex: E, token_hash: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn delete_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    user_id: UserId,
) -> DbResult<()> {
    sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
        .bind(scope.tenant())
        .bind(user_id.to_string())
        .execute(ex)
        .await?;
    Ok(())
}
