//! Booking: hosts' profiles and event types, availability across their
//! calendars, and atomic bookings. [`availability`] is the pure core.

pub mod availability;
pub mod book;
pub mod busy;
pub mod conflicts;
pub mod error;
pub mod export;
pub mod ics;
pub mod pages;
pub mod profiles;
pub mod public_limits;
pub mod settings;
pub mod slots;
pub mod speak;
pub mod two_way;

use crate::server::connections::tokens::TokenManager;
use crate::server::platform::clock::Clock;
use crate::server::platform::config::Config;
use crate::server::platform::db::Db;
use crate::server::platform::db::UserScope;
use crate::server::platform::limits::Limits;
use crate::server::platform::live::Live;
use crate::server::platform::vault::Vault;
use crate::server::providers::ProviderHttp;
use crate::server::sync::SyncLocks;
use std::sync::Arc;

/// What the booking service uses.
#[derive(Clone)]
pub struct Bookings {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub config: Arc<Config>,
    pub clock: Arc<Clock>,
    /// For live busy reads of the hosts' calendars.
    pub tokens: Arc<TokenManager>,
    pub provider_http: ProviderHttp,
    /// Bookings are meetings on their host's live page.
    pub live: Arc<Live>,
    /// One export of a booking at a time here (the inline try, its job),
    /// and none while a sync takes the calendar's side of it.
    pub sync_locks: Arc<SyncLocks>,
    /// The public page's limits and the live reads' budget.
    pub limits: Limits,
}

impl Bookings {
    /// Tells the host's open meetings pages that a booking changed.
    pub async fn announce(&self, host: &UserScope, id: crate::model::BookingId) {
        announce(&self.db, &self.live, host, id).await;
    }

    /// The attendee's link to see, cancel or reschedule their booking.
    pub fn manage_url(&self, id: crate::model::BookingId, token: &str) -> String {
        self.config.public_link(&format!(
            "{}?token={token}",
            crate::model::paths::MANAGE_BOOKING.to(id)
        ))
    }
}

pub(crate) async fn announce(db: &Db, live: &Live, host: &UserScope, id: crate::model::BookingId) {
    let event = serde_json::json!({ "kind": "meeting", "id": id }).to_string();
    live.publish(db, host.user_id(), event).await;
}
