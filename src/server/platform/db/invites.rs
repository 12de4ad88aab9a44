//! Invitations to join a tenant. The link token is looked up by its hash;
//! an encrypted copy lives in the vault so admins can copy the link again.

use super::{found, now_ms, parse_id, DbError, DbResult, TenantScope};
use crate::model::{InviteId, Role, UserId};
use sqlx::{Any, Executor, FromRow};

pub struct NewInvite<'a> {
    pub id: InviteId,
    pub token_hash: &'a str,
    pub email: Option<&'a str>,
    pub role: Role,
    pub created_by: UserId,
    pub expires_at: i64,
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    new: NewInvite<'_>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO invites (id, tenant_id, token_hash, email, role, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id.to_string())
    .bind(scope.tenant())
    .bind(new.token_hash)
    .bind(new.email)
    .bind(new.role.as_str())
    .bind(new.created_by.to_string())
    .bind(now_ms())
    .bind(new.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub struct PendingInvite {
    pub id: InviteId,
    pub email: Option<String>,
    pub role: Role,
    pub invited_by: Option<String>,
    pub expires_at: i64,
}

#[derive(FromRow)]
struct PendingRow {
    id: String,
    email: Option<String>,
    role: String,
    invited_by: Option<String>,
    expires_at: i64,
}

pub async fn list_pending<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    now: i64,
) -> DbResult<Vec<PendingInvite>> {
    let rows: Vec<PendingRow> = sqlx::query_as(
        "SELECT i.id, i.email, i.role, u.name AS invited_by, i.expires_at \
         FROM invites i LEFT JOIN users u ON u.id = i.created_by AND u.tenant_id = i.tenant_id \
         WHERE i.tenant_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 \
         ORDER BY i.created_at DESC",
    )
    .bind(scope.tenant())
    .bind(now)
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PendingInvite {
                id: parse_id(&r.id)?,
                email: r.email,
                role: r.role.parse().map_err(DbError::Corrupt)?,
                invited_by: r.invited_by,
                expires_at: r.expires_at,
            })
        })
        .collect()
}

/// An invite that can still be accepted.
pub struct OpenInvite {
    pub id: InviteId,
    pub tenant: TenantScope,
    pub tenant_name: String,
    pub email: Option<String>,
    pub role: Role,
}

#[derive(FromRow)]
struct OpenRow {
    id: String,
    tenant_id: String,
    tenant_name: String,
    email: Option<String>,
    role: String,
}

/// unscoped: the invite token is the credential that names the tenant.
pub async fn find_open_by_token_hash<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token_hash: &str,
    now: i64,
) -> DbResult<Option<OpenInvite>> {
    let row: Option<OpenRow> = sqlx::query_as(
        "SELECT i.id, i.tenant_id, t.name AS tenant_name, i.email, i.role \
         FROM invites i JOIN tenants t ON t.id = i.tenant_id \
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(OpenInvite {
            id: parse_id(&r.id)?,
            tenant: TenantScope::new(parse_id(&r.tenant_id)?),
            tenant_name: r.tenant_name,
            email: r.email,
            role: r.role.parse().map_err(DbError::Corrupt)?,
        })
    })
    .transpose()
}

/// Marks the invite used; fails with `NotFound` if someone else used it first.
pub async fn accept<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: InviteId,
    user: UserId,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE invites SET accepted_at = $1, accepted_by = $2 \
         WHERE tenant_id = $3 AND id = $4 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(user.to_string())
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

pub async fn revoke<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: InviteId,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE invites SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}
