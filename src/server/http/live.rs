//! `GET /api/live`: the caller's meeting changes as server-sent events.
//!
//! Every (re)connection starts with `hello`, after which the page refetches
//! its list, so a gap while disconnected is never missed. A browser that
//! falls too far behind gets `resync` (refetch) instead of a wedged stream.
//!
//! The stream ends with its session: at logout and at the person's removal
//! (pushed to every instance), when the session expires, and when a
//! re-read of the session each minute no longer finds it. A person holds
//! at most `MAX_STREAMS_PER_USER` streams open.

use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::platform::db::{self, Db};
use crate::server::platform::live::{delivery, Delivery, StreamPermit, MAX_STREAMS_PER_USER};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often an open stream reads its session again.
const SESSION_CHECK_EVERY: Duration = Duration::from_secs(60);

/// The answer to one stream too many.
pub fn too_many_streams() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "10")],
        format!(
            "At most {MAX_STREAMS_PER_USER} live pages per person at a time; close another tab."
        ),
    )
        .into_response()
}

/// Whether the session behind `headers` still stands.
async fn session_stands(db: &Db, headers: &HeaderMap) -> bool {
    matches!(Caller::from_headers(headers, db).await, Ok(Some(_)))
}

struct Open {
    updates: tokio::sync::broadcast::Receiver<String>,
    closing: tokio::sync::watch::Receiver<bool>,
    session: String,
    /// When the session expires.
    ends: tokio::time::Instant,
    /// When the session is read again.
    next_check: tokio::time::Instant,
    headers: HeaderMap,
    db: Db,
    _permit: StreamPermit,
}

pub async fn stream(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    let Some(permit) = state.live.open_stream(caller.user.user_id()) else {
        return too_many_streams();
    };
    let now = tokio::time::Instant::now();
    let open = Open {
        updates: state.live.subscribe(caller.user.user_id()),
        closing: state.live.closing(),
        session: caller.session_hash,
        ends: now
            + Duration::from_millis(
                u64::try_from(caller.session_expires_at - db::now_ms()).unwrap_or(0),
            ),
        next_check: now + SESSION_CHECK_EVERY,
        headers,
        db: state.db.clone(),
        _permit: permit,
    };
    let hello = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().event("hello").data("{}"))
    });
    let changes = futures_util::stream::unfold(open, |mut open| async move {
        loop {
            if *open.closing.borrow() {
                return None;
            }
            let event = tokio::select! {
                received = open.updates.recv() => match received {
                    Ok(change) => match delivery(&change, &open.session) {
                        Delivery::Forward => Event::default().event("meeting").data(change),
                        Delivery::Skip => continue,
                        Delivery::End => return None,
                    },
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(RecvError::Closed) => return None,
                },
                _ = open.closing.changed() => return None,
                () = tokio::time::sleep_until(open.ends) => return None,
                () = tokio::time::sleep_until(open.next_check) => {
                    if !session_stands(&open.db, &open.headers).await {
                        return None;
                    }
                    open.next_check += SESSION_CHECK_EVERY;
                    continue;
                }
            };
            return Some((Ok(event), open));
        }
    });
    Sse::new(futures_util::StreamExt::chain(hello, changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
