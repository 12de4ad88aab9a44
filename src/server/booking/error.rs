//! What can go wrong booking, in terms the page and the API turn into a
//! message that says what to do next.

use super::availability::Span;
use crate::model::{ApiError, Flash};
use crate::server::error::AppError;
use crate::server::platform::db::DbError;
use crate::server::platform::limits::{LimitName, Refused};

/// One bookable slot and whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeSlot {
    pub span: Span,
    /// The host's slug.
    pub host: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("no such host, event type or booking")]
    NotFound,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// Not a start availability offers (off the grid, outside hours, too
    /// soon, too far ahead).
    #[error("not a bookable slot")]
    NotASlot { alternatives: Vec<FreeSlot> },
    /// A slot, but someone else has it now.
    #[error("slot taken")]
    SlotTaken { alternatives: Vec<FreeSlot> },
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    /// A busy calendar of the host cannot be read, so no time is offered.
    #[error("the calendar of host {host} is unavailable")]
    CalendarUnavailable { host: String },
    /// Rescheduling a booking that was canceled.
    #[error("the booking was canceled")]
    Canceled,
    /// A limit on what a caller may make calbridge do was reached; try
    /// again after the window ends.
    #[error("refused by the limit {}", .0.limit.as_str())]
    Limited(Refused),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<DbError> for BookError {
    fn from(e: DbError) -> Self {
        BookError::App(e.into())
    }
}

impl BookError {
    /// The message a booking page shows after a form post.
    pub fn flash(&self) -> Flash {
        match self {
            BookError::NotFound => Flash::NotFound,
            BookError::SlotTaken { .. } => Flash::SlotTaken,
            BookError::NotASlot { .. } | BookError::Invalid { .. } => Flash::NotASlot,
            BookError::CalendarUnavailable { .. } => Flash::CalendarUnavailable,
            BookError::Canceled => Flash::BookingWasCanceled,
            BookError::KeyReused => Flash::Internal,
            BookError::Limited(refused) => match refused.limit {
                LimitName::LiveReadsPerHost => Flash::HostBusy,
                _ => Flash::TooManyBookings,
            },
            BookError::App(e) => e.flash(),
        }
    }
}

impl From<BookError> for ApiError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::NotFound => ApiError::NotFound,
            BookError::App(e) => e.into(),
            other => ApiError::Invalid(other.flash().text().to_owned()),
        }
    }
}
