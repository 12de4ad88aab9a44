//! The public booking pages' posts: book (a refusal renders the page again
//! with what was typed, see `web::submit_booking`), cancel, reschedule, and
//! the booking as an `.ics` file.

use crate::api::form::{error, fail, notice, IdPath};
use crate::model::{paths, BookFormFailure, BookFormValues, BookingId, Flash};
use crate::server::app_state::AppState;
use crate::server::booking::book::{self, Access, Attendee, BookingRequest};
use crate::server::booking::error::BookError;
use crate::server::booking::speak::parse_rfc3339;
use crate::server::booking::{ics, pages};
use crate::server::error::AppError;
use crate::server::http::client_addr::ClientAddr;
use crate::server::http::error::HttpStatus;
use crate::server::http::guards::error_page;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

/// The booking form.
#[derive(Deserialize)]
pub struct BookForm {
    /// RFC 3339.
    start: String,
    /// The zone the visitor read the times in.
    tz: Option<String>,
    name: String,
    email: String,
    phone: Option<String>,
    purpose: Option<String>,
}

/// What a booking post comes to.
pub enum Submitted {
    /// Booked (or not found): the response to send.
    Done(Response),
    /// Refused: render the form again with this status and message (and,
    /// for a limit, when to try again).
    Again {
        status: StatusCode,
        failure: BookFormFailure,
        retry_after_secs: Option<u64>,
    },
}

impl Submitted {
    fn retry_after(self, secs: u64) -> Self {
        match self {
            Submitted::Again {
                status, failure, ..
            } => Submitted::Again {
                status,
                failure,
                retry_after_secs: Some(secs),
            },
            done => done,
        }
    }
}

fn manage_path(id: BookingId, token: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    format!("{}?{query}", paths::MANAGE_BOOKING.to(id))
}

/// Books the slot the visitor picked on `host`'s event type page;
/// `visitor` is the client address the public page's limits count.
pub async fn submit(
    state: &AppState,
    host: &str,
    event_type: &str,
    form: BookForm,
    visitor: &str,
) -> Submitted {
    let values = BookFormValues {
        name: form.name.clone(),
        email: form.email.clone(),
        phone: form.phone.clone().unwrap_or_default(),
        purpose: form.purpose.clone().unwrap_or_default(),
    };
    let tz: chrono_tz::Tz = form
        .tz
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let again = |status, field: Option<&str>, message: &str, alternatives| Submitted::Again {
        status,
        failure: BookFormFailure {
            values: values.clone(),
            field: field.map(str::to_owned),
            message: message.to_owned(),
            alternatives,
        },
        retry_after_secs: None,
    };
    let Some(start) = parse_rfc3339(&form.start) else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            "Choose one of the free times.",
            Vec::new(),
        );
    };
    let request = BookingRequest {
        host,
        event_type,
        start,
        attendee: Attendee {
            name: &form.name,
            email: &form.email,
            phone: form.phone.as_deref(),
            time_zone: form.tz.as_deref(),
        },
        purpose: form.purpose.as_deref(),
        idempotency_key: None,
        visitor: Some(visitor),
    };
    let refused = match book::book(&state.bookings, None, &request).await {
        Ok(placed) => {
            let token = placed.manage.map(|m| m.token).unwrap_or_default();
            return Submitted::Done(notice(
                &manage_path(placed.booking.id, &token),
                Flash::Booked,
            ));
        }
        Err(e) => e,
    };
    let status = refused.status();
    match refused {
        BookError::Invalid { field, message } => again(
            status,
            Some(field.trim_start_matches("attendee.")),
            message,
            Vec::new(),
        ),
        BookError::SlotTaken { alternatives } => again(
            status,
            None,
            Flash::SlotTaken.text(),
            pages::alternatives(host, event_type, tz, &alternatives),
        ),
        BookError::NotASlot { alternatives } => again(
            status,
            None,
            Flash::NotASlot.text(),
            pages::alternatives(host, event_type, tz, &alternatives),
        ),
        e @ BookError::CalendarUnavailable { .. } => {
            again(status, None, e.flash().text(), Vec::new())
        }
        e @ BookError::Limited(refused) => {
            again(status, None, e.flash().text(), Vec::new()).retry_after(refused.retry_after_secs)
        }
        e => Submitted::Done(book_failure(e, paths::BOOK)),
    }
}

/// Not found (or an internal error) as its page; a limit as a 429 page
/// that says when to try again; anything else back to `back_to` with its
/// message.
fn book_failure(e: BookError, back_to: &str) -> Response {
    let (status, flash) = (e.status(), e.flash());
    match e {
        BookError::NotFound => fail(AppError::NotFound, back_to),
        BookError::App(e) => fail(e, back_to),
        BookError::Limited(refused) => {
            let mut page = error_page(status, "Please wait a moment", flash.text());
            page.headers_mut()
                .insert(header::RETRY_AFTER, refused.retry_after_secs.into());
            page
        }
        _ => error(back_to, flash),
    }
}

/// The manage link's token, as the cancel and reschedule forms post it.
#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath<BookingId>,
    Form(form): Form<TokenForm>,
) -> Response {
    let page = manage_path(id, &form.token);
    let visitor = client.key();
    let access = Access::Attendee {
        token: &form.token,
        visitor: &visitor,
    };
    match book::cancel(&state.bookings, access, id).await {
        Ok(_) => notice(&page, Flash::BookingCanceled),
        Err(e) => book_failure(e, &page),
    }
}

#[derive(Deserialize)]
pub struct RescheduleForm {
    token: String,
    start: String,
    /// Where the new time was picked, to go back to if it is gone.
    back: String,
}

pub async fn reschedule(
    State(state): State<AppState>,
    client: ClientAddr,
    IdPath(id): IdPath<BookingId>,
    Form(form): Form<RescheduleForm>,
) -> Response {
    // Only a path of the booking pages, never another site.
    let back = if form.back.starts_with(paths::BOOK) && !form.back.starts_with("//") {
        form.back.as_str()
    } else {
        paths::BOOK
    };
    let Some(start) = parse_rfc3339(&form.start) else {
        return error(back, Flash::NotASlot);
    };
    let visitor = client.key();
    let access = Access::Attendee {
        token: &form.token,
        visitor: &visitor,
    };
    match book::reschedule(&state.bookings, access, id, start).await {
        Ok(_) => notice(&manage_path(id, &form.token), Flash::BookingMoved),
        Err(BookError::Canceled) => error(&manage_path(id, &form.token), Flash::BookingWasCanceled),
        Err(e) => book_failure(e, back),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// The booking as an iCalendar file for the attendee's calendar.
pub async fn invite_file(
    State(state): State<AppState>,
    IdPath(id): IdPath<BookingId>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let placed = match book::get(&state.bookings, Access::ManageToken(&query.token), id).await {
        Ok(placed) => placed,
        Err(e) => return book_failure(e, paths::BOOK),
    };
    let view = pages::attendee_view(&state.bookings, &placed, &query.token);
    let body = ics::invite(&placed, view.meeting_url.as_deref(), &view.manage_url);
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"booking.ics\"",
            ),
        ],
        body,
    )
        .into_response()
}
