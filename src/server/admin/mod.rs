//! Read models and actions of the admin pages.

mod charts;
pub mod jobs;
pub mod overview;
pub mod webhooks;

use crate::server::jobs::Queue;
use crate::server::platform::db::Db;
use std::sync::Arc;
use std::time::Duration;

/// What the admin read models and actions use.
#[derive(Clone)]
pub struct Admin {
    pub db: Db,
    pub jobs: Arc<Queue>,
    /// How long webhook events are kept (shown with housekeeping).
    pub retention: Duration,
}
