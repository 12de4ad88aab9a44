//! Who is calling: passwords, session tokens, the login throttle and the one
//! extractor every handler and server function uses to learn the caller.

mod caller;
pub mod passwords;
pub mod throttle;

pub use caller::{AdminCaller, Caller};

pub const SESSION_COOKIE: &str = "calbridge_session";
