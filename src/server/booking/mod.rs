//! Booking: hosts' profiles and event types, availability across their
//! calendars, and atomic bookings. [`availability`] is the pure core.

pub mod availability;
pub mod book;
pub mod profiles;
