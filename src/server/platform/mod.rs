//! What every domain builds on: configuration, time, observability,
//! cross-instance notifications, per-user live streams, storage and the
//! secret vault.

pub mod clock;
pub mod config;
pub mod db;
pub mod endpoints;
pub mod keyed_lock;
pub mod limits;
pub mod live;
pub mod notify;
pub mod observability;
pub mod vault;
