//! The integration tests: one binary, one module per area, so the crate and
//! the shared helpers in `common` are compiled and linked once.

#[macro_use]
mod common;

mod accounts;
mod agent_tools;
mod api_limits;
mod appointment_crash;
mod appointments;
mod audit;
mod booking;
mod booking_api;
mod booking_busy;
mod booking_export;
mod booking_pages;
mod booking_sources;
mod booking_two_way;
mod calendar_webhooks;
mod chaos;
mod connections;
mod demo;
mod housekeeping;
mod live_fanout;
mod no_secrets_in_logs;
mod oauth_apps;
mod platform;
mod public_door;
mod sandbox_access;
mod sandbox_standalone;
mod streams;
mod subscriptions;
mod sync_chaos;
mod sync_log;
mod tenant_scoping;
mod token_refresh;
mod vault;
mod webhooks;
