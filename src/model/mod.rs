//! Types shared by the server and the browser: typed IDs, the view structs
//! server functions return and the flash messages. Nothing here may carry a
//! secret.

mod flash;
mod ids;
#[cfg(feature = "ssr")]
mod provider_meeting;
mod views;

pub use flash::*;
pub use ids::*;
#[cfg(feature = "ssr")]
pub use provider_meeting::ProviderMeeting;
pub use views::*;
