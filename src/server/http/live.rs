//! `GET /api/live`: the caller's meeting changes as server-sent events.
//!
//! Every (re)connection starts with `hello`, after which the page refetches
//! its list, so a gap while disconnected is never missed. A browser that
//! falls too far behind gets `resync` (refetch) instead of a wedged stream.

use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::platform::live::{delivery, Delivery};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = state.live.subscribe(caller.user.user_id());
    let closing = state.live.closing();
    let session = caller.session_hash;
    let hello =
        futures_util::stream::once(async { Ok(Event::default().event("hello").data("{}")) });
    let changes = futures_util::stream::unfold(
        (updates, closing, session),
        |(mut updates, mut closing, session)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                let event = tokio::select! {
                    received = updates.recv() => match received {
                        Ok(change) => match delivery(&change, &session) {
                            Delivery::Forward => Event::default().event("meeting").data(change),
                            Delivery::Skip => continue,
                            Delivery::End => return None,
                        },
                        Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                        Err(RecvError::Closed) => return None,
                    },
                    _ = closing.changed() => return None,
                };
                return Some((Ok(event), (updates, closing, session)));
            }
        },
    );
    Sse::new(futures_util::StreamExt::chain(hello, changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
