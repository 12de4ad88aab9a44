//! What every emulator builds on, knowing none of them: settings and
//! tunables, accounts and OAuth apps, error shapes, fault injection and the
//! webhook delivery queue.
//!
//! The delivery worker and the fault middleware run on the whole sandbox
//! ([`Sandbox`](crate::Sandbox), defined by the facade because its
//! `World` holds every emulator's state); whatever they need to know about
//! one provider comes with the delivery (see [`delivery::Retry`]).

pub mod accounts;
pub mod delivery;
pub mod errors;
pub mod faults;
pub mod html;
pub mod settings;

pub use accounts::{Account, App, OwnerEvent, Repeat, SEED_ACCOUNTS};
pub use errors::{bad_request, control_error, error_response, respond};
pub use settings::{SandboxSettings, Tunables};
