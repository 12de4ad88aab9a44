//! One module per page. Pages render on the server; the few parts that react
//! in the browser are islands (`#[island]`), hydrated from the one WASM.

pub mod admin;
pub mod appointment;
pub mod book;
pub mod booking_settings;
pub mod calendars;
pub mod login;
pub mod meetings;
pub mod not_found;
pub mod settings;
pub mod signup;
