//! Types shared by the server and the browser: typed IDs, the view structs
//! server functions return, the flash messages and every path of the UI. Nothing here may carry a
//! secret.

mod appointment;
mod audit;
mod booking;
mod flash;
mod ids;
mod overview;
pub mod paths;
#[cfg(feature = "ssr")]
mod provider_meeting;
mod sync;
mod views;

pub use appointment::*;
pub use audit::*;
pub use booking::*;
pub use flash::*;
pub use ids::*;
pub use overview::*;
#[cfg(feature = "ssr")]
pub use provider_meeting::ProviderMeeting;
pub use sync::*;
pub use views::*;
