//! Calendly delivery routes kept in memory: for each webhook URL id, the
//! connection it belongs to and the subscription's signing key, decrypted.
//! Without it every delivery costs three reads and a decryption.
//!
//! Staleness is bounded three ways: this instance forgets every route when
//! it changes a connection or subscription; a route older than [`TTL`] is
//! read again (other instances' changes); and a signature that fails with a
//! cached key is checked once more against a fresh read (a rotated key).

use crate::model::ConnectionId;
use crate::server::platform::db::UserScope;
use crate::server::platform::vault::crypto::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a route is trusted without reading it again.
pub const TTL: Duration = Duration::from_secs(10);

/// Where a verified Calendly delivery goes.
pub struct Route {
    pub connection: ConnectionId,
    pub owner: UserScope,
    /// The connection's Calendly user URI (`created_by` must match).
    pub calendly_user: String,
    pub signing_key: SecretString,
    loaded_at: Instant,
}

impl Route {
    pub fn new(
        connection: ConnectionId,
        owner: UserScope,
        calendly_user: String,
        signing_key: SecretString,
    ) -> Self {
        Route {
            connection,
            owner,
            calendly_user,
            signing_key,
            loaded_at: Instant::now(),
        }
    }
}

#[derive(Default)]
pub struct CalendlyRoutes {
    routes: Mutex<HashMap<String, Arc<Route>>>,
}

impl CalendlyRoutes {
    /// The route for `public_id`, if one was loaded less than [`TTL`] ago.
    pub fn get(&self, public_id: &str) -> Option<Arc<Route>> {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes
            .get(public_id)
            .filter(|r| r.loaded_at.elapsed() < TTL)
            .cloned()
    }

    pub fn put(&self, public_id: &str, route: Arc<Route>) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes.retain(|_, r| r.loaded_at.elapsed() < TTL);
        routes.insert(public_id.to_owned(), route);
    }

    /// Called whenever this instance changes a connection's state or its
    /// subscriptions: such changes are rare, so forgetting all is simplest.
    pub fn forget_all(&self) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::platform::db::TenantScope;

    fn route() -> Arc<Route> {
        let scope = UserScope::new(
            TenantScope::new(crate::model::TenantId::generate()),
            crate::model::UserId::generate(),
        );
        Arc::new(Route::new(
            ConnectionId::generate(),
            scope,
            "https://api.calendly.com/users/U".into(),
            SecretString::new("key"),
        ))
    }

    #[test]
    fn a_stored_route_is_found_until_forgotten() {
        let routes = CalendlyRoutes::default();
        assert!(routes.get("abc").is_none());
        routes.put("abc", route());
        assert_eq!(routes.get("abc").unwrap().signing_key.expose(), "key");
        assert!(routes.get("other").is_none());
        routes.forget_all();
        assert!(routes.get("abc").is_none());
    }

    #[test]
    fn an_expired_route_is_not_used() {
        let routes = CalendlyRoutes::default();
        let mut old = Route::new(
            ConnectionId::generate(),
            route().owner,
            String::new(),
            SecretString::new("old"),
        );
        old.loaded_at = Instant::now() - TTL - Duration::from_millis(1);
        routes.put("abc", Arc::new(old));
        assert!(routes.get("abc").is_none());
    }
}
