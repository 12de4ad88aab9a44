pub mod admin;
pub mod calendars;
pub mod login;
pub mod meetings;
pub mod not_found;
pub mod settings;
pub mod signup;
