//! Storage for the token vault: wrapped data keys and encrypted secrets.

use super::{now_ms, DbResult, TenantScope};
use sqlx::{Any, Executor, FromRow};

/// A ciphertext as stored: key id, nonce and GCM output (ciphertext + tag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[derive(FromRow)]
pub struct StoredKey {
    pub id: String,
    pub wrapped: Vec<u8>,
    pub state: String,
}

/// unscoped: data keys are instance-wide.
pub async fn keys<'e, E: Executor<'e, Database = Any>>(ex: E) -> DbResult<Vec<StoredKey>> {
    Ok(
        sqlx::query_as("SELECT id, wrapped, state FROM vault_keys ORDER BY created_at")
            .fetch_all(ex)
            .await?,
    )
}

/// unscoped: data keys are instance-wide.
pub async fn active_key_id<'e, E: Executor<'e, Database = Any>>(ex: E) -> DbResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM vault_keys WHERE state = 'active'")
            .fetch_optional(ex)
            .await?,
    )
}

/// unscoped: data keys are instance-wide. Retires every other key so that
/// exactly one stays active.
pub async fn add_active_key(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    wrapped: &[u8],
) -> DbResult<()> {
    sqlx::query("UPDATE vault_keys SET state = 'retired' WHERE state = 'active'")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO vault_keys (id, wrapped, state, created_at) VALUES ($1, $2, 'active', $3)",
    )
    .bind(id)
    .bind(wrapped)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// unscoped: drops retired keys no secret uses any more.
pub async fn delete_unused_retired_keys<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> DbResult<u64> {
    Ok(sqlx::query(
        "DELETE FROM vault_keys WHERE state = 'retired' \
         AND NOT EXISTS (SELECT 1 FROM secrets s WHERE s.key_id = vault_keys.id)",
    )
    .execute(ex)
    .await?
    .rows_affected())
}

/// Who a secret belongs to; also the associated data of its ciphertext.
#[derive(Clone, Copy, Debug)]
pub struct SecretOwner<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub purpose: &'a str,
}

pub async fn put<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    owner: SecretOwner<'_>,
    sealed: &Sealed,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO secrets (id, tenant_id, owner_kind, owner_id, purpose, key_id, nonce, ciphertext, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, owner_kind, owner_id, purpose) DO UPDATE SET \
         key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(scope.tenant())
    .bind(owner.kind)
    .bind(owner.id)
    .bind(owner.purpose)
    .bind(&sealed.key_id)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(now_ms())
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct SealedRow {
    key_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    owner: SecretOwner<'_>,
) -> DbResult<Option<Sealed>> {
    let row: Option<SealedRow> = sqlx::query_as(
        "SELECT key_id, nonce, ciphertext FROM secrets \
         WHERE tenant_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4",
    )
    .bind(scope.tenant())
    .bind(owner.kind)
    .bind(owner.id)
    .bind(owner.purpose)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| Sealed {
        key_id: r.key_id,
        nonce: r.nonce,
        ciphertext: r.ciphertext,
    }))
}

pub async fn delete_for_owner<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    kind: &str,
    id: &str,
) -> DbResult<()> {
    sqlx::query("DELETE FROM secrets WHERE tenant_id = $1 AND owner_kind = $2 AND owner_id = $3")
        .bind(scope.tenant())
        .bind(kind)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn delete_purpose<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    kind: &str,
    id: &str,
    purpose: &str,
) -> DbResult<()> {
    sqlx::query(
        "DELETE FROM secrets WHERE tenant_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4",
    )
    .bind(scope.tenant())
    .bind(kind)
    .bind(id)
    .bind(purpose)
    .execute(ex)
    .await?;
    Ok(())
}

/// A stored secret with everything needed to re-encrypt it.
#[derive(FromRow)]
pub struct RotatableSecret {
    pub id: String,
    pub tenant_id: String,
    pub owner_kind: String,
    pub owner_id: String,
    pub purpose: String,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// unscoped: key rotation re-encrypts every tenant's secrets.
pub async fn not_under_key(
    tx: &mut sqlx::AnyConnection,
    key_id: &str,
) -> DbResult<Vec<RotatableSecret>> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, owner_kind, owner_id, purpose, key_id, nonce, ciphertext \
         FROM secrets WHERE key_id <> $1",
    )
    .bind(key_id)
    .fetch_all(tx)
    .await?)
}

/// unscoped: key rotation, by primary key of a row read in the same transaction.
pub async fn replace_sealed(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    sealed: &Sealed,
) -> DbResult<()> {
    sqlx::query("UPDATE secrets SET key_id = $1, nonce = $2, ciphertext = $3 WHERE id = $4")
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}
