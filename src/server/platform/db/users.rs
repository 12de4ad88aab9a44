//! Users of a tenant.

use super::{found, now_ms, on_unique, parse_id, DbError, DbResult, TenantScope};
use crate::model::{Role, UserId};
use sqlx::{Any, Executor, FromRow};

#[derive(FromRow)]
struct Row {
    id: String,
    tenant_id: String,
    email: String,
    name: String,
    password_hash: String,
    role: String,
    time_zone: String,
    created_at: i64,
}

pub struct User {
    pub id: UserId,
    pub tenant: TenantScope,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub time_zone: String,
    pub created_at: i64,
}

impl TryFrom<Row> for User {
    type Error = DbError;
    fn try_from(r: Row) -> DbResult<Self> {
        Ok(User {
            id: parse_id(&r.id)?,
            tenant: TenantScope::new(parse_id(&r.tenant_id)?),
            email: r.email,
            name: r.name,
            password_hash: r.password_hash,
            role: r.role.parse().map_err(DbError::Corrupt)?,
            time_zone: r.time_zone,
            created_at: r.created_at,
        })
    }
}

const COLUMNS: &str = "id, tenant_id, email, name, password_hash, role, time_zone, created_at";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub time_zone: &'a str,
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    new: NewUser<'_>,
) -> DbResult<UserId> {
    let id = UserId::generate();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role, time_zone, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id.to_string())
    .bind(scope.tenant())
    .bind(new.email)
    .bind(new.name)
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(new.time_zone)
    .bind(now)
    .execute(ex)
    .await
    .map_err(|e| on_unique(e, super::Duplicate::Email))?;
    Ok(id)
}

/// unscoped: login knows only an email; every tenant's account with that
/// email is a candidate and the password decides.
pub async fn login_candidates<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    email: &str,
) -> DbResult<Vec<User>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE email = $1 ORDER BY created_at LIMIT 5"
    ))
    .bind(email)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: UserId,
) -> DbResult<User> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.ok_or(DbError::NotFound)?.try_into()
}

/// The tenant's user with this (normalized) email.
pub async fn by_email<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    email: &str,
) -> DbResult<Option<User>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND email = $2"
    ))
    .bind(scope.tenant())
    .bind(email)
    .fetch_optional(ex)
    .await?;
    row.map(User::try_from).transpose()
}

pub async fn list<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<User>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at"
    ))
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn count_admins<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin'")
            .bind(scope.tenant())
            .fetch_one(ex)
            .await?,
    )
}

pub async fn set_role<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: UserId,
    role: Role,
) -> DbResult<()> {
    let done =
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(role.as_str())
            .bind(now_ms())
            .bind(scope.tenant())
            .bind(id.to_string())
            .execute(ex)
            .await?;
    found(done.rows_affected())
}

pub async fn set_profile<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: UserId,
    name: &str,
    time_zone: &str,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE users SET name = $1, time_zone = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
    )
    .bind(name)
    .bind(time_zone)
    .bind(now_ms())
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    found(done.rows_affected())
}

pub async fn delete<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: UserId,
) -> DbResult<()> {
    let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(scope.tenant())
        .bind(id.to_string())
        .execute(ex)
        .await?;
    found(done.rows_affected())
}
