//! Meetings: the store (idempotent upserts of what the provider holds now,
//! each change published to the owner's live stream), the change feeds that
//! fill it (webhook deliveries and syncs) and the `/meetings` page's query.
//! Every change goes out on `platform::live`.

mod query;
mod store;
mod sync;

pub use query::page;
pub use sync::{process_calendly_event, sync};

use crate::server::connections::tokens::TokenManager;
use crate::server::platform::db::Db;
use crate::server::platform::live::Live;
use crate::server::providers::ProviderHttp;
use crate::server::sync::SyncLocks;
use std::sync::Arc;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How far ahead and back the list looks.
const HORIZON_MS: i64 = 365 * DAY_MS;

/// What turning provider data into meetings uses.
#[derive(Clone)]
pub struct Meetings {
    pub db: Db,
    /// Taking the calendar's side of an appointment or a booking waits for
    /// its export.
    pub sync_locks: Arc<SyncLocks>,
    pub provider_http: ProviderHttp,
    pub tokens: Arc<TokenManager>,
    pub live: Arc<Live>,
    /// The one origin whose `http:` links may be rendered: the built-in
    /// sandbox's own, while it runs.
    pub local_link_origin: Option<String>,
}
