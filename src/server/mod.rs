//! Server side: the composition root, the HTTP layer, the domains
//! (accounts, booking, connections, meetings, webhooks, jobs, admin), the provider
//! adapters and the platform they all build on.

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod app_state;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod booking;
pub mod connections;
pub mod demo;
pub mod error;
pub mod http;
pub mod jobs;
pub mod meetings;
pub mod platform;
pub mod providers;
pub mod sync;
pub mod validate;
pub mod webhooks;
