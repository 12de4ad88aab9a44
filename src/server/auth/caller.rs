use super::SESSION_COOKIE;
use crate::model::{CurrentUser, Role};
use crate::server::error::AppError;
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, sessions, TenantScope, UserScope};
use crate::server::platform::vault::crypto::token_hash;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum_extra::extract::CookieJar;

/// The logged-in user behind a request, resolved from the session cookie.
/// Every tenant-scoped operation starts from here.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: UserScope,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub time_zone: String,
    pub session_hash: String,
    /// When the session ends by itself (unix ms).
    pub session_expires_at: i64,
}

impl Caller {
    pub fn scope(&self) -> &TenantScope {
        &self.user.tenant
    }

    pub fn view(&self) -> CurrentUser {
        CurrentUser {
            id: self.user.user_id(),
            tenant_name: self.tenant_name.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            time_zone: self.time_zone.clone(),
        }
    }

    /// Resolves the session cookie; `None` when absent, unknown or expired.
    pub async fn from_parts(parts: &Parts, db: &Db) -> Result<Option<Caller>, AppError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Some(caller.clone()));
        }
        Self::from_headers(&parts.headers, db).await
    }

    /// The session behind `headers`' cookie as it stands now — what a
    /// long-lived stream reads again before each of its reads.
    pub async fn from_headers(headers: &HeaderMap, db: &Db) -> Result<Option<Caller>, AppError> {
        let jar = CookieJar::from_headers(headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Ok(None);
        };
        let hash = token_hash(cookie.value());
        let owner = sessions::find_owner(db.pool(), &hash, db::now_ms()).await?;
        Ok(owner.map(|o| Caller {
            user: o.user,
            tenant_name: o.tenant_name,
            email: o.email,
            name: o.name,
            role: o.role,
            time_zone: o.time_zone,
            session_hash: hash,
            session_expires_at: o.expires_at,
        }))
    }
}

/// A caller who is an admin of their tenant.
#[derive(Clone, Debug)]
pub struct AdminCaller(pub Caller);

impl AdminCaller {
    pub fn check(caller: Caller) -> Result<Self, AppError> {
        if caller.role == Role::Admin {
            Ok(AdminCaller(caller))
        } else {
            Err(AppError::Forbidden)
        }
    }
}
