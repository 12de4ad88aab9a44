//! The `oauth_states` table: a pending OAuth authorization, taken once by
//! its callback.

use super::{now_ms, DbResult, UserScope};
use crate::model::Provider;
use sqlx::{Any, Executor};

pub struct NewState<'a> {
    pub state_hash: &'a str,
    pub session_hash: &'a str,
    pub provider: Provider,
    pub scopes: &'a str,
    pub opener_origin: Option<&'a str>,
    pub expires_at: i64,
}

pub async fn insert_state<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    new: NewState<'_>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, tenant_id, user_id, session_hash, provider, scopes, opener_origin, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.state_hash)
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(new.session_hash)
    .bind(new.provider.as_str())
    .bind(new.scopes)
    .bind(new.opener_origin)
    .bind(now_ms())
    .bind(new.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Marks the state used if it is this session's, for this provider, unused
/// and unexpired. Returns whether it was (single use: a second call fails).
pub async fn take_state<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    state_hash: &str,
    session_hash: &str,
    provider: Provider,
    now: i64,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE oauth_states SET used_at = $1 \
         WHERE state_hash = $2 AND tenant_id = $3 AND user_id = $4 AND session_hash = $5 AND provider = $6 \
         AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(state_hash)
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(session_hash)
    .bind(provider.as_str())
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
